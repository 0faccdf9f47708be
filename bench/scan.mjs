// The mandatory-deny scan of a large tree (100,000 files, 500 git
// repositories): srt's native walk beside the original's ripgrep
// invocation (the same arguments the original passes, depth 3), medians of
// interleaved runs. Needs `rg` on PATH for the comparison (apt-get install ripgrep).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { median, originalCli, root, which } from './common.mjs'

const runs = Number(process.env.BENCH_RUNS || 15)
const tree = path.join(os.tmpdir(), 'srt-bench-scan-tree-2')

/** 500 repositories of 200 files each, spread over two levels, some with protected files. */
function makeTree() {
  if (fs.existsSync(path.join(tree, '.done'))) return
  fs.rmSync(tree, { recursive: true, force: true })
  for (let r = 0; r < 500; r++) {
    // Half the repositories sit at the top, half one level down.
    const repo = r % 2 ? path.join(tree, `group-${r % 25}`, `repo-${r}`) : path.join(tree, `repo-${r}`)
    for (const d of ['.git/hooks', '.git/objects', '.git/refs/heads', 'src/lib', 'docs', 'node_modules/dep']) fs.mkdirSync(path.join(repo, d), { recursive: true })
    fs.writeFileSync(path.join(repo, '.git', 'config'), '[core]\n')
    fs.writeFileSync(path.join(repo, '.git', 'HEAD'), 'ref: refs/heads/main\n')
    if (r % 10 === 0) fs.writeFileSync(path.join(repo, '.bashrc'), '')
    if (r % 7 === 0) fs.mkdirSync(path.join(repo, '.vscode'), { recursive: true })
    for (let f = 0; f < 196; f++) fs.writeFileSync(path.join(repo, ['src/lib', 'docs', 'src', 'node_modules/dep'][f % 4], `f${f}.txt`), '')
  }
  fs.writeFileSync(path.join(tree, '.done'), '')
}

const rg = which('rg')
// The original's arguments (reference §4.5, 0.0.83), depth 3 -> --max-depth 4.
const files = ['.gitconfig', '.gitmodules', '.bashrc', '.bash_profile', '.zshrc', '.zprofile', '.profile', '.ripgreprc', '.mcp.json']
const dirs = ['.vscode', '.idea', '.claude/commands', '.claude/agents']
const rgArgs = ['--files', '--hidden', '--no-ignore', '--no-config', '--line-buffered', '--max-depth', '4']
for (const f of files) rgArgs.push('--iglob', f)
for (const d of dirs) rgArgs.push('--iglob', `**/${d}/**`)
rgArgs.push('--iglob', '**/.git/hooks/**', '--iglob', '**/.git/config', '--iglob', '**/.git/HEAD', '-g', '!**/node_modules/**', tree)

makeTree()
const settings = path.join(os.tmpdir(), 'srt-bench-scan-settings.json')
fs.writeFileSync(settings, JSON.stringify({ network: { allowedDomains: [], deniedDomains: [] }, filesystem: { denyRead: [], allowWrite: ['.'], denyWrite: [] } }))
const scenarios = { 'srt native walk': [path.join(root, 'srt'), ['__scan', tree, '3']] }
if (rg) scenarios['original: ripgrep'] = [rg, rgArgs]
const times = Object.fromEntries(Object.keys(scenarios).map((k) => [k, []]))
for (let i = 0; i < runs + 2; i++) {
  for (const [name, [cmd, args]] of Object.entries(scenarios)) {
    const t0 = process.hrtime.bigint()
    const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 })
    const ms = Number(process.hrtime.bigint() - t0) / 1e6
    if (r.status !== 0 && !(name.startsWith('original') && r.status === 1)) throw new Error(`${name}: ${r.stderr}`)
    if (i >= 2) times[name].push(ms)
    if (i === 0) console.log(`  ${name}: ${name.startsWith('srt') ? r.stdout.trim() : `${r.stdout.split('\n').filter(Boolean).length} paths listed`}`)
  }
}
console.log(`mandatory-deny scan of 100,000 files in 500 repositories, ${runs} interleaved runs, medians (ms)`)
for (const [name, xs] of Object.entries(times)) console.log(`  ${name.padEnd(20)} ${median(xs).toFixed(1).padStart(8)}`)
if (rg) console.log(`  ratio (ripgrep / srt): ${(median(times['original: ripgrep']) / median(times['srt native walk'])).toFixed(2)}`)
else console.log('  (install ripgrep for the side-by-side)')

// The whole start-up in that tree (the walk, then one mount per protected
// path), beside the same run in an empty directory: what the tree costs.
const original = originalCli()
const whole = { 'srt-rs': [path.join(root, 'srt'), ['--settings', settings, '--', 'true']] }
if (original) whole.original = [process.execPath, [original, '--settings', settings, '--', 'true']]
const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'srt-bench-empty-'))
const wholeRuns = Math.max(3, Math.ceil(runs / 3))
const wholeTimes = {}
for (let i = 0; i < wholeRuns + 1; i++) {
  for (const [name, [cmd, args]] of Object.entries(whole)) {
    for (const [where, cwd] of [['tree', tree], ['empty', empty]]) {
      const t0 = process.hrtime.bigint()
      const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, HOME: empty } })
      const ms = Number(process.hrtime.bigint() - t0) / 1e6
      if (r.status !== 0) throw new Error(`${name} in ${where}: ${r.stderr}`)
      if (i > 0) (wholeTimes[`${name} ${where}`] ??= []).push(ms)
    }
  }
}
console.log(`\n\`--settings S -- true\` with the tree as working directory (writable), ${wholeRuns} interleaved runs, medians (ms)`)
const cost = {}
for (const name of Object.keys(whole)) {
  const [inTree, inEmpty] = [median(wholeTimes[`${name} tree`]), median(wholeTimes[`${name} empty`])]
  cost[name] = inTree - inEmpty
  console.log(`  ${name.padEnd(10)} in the tree ${inTree.toFixed(0).padStart(6)}   in an empty directory ${inEmpty.toFixed(0).padStart(5)}   the tree costs ${cost[name].toFixed(0).padStart(5)}`)
}
if (cost.original) console.log(`  the tree's cost, original / srt-rs: ${(cost.original / cost['srt-rs']).toFixed(2)}`)
fs.rmSync(empty, { recursive: true, force: true })
