// `npm run bench` (install): how long `npm install` takes and how much it
// puts on disk, for srt-rs from the tarballs `npm run artifacts` packed and
// for the TypeScript original from npm's cache, both offline and into fresh
// directories, interleaved. Medians, ratios. Not a test: nothing here fails
// on a figure.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { median, root } from './common.mjs'

const rounds = Number(process.env.BENCH_ROUNDS || 5)
const manifestFile = path.join(root, 'artifacts', 'manifest.json')
if (!fs.existsSync(manifestFile)) {
  console.log('install: no artifacts/manifest.json: run `npm run artifacts` first')
  process.exit(0)
}
const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'))
const ours = [manifest.packages.main.file, manifest.packages.platform.file].map((f) => path.join(root, 'artifacts', f))
const originalVersion = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).devDependencies['@anthropic-ai/sandbox-runtime']

/** Installs `specs` offline into a fresh directory: seconds, KiB on disk, packages. */
function install(specs, cache, offline = true) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srt-bench-install-'))
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"bench","version":"1.0.0","private":true}')
  const env = { ...process.env, npm_config_cache: cache, npm_config_offline: String(offline), npm_config_audit: 'false', npm_config_fund: 'false' }
  const t0 = process.hrtime.bigint()
  const r = spawnSync('npm', ['install', '--ignore-scripts', ...specs], { cwd: dir, env, encoding: 'utf8' })
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true })
    return { error: r.stderr.split('\n').find((l) => l.includes('ERR')) || r.stderr.slice(0, 200) }
  }
  const kib = Number(spawnSync('du', ['-sk', path.join(dir, 'node_modules')], { encoding: 'utf8' }).stdout.split('\t')[0])
  const lock = JSON.parse(fs.readFileSync(path.join(dir, 'package-lock.json'), 'utf8'))
  const packages = Object.keys(lock.packages).filter((p) => p.startsWith('node_modules/')).length
  fs.rmSync(dir, { recursive: true, force: true })
  return { seconds, kib, packages }
}

const cacheOurs = fs.mkdtempSync(path.join(os.tmpdir(), 'srt-bench-cache-'))
// The original's packages are fetched once (not timed) into a cache of its
// own; every timed install then reads only that cache, as ours read only
// the tarballs.
const original = [`@anthropic-ai/sandbox-runtime@${originalVersion}`]
const cacheOriginal = fs.mkdtempSync(path.join(os.tmpdir(), 'srt-bench-cache-'))
const primed = install(original, cacheOriginal, false)
const results = { 'srt-rs': [], original: [] }
for (let i = 0; i < rounds; i++) {
  results['srt-rs'].push(install(ours, cacheOurs))
  results.original.push(primed.error ? primed : install(original, cacheOriginal))
}
fs.rmSync(cacheOurs, { recursive: true, force: true })
fs.rmSync(cacheOriginal, { recursive: true, force: true })

console.log(`install, ${rounds} interleaved rounds, offline, medians; machine: ${os.cpus().length} cores`)
console.log(
  `  srt-rs packages: main ${(manifest.packages.main.size / 1024).toFixed(0)} KiB packed (${(manifest.packages.main.unpackedSize / 1024).toFixed(0)} KiB unpacked), ` +
    `${manifest.platform} ${(manifest.packages.platform.size / 1024).toFixed(0)} KiB packed (${(manifest.packages.platform.unpackedSize / 1024).toFixed(0)} KiB unpacked)`,
)
const summary = {}
for (const [name, runs] of Object.entries(results)) {
  const failed = runs.find((r) => r.error)
  if (failed) {
    console.log(`  ${name.padEnd(8)} left out: ${failed.error}`)
    continue
  }
  summary[name] = { seconds: median(runs.map((r) => r.seconds)), kib: median(runs.map((r) => r.kib)), packages: runs[0].packages }
  const s = summary[name]
  console.log(`  ${name.padEnd(8)} ${s.seconds.toFixed(2)} s, ${(s.kib / 1024).toFixed(1)} MiB in node_modules, ${s.packages} packages`)
}
if (summary['srt-rs'] && summary.original) {
  const ratio = (k) => (summary['srt-rs'][k] / summary.original[k]).toFixed(2)
  console.log(`  srt-rs / original: time ${ratio('seconds')}, disk ${ratio('kib')}`)
}
