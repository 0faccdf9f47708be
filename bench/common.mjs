// What the benchmarks share: where things are, the original, medians.
import { spawnSync } from 'node:child_process'
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
