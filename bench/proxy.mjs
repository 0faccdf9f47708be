// `npm run bench` (proxy part): srt-rs and the TypeScript original side by
// side, in the same run, interleaved, against the same loopback servers.
//   throughput   a 200 MB body through plain HTTP, CONNECT and SOCKS5, and direct;
//                and through two minimal relays (bench/reference-relay.c), the
//                yardstick for what any relay can reach on this machine
//   requests     500 sequential, and 50 clients x 20, small requests through the proxy:
//                rate, and CPU per request of everything each runtime starts
//                (bash's `times`: the run and every process it waited for)
//   memory       host-side PSS (the runtime outside the sandbox) during 50 x 20
//   tunnels      500 and 2000 CONNECT tunnels open at once, held, then each used;
//                processes on the host side and inside the sandbox while held
// The original needs socat (apt-get install socat) and ripgrep; without
// them it is left out and said so. Nothing here is a pass/fail test.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { median, originalCli, root, runTimed, which } from './common.mjs'

const rounds = Number(process.env.BENCH_ROUNDS || 5)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srt-bench-proxy-'))
const settings = path.join(dir, 'settings.json')
fs.writeFileSync(
  settings,
  JSON.stringify({ network: { allowedDomains: ['localhost'], deniedDomains: [] }, filesystem: { denyRead: [], allowWrite: [], denyWrite: [] } }),
)
const client = path.join(root, 'bench', 'client.cjs')

const impls = { 'srt-rs': [path.join(root, 'srt')] }
const original = originalCli()
if (original) impls.original = [process.execPath, original]

const env = { ...process.env, HOME: dir }
delete env.NO_PROXY
delete env.no_proxy

// The servers, in a process of their own.
const server = spawn(process.execPath, [path.join(root, 'bench', 'server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] })
const ports = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(JSON.parse(String(d)))))
process.on('exit', () => server.kill())

/** Runs `script` under bash (in the sandbox of `impl`, or directly); returns stdout, stderr and CPU seconds. */
const run = (impl, script, options) => runTimed(impl && impls[impl], settings, env, script, options)

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-')

// --- processes and memory, from /proc -------------------------------------
function children(pid) {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((t) => fs.readFileSync(`/proc/${pid}/task/${t}/children`, 'utf8').split(' ').filter(Boolean).map(Number))
  } catch {
    return []
  }
}
const comm = (pid) => {
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()
  } catch {
    return ''
  }
}
/** Host-side processes under `pid` (bubblewrap and what runs inside it excluded), and the sandbox's. */
function tree(pid) {
  const host = []
  const sandbox = []
  const walk = (p, inside) => {
    const isBwrap = comm(p) === 'bwrap'
    ;(inside || isBwrap ? sandbox : host).push(p)
    for (const c of children(p)) walk(c, inside || isBwrap)
  }
  for (const c of children(pid)) walk(c, false) // skip the outer bash
  return { host, sandbox }
}
function pssKiB(pids) {
  let total = 0
  for (const p of pids) {
    try {
      total += Number(/Pss:\s+(\d+)/.exec(fs.readFileSync(`/proc/${p}/smaps_rollup`, 'utf8'))?.[1] || 0)
    } catch {}
  }
  return total
}

/**
 * Starts bench/reference-relay.c (built here with the C compiler, when there
 * is one) in its splice and copy modes, forwarding to `port`; returns
 * { 'splice relay': port, 'copy relay': port }, or {} after saying why not.
 */
async function referenceRelays(port) {
  const cc = which('cc') || which('gcc')
  if (!cc) {
    console.log('the reference relays are left out: no C compiler (cc) on PATH')
    return {}
  }
  const exe = path.join(dir, 'reference-relay')
  const built = spawnSync(cc, ['-O2', '-pthread', path.join(root, 'bench', 'reference-relay.c'), '-o', exe], { stdio: 'inherit' })
  if (built.status !== 0) {
    console.log('the reference relays are left out: bench/reference-relay.c did not build')
    return {}
  }
  const relays = {}
  for (const mode of ['splice', 'copy']) {
    const child = spawn(exe, [mode, String(port)], { stdio: ['ignore', 'pipe', 'inherit'] })
    relays[`${mode} relay`] = Number(await new Promise((resolve) => child.stdout.once('data', resolve)))
    // Not a reason to stay alive: killed when the benchmark ends.
    child.stdout.destroy()
    child.unref()
    process.on('exit', () => child.kill())
  }
  return relays
}

// --- 1. throughput ---------------------------------------------------------
// BENCH_ONLY=throughput|requests|tunnels runs one part (while working on it).
const only = (part) => !process.env.BENCH_ONLY || process.env.BENCH_ONLY === part
if (only('throughput')) {
const big = `http://localhost:${ports.web}/big`
const speed = (extra) => `curl -sS -o /dev/null -w '%{speed_download}\\n' ${extra}`
const through = [speed(big), speed(`-p ${big}`), speed(`-x "$FTP_PROXY" ${big}`)].join('; ')
const thr = { direct: [] }
for (const name of Object.keys(impls)) thr[name] = { plain: [], connect: [], socks: [] }
const relays = await referenceRelays(ports.web)
for (const mode of Object.keys(relays)) thr[mode] = []
for (let r = 0; r < rounds; r++) {
  thr.direct.push(Number((await run(null, speed(`--noproxy '*' ${big}`))).stdout))
  for (const [mode, port] of Object.entries(relays)) {
    thr[mode].push(Number((await run(null, speed(`--noproxy '*' http://localhost:${port}/big`))).stdout))
  }
  for (const name of Object.keys(impls)) {
    const [plain, connect, socks] = (await run(name, through)).stdout.trim().split('\n').map(Number)
    thr[name].plain.push(plain)
    thr[name].connect.push(connect)
    thr[name].socks.push(socks)
  }
}
const MBs = (xs) => median(xs) / 1e6
console.log(`\nthroughput: ${process.env.BENCH_BODY_MB || 200} MB from a loopback server, MB/s, median of ${rounds} interleaved rounds`)
console.log(`  ${'direct'.padEnd(10)} ${fmt(MBs(thr.direct)).padStart(8)}`)
for (const name of Object.keys(impls)) {
  const t = thr[name]
  console.log(
    `  ${name.padEnd(10)} plain ${fmt(MBs(t.plain)).padStart(6)}   CONNECT ${fmt(MBs(t.connect)).padStart(6)} (${fmt(MBs(t.connect) / MBs(thr.direct), 2)} of direct)   SOCKS5 ${fmt(MBs(t.socks)).padStart(6)}`,
  )
}
if (impls.original) {
  const ratio = (k) => fmt(MBs(thr['srt-rs'][k]) / MBs(thr.original[k]), 1)
  console.log(`  srt-rs / original: plain ${ratio('plain')}x, CONNECT ${ratio('connect')}x, SOCKS5 ${ratio('socks')}x`)
}
if (Object.keys(relays).length) {
  // The yardstick: what the cheapest relay moves here, both legs on the host's loopback.
  const line = Object.keys(relays).map((m) => `${m} ${fmt(MBs(thr[m]))} (${fmt(MBs(thr[m]) / MBs(thr.direct), 2)} of direct)`)
  const best = Math.max(...Object.keys(relays).map((m) => MBs(thr[m])))
  console.log(`  reference relays (bench/reference-relay.c, blocking, a thread per direction): ${line.join(', ')}`)
  console.log(`  srt-rs CONNECT / the faster reference relay: ${fmt(MBs(thr['srt-rs'].connect) / best, 2)}`)
}

}

// --- 2 and 3. request rate, CPU per request, memory ------------------------
if (only('requests')) {
const seq = (n) => `node ${client} seq ${n} localhost ${ports.web}`
const par = `node ${client} par 50 20 localhost ${ports.web}`
const req = {}
for (const name of [null, ...Object.keys(impls)]) req[name || 'direct'] = { seq: [], par: [], cpu500: [], cpu0: [], cpuPar: [], pss: [] }
for (let r = 0; r < Math.max(5, rounds); r++) {
  for (const name of [null, ...Object.keys(impls)]) {
    const k = name || 'direct'
    const zero = await run(name, seq(0))
    const s = await run(name, seq(500))
    let peak = 0
    let sampling = null
    const p = await run(name, `echo HELD >&2; ${par}`, {
      onStart: (pid) => {
        sampling ??= setInterval(() => (peak = Math.max(peak, pssKiB(tree(pid).host))), 20)
      },
    })
    clearInterval(sampling)
    const sj = JSON.parse(s.stdout)
    const pj = JSON.parse(p.stdout)
    if (sj.failed || pj.failed) console.log(`  ${k}: ${sj.failed} + ${pj.failed} requests failed`)
    req[k].seq.push(sj.requests / (sj.ms / 1000))
    req[k].par.push(pj.requests / (pj.ms / 1000))
    req[k].cpu0.push(zero.cpu)
    req[k].cpu500.push(s.cpu)
    req[k].cpuPar.push(p.cpu - zero.cpu)
    req[k].pss.push(peak)
  }
}
// Per request: the run's CPU beyond the same run with no requests, less what the client alone costs.
const perRound = (q) => q.cpu500.map((c, i) => (c - q.cpu0[i]) / 500)
const clientCpu = median(perRound(req.direct))
console.log('\nrequests: small bodies, a new connection each; req/s (medians) and CPU per proxied request beyond the client')
for (const name of Object.keys(impls)) {
  const q = req[name]
  const perReq = (median(perRound(q)) - clientCpu) * 1000
  q.perReq = perReq
  console.log(
    `  ${name.padEnd(10)} 500 sequential ${fmt(median(q.seq)).padStart(6)} req/s   50 x 20 ${fmt(median(q.par)).padStart(6)} req/s   CPU ${fmt(perReq, 3)} ms/request   host-side PSS during 50 x 20: ${fmt(median(q.pss) / 1024, 1)} MiB`,
  )
}
console.log(`  ${'direct'.padEnd(10)} 500 sequential ${fmt(median(req.direct.seq)).padStart(6)} req/s   50 x 20 ${fmt(median(req.direct.par)).padStart(6)} req/s   (client CPU ${fmt(clientCpu * 1000, 3)} ms/request)`)
if (impls.original) {
  console.log(
    `  srt-rs / original: CPU per request ${fmt(req['srt-rs'].perReq / req.original.perReq, 3)}, host-side memory ${fmt(median(req['srt-rs'].pss) / median(req.original.pss), 3)}`,
  )
}

}

// --- 5. many tunnels ---------------------------------------------------------
if (only('tunnels')) {
console.log('\ntunnels: CONNECT tunnels to a loopback echo server, all open at once, held, then each used once')
for (const n of [500, 2000]) {
  for (const name of Object.keys(impls)) {
    let held = null
    const r = await run(name, `ulimit -n 65536 2>/dev/null; node ${client} tunnels ${n} localhost ${ports.echo}`, {
      onStart: (pid) => {
        held ??= tree(pid)
      },
    }).catch((e) => ({ stdout: JSON.stringify({ tunnels: n, opened: 0, used: 0, errors: [String(e.message).slice(0, 200)] }) }))
    const t = JSON.parse(r.stdout)
    console.log(
      `  ${name.padEnd(10)} ${String(n).padStart(4)}: opened ${t.opened}, used ${t.used}${t.openMs ? ` (opened in ${fmt(t.openMs)} ms)` : ''}; processes while held: host side ${held?.host.length ?? '-'}, in the sandbox ${held?.sandbox.length ?? '-'}${t.errors?.length ? `; errors: ${t.errors.join(' | ')}` : ''}`,
    )
  }
}
}
console.log(`\nmachine: ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}`)
server.kill()
fs.rmSync(dir, { recursive: true, force: true })
