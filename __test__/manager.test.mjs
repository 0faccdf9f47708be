// The library API of issue 5 (first part): SandboxManager's session cycle
// with real sandboxes and real connections, the ask callback, updateConfig,
// violations and their annotation, per-command lists, independent instances,
// ESM and CommonJS, and that nothing keeps Node alive after reset().
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'

import { collect, eventually, root, tempDir, which } from './helpers.mjs'
import { SandboxInitializeConflictError, SandboxManager, SandboxViolationStore, validateConfig } from '../lib/index.mjs'

const work = tempDir('srt-lib-')
const config = (network = {}, filesystem = {}) => ({
  network: { allowedDomains: [], deniedDomains: [], ...network },
  filesystem: { denyRead: [], allowWrite: [], denyWrite: [], ...filesystem },
})

/** A loopback server answering `hello <path>`; closed after the file. */
async function server() {
  const s = http.createServer((req, res) => res.end(`hello ${req.url}\n`))
  await new Promise((r) => s.listen(0, '127.0.0.1', r))
  after(() => (s.closeAllConnections(), s.close()))
  return s.address().port
}

/** Runs argv (from wrapWithSandboxArgv) in `cwd`. */
const collectArgv = (argv, cwd) => collect(argv[0], argv.slice(1), { cwd })

/** Runs a wrapped command line as a library caller does: spawn(line, {shell: true}). */
const spawnLine = (line, cwd = work) => collect(line, [], { shell: true, cwd })

const curl = (url) => `unset NO_PROXY no_proxy; curl -sS -o /dev/null -w '%{http_code}\\n' ${url}`

describe('SandboxManager (static style, as the original)', () => {
  it('initialize, wrap, spawn, violation, annotate, reset', async () => {
    const port = await server()
    await SandboxManager.initialize(config({ allowedDomains: [`localhost:${port}`] }))
    assert.equal(SandboxManager.isSandboxingEnabled(), true)
    assert.equal(await SandboxManager.waitForNetworkInitialization(), true)
    const command = `${curl(`http://localhost:${port}/ok`)}; ${curl('http://denied.example/')}; touch /etc/srt-lib 2>/dev/null || echo read-only`
    const line = await SandboxManager.wrapWithSandbox(command)
    assert.equal(typeof line, 'string')
    const r = await spawnLine(line)
    assert.equal(r.stdout, '200\n403\nread-only\n', r.stderr)
    SandboxManager.cleanupAfterCommand()
    const store = SandboxManager.getSandboxViolationStore()
    assert.ok(store instanceof SandboxViolationStore)
    const mine = store.getViolationsForCommand(command)
    assert.equal(mine.length, 1)
    assert.equal(mine[0].line, 'deny network-outbound denied.example:80 (host is not on the allow list)')
    assert.ok(mine[0].timestamp instanceof Date)
    assert.equal(
      SandboxManager.annotateStderrWithSandboxFailures(command, 'curl failed'),
      ['curl failed', '<sandbox_violations>', mine[0].line, '</sandbox_violations>'].join(os.EOL),
    )
    assert.equal(SandboxManager.annotateStderrWithSandboxFailures('another command', 'x'), 'x')
    await SandboxManager.reset()
    assert.equal(SandboxManager.isSandboxingEnabled(), false)
    assert.equal(SandboxManager.annotateStderrWithSandboxFailures(command, 'x'), 'x')
  })
})

describe('SandboxManager instances', () => {
  it('two instances hold different policies at once', async () => {
    const port = await server()
    const a = new SandboxManager()
    const b = new SandboxManager()
    await a.initialize(config({ allowedDomains: [`localhost:${port}`] }))
    await b.initialize(config({ allowedDomains: [] }))
    const [la, lb] = await Promise.all([a.wrapWithSandbox(curl(`http://localhost:${port}/a`)), b.wrapWithSandbox(curl(`http://localhost:${port}/b`))])
    const [ra, rb] = await Promise.all([spawnLine(la), spawnLine(lb)])
    assert.equal(ra.stdout, '200\n', ra.stderr)
    assert.equal(rb.stdout, '403\n', rb.stderr)
    assert.equal(a.getSandboxViolationStore().getCount(), 0)
    assert.equal(b.getSandboxViolationStore().getCount(), 1)
    await Promise.all([a.reset(), b.reset()])
  })

  it('the ask callback decides unlisted hosts: only true allows; a reason reaches the client; a throw denies', async () => {
    const port = await server()
    const asked = []
    const m = new SandboxManager()
    await m.initialize(config({ allowedDomains: [], deniedDomains: ['never.example'] }), async ({ host, port: p }) => {
      asked.push(`${host}:${p}`)
      if (p === port) return true
      if (host === 'reason.example') return { allow: false, reason: 'not during tests' }
      if (host === 'throws.example') throw new Error('boom')
      return 'yes' // anything but true denies
    })
    const line = await m.wrapWithSandbox(
      [curl(`http://localhost:${port}/asked`), 'unset NO_PROXY no_proxy; curl -sS http://reason.example/; echo', curl('http://throws.example/'), curl('http://truthy.example/'), curl('http://never.example/')].join('; '),
    )
    const r = await spawnLine(line)
    assert.equal(r.stdout, '200\nConnection blocked by network allowlist: not during tests\n\n403\n403\n403\n', r.stderr)
    assert.deepEqual(asked, [`localhost:${port}`, 'reason.example:80', 'throws.example:80', 'truthy.example:80'], 'the deny list is never put to the callback')
    const lines = m.getSandboxViolationStore().getViolations().map((v) => v.line)
    assert.deepEqual(lines, [
      'deny network-outbound reason.example:80 (not during tests)',
      'deny network-outbound throws.example:80 (permission prompt failed)',
      'deny network-outbound truthy.example:80 (user denied)',
      'deny network-outbound never.example:80 (host is on the deny list)',
    ])
    await m.reset()
  })

  it('a synchronous ask callback works as well', async () => {
    const port = await server()
    const m = new SandboxManager()
    await m.initialize(config(), ({ port: p }) => p === port)
    const r = await spawnLine(await m.wrapWithSandbox(`${curl(`http://localhost:${port}/sync`)}; ${curl(`http://localhost:${port + 1}/`)}`))
    assert.equal(r.stdout, '200\n403\n', r.stderr)
    await m.reset()
  })

  it('updateConfig changes the allowed domains between two connections', async () => {
    const port = await server()
    const m = new SandboxManager()
    await m.initialize(config({ allowedDomains: [] }))
    // One sandbox: a request, then a pause in which the config changes, then another.
    const line = await m.wrapWithSandbox(`${curl(`http://localhost:${port}/1`)}; sleep 1; ${curl(`http://localhost:${port}/2`)}`)
    const run = spawnLine(line)
    await new Promise((r) => setTimeout(r, 500))
    m.updateConfig(config({ allowedDomains: ['localhost'] }))
    const r = await run
    assert.equal(r.stdout, '403\n200\n', r.stderr)
    assert.deepEqual(m.getConfig().network.allowedDomains, ['localhost'])
    await m.reset()
  })

  it('per-command lists apply to the command wrapped with that id only', async () => {
    const port = await server()
    const m = new SandboxManager()
    await m.initialize(config({ allowedDomains: [] }))
    const id = 'c0ffee00c0ffee00c0ffee00c0ffee00'
    m.registerCommandNetworkLists(id, { allowedDomains: [`localhost:${port}`] })
    assert.throws(() => m.registerCommandNetworkLists('short', { allowedDomains: [] }), /at least 22/)
    assert.throws(() => m.registerCommandNetworkLists('x'.repeat(22), { allowedDomains: ['*.com'] }), /not a valid domain pattern/)
    const withId = await m.wrapWithSandbox(curl(`http://localhost:${port}/`), undefined, undefined, undefined, { commandId: id })
    const without = await m.wrapWithSandbox(curl(`http://localhost:${port}/`))
    assert.equal((await spawnLine(withId)).stdout, '200\n')
    assert.equal((await spawnLine(without)).stdout, '403\n')
    m.unregisterCommandNetworkLists(id)
    const again = await m.wrapWithSandbox(curl(`http://localhost:${port}/`), undefined, undefined, undefined, { commandId: id })
    assert.equal((await spawnLine(again)).stdout, '403\n')
    await m.reset()
  })

  it('subscribers hear of violations as they happen', async () => {
    const m = new SandboxManager()
    await m.initialize(config())
    const heard = []
    const unsubscribe = m.getSandboxViolationStore().subscribe((all) => heard.push(all.map((v) => v.line)))
    assert.deepEqual(heard, [[]], 'called at once with what there is')
    const r = await spawnLine(await m.wrapWithSandbox(curl('http://one.example/')))
    assert.equal(r.stdout, '403\n')
    const t0 = Date.now()
    while (heard.length < 2 && Date.now() - t0 < 5000) await new Promise((res) => setTimeout(res, 20))
    assert.deepEqual(heard.at(-1), ['deny network-outbound one.example:80 (host is not on the allow list)'])
    unsubscribe()
    await m.reset()
  })

  it('a second initialize while one runs with another config is a conflict', async () => {
    const m = new SandboxManager()
    const first = m.initialize(config())
    await assert.rejects(m.initialize(config({ allowedDomains: ['example.com'] })), (e) => e instanceof SandboxInitializeConflictError && e.code === 'initialize_conflict')
    await first
    await m.initialize(config()) // the same again: shares the first
    await m.reset()
  })

  it('refuses bad configs with the CLI messages, and a wrap before initialize', async () => {
    const m = new SandboxManager()
    await assert.rejects(m.wrapWithSandbox('true'), /not initialized/)
    await assert.rejects(m.initialize(config({ allowedDomains: ['*.com'] })), /network\.allowedDomains\[0\]: "\*\.com" is not a valid domain pattern/)
    await assert.rejects(m.initialize({ ...config(), javaAgentJarPath: '/opt/agent.jar' }), /javaAgentJarPath: not supported yet/)
    assert.equal(validateConfig(config()).ok, true)
    assert.match(validateConfig({ network: {} }).errors[0], /network\.allowedDomains: is required/)
    assert.deepEqual(m.checkDependencies().errors, [])
  })
})

describe('library errors', () => {
  it('carry the engine\'s code, and take the original\'s class by it', async () => {
    const m = new SandboxManager()
    await assert.rejects(m.initialize({ ...config(), javaAgentJarPath: '/opt/agent.jar' }), (e) => e.code === 'SRT_UNSUPPORTED_CONFIG' && /weaker rules/.test(e.message))
    await assert.rejects(m.initialize(config({ allowedDomains: ['*.com'] })), { code: 'SRT_INVALID_CONFIG' })
    const dir = tempDir('srt-lib-e-')
    await m.initialize(config({}, { allowWrite: [dir] }))
    try {
      assert.throws(() => m.updateConfig(config({ allowedDomains: ['*.com'] })), { code: 'SRT_INVALID_CONFIG' })
      const nul = m.wrapWithSandbox('true', undefined, { filesystem: { denyRead: ['/tmp/a\u0000b'], allowWrite: [dir], denyWrite: [] } })
      await assert.rejects(nul, (e) => e.name === 'LinuxSandboxProfileError' && e.code === 'nul_in_path')
      // More files named in denyWrite than bubblewrap takes mounts.
      const many = []
      for (let i = 0; i < 3100; i++) many.push(path.join(dir, `f${i}`))
      for (const f of many) fs.writeFileSync(f, '')
      const big = m.wrapWithSandbox('true', undefined, { filesystem: { denyRead: [], allowWrite: [dir], denyWrite: many } })
      await assert.rejects(big, (e) => e.name === 'LinuxSandboxProfileError' && e.code === 'too_many_arguments' && /bubblewrap arguments/.test(e.message))
      // A protected name that is a link the command could replace: refused, with its own code.
      fs.symlinkSync(path.join(dir, 'f0'), path.join(dir, '.mcp.json'))
      await assert.rejects(m.wrapWithSandboxArgv('true', undefined, undefined, undefined, dir), (e) => e.code === 'SRT_REFUSED' && /symbolic link/.test(e.message))
    } finally {
      await m.reset()
    }
  })
})

describe('library defaults', () => {
  it('getDefaultWritePaths names the temporary directory the environment gives, as the engine plans it', () => {
    const show = (env) => {
      const r = spawnSync(process.execPath, ['-e', "console.log(JSON.stringify(require('./lib/index.js').getDefaultWritePaths()))"], { cwd: root, env, encoding: 'utf8' })
      assert.equal(r.status, 0, r.stderr)
      return JSON.parse(r.stdout)
    }
    const env = { ...process.env }
    delete env.CLAUDE_CODE_TMPDIR
    delete env.CLAUDE_TMPDIR
    assert.deepEqual(show(env), ['/tmp/claude', '~/.npm/_logs', '~/.claude/debug'])
    assert.deepEqual(show({ ...env, CLAUDE_TMPDIR: '/b', CLAUDE_CODE_TMPDIR: '' })[0], '/b')
  })
})

describe('SandboxViolationStore', () => {
  it('keeps the last 100, counts all, filters by command, sanitizes lines, notifies subscribers', () => {
    const store = new SandboxViolationStore()
    const heard = []
    const unsubscribe = store.subscribe((all) => heard.push(all.length))
    for (let i = 0; i < 105; i++) store.addViolation({ line: `deny x ${i}`, command: 'c', encodedCommand: Buffer.from('c').toString('base64'), timestamp: new Date() })
    store.addViolation({ line: 'deny <b>\u202ebad\nline ', timestamp: new Date() })
    assert.equal(store.getCount(), 100)
    assert.equal(store.getTotalCount(), 106)
    assert.equal(store.getViolations(1)[0].line, 'deny b bad line')
    assert.equal(store.getViolationsForCommand('c').length, 99)
    assert.equal(heard.length, 107)
    unsubscribe()
    store.clear()
    assert.equal(store.getCount(), 0)
    assert.equal(store.getTotalCount(), 106)
    assert.equal(heard.length, 107, 'unsubscribed')
  })
})

describe('SandboxManager members', () => {
  it('getters reflect the config; wrapWithSandboxArgv; customConfig overrides the filesystem per field; abortSignal', async () => {
    const m = new SandboxManager()
    assert.equal(m.isSupportedPlatform(), process.platform === 'linux')
    assert.equal(m.isSandboxingEnabled(), false)
    assert.deepEqual(m.getNetworkRestrictionConfig(), {})
    const writable = tempDir('srt-lib-w-')
    const other = tempDir('srt-lib-o-')
    const cfg = {
      ...config({ allowedDomains: ['a.example'], deniedDomains: ['b.example'], allowUnixSockets: ['/run/x.sock'], allowLocalBinding: true }, { denyRead: ['~/.ssh'], allowRead: ['~/.ssh/known_hosts'], allowWrite: [writable], denyWrite: [`${writable}/locked`] }),
      ignoreViolations: { '*': ['/usr/bin'] },
      enableWeakerNestedSandbox: false,
    }
    await m.initialize(cfg)
    assert.deepEqual(m.getNetworkRestrictionConfig(), { allowedHosts: ['a.example'], deniedHosts: ['b.example'] })
    assert.deepEqual(m.getFsReadConfig(), { denyOnly: ['~/.ssh'], allowWithinDeny: ['~/.ssh/known_hosts'] })
    const write = m.getFsWriteConfig()
    assert.ok(write.allowOnly.includes(writable))
    assert.deepEqual(write.denyWithinAllow, [`${writable}/locked`])
    assert.deepEqual(m.getAllowUnixSockets(), ['/run/x.sock'])
    assert.equal(m.getAllowLocalBinding(), true)
    assert.deepEqual(m.getIgnoreViolations(), { '*': ['/usr/bin'] })
    assert.equal(m.getEnableWeakerNestedSandbox(), false)
    assert.equal(m.getProxyPort(), undefined, 'srt-rs has no host port of its own')
    assert.equal(m.getSocksProxyPort(), undefined)
    assert.ok(fs.statSync(m.getLinuxHttpSocketPath()).isSocket())
    assert.equal(m.getLinuxSocksSocketPath(), m.getLinuxHttpSocketPath())
    assert.deepEqual(m.getLinuxGlobPatternWarnings(), [])
    assert.deepEqual(await m.checkDependenciesAsync(), m.checkDependencies())
    assert.equal(m.getAllowMachLookup(), undefined)
    assert.equal(m.getProxyAuthToken(), undefined)
    assert.equal(m.getMitmCA(), undefined)
    assert.equal(m.askCallbackDenyReason, true)
    assert.equal(SandboxManager.askCallbackDenyReason, true)

    const { argv, env } = await m.wrapWithSandboxArgv(`echo x > ${writable}/f && echo wrote`, '/bin/sh')
    assert.equal(argv[0], '/bin/sh')
    assert.equal(argv[1], '-c')
    const r = await new Promise((resolve) => {
      const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      child.on('close', (status) => resolve({ status, out }))
    })
    assert.equal(r.out, 'wrote\n')
    // customConfig: its allowWrite replaces the session's for this wrap only.
    const custom = await m.wrapWithSandbox(`(echo y > ${writable}/g) 2>/dev/null || echo refused; echo z > ${other}/h && echo other`, undefined, { filesystem: { allowWrite: [other] } })
    assert.equal((await spawnLine(custom)).stdout, 'refused\nother\n')
    const controller = new AbortController()
    controller.abort()
    await assert.rejects(m.wrapWithSandbox('true', undefined, undefined, controller.signal), { name: 'AbortError' })
    m.cleanupAfterCommand()
    m.cleanupAfterCommand()
    await m.reset()
    assert.equal(m.getConfig(), undefined)
  })

  it('a wrapped line runs where its caller spawns it, and refuses a writable directory its plan does not fit', async () => {
    const parent = tempDir('srt-lib-cwd-')
    for (const d of ['a/sub', 'b']) fs.mkdirSync(path.join(parent, d), { recursive: true })
    const m2 = new SandboxManager()
    await m2.initialize(config({}, { allowWrite: [parent] }))
    const { argv } = await m2.wrapWithSandboxArgv('pwd; echo x > here && echo wrote', undefined, undefined, undefined, path.join(parent, 'a'))
    const run = (cwd) => collectArgv(argv, cwd)
    const inSub = await run(path.join(parent, 'a', 'sub'))
    assert.equal(inSub.stdout, `${path.join(parent, 'a', 'sub')}\nwrote\n`, inSub.stderr)
    const inB = await run(path.join(parent, 'b'))
    assert.notEqual(inB.status, 0)
    assert.doesNotMatch(inB.stdout, /wrote/)
    assert.match(inB.stderr, /this command line was made for .*\/a and is run in .*\/b, where the sandbox may write/)
    assert.ok(!fs.existsSync(path.join(parent, 'b', 'here')))
    // A directory of the caller's closed by its mode is writable all the same (`chmod u+w .`).
    fs.mkdirSync(path.join(parent, 'closed'), { mode: 0o555 })
    const inClosed = await run(path.join(parent, 'closed'))
    assert.match(inClosed.stderr, /this command line was made for .*\/a and is run in .*\/closed/)
    assert.doesNotMatch(inClosed.stdout, /wrote/)
    // Where the sandbox may not write, nothing planned is missing: it runs (read-only).
    const elsewhere = await run('/')
    assert.match(elsewhere.stdout, /^\/\n/, elsewhere.stderr)
    assert.doesNotMatch(elsewhere.stdout, /wrote/)
    await m2.reset()
  })

  it('a wrapped line runs any number of times while its session lives, then says the session has ended', async () => {
    const project = tempDir('srt-lib-p-')
    const m = new SandboxManager()
    await m.initialize(config({}, { allowWrite: ['.'] }))
    const mcp = path.join(project, '.mcp.json')
    // A missing .mcp.json in a writable directory gets a placeholder while the command runs.
    // Planned for `project` (the cwd argument), wherever this process is.
    const { argv } = await m.wrapWithSandboxArgv('touch .mcp.json 2>/dev/null || echo protected; echo x >> runs; sleep 1', '/bin/sh', undefined, undefined, project)
    const line = argv.map((a) => `'${a.replaceAll("'", `'"'"'`)}'`).join(' ')
    const running = spawnLine(line, project)
    assert.ok(await eventually(() => fs.existsSync(mcp), 5000), 'the placeholder is there while the command runs')
    assert.equal((await running).stdout, 'protected\n')
    m.cleanupAfterCommand()
    // Agents run a line again: the same rules, as often as they like.
    for (let i = 0; i < 2; i++) {
      const again = await spawnLine(line, project)
      assert.equal(again.stdout, 'protected\n', again.stderr)
      m.cleanupAfterCommand()
    }
    assert.equal(fs.readFileSync(path.join(project, 'runs'), 'utf8'), 'x\nx\nx\n')
    await m.reset()
    assert.ok(await eventually(() => !fs.existsSync(mcp)), 'placeholders go with the session')
    const late = await spawnLine(line, project)
    assert.equal(late.status, 1)
    assert.match(late.stderr, /srt: this sandboxed command line belongs to a SandboxManager session that has ended/)
    assert.equal(fs.readFileSync(path.join(project, 'runs'), 'utf8'), 'x\nx\nx\n')
  })
})

describe('library sessions under attack', () => {
  /** Runs argv (from wrapWithSandboxArgv) through a shell, as spawnLine does. */
  const spawnArgv = (argv) => spawnLine(argv.map((a) => `'${a.replaceAll("'", `'"'"'`)}'`).join(' '))

  it("one session's cleanup never removes another session's placeholders from under its running sandbox", async () => {
    const project = tempDir('srt-lib-two-')
    const a = new SandboxManager()
    const b = new SandboxManager()
    await a.initialize(config({}, { allowWrite: ['.'] }))
    await b.initialize(config({}, { allowWrite: ['.'] }))
    const { argv } = await b.wrapWithSandboxArgv('sleep 1.5; (echo PLANTED > .mcp.json) 2>/dev/null || echo protected', '/bin/sh', undefined, undefined, project)
    const running = spawnArgv(argv)
    await eventually(() => fs.existsSync(path.join(project, '.mcp.json')), 5000)
    // Meanwhile, session A wraps (its own claim) and gives it up.
    await a.wrapWithSandboxArgv('true', '/bin/sh', undefined, undefined, project)
    a.cleanupAfterCommand()
    const r = await running
    assert.equal(r.stdout, 'protected\n', r.stderr)
    // Its placeholder goes with the sessions; nothing was planted there.
    await Promise.all([a.reset(), b.reset()])
    assert.ok(await eventually(() => !fs.existsSync(path.join(project, '.mcp.json'))), 'the placeholder is removed')
  })

  it("srt's registry (its lock, other sessions' sockets) is hidden from every sandbox", async () => {
    const m = new SandboxManager()
    await m.initialize(config())
    const uid = process.getuid()
    const r = await spawnLine(await m.wrapWithSandbox(`ls /tmp/srt-${uid}; (exec 9</tmp/srt-${uid}/lock) 2>/dev/null && echo LOCK-VISIBLE; echo end`))
    assert.equal(r.stdout, `${path.basename(path.dirname(m.getLinuxHttpSocketPath()))}\nend\n`, r.stderr)
    await m.reset()
  })

  it("a sandbox that may use unix sockets cannot redeem another wrap's token", { skip: !which('python3') && 'no python3' }, async () => {
    const port = await server()
    const m = new SandboxManager()
    await m.initialize(config({ allowedDomains: [], allowAllUnixSockets: true }))
    const id = 'victim-command-id-000000000000'
    m.registerCommandNetworkLists(id, { allowedDomains: [`localhost:${port}`] })
    const victim = await m.wrapWithSandbox(curl(`http://localhost:${port}/v`), undefined, undefined, undefined, { commandId: id })
    const token = /--bridge-token (\w+)/.exec(victim)[1]
    const thief = path.join(work, 'thief.py')
    fs.writeFileSync(
      thief,
      `import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
l = socket.socket(socket.AF_INET); l.bind(("127.0.0.1", 4128)); l.listen()
pidfd = os.pidfd_open(os.getpid())
try:
    socket.send_fds(s, [b"srt-bridge-1 port:3128 token:" + sys.argv[2].encode() + b" pidfd"], [l.fileno(), pidfd])
except OSError:
    print("no answer")  # turned away before it could even send
    sys.exit(0)
s.settimeout(3)
try:
    print("answer", s.recv(1))
except Exception as e:
    print("no answer")
`,
    )
    const r = await spawnLine(await m.wrapWithSandbox(`python3 ${thief} ${m.getLinuxHttpSocketPath()} ${token}`))
    assert.match(r.stdout, /answer b''|no answer/, r.stderr)
    // Nor by making itself pid 1 of a namespace of its own, where it may.
    const nested = await spawnLine(
      await m.wrapWithSandbox(`unshare -Upf --kill-child python3 ${thief} ${m.getLinuxHttpSocketPath()} ${token}`, undefined, {
        ...config({ allowedDomains: [], allowAllUnixSockets: true }),
        allowNestedUserNamespaces: true,
      }),
    )
    assert.match(nested.stdout, /answer b''|no answer/, nested.stderr)
    // The victim's token still works, for the victim, with its own list.
    assert.equal((await spawnLine(victim)).stdout, '200\n')
    await m.reset()
  })

  it('reset() while a wrapped command runs keeps its protections; a later run cleans up after it', async () => {
    const m = new SandboxManager()
    await m.initialize(config({}, { allowWrite: ['.'] }))
    const dir = tempDir('srt-lib-reset-')
    // Planned for `dir` as the working directory: every protected name there is a placeholder.
    const { argv } = await m.wrapWithSandboxArgv('sleep 1.5; mkdir -p .git/hooks && echo PLANTED; echo x > .mcp.json && echo WROTE; true', undefined, undefined, undefined, dir)
    const running = new Promise((resolve) => {
      const child = spawn(argv[0], argv.slice(1), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      child.stdout.on('data', (d) => (out += d))
      child.stderr.on('data', (d) => (out += d))
      child.on('close', () => resolve(out))
    })
    await new Promise((r) => setTimeout(r, 700))
    assert.ok(fs.readdirSync(dir).includes('.mcp.json'), 'the sandbox is up, its placeholders in place')
    await m.reset()
    assert.ok(fs.readdirSync(dir).includes('.mcp.json'), 'reset() left the running sandbox its placeholders')
    const out = await running
    assert.doesNotMatch(out, /PLANTED|WROTE/)
    // The placeholders stayed while the sandbox ran; the next run sweeps them.
    spawnSync(path.join(root, 'srt'), ['true'], { cwd: tempDir(), env: { ...process.env, HOME: tempDir() } })
    assert.deepEqual(fs.readdirSync(dir), [])
  })

  it('a sandbox that may use unix sockets cannot keep other wraps from starting by crowding the bridge', { skip: !which('python3') && 'no python3' }, async () => {
    const m = new SandboxManager()
    await m.initialize(config({ allowedDomains: [], allowAllUnixSockets: true }))
    const hog = `python3 -c 'import socket, sys, time
held = []
for i in range(64):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); held.append(s)
print("holding", flush=True)
time.sleep(30)' ${m.getLinuxHttpSocketPath()}`
    const child = spawn(await m.wrapWithSandbox(hog), { shell: true, cwd: work, stdio: ['ignore', 'pipe', 'pipe'] })
    try {
      await new Promise((resolve, reject) => {
        child.stdout.on('data', (d) => String(d).includes('holding') && resolve())
        child.on('close', () => reject(new Error('the crowding command ended early')))
      })
      const r = await spawnLine(await m.wrapWithSandbox('echo still-runs'))
      assert.equal(r.stdout, 'still-runs\n', r.stderr)
    } finally {
      child.kill('SIGKILL')
      await m.reset()
    }
  })

  it("customConfig cannot lift the session's protection of .git/config (allowGitConfig is not a per-wrap field)", async () => {
    const dir = tempDir('srt-lib-gitcfg-')
    spawnSync('git', ['init', '-q', dir])
    const m = new SandboxManager()
    await m.initialize(config({}, { allowWrite: [dir] }))
    const before = fs.readFileSync(path.join(dir, '.git', 'config'), 'utf8')
    const line = await m.wrapWithSandbox(`echo "[core] fsmonitor = evil" >> ${dir}/.git/config; echo ran`, undefined, { filesystem: { allowWrite: [dir], allowGitConfig: true } })
    const r = await spawnLine(line)
    assert.match(r.stdout, /ran/, r.stderr)
    assert.equal(fs.readFileSync(path.join(dir, '.git', 'config'), 'utf8'), before)
    await m.reset()
  })

  it('a filesystem block in customConfig is enforced even when the session has disabled the filesystem rules', async () => {
    const m = new SandboxManager()
    await m.initialize(config({}, { disabled: true }))
    const outside = path.join(tempDir('srt-lib-out-'), 'f')
    const r = await spawnLine(await m.wrapWithSandbox(`(echo x > ${outside}) 2>/dev/null && echo wrote || echo refused`, undefined, { filesystem: { denyRead: [], allowWrite: [], denyWrite: [] } }))
    assert.equal(r.stdout, 'refused\n', r.stderr)
    await m.reset()
  })
})

describe('library sessions and the filesystem', () => {
  it('a directory whose name is not UTF-8 and holds a protected file breaks no wrap there', async () => {
    const dir = tempDir('srt-lib-bytes-')
    const odd = Buffer.concat([Buffer.from(dir + '/bad'), Buffer.from([0xff])])
    fs.mkdirSync(odd)
    fs.writeFileSync(Buffer.concat([odd, Buffer.from('/.bashrc')]), 'orig\n')
    const m = new SandboxManager()
    await m.initialize(config({}, { allowWrite: [dir] }))
    const line = await m.wrapWithSandbox(`cd ${dir} && echo pwned > bad*/.bashrc; echo ran`, undefined, undefined, undefined, undefined)
    const r = await spawnLine(line)
    assert.match(r.stdout, /ran/, r.stderr)
    assert.equal(fs.readFileSync(Buffer.concat([odd, Buffer.from('/.bashrc')]), 'utf8'), 'orig\n')
    await m.reset()
  })

  it('says once per session what a wrap could not apply as written', async () => {
    const dir = tempDir('srt-lib-w-')
    fs.mkdirSync(path.join(dir, 'real'))
    fs.symlinkSync(path.join(dir, 'real'), path.join(dir, 'link'))
    const m = new SandboxManager()
    await m.initialize(config({}, { allowWrite: [path.join(dir, 'link')] }))
    const seen = []
    const onWarning = (w) => seen.push(w.message)
    process.on('warning', onWarning)
    try {
      for (let i = 0; i < 3; i++) await m.wrapWithSandbox('true')
      // Node delivers warnings on a later tick.
      await new Promise((r) => setTimeout(r, 10))
    } finally {
      process.off('warning', onWarning)
      await m.reset()
    }
    const remarks = seen.filter((w) => w.includes(`allowWrite ${path.join(dir, 'link')} resolves through a symlink`))
    assert.equal(remarks.length, 1, seen.join('\n'))
    assert.match(remarks[0], /^srt: /)
  })

  it("a session's wraps share a private TMPDIR that no other session sees, removed by reset()", async () => {
    const a = new SandboxManager()
    const b = new SandboxManager()
    await a.initialize(config())
    await b.initialize(config())
    const first = await spawnLine(await a.wrapWithSandbox('echo kept > "$TMPDIR/f"; echo "$TMPDIR"'))
    const tmpdir = first.stdout.trim()
    assert.match(tmpdir, /\/srt-tmp-/, first.stderr)
    const again = await spawnLine(await a.wrapWithSandbox('cat "$TMPDIR/f"'))
    assert.equal(again.stdout, 'kept\n', again.stderr)
    const other = await spawnLine(await b.wrapWithSandbox(`cat ${tmpdir}/f; echo "$TMPDIR"`))
    assert.doesNotMatch(other.stdout, /kept/, other.stderr)
    assert.notEqual(other.stdout.trim(), tmpdir)
    await a.reset()
    await b.reset()
    assert.ok(!fs.existsSync(tmpdir))
  })
})

describe("the original's config schemas", () => {
  it('parse and safeParse as the original does: the same verdicts and issue paths, every problem at once', async () => {
    const ours = await import('../lib/index.mjs')
    const original = createRequire(import.meta.url)('@anthropic-ai/sandbox-runtime')
    const fsOk = { denyRead: [], allowWrite: [], denyWrite: [] }
    const cases = [
      ['SandboxRuntimeConfigSchema', { network: { allowedDomains: ['a.com'], deniedDomains: [] }, filesystem: fsOk }],
      ['SandboxRuntimeConfigSchema', {}],
      ['SandboxRuntimeConfigSchema', { network: {} }],
      ['SandboxRuntimeConfigSchema', { network: { allowedDomains: ['*.com'], deniedDomains: [] }, filesystem: fsOk }],
      ['SandboxRuntimeConfigSchema', { network: { allowedDomains: [], deniedDomains: [], httpProxyPort: 'x' }, filesystem: fsOk }],
      ['SandboxRuntimeConfigSchema', 'not a config'],
      ['NetworkConfigSchema', { allowedDomains: ['a.com'], deniedDomains: [] }],
      ['NetworkConfigSchema', { allowedDomains: [1] }],
      ['NetworkConfigSchema', undefined],
      ['FilesystemConfigSchema', { denyRead: ['~/.ssh'], allowWrite: ['.'], denyWrite: [] }],
      ['FilesystemConfigSchema', { denyRead: 'x' }],
    ]
    const sorted = (issues) => (issues ?? []).map((i) => JSON.stringify(i.path)).sort()
    for (const [name, value] of cases) {
      const a = ours[name].safeParse(value)
      const b = original[name].safeParse(value)
      assert.equal(a.success, b.success, `${name} ${JSON.stringify(value)}`)
      assert.deepEqual(sorted(a.error?.issues), sorted(b.error?.issues), `${name} ${JSON.stringify(value)}`)
      if (a.success) assert.deepEqual(ours[name].parse(value), value)
      else {
        assert.throws(() => ours[name].parse(value), (e) => e.name === 'ZodError' && e.issues.length === a.error.issues.length)
        assert.ok(a.error.issues.every((i) => typeof i.message === 'string' && i.message.length > 0))
      }
    }
    for (const name of ['CredentialsConfigSchema', 'IgnoreViolationsConfigSchema', 'RipgrepConfigSchema', 'WindowsConfigSchema', 'SrtWinConfigSchema', 'GitConfigSchema']) {
      assert.equal(typeof ours[name].safeParse, 'function', name)
      assert.equal(typeof original[name].safeParse, 'function', name)
    }
    assert.equal(ours.IgnoreViolationsConfigSchema.safeParse({ '*': ['x'] }).success, original.IgnoreViolationsConfigSchema.safeParse({ '*': ['x'] }).success)
  })
})

describe('packaging', () => {
  it('CommonJS require and ESM import give the same API, by the package name too', async () => {
    const require = createRequire(import.meta.url)
    const cjs = require(path.join(root, 'lib', 'index.js'))
    assert.equal(cjs.SandboxManager, SandboxManager)
    assert.equal(typeof cjs.SandboxManager.initialize, 'function')
    // The package's exports map, as a dependent resolves it (self-reference by name).
    const byName = spawnSync(process.execPath, ['--input-type=module', '-e', "import { SandboxManager } from 'srt-rs'; import { createRequire } from 'node:module'; const r = createRequire(process.cwd() + '/x'); console.log(typeof SandboxManager.wrapWithSandbox, r('srt-rs').SandboxManager === SandboxManager)"], { cwd: root, encoding: 'utf8' })
    assert.equal(byName.stdout, 'function true\n', byName.stderr)
  })

  it('after reset() a script exits by itself, with the ask callback registered', async () => {
    const script = path.join(work, 'exits.mjs')
    fs.writeFileSync(
      script,
      `import { SandboxManager } from ${JSON.stringify(path.join(root, 'lib', 'index.mjs'))}
import { spawnSync } from 'node:child_process'
await SandboxManager.initialize({ network: { allowedDomains: [], deniedDomains: [] }, filesystem: { denyRead: [], allowWrite: [], denyWrite: [] } }, async () => false)
const line = await SandboxManager.wrapWithSandbox('echo inside')
console.log(spawnSync(line, { shell: true, encoding: 'utf8' }).stdout.trim())
SandboxManager.cleanupAfterCommand()
await SandboxManager.reset()
console.log('reset')
`,
    )
    const t0 = Date.now()
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const killer = setTimeout(() => child.kill('SIGKILL'), 10000)
    const code = await new Promise((r) => child.on('close', (c, s) => r(c ?? s)))
    clearTimeout(killer)
    assert.equal(out, 'inside\nreset\n', err)
    assert.equal(code, 0, `exited by itself (${Date.now() - t0} ms): ${err}`)
  })

  it('a timer keeps firing while a wrap walks a large tree (the walk is off the JS thread)', async () => {
    const tree = tempDir('srt-lib-tree-')
    for (let r = 0; r < 60; r++) {
      for (const d of ['.git/hooks', 'src/a/b', 'docs']) fs.mkdirSync(path.join(tree, `repo-${r}`, d), { recursive: true })
      for (let f = 0; f < 150; f++) fs.writeFileSync(path.join(tree, `repo-${r}`, 'src', 'a', `f${f}`), '')
    }
    const script = path.join(work, 'ticks.mjs')
    fs.writeFileSync(
      script,
      `import { SandboxManager } from ${JSON.stringify(path.join(root, 'lib', 'index.mjs'))}
await SandboxManager.initialize({ network: { allowedDomains: [], deniedDomains: [] }, filesystem: { denyRead: [], allowWrite: ['.'], denyWrite: [] } })
let ticks = 0
const timer = setInterval(() => ticks++, 1)
const t0 = performance.now()
await SandboxManager.wrapWithSandbox('true')
const ms = performance.now() - t0
clearInterval(timer)
console.log(JSON.stringify({ ticks, ms }))
await SandboxManager.reset()
`,
    )
    const child = spawn(process.execPath, [script], { cwd: tree, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    await new Promise((r) => child.on('close', r))
    const { ticks, ms } = JSON.parse(out)
    // Not a timing threshold: the loop turned at all while the walk ran.
    assert.ok(ticks >= 1, `no timer tick in ${ms} ms of wrapping: ${err}`)
  })
})
