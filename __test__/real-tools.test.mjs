// Everyday tools inside srt, as users run them: each through the CLI and
// through the library, as whoever runs the suite (.ci/run runs every suite
// as root and as an ordinary user). A tool this machine lacks for this user
// is skipped with the reason; nothing here talks to a remote host (servers
// are the test's own, on loopback or on this machine's own address).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { after, describe, it } from 'node:test'

import { collect, config, gitIn, native, sandboxEnv, settingsFile, start, tempDir, which } from './helpers.mjs'
import { SandboxManager } from '../lib/index.mjs'

const { home, env } = sandboxEnv()
const writable = (extra = {}) => config({ filesystem: { allowWrite: ['.'] }, ...extra })
// rustup finds its toolchains from the real home, not the suite's private one.
const rustup = { RUSTUP_HOME: process.env.RUSTUP_HOME || path.join(os.userInfo().homedir, '.rustup') }
const runs = (cmd, args = ['--version'], extra = {}) => spawnSync(cmd, args, { env: { ...env, ...extra }, encoding: 'utf8' }).status === 0

/** `script` run through the CLI, in `cwd`. */
function viaCli(script, settings, cwd, extraEnv = {}) {
  const file = settingsFile(home, settings)
  return collect(native, ['--settings', file, 'sh', '-c', script], { env: { ...env, ...extraEnv }, cwd })
}

/** The same through the library: one session, the wrapped argv spawned in `cwd`. */
async function viaLibrary(script, settings, cwd, extraEnv = {}) {
  const m = new SandboxManager()
  await m.initialize(settings)
  try {
    const { argv } = await m.wrapWithSandboxArgv(script, undefined, undefined, undefined, cwd)
    return await collect(argv[0], argv.slice(1), { cwd, env: { ...env, ...extraEnv } })
  } finally {
    await m.reset()
  }
}

const ways = { cli: viaCli, library: viaLibrary }

/** This machine's own first non-loopback IPv4 address: the JVM and npm never proxy loopback. */
function ownAddress() {
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return null
}

/** A server of the test's own on `host`, closed after the file. */
async function serve(host, handler) {
  const s = http.createServer(handler)
  await new Promise((r) => s.listen(0, host, r))
  after(() => (s.closeAllConnections(), s.close()))
  return s.address().port
}

for (const [way, run] of Object.entries(ways)) {
  describe(`everyday tools through the ${way}`, () => {
    it('cargo builds a crate', { skip: !runs('cargo', ['--version'], rustup) && 'cargo is not installed for this user' }, async () => {
      const crate = tempDir('srt-crate-')
      fs.mkdirSync(path.join(crate, 'src'))
      fs.writeFileSync(path.join(crate, 'Cargo.toml'), '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2021"\n')
      fs.writeFileSync(path.join(crate, 'src', 'main.rs'), 'fn main() { println!("built inside"); }\n')
      // cargo and rustc spawn their children through socketpair(AF_UNIX, SOCK_SEQPACKET).
      const r = await run('cargo build -q && ./target/debug/hello', writable(), crate, { ...rustup, CARGO_HOME: path.join(crate, '.cargo-home'), CARGO_TARGET_DIR: path.join(crate, 'target') })
      assert.equal(r.stdout, 'built inside\n', r.stderr)
    })

    it('git works at the root and in a subdirectory of a repository, also while another sandbox runs there', async () => {
      const repo = tempDir('srt-repo-')
      const git = gitIn(repo, env)
      git(['init', '-q'])
      fs.mkdirSync(path.join(repo, 'pkg'))
      fs.writeFileSync(path.join(repo, 'pkg', 'a.txt'), 'one\n')
      git(['add', '-A'])
      git(['commit', '-qm', 'first'])
      const identity = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' }
      const rules = config({ filesystem: { allowWrite: [repo], allowGitConfig: false } })
      const atRoot = await run('echo two >> pkg/a.txt && git diff --stat HEAD && git commit -qam second && git log --oneline HEAD | wc -l && git status --short && echo root-ok', rules, repo, identity)
      assert.match(atRoot.stdout, /1 file changed[\s\S]*\n2\nroot-ok\n$/, atRoot.stderr)
      // Beside a sandbox that keeps running in the repository (its placeholders are there meanwhile).
      const other = start('native', ['--settings', settingsFile(home, rules), 'sh', '-c', 'echo started; sleep 30'], { env, cwd: repo })
      try {
        await other.waitFor('started')
        const inPkg = await run(
          'echo three >> a.txt && git diff HEAD --stat && git show --stat HEAD | head -1 && git commit -qam third && git log --oneline HEAD | wc -l && git reset -q --soft HEAD~1 && git status --short && echo pkg-ok',
          rules,
          path.join(repo, 'pkg'),
          identity,
        )
        assert.doesNotMatch(inPkg.stderr, /ambiguous argument/)
        assert.match(inPkg.stdout, /1 file changed[\s\S]*commit [0-9a-f]+\n3\nM  a\.txt\npkg-ok\n$/, inPkg.stderr)
        // On the host meanwhile: git sees nothing of the placeholders either.
        const host = spawnSync('git', ['-C', path.join(repo, 'pkg'), 'log', '--oneline', 'HEAD'], { encoding: 'utf8', env })
        assert.equal(host.status, 0, host.stderr)
        assert.equal(spawnSync('git', ['-C', repo, 'status', '--short'], { encoding: 'utf8', env }).stdout, 'M  pkg/a.txt\n')
      } finally {
        other.child.kill('SIGTERM')
        await other.done
      }
    })

    it('npm installs from a registry of the test, through the proxy', { skip: !ownAddress() && 'no non-loopback address here' }, async () => {
      const host = ownAddress()
      // A package, packed on the host, served with its metadata.
      const pkg = tempDir('srt-npm-pkg-')
      fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'srt-demo', version: '1.0.0', main: 'index.js' }))
      fs.writeFileSync(path.join(pkg, 'index.js'), "module.exports = 'from the registry'\n")
      const packed = spawnSync('npm', ['pack', '--silent', '--pack-destination', pkg], { cwd: pkg, env, encoding: 'utf8' })
      assert.equal(packed.status, 0, packed.stderr)
      const tarball = fs.readFileSync(path.join(pkg, packed.stdout.trim()))
      let port = 0
      port = await serve(host, (req, res) => {
        if (req.url.endsWith('.tgz')) return res.end(tarball)
        if (req.url === '/srt-demo') {
          const dist = {
            tarball: `http://${host}:${port}/srt-demo/-/srt-demo-1.0.0.tgz`,
            shasum: crypto.createHash('sha1').update(tarball).digest('hex'),
            integrity: `sha512-${crypto.createHash('sha512').update(tarball).digest('base64')}`,
          }
          res.setHeader('content-type', 'application/json')
          return res.end(JSON.stringify({ name: 'srt-demo', 'dist-tags': { latest: '1.0.0' }, versions: { '1.0.0': { name: 'srt-demo', version: '1.0.0', dist } } }))
        }
        res.statusCode = 404
        res.end()
      })
      const proj = tempDir('srt-npm-proj-')
      fs.writeFileSync(path.join(proj, 'package.json'), JSON.stringify({ name: 'proj', version: '1.0.0', private: true }))
      const r = await run(
        `npm install --no-audit --no-fund --registry http://${host}:${port}/ --cache ./.npm-cache --logs-dir ./.npm-logs srt-demo && node -e 'console.log(require("srt-demo"))'`,
        writable({ network: { allowedDomains: [`${host}:${port}`] } }),
        proj,
      )
      assert.match(r.stdout, /from the registry\n$/, r.stderr)
    })

    it('python makes a venv and pip installs a wheel into it', { skip: !runs('python3', ['-c', 'import venv, ensurepip']) && 'python3 has no venv here' }, async () => {
      const proj = tempDir('srt-py-')
      // A wheel made on the host: a module and the metadata pip reads.
      const made = spawnSync('python3', ['-c', `
import zipfile
with zipfile.ZipFile("srtdemo-1.0-py3-none-any.whl", "w") as z:
    z.writestr("srtdemo/__init__.py", "VALUE = 'from the wheel'\\n")
    z.writestr("srtdemo-1.0.dist-info/METADATA", "Metadata-Version: 2.1\\nName: srtdemo\\nVersion: 1.0\\n")
    z.writestr("srtdemo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\\nGenerator: srt-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    z.writestr("srtdemo-1.0.dist-info/RECORD", "srtdemo/__init__.py,,\\nsrtdemo-1.0.dist-info/METADATA,,\\nsrtdemo-1.0.dist-info/WHEEL,,\\nsrtdemo-1.0.dist-info/RECORD,,\\n")
`], { cwd: proj, encoding: 'utf8' })
      assert.equal(made.status, 0, made.stderr)
      const r = await run(
        'python3 -m venv v && v/bin/pip install -q --no-index --no-cache-dir --disable-pip-version-check ./srtdemo-1.0-py3-none-any.whl && v/bin/python -c "import srtdemo; print(srtdemo.VALUE)"',
        writable(),
        proj,
      )
      assert.equal(r.stdout, 'from the wheel\n', r.stderr)
    })

    it('make builds, and tar packs and unpacks', { skip: (!which('make') || !which('tar')) && 'make or tar missing' }, async () => {
      const proj = tempDir('srt-make-')
      fs.writeFileSync(path.join(proj, 'Makefile'), 'out/greeting.txt: in.txt\n\tmkdir -p out && tr a-z A-Z < in.txt > $@\n')
      fs.writeFileSync(path.join(proj, 'in.txt'), 'made inside\n')
      const r = await run('make -s && tar czf out.tgz out && rm -r out && tar xzf out.tgz && cat out/greeting.txt', writable(), proj)
      assert.equal(r.stdout, 'MADE INSIDE\n', r.stderr)
      assert.equal(fs.readFileSync(path.join(proj, 'out', 'greeting.txt'), 'utf8'), 'MADE INSIDE\n')
    })

    it('java reaches an allowed host through the proxy and is refused the rest', { skip: (!runs('java', ['-version']) || !ownAddress()) && 'no java, or no non-loopback address here' }, async () => {
      const host = ownAddress()
      const port = await serve(host, (req, res) => res.end('hello java'))
      const proj = tempDir('srt-java-')
      fs.writeFileSync(
        path.join(proj, 'Fetch.java'),
        `import java.net.URI; import java.net.http.*;
public class Fetch { public static void main(String[] a) throws Exception {
  var c = HttpClient.newHttpClient();
  for (String u : a) { try { var r = c.send(HttpRequest.newBuilder(URI.create(u)).build(), HttpResponse.BodyHandlers.ofString()); System.out.println(r.statusCode() + " " + r.body()); }
    catch (Exception e) { System.out.println("failed " + e); } } } }
`,
      )
      const r = await run(`java Fetch.java http://${host}:${port}/ http://denied.example/`, config({ network: { allowedDomains: [`${host}:${port}`] } }), proj, { JAVA_TOOL_OPTIONS: '-Xss1m' })
      assert.match(r.stdout, /^200 hello java\n403 /, r.stderr)
    })
  })
}

describe('refusals explained', () => {
  it('git init in the working directory fails, and srt says why and what to do', async () => {
    const dir = tempDir('srt-init-')
    const r = await viaCli('git init -q', writable(), dir)
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /Read-only file system/)
    assert.match(r.stderr, /srt: note: no repository may be made in the working directory[\s\S]*Make it outside srt first \(`git init`\)/)
    assert.ok(!fs.existsSync(path.join(dir, '.git')))
    // Made outside first, the repository works inside.
    spawnSync('git', ['init', '-q', dir])
    const ok = await viaCli('git status --short && echo ok', writable(), dir)
    assert.equal(ok.stdout, 'ok\n', ok.stderr)
    assert.doesNotMatch(ok.stderr, /srt: note/)
  })
})

describe('terminals and repeated lines', () => {
  it('script with stdin from /dev/null hands the command an end of file, not a NUL', { skip: (!which('script') || !which('perl')) && 'script or perl missing' }, () => {
    // The shell inside `script` waits until the terminal holds script's end
    // of file, then starts srt: the end of file is there before srt's terminal goes raw.
    const waitThenRun = `perl -e 'vec(my $r = "", 0, 1) = 1; select($r, undef, undef, 10)'; exec ${native} -- sh -c 'cat | od -c; echo done'`
    const r = spawnSync('script', ['-qec', waitThenRun, '/dev/null'], { env, cwd: home, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 30000 })
    assert.equal(r.status, 0, r.stderr)
    assert.doesNotMatch(r.stdout, /\\0|\^@/)
    assert.match(r.stdout, /^0000000\r?\ndone\r?\n$/)
  })
})
