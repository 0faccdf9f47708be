// An interactive `srt bash` on a terminal: a working prompt, job control and
// Ctrl-C, through the shim and the native binary. `script` gives srt a real
// terminal; the test types into it.
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { it } from 'node:test'

import { kinds, sandboxEnv, sleep } from './helpers.mjs'

const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`

for (const kind of Object.keys(kinds)) {
  it(`runs an interactive bash with job control and Ctrl-C (${kind})`, async () => {
    const { home, env } = sandboxEnv({ TERM: 'dumb' })
    const [cmd, argv] = kinds[kind](['bash', '--norc', '--noprofile', '-i'])
    const line = [cmd, ...argv].map(quote).join(' ')
    const term = spawn('script', ['-qfec', line, '/dev/null'], { env, cwd: home })
    let out = ''
    term.stdout.on('data', (d) => (out += d))
    term.stderr.on('data', (d) => (out += d))
    const done = new Promise((r) => term.on('close', (code) => r(code)))
    const waitFor = async (re, ms = 10000) => {
      const t0 = Date.now()
      while (!re.test(out)) {
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re}; output so far:\n${out}`)
        await sleep(20)
      }
    }
    const type = (s) => term.stdin.write(s)
    try {
      await waitFor(/[#$>] $/)
      type('echo $((6*7))-is-the-answer\n')
      await waitFor(/42-is-the-answer/)
      type('sleep 1000 &\n')
      await waitFor(/\[1\] \d+/)
      type('jobs\n')
      await waitFor(/\[1\]\+\s+Running\s+sleep 1000 &/)
      type('sleep 500\n')
      await sleep(300)
      type('\x03')
      type('echo after-ctrl-c\n')
      await waitFor(/after-ctrl-c\r?\n/)
      type('kill %1; wait; exit 3\n')
      assert.equal(await done, 3, out)
      assert.match(out, /Terminated\s+sleep 1000/)
    } finally {
      term.kill('SIGKILL')
    }
  })
}

it('goes on after Ctrl-Z stops the command: nothing outside could resume it', async () => {
  const { home, env } = sandboxEnv({ TERM: 'dumb' })
  const [cmd, argv] = kinds.native(['cat'])
  const term = spawn('script', ['-qfec', [cmd, ...argv].map(quote).join(' '), '/dev/null'], { env, cwd: home })
  let out = ''
  term.stdout.on('data', (d) => (out += d))
  const done = new Promise((r) => term.on('close', (code) => r(code)))
  try {
    await sleep(500)
    term.stdin.write('\x1a')
    await sleep(300)
    term.stdin.write('still-here\n')
    const t0 = Date.now()
    while (!/still-here\r?\n[\s\S]*still-here/.test(out) && Date.now() - t0 < 10000) await sleep(20)
    assert.match(out, /still-here\r?\n[\s\S]*still-here/, 'cat echoed after ^Z')
    term.stdin.write('\x04')
    assert.equal(await done, 0, out)
  } finally {
    term.kill('SIGKILL')
  }
})

it('goes on after a stop for touching the terminal from the background (SIGTTOU, SIGTTIN)', async () => {
  const { home, env } = sandboxEnv({ TERM: 'dumb' })
  const [cmd, argv] = kinds.native(['sh', '-c', 'echo before; kill -TTOU $$; kill -TTIN $$; echo after'])
  const term = spawn('script', ['-qfec', [cmd, ...argv].map(quote).join(' '), '/dev/null'], { env, cwd: home })
  let out = ''
  term.stdout.on('data', (d) => (out += d))
  const timer = setTimeout(() => term.kill('SIGKILL'), 10000)
  const code = await new Promise((r) => term.on('close', r))
  clearTimeout(timer)
  assert.match(out, /before\r?\n[\s\S]*after/, out)
  assert.equal(code, 0, out)
})

for (const kind of Object.keys(kinds)) {
  it(`keeps the caller's terminal settings when only stdout is a terminal (${kind})`, async () => {
    const { home, env } = sandboxEnv({ TERM: 'dumb' })
    const [cmd, argv] = kinds[kind](['sh', '-c', 'stty -echo <&1; echo changed-$?'])
    const line = `${[cmd, ...argv].map(quote).join(' ')} </dev/null; stty -a`
    const term = spawn('script', ['-qfec', line, '/dev/null'], { env, cwd: home })
    let out = ''
    term.stdout.on('data', (d) => (out += d))
    const code = await new Promise((r) => term.on('close', r))
    assert.equal(code, 0, out)
    assert.match(out, /changed-0/, 'the command changed the settings of its own terminal')
    assert.match(out, /(^|\s)echo(\s|$)/m, `echo still on in the caller's terminal:\n${out}`)
  })
}

for (const kind of Object.keys(kinds)) {
  it(`keeps keystrokes pushed with TIOCSTI inside the sandbox's own terminal (${kind})`, async () => {
    const { home, env } = sandboxEnv({ TERM: 'dumb' })
    const inject = 'my $n = 0; for my $ch (split //, "echo INJECTED\\n") { my $c = $ch; $n++ if ioctl(STDIN, 0x5412, $c) } print "injected $n\\n"'
    const [cmd, argv] = kinds[kind](['perl', '-e', inject])
    // If the keys reached the caller's terminal, the caller's next read would get them.
    const line = `${[cmd, ...argv].map(quote).join(' ')}; read -t 1 got; echo "host-read:[$got]"`
    const term = spawn('script', ['-qfec', `bash -c ${quote(line)}`, '/dev/null'], { env, cwd: home })
    let out = ''
    term.stdout.on('data', (d) => (out += d))
    const code = await new Promise((r) => term.on('close', r))
    assert.equal(code, 0, out)
    const legacy = fs.existsSync('/proc/sys/dev/tty/legacy_tiocsti') ? fs.readFileSync('/proc/sys/dev/tty/legacy_tiocsti', 'utf8').trim() : '1'
    if (legacy === '1') assert.match(out, /injected 14/, 'TIOCSTI works on the sandbox\'s own terminal')
    assert.match(out, /host-read:\[\]/, `nothing reached the caller's terminal:\n${out}`)
  })
}
