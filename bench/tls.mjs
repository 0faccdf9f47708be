// `npm run bench` (terminated HTTPS): srt-rs and the TypeScript original
// side by side with the same settings (`network.tlsTerminate`, the server's
// CA as `extraCaCertPaths`), interleaved, against the same loopback HTTPS
// server. curl inside trusts each session's CA through the variables the
// sandbox sets.
//   throughput   a large body through a terminated tunnel, MB/s
//   kept-alive   500 small requests on one terminated connection: rate, and
//                CPU per request of everything each runtime starts
//   handshakes   200 connections of one request each, from one Node process
//                (a full TLS handshake with the command and one upstream
//                each; curl is not used here: it reads the whole CA bundle
//                again for every connection): rate, CPU per request
// Nothing here is a pass/fail test.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { median, originalCli, root, runTimed } from './common.mjs'

const rounds = Number(process.env.BENCH_ROUNDS || 5)
const bodyMB = Number(process.env.BENCH_TLS_BODY_MB || 100)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srt-bench-tls-'))

// A CA of the benchmark's own, and the server's certificate for localhost.
const ssl = (args) => {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`)
}
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
ssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=bench CA', '-days', '2'])
ssl(['req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost'])
fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost\n')
ssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', 'san.ext'])

const settings = path.join(dir, 'settings.json')
fs.writeFileSync(
  settings,
  JSON.stringify({
    network: { allowedDomains: ['localhost'], deniedDomains: [], tlsTerminate: { extraCaCertPaths: [path.join(dir, 'ca.pem')] } },
    filesystem: { denyRead: [], allowWrite: [], denyWrite: [] },
  }),
)

const impls = { 'srt-rs': [path.join(root, 'srt')] }
const original = originalCli()
if (original) impls.original = [process.execPath, original]

// The original checks upstreams against Node's roots only (its
// extraCaCertPaths go to the sandbox's bundle): Node adds this file to them.
const env = { ...process.env, HOME: dir, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') }
delete env.NO_PROXY
delete env.no_proxy

const server = spawn(process.execPath, [path.join(root, 'bench', 'server.mjs')], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, BENCH_BODY_MB: String(bodyMB), BENCH_TLS_KEY: path.join(dir, 'leaf.key'), BENCH_TLS_CERT: path.join(dir, 'leaf.pem') },
})
const ports = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(JSON.parse(String(d)))))
process.on('exit', () => {
  server.kill()
  fs.rmSync(dir, { recursive: true, force: true })
})

const base = `https://localhost:${ports.secure}`
const big = `curl -sS -o /dev/null -w '%{speed_download}\\n' ${base}/big`
// One curl, many URLs: one connection, kept alive.
const keptAlive = (n) => `curl -sS --fail ${Array(n).fill(`-o /dev/null ${base}/small`).join(' ')}`
// A new tunnel and TLS session per request, from one Node process.
const client = path.join(root, 'bench', 'client.cjs')
const handshakes = (n) => `node ${client} tls ${n} localhost ${ports.secure}`

const fmt = (x, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '-')
// The yardstick: curl straight to the server, no proxy, one TLS session.
const direct = `curl -sS --noproxy '*' --cacert ${path.join(dir, 'ca.pem')} -o /dev/null -w '%{speed_download}\\n' ${base}/big`
const directMBs = []
const results = {}
for (const name of Object.keys(impls)) results[name] = { mbs: [], keptRate: [], keptCpu: [], shakeRate: [], shakeCpu: [] }
const timed = async (name, script) => {
  const t0 = process.hrtime.bigint()
  const r = await runTimed(impls[name], settings, env, script)
  return { ...r, secs: Number(process.hrtime.bigint() - t0) / 1e9 }
}
for (let r = 0; r < rounds; r++) {
  directMBs.push(Number((await runTimed(null, settings, env, direct)).stdout) / 1e6)
  for (const name of Object.keys(impls)) {
    const res = results[name]
    res.mbs.push(Number((await timed(name, big)).stdout) / 1e6)
    // The run's fixed cost (start-up, one request) is measured and taken off.
    const one = await timed(name, keptAlive(1))
    const kept = await timed(name, keptAlive(500))
    res.keptRate.push(499 / (kept.secs - one.secs))
    res.keptCpu.push(((kept.cpu - one.cpu) / 499) * 1e6)
    const shaken = await timed(name, handshakes(200))
    const shakeOne = await timed(name, handshakes(1))
    if (JSON.parse(shaken.stdout).failed) throw new Error(`${name}: failed handshakes: ${shaken.stdout}`)
    res.shakeRate.push(199 / (shaken.secs - shakeOne.secs))
    res.shakeCpu.push(((shaken.cpu - shakeOne.cpu) / 199) * 1e6)
  }
}
console.log(`\nterminated HTTPS (tlsTerminate), median of ${rounds} interleaved rounds`)
console.log(`  direct (curl to the server, no proxy): ${bodyMB} MB body ${fmt(median(directMBs)).padStart(5)} MB/s`)
for (const name of Object.keys(impls)) {
  const m = Object.fromEntries(Object.entries(results[name]).map(([k, v]) => [k, median(v)]))
  results[name].median = m
  console.log(
    `  ${name.padEnd(10)} ${bodyMB} MB body ${fmt(m.mbs).padStart(5)} MB/s   kept-alive ${fmt(m.keptRate).padStart(5)} req/s, ${fmt(m.keptCpu).padStart(5)} us CPU/req   new connections ${fmt(m.shakeRate).padStart(4)} req/s, ${fmt(m.shakeCpu).padStart(5)} us CPU/req`,
  )
}
if (impls.original) {
  const [a, b] = [results['srt-rs'].median, results.original.median]
  console.log(
    `  srt-rs: ${fmt(a.mbs / median(directMBs), 2)} of direct; srt-rs / original: throughput ${fmt(a.mbs / b.mbs, 1)}x, kept-alive rate ${fmt(a.keptRate / b.keptRate, 1)}x (CPU ${fmt(b.keptCpu / a.keptCpu, 1)}x less), new connections ${fmt(a.shakeRate / b.shakeRate, 1)}x (CPU ${fmt(b.shakeCpu / a.shakeCpu, 1)}x less)`,
  )
}
process.exit(0)
