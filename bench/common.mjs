// What the benchmarks share: where things are, the original, medians.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The absolute path of a command on PATH, or ''. */
export const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim()

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

/**
 * The original's CLI (a devDependency), or null after saying why it is left
 * out: it needs socat and ripgrep on PATH.
 */
export function originalCli() {
  const cli = path.join(root, 'node_modules', '@anthropic-ai', 'sandbox-runtime', 'dist', 'cli.js')
  if (!fs.existsSync(cli)) console.log('the original is left out: `npm install` (devDependencies) installs it')
  else if (!which('socat') || !which('rg')) console.log('the original is left out: it needs socat and ripgrep on PATH')
  else return cli
  return null
}

/**
 * Runs `script` under bash, in the sandbox that `prefix` (an srt command
 * line up to its `--settings`) starts with `settings`, or directly without
 * a prefix. Resolves to stdout, stderr and the CPU seconds of everything
 * the run started and waited for (bash's `times`); `onStart(pid)` is
 * called once the script prints HELD on stderr.
 */
export function runTimed(prefix, settings, env, script, { onStart } = {}) {
  // Inside: the proxies' variables name localhost, which NO_PROXY lists; the clients here must use them.
  const inner = `unset NO_PROXY no_proxy; ${script}`
  const words = prefix ? [...prefix, '--settings', settings, '--', 'bash', '-c', inner] : ['bash', '-c', inner]
  const quoted = words.map((w) => `'${w.replaceAll("'", `'"'"'`)}'`).join(' ')
  const outer = `${quoted}; rc=$?; times >&2; exit $rc`
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', outer], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => {
      stderr += d
      if (onStart && stderr.includes('HELD')) onStart(child.pid)
    })
    child.on('close', (status) => {
      const lines = stderr.trim().split('\n')
      const secs = (t) => {
        const m = /(\d+)m([\d.]+)s/.exec(t)
        return m ? Number(m[1]) * 60 + Number(m[2]) : NaN
      }
      const [user, sys] = (lines.at(-1) || '').split(' ')
      if (status !== 0) return reject(new Error(`${prefix ? prefix.at(-1) : 'direct'} failed (${status}): ${stderr}`))
      resolve({ stdout, stderr, cpu: secs(user) + secs(sys) })
    })
  })
}
