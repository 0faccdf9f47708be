// Shared helpers for the node suites: run srt through the npm shim or the
// native binary, with a private HOME and working directory.
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
export const shim = path.join(root, 'bin', 'srt.js')
export const native = path.join(root, 'srt')

/** The two ways to run the CLI; every CLI rule is tested through both. */
export const kinds = {
  shim: (args) => [process.execPath, [shim, ...args]],
  native: (args) => [native, args],
}

/** A fresh directory under the system temp dir, removed at exit. */
export function tempDir(prefix = 'srt-test-') {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)))
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** A private HOME (so ~/.srt-settings.json is absent unless a test writes it) and cwd. */
export function sandboxEnv(extra = {}) {
  const home = tempDir('srt-home-')
  const env = { ...process.env, HOME: home, ...extra }
  delete env.SRT_DEBUG
  return { home, env }
}

/** Writes a settings file and returns its path. */
export function settingsFile(dir, value) {
  const file = path.join(dir, `settings-${Math.random().toString(36).slice(2)}.json`)
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value))
  return file
}

/** A minimal valid config with the given filesystem and network parts merged in. */
export function config({ filesystem = {}, network = {}, ...rest } = {}) {
  return {
    network: { allowedDomains: [], deniedDomains: [], ...network },
    filesystem: { denyRead: [], allowWrite: [], denyWrite: [], ...filesystem },
    ...rest,
  }
}

/** Runs srt synchronously; returns { status, signal, stdout, stderr }. */
export function runSync(kind, args, { env, cwd, input, timeout = 20000, stdio } = {}) {
  const [cmd, argv] = kinds[kind](args)
  const r = spawnSync(cmd, argv, { env, cwd, input, timeout, encoding: 'utf8', stdio })
  if (r.error) throw r.error
  return r
}

/** Starts srt; resolves helpers to wait for output and for the end. */
export function start(kind, args, { env, cwd, stdio = ['pipe', 'pipe', 'pipe'] } = {}) {
  const [cmd, argv] = kinds[kind](args)
  const child = spawn(cmd, argv, { env, cwd, stdio })
  // A failed test must not leave its run behind (it would keep the runner alive).
  const cleanup = () => child.kill('SIGKILL')
  process.on('exit', cleanup)
  child.on('exit', () => process.off('exit', cleanup))
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (d) => (stdout += d))
  child.stderr?.on('data', (d) => (stderr += d))
  let ended = null
  const done = new Promise((resolve) => {
    child.on('close', (status, signal) => {
      ended = { status, signal }
      resolve({ status, signal, stdout, stderr })
    })
  })
  return {
    child,
    done,
    get stdout() {
      return stdout
    },
    async waitFor(text, ms = 10000) {
      const t0 = Date.now()
      while (!stdout.includes(text)) {
        if (ended) throw new Error(`ended (${JSON.stringify(ended)}) before printing ${JSON.stringify(text)}; stdout: ${stdout}; stderr: ${stderr}`)
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${JSON.stringify(text)}; stdout: ${stdout}; stderr: ${stderr}`)
        await sleep(20)
      }
    },
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Runs a command to its end without blocking the event loop (a test's own servers answer meanwhile). */
export function collect(cmd, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (status) => resolve({ status, stdout, stderr }))
  })
}

/** Host processes whose command line starts with `prefix` (a regular expression). */
export function processesWith(prefix) {
  const r = spawnSync('pgrep', ['-f', `^${prefix}`], { encoding: 'utf8' })
  return r.stdout.split('\n').filter(Boolean)
}

/** Polls `fn` until it returns true or `ms` pass. */
export async function eventually(fn, ms = 5000) {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    if (await fn()) return true
    await sleep(50)
  }
  return fn()
}

/** The absolute path of a command on PATH, or ''. */
export const which = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim()

/** Runs git in `dir` with a fixed identity, so commits work on any machine. */
export function gitIn(dir, env) {
  const identity = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' }
  return (args) => spawnSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...env, ...identity } })
}
