// The CLI contract (issue 2), through the npm shim and through the native
// binary: output, exit status, arguments, streams, signals, settings.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { describe, it } from 'node:test'

import { config, eventually, kinds, processesWith, root, runSync, sandboxEnv, settingsFile, start, tempDir } from './helpers.mjs'

for (const kind of Object.keys(kinds)) {
  describe(`srt CLI through the ${kind}`, () => {
    const { home, env } = sandboxEnv()

    it('runs a command and passes its output', () => {
      const r = runSync(kind, ['echo', 'hello'], { env, cwd: home })
      assert.equal(r.stdout, 'hello\n')
      // Nothing on stderr, but the note srt gives once per user where a limit cannot be held.
      assert.equal(r.stderr.replace(/^srt: warning: sandboxes here get no .*\n/m, ''), '')
      assert.equal(r.status, 0)
    })

    it('starts reliably: many quick runs, each with the command\'s own status', () => {
      // bubblewrap reports the sandbox's pid on a pipe and writes on after it:
      // closing that pipe early killed it with SIGPIPE (status 141) now and then.
      const runs = kind === 'native' ? 100 : 20
      for (let i = 0; i < runs; i++) {
        const r = runSync(kind, ['sh', '-c', 'exit 5'], { env })
        assert.equal(r.status, 5, `run ${i}: ${r.stderr}`)
      }
    })

    it('exits with the command status', () => {
      assert.equal(runSync(kind, ['sh', '-c', 'exit 7'], { env }).status, 7)
      assert.equal(runSync(kind, ['false'], { env }).status, 1)
    })

    it('gives 128+N when the command dies of signal N', () => {
      assert.equal(runSync(kind, ['sh', '-c', 'kill -TERM $$'], { env }).status, 143)
      assert.equal(runSync(kind, ['sh', '-c', 'kill -KILL $$'], { env }).status, 137)
    })

    it('passes stdin through and keeps stdout and stderr apart', () => {
      const r = runSync(kind, ['sh', '-c', 'read x; echo out:$x; echo err:$x >&2; cat'], {
        env,
        input: 'first line\nrest 1\nrest 2\n',
      })
      assert.equal(r.stdout, 'out:first line\nrest 1\nrest 2\n')
      assert.equal(r.stderr, 'err:first line\n')
      assert.equal(r.status, 0)
    })

    it('moves binary data both ways unchanged', () => {
      const data = Buffer.alloc(3 << 20)
      for (let i = 0; i < data.length; i++) data[i] = (i * 131 + (i >> 9)) & 0xff
      const [cmd, argv] = kinds[kind](['cat'])
      const r = spawnSyncBuffer(cmd, argv, env, data)
      assert.equal(r.status, 0)
      assert.ok(r.stdout.equals(data), 'cat returned the same bytes')
    })

    it('keeps every argument intact', () => {
      const args = ['a b', '', "it's", '"q"', '$HOME', '*', 'x\ny', '-n', '--', '\\', '  lead']
      const r = runSync(kind, ['printf', '[%s]\\n', ...args], { env, cwd: home })
      assert.equal(r.stdout, args.map((a) => `[${a}]\n`).join(''))
    })

    it('runs -c with the shell', () => {
      const r = runSync(kind, ['-c', 'echo $((6*7)) | cat; echo "$0" >/dev/null'], { env })
      assert.equal(r.stdout, '42\n')
      assert.equal(r.status, 0)
    })

    it('treats words after the command as the command\'s own', () => {
      const r = runSync(kind, ['echo', '--settings', 'nope', '-d', '--version'], { env })
      assert.equal(r.stdout, '--settings nope -d --version\n')
    })

    it('reports a missing command and an unknown program', () => {
      const none = runSync(kind, [], { env })
      assert.equal(none.status, 1)
      assert.match(none.stderr, /No command specified/)
      const debugOnly = runSync(kind, ['-d'], { env })
      assert.equal(debugOnly.status, 1)
      assert.match(debugOnly.stderr, /No command specified/)
      const missing = runSync(kind, ['srt-no-such-program'], { env })
      assert.equal(missing.status, 127)
      assert.match(missing.stderr, /srt-no-such-program: command not found/)
      const unknown = runSync(kind, ['--frobnicate', 'true'], { env })
      assert.equal(unknown.status, 1)
      assert.match(unknown.stderr, /unknown option '--frobnicate'/)
    })

    it('prints --version and --help', () => {
      const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url)))
      assert.equal(runSync(kind, ['--version'], { env }).stdout.trim(), pkg.version)
      const help = runSync(kind, ['--help'], { env })
      assert.equal(help.status, 0)
      assert.match(help.stdout, /--settings FILE/)
    })

    for (const [name, signo, code] of [
      ['SIGTERM', 'TERM', 42],
      ['SIGINT', 'INT', 43],
      ['SIGHUP', 'HUP', 44],
    ]) {
      it(`passes ${name} sent to srt to the command's trap, and exits with its status`, async () => {
        const run = start(kind, ['sh', '-c', `trap 'echo got-${signo}; exit ${code}' ${signo}; echo ready; while :; do sleep 0.05; done`], {
          env,
        })
        await run.waitFor('ready')
        run.child.kill(name)
        const r = await run.done
        assert.equal(r.stdout, `ready\ngot-${signo}\n`)
        assert.equal(r.status, code)
      })
    }

    it('leaves no process behind when the command exits', async () => {
      const marker = `${Math.floor(Math.random() * 1e6) + 1000}.${process.pid}`
      const r = runSync(kind, ['sh', '-c', `sleep ${marker} & sleep ${marker} & echo started`], { env })
      assert.equal(r.stdout, 'started\n')
      assert.ok(await eventually(() => processesWith(`sleep ${marker}`).length === 0), 'background sleeps were killed')
    })

    it('leaves no process behind when srt is killed with SIGKILL', async () => {
      const marker = `${Math.floor(Math.random() * 1e6) + 1000}.${process.pid}`
      const run = start(kind, ['sh', '-c', `sleep ${marker} & echo ready; sleep ${marker}`], { env })
      await run.waitFor('ready')
      assert.ok(await eventually(() => processesWith(`sleep ${marker}`).length === 2), 'both sleeps run')
      run.child.kill('SIGKILL')
      await run.done
      assert.ok(await eventually(() => processesWith(`sleep ${marker}`).length === 0), 'the sandbox died with srt')
      assert.equal(processesWith(`\\S*bwrap .*${marker}`).length, 0)
    })

    describe('settings', () => {
      const dir = tempDir()
      const marker = path.join(dir, 'ran')
      // The command would announce itself: it must not run when settings are refused.
      const probe = ['sh', '-c', 'echo COMMAND-RAN']

      function refused(args, pattern, runEnv = env) {
        const r = runSync(kind, [...args, ...probe], { env: runEnv })
        assert.equal(r.status, 1, r.stderr)
        assert.doesNotMatch(r.stdout, /COMMAND-RAN/)
        assert.match(r.stderr, pattern)
        return r
      }

      it('runs with the built-in defaults when there is no settings file', () => {
        const r = runSync(kind, probe, { env })
        assert.equal(r.stdout, 'COMMAND-RAN\n')
        assert.equal(r.status, 0)
        assert.ok(!fs.existsSync(marker))
      })

      it('refuses a --settings file that does not exist', () => {
        refused(['--settings', path.join(dir, 'missing.json')], /does not exist[\s\S]*Refusing to run/)
      })

      it('refuses an empty settings file', () => {
        refused(['--settings', settingsFile(dir, '  \n')], /is empty/)
      })

      it('refuses a settings file that is not JSON', () => {
        refused(['--settings', settingsFile(dir, '{"network": ')], /is not valid JSON/)
      })

      it('refuses an unreadable settings file', () => {
        refused(['-s', dir], /could not be read \(EISDIR\)/)
      })

      it('refuses an invalid settings file, naming the key path and the reason', () => {
        const bad = config({ network: { allowedDomains: ['example.com', 'x.org', '*.com'] } })
        const r = refused(['--settings', settingsFile(dir, bad)], /does not hold a valid config/)
        assert.match(r.stderr, /network\.allowedDomains\[2\]: "\*\.com" is not a valid domain pattern \(a wildcard needs at least two labels after "\*\."\)/)
      })

      it('refuses a missing required key by its path', () => {
        const bad = config()
        delete bad.filesystem.denyWrite
        refused(['--settings', settingsFile(dir, bad)], /filesystem\.denyWrite: is required/)
      })

      it('refuses a default settings file that fails validation', () => {
        const { home: h, env: e } = sandboxEnv()
        fs.writeFileSync(path.join(h, '.srt-settings.json'), JSON.stringify({ network: {} }))
        refused([], /\.srt-settings\.json does not hold a valid config/, e)
      })

      it('uses the default settings file when it is valid', () => {
        const { home: h, env: e } = sandboxEnv()
        const out = path.join(h, 'out')
        fs.mkdirSync(out)
        fs.writeFileSync(path.join(h, '.srt-settings.json'), JSON.stringify(config({ filesystem: { allowWrite: [out] } })))
        const r = runSync(kind, ['sh', '-c', `echo hi > ${out}/f`], { env: e, cwd: h })
        assert.equal(r.status, 0, r.stderr)
        assert.equal(fs.readFileSync(path.join(out, 'f'), 'utf8'), 'hi\n')
      })

      it('refuses a setting it cannot enforce yet, never ignoring it', () => {
        const r = refused(
          ['--settings', settingsFile(dir, config({ network: { allowedDomains: ['example.com'] }, javaAgentJarPath: '/opt/agent.jar' }))],
          /javaAgentJarPath: not supported yet/,
        )
        assert.match(r.stderr, /weaker rules/)
        // A look-behind (JavaScript's, not Rust's regex-lite) in an extract pattern.
        refused(['--settings', settingsFile(dir, config({ credentials: { envVars: [{ name: 'TOKEN', mode: 'mask', extract: '(?<=x)(y)' }], allowPlaintextInject: true } }))], /credentials\.envVars\[0\]\.extract: not supported yet \(srt-rs cannot use the extract pattern/)
      })

      it('reports an unknown key by name and runs', () => {
        const withTypo = config({ network: { alowedDomains: [] } })
        const r = runSync(kind, ['--settings', settingsFile(dir, withTypo), ...probe], { env })
        assert.equal(r.status, 0)
        assert.equal(r.stdout, 'COMMAND-RAN\n')
        assert.match(r.stderr, /unknown key "network\.alowedDomains" ignored \(did you mean "allowedDomains"\?\)/)
      })

      it('logs debug output with --debug or SRT_DEBUG=1 only', () => {
        const quiet = runSync(kind, ['true'], { env })
        assert.doesNotMatch(quiet.stderr, /\[SandboxDebug\]/)
        assert.match(runSync(kind, ['--debug', 'true'], { env }).stderr, /\[SandboxDebug\] .*bwrap argv/)
        assert.match(runSync(kind, ['true'], { env: { ...env, SRT_DEBUG: '1' } }).stderr, /\[SandboxDebug\]/)
      })
    })
  })
}

function spawnSyncBuffer(cmd, argv, env, input) {
  const r = spawnSync(cmd, argv, { env, input, maxBuffer: 64 << 20, timeout: 20000 })
  if (r.error) throw r.error
  return r
}

describe('the npm bin (bin/srt)', () => {
  const { home, env } = sandboxEnv()
  const launcher = path.join(root, 'bin', 'srt')
  // node_modules/.bin/srt is a symlink to it.
  const binDir = tempDir('srt-bin-')
  fs.symlinkSync(launcher, path.join(binDir, 'srt'))

  it('runs the native binary beside the package, through a symlink, without Node', () => {
    // No node on PATH: only the native binary can have run the command.
    const r = spawnSync(path.join(binDir, 'srt'), ['sh', '-c', 'echo "$0 ran"'], { env: { ...env, PATH: '/usr/bin:/bin' }, cwd: home, encoding: 'utf8' })
    assert.equal(r.stdout, 'sh ran\n', r.stderr)
    assert.equal(r.status, 0)
  })

  it('falls back to the Node addon where the package has no native binary', () => {
    const pkg = tempDir('srt-pkg-')
    fs.mkdirSync(path.join(pkg, 'bin'))
    fs.mkdirSync(path.join(pkg, 'lib'))
    for (const f of ['bin/srt', 'bin/srt.js', 'lib/addon.js', 'index.js', 'srt.linux-x64-gnu.node']) fs.copyFileSync(path.join(root, f), path.join(pkg, f))
    fs.chmodSync(path.join(pkg, 'bin', 'srt'), 0o755)
    // The addon finds its helper beside itself: the native binary under another name is not "srt" at the root.
    fs.copyFileSync(path.join(root, 'srt'), path.join(pkg, 'srt-helper-elsewhere'))
    const withoutNode = spawnSync(path.join(pkg, 'bin', 'srt'), ['--version'], { env: { ...env, PATH: '/nonexistent' }, encoding: 'utf8' })
    assert.notEqual(withoutNode.status, 0, 'without the native binary it needs node')
    const viaNode = spawnSync(path.join(pkg, 'bin', 'srt'), ['--version'], { env: { ...env, PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` }, encoding: 'utf8' })
    assert.equal(viaNode.status, 0, viaNode.stderr)
    assert.equal(viaNode.stdout, runSync('native', ['--version']).stdout)
  })
})

it("keeps srt's own package read-only inside the sandbox, even in a writable project", () => {
  // A project with srt installed in its node_modules, the project writable.
  const { home, env } = sandboxEnv()
  const project = tempDir('srt-project-')
  const pkg = path.join(project, 'node_modules', 'srt-rs')
  fs.mkdirSync(path.join(pkg, 'bin'), { recursive: true })
  for (const f of ['bin/srt', 'bin/srt.js', 'srt']) fs.copyFileSync(path.join(root, f), path.join(pkg, f))
  for (const f of ['bin/srt', 'srt']) fs.chmodSync(path.join(pkg, f), 0o755)
  const settings = settingsFile(home, config({ filesystem: { allowWrite: ['.'] } }))
  const attempts = ['echo x > node_modules/srt-rs/bin/srt', 'echo x > node_modules/srt-rs/bin/srt.js', 'echo x > node_modules/srt-rs/new', 'echo ok > elsewhere']
  const r = spawnSync(path.join(pkg, 'bin', 'srt'), ['--settings', settings, 'sh', '-c', attempts.map((a) => `(${a}) 2>/dev/null && echo wrote; `).join('')], {
    env,
    cwd: project,
    encoding: 'utf8',
  })
  assert.equal(r.stdout, 'wrote\n', r.stderr)
  assert.equal(fs.readFileSync(path.join(project, 'elsewhere'), 'utf8'), 'ok\n')
  assert.equal(fs.readFileSync(path.join(pkg, 'bin', 'srt'), 'utf8'), fs.readFileSync(path.join(root, 'bin', 'srt'), 'utf8'))
  assert.ok(!fs.existsSync(path.join(pkg, 'new')))
})

describe("srt's own files in a project's node_modules stay read-only (prebuilt layout)", () => {
  // node_modules/srt-rs (JavaScript, no native binary), the platform package
  // beside it (addon and native binary), and node_modules/.bin/srt.
  const { home, env } = sandboxEnv()
  const project = tempDir('srt-prebuilt-')
  const nm = path.join(project, 'node_modules')
  const pkg = path.join(nm, 'srt-rs')
  const plat = path.join(nm, 'srt-rs-linux-x64-gnu')
  for (const d of [path.join(pkg, 'bin'), path.join(pkg, 'lib'), plat, path.join(nm, '.bin')]) fs.mkdirSync(d, { recursive: true })
  for (const f of ['bin/srt', 'bin/srt.js', ...fs.readdirSync(path.join(root, 'lib')).filter((f) => f.endsWith('.js')).map((f) => `lib/${f}`), 'index.js', 'package.json']) fs.copyFileSync(path.join(root, f), path.join(pkg, f))
  fs.copyFileSync(path.join(root, 'npm', 'linux-x64-gnu', 'package.json'), path.join(plat, 'package.json'))
  fs.copyFileSync(path.join(root, 'srt.linux-x64-gnu.node'), path.join(plat, 'srt.linux-x64-gnu.node'))
  fs.copyFileSync(path.join(root, 'srt'), path.join(plat, 'srt'))
  for (const f of [path.join(pkg, 'bin', 'srt'), path.join(plat, 'srt')]) fs.chmodSync(f, 0o755)
  fs.symlinkSync('../srt-rs/bin/srt', path.join(nm, '.bin', 'srt'))
  const settings = settingsFile(home, config({ filesystem: { allowWrite: ['.'] } }))
  const attempts = [
    'rm -f node_modules/.bin/srt',
    'echo x > node_modules/.bin/node',
    'echo x > node_modules/srt-rs/lib/index.js',
    'echo x > node_modules/srt-rs/index.js',
    'echo x > node_modules/srt-rs/bin/srt',
    'echo ok > elsewhere',
  ]
  const script = attempts.map((a) => `(${a}) 2>/dev/null && echo "did: ${a}"; `).join('')
  const check = (r) => {
    assert.equal(r.stdout, 'did: echo ok > elsewhere\n', r.stderr)
    assert.ok(fs.lstatSync(path.join(nm, '.bin', 'srt')).isSymbolicLink())
    assert.ok(!fs.existsSync(path.join(nm, '.bin', 'node')))
    assert.equal(fs.readFileSync(path.join(pkg, 'lib', 'index.js'), 'utf8'), fs.readFileSync(path.join(root, 'lib', 'index.js'), 'utf8'))
    fs.rmSync(path.join(project, 'elsewhere'))
  }

  it('through node_modules/.bin/srt, where the package has no native binary (the Node path)', () => {
    const r = spawnSync(path.join(nm, '.bin', 'srt'), ['--settings', settings, 'sh', '-c', script], {
      env: { ...env, PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` },
      cwd: project,
      encoding: 'utf8',
    })
    check(r)
  })

  it('through the library loaded from the project', () => {
    const lib = path.join(pkg, 'lib', 'index.js')
    const code = `const { SandboxManager } = require(${JSON.stringify(lib)})
const { spawnSync } = require('node:child_process')
;(async () => {
  await SandboxManager.initialize(${JSON.stringify(config({ filesystem: { allowWrite: ['.'] } }))})
  const line = await SandboxManager.wrapWithSandbox(${JSON.stringify(script)}, '/bin/sh')
  const r = spawnSync(line, { shell: true, encoding: 'utf8' })
  process.stdout.write(r.stdout)
  process.stderr.write(r.stderr)
  await SandboxManager.reset()
})()`
    const r = spawnSync(process.execPath, ['-e', code], { env, cwd: project, encoding: 'utf8' })
    check(r)
  })
})
