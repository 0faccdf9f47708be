// `npm run bench`: start-up overhead beyond a bare bubblewrap run of the
// same command, for srt-rs (native binary and node shim) and the
// TypeScript original, in the same run. Interleaved runs, medians, ratios.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { median, originalCli, root, which } from './common.mjs'

const runs = Number(process.env.BENCH_RUNS || 60)
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srt-bench-'))
const settings = path.join(dir, 'settings.json')
fs.writeFileSync(
  settings,
  JSON.stringify({ network: { allowedDomains: [], deniedDomains: [] }, filesystem: { denyRead: [], allowWrite: [], denyWrite: [] } }),
)
const bwrap = which('bwrap')
const env = { ...process.env, HOME: dir }

const scenarios = {
  'bare bwrap': [bwrap, ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', '--unshare-all', '--unshare-user', '--new-session', '--die-with-parent', '--', 'true']],
  'srt (native)': [path.join(root, 'srt'), ['--settings', settings, '--', 'true']],
  'srt (node shim)': [process.execPath, [path.join(root, 'bin', 'srt.js'), '--settings', settings, '--', 'true']],
  // What `npx srt` and package scripts run: the npm bin, a sh launcher of the native binary.
  'srt (npm bin)': [path.join(root, 'bin', 'srt'), ['--settings', settings, '--', 'true']],
  'node -e 0': [process.execPath, ['-e', '0']],
}
const original = originalCli()
if (original) scenarios.original = [process.execPath, [original, '--settings', settings, '--', 'true']]

const times = Object.fromEntries(Object.keys(scenarios).map((k) => [k, []]))
for (let i = 0; i < runs + 3; i++) {
  for (const [name, [cmd, args]] of Object.entries(scenarios)) {
    const t0 = process.hrtime.bigint()
    const r = spawnSync(cmd, args, { env, stdio: 'ignore' })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (r.status !== 0) throw new Error(`${name} failed with ${r.status}`)
    if (i >= 3) times[name].push(ms) // the first runs warm the caches
  }
}
const base = median(times['bare bwrap'])
console.log(`start-up, ${runs} interleaved runs each, medians (ms); machine: ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}`)
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs)
  const extra = name.startsWith('srt') || name === 'original' ? `   overhead beyond bare bwrap: ${(m - base).toFixed(1)} ms` : ''
  console.log(`  ${name.padEnd(16)} ${m.toFixed(1).padStart(7)}${extra}`)
}
if (times.original) {
  const over = (k) => median(times[k]) - base
  const ratio = (k) => (over(k) / over('original')).toFixed(3)
  console.log(
    `  overhead ratios to the original: native ${ratio('srt (native)')}, npm bin ${ratio('srt (npm bin)')} (the shim \`npx srt\` runs), node shim ${ratio('srt (node shim)')} (the addon in Node: only where the package has no native binary)`,
  )
  // The node shim's floor: Node's own start-up, before any of srt runs.
  console.log(`  node -e 0 alone is ${(median(times['node -e 0']) / over('original')).toFixed(3)} of the original's overhead`)
}
fs.rmSync(dir, { recursive: true, force: true })
