// The Linux sandbox of issue 2, tried with real commands under the real
// bubblewrap: read-only root, allowed writes, hidden reads, protected files,
// namespaces, descriptors, unix sockets and the refusals when it cannot work.
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { describe, it } from 'node:test'

import { config, eventually, gitIn, kinds, native, runSync, sandboxEnv, settingsFile, start, tempDir, which } from './helpers.mjs'

const { home, env } = sandboxEnv()

/** Runs `sh -c script` in the sandbox with the given settings (native binary unless told). */
function sh(script, settings = config(), { cwd = home, kind = 'native', stdio } = {}) {
  const file = settingsFile(home, settings)
  return runSync(kind, ['--settings', file, 'sh', '-c', script], { env, cwd, stdio })
}

for (const kind of ['native', 'shim']) {
  it(`keeps the root read-only (${kind})`, () => {
    const target = path.join(home, `outside-${kind}`)
    const r = sh(`echo x > ${target}`, config(), { kind })
    assert.notEqual(r.status, 0)
    assert.match(r.stderr, /Read-only file system/)
    assert.ok(!fs.existsSync(target))
  })
}

describe('writes', () => {
  it('lands on the host inside allowWrite, relative paths and ~ included', () => {
    const work = tempDir()
    fs.mkdirSync(path.join(home, 'w'), { recursive: true })
    const r = sh('echo a > ./f && echo b > ~/w/g && echo ok', config({ filesystem: { allowWrite: ['.', '~/w/**'] } }), {
      cwd: work,
    })
    assert.equal(r.stdout, 'ok\n', r.stderr)
    assert.equal(fs.readFileSync(path.join(work, 'f'), 'utf8'), 'a\n')
    assert.equal(fs.readFileSync(path.join(home, 'w', 'g'), 'utf8'), 'b\n')
  })

  it('takes TMPDIR from CLAUDE_CODE_TMPDIR only for a private directory apart from home and the working directory', () => {
    const tmp = tempDir()
    fs.chmodSync(tmp, 0o700)
    const file = settingsFile(home, config())
    const ok = runSync('native', ['--settings', file, 'sh', '-c', 'echo "$TMPDIR"; echo x > "$TMPDIR/f" && echo wrote'], { env: { ...env, CLAUDE_CODE_TMPDIR: tmp }, cwd: home })
    const [tmpdir, wrote] = ok.stdout.split('\n')
    assert.equal(path.dirname(tmpdir), tmp, ok.stderr)
    assert.equal(wrote, 'wrote')
    assert.ok(!fs.existsSync(tmpdir), "the run's own TMPDIR is removed when it ends")
    // `/` holds everything: it must not become a write root.
    const probe = path.join(tempDir(), 'probe')
    const bad = runSync('native', ['--settings', file, 'sh', '-c', `echo x > ${probe} && echo WROTE; echo "tmp=$TMPDIR"`], { env: { ...env, CLAUDE_CODE_TMPDIR: '/' }, cwd: home })
    assert.doesNotMatch(bad.stdout, /WROTE/)
    assert.ok(!fs.existsSync(probe))
    assert.match(bad.stderr, /CLAUDE_CODE_TMPDIR\) is not a private \(0700\) directory/)
  })

  it('expands write globs: allowWrite and denyWrite match what exists', () => {
    const work = tempDir()
    for (const d of ['build-a', 'build-b', 'src']) fs.mkdirSync(path.join(work, d))
    fs.writeFileSync(path.join(work, 'build-b', 'lock1'), 'orig')
    const r = sh('echo a > build-a/f; echo b > build-b/f; echo x > build-b/lock1; echo s > src/f; echo done', config({ filesystem: { allowWrite: ['./build-*'], denyWrite: ['./build-*/lock[0-9]'] } }), {
      cwd: work,
    })
    assert.match(r.stdout, /done/)
    assert.equal(fs.readFileSync(path.join(work, 'build-a', 'f'), 'utf8'), 'a\n')
    assert.equal(fs.readFileSync(path.join(work, 'build-b', 'f'), 'utf8'), 'b\n')
    assert.equal(fs.readFileSync(path.join(work, 'build-b', 'lock1'), 'utf8'), 'orig')
    assert.ok(!fs.existsSync(path.join(work, 'src', 'f')))
  })

  it('keeps denyWrite read-only inside an allowed directory', () => {
    const work = tempDir()
    fs.mkdirSync(path.join(work, 'locked'))
    fs.writeFileSync(path.join(work, 'locked', 'f'), 'orig')
    const r = sh('echo new > locked/f; echo new > locked/g; echo free > free', config({ filesystem: { allowWrite: ['.'], denyWrite: ['./locked'] } }), {
      cwd: work,
    })
    assert.match(r.stderr, /Read-only file system/)
    assert.equal(fs.readFileSync(path.join(work, 'locked', 'f'), 'utf8'), 'orig')
    assert.ok(!fs.existsSync(path.join(work, 'locked', 'g')))
    assert.equal(fs.readFileSync(path.join(work, 'free'), 'utf8'), 'free\n')
  })

  it('judges a write where it lands: a symlink out of an allowed directory gives nothing', () => {
    const work = tempDir()
    const outside = tempDir()
    fs.symlinkSync(outside, path.join(work, 'link'))
    const r = sh('echo pwned > link/f', config({ filesystem: { allowWrite: ['.'] } }), { cwd: work })
    assert.notEqual(r.status, 0)
    assert.ok(!fs.existsSync(path.join(outside, 'f')))
  })

  it('refuses a write root that is a symlink escaping its tree, and says so', () => {
    const work = tempDir()
    const outside = tempDir()
    fs.symlinkSync(outside, path.join(work, 'cache'))
    const r = sh('echo pwned > cache/f', config({ filesystem: { allowWrite: ['./cache'] } }), { cwd: work })
    assert.match(r.stderr, /resolves through a symlink/)
    assert.ok(!fs.existsSync(path.join(outside, 'f')))
  })

  it('a link one run plants in a glob allowWrite covers opens nothing to the next', () => {
    const work = tempDir()
    const outside = tempDir()
    fs.mkdirSync(path.join(work, 'out'))
    const settings = config({ filesystem: { allowWrite: ['.', './out/*'] } })
    const plant = sh(`ln -s ${outside} out/evil && ln -s ${outside}/f out/f.txt && echo planted`, settings, { cwd: work })
    assert.equal(plant.stdout, 'planted\n', plant.stderr)
    const next = sh('echo pwned > out/evil/g; echo pwned > out/f.txt; echo done', settings, { cwd: work })
    assert.match(next.stdout, /done/)
    assert.match(next.stderr, /allowWrite .*out\/evil resolves through a symlink/)
    assert.deepEqual(fs.readdirSync(outside), [])
  })

  it('gives the command a writable TMPDIR', () => {
    const r = sh('f=$(mktemp) && echo ok > "$f" && cat "$f" && rm "$f" && echo "$TMPDIR"')
    assert.equal(r.status, 0, r.stderr)
    // /tmp/claude, or the caller's own /tmp/claude-<uid> where another user made /tmp/claude.
    assert.match(r.stdout, /^ok\n\/tmp\/claude(-[0-9]+)?\/srt-tmp-[0-9]+-[0-9]+-[0-9a-f]+\n$/)
  })

  it("removes the run's TMPDIR whatever modes the command left inside", () => {
    const r = sh('mkdir -p "$TMPDIR/x/y" && touch "$TMPDIR/x/y/z" && chmod 000 "$TMPDIR/x/y" "$TMPDIR/x" && chmod 500 "$TMPDIR" && echo "$TMPDIR"')
    const tmpdir = r.stdout.trim()
    assert.match(tmpdir, /srt-tmp-/, r.stderr)
    assert.ok(!fs.existsSync(tmpdir), 'removed when the run ended')
  })

  it('lets no sandbox see what another left in the shared temporary directory', async () => {
    // The shared directory named by the environment (the default, /tmp/claude, may be another user's here).
    const shared = tempDir()
    fs.chmodSync(shared, 0o700)
    const tenv = { ...env, CLAUDE_CODE_TMPDIR: shared }
    const mine = path.join(shared, 'host-file')
    fs.writeFileSync(mine, 'HOST')
    const writer = start('native', ['--settings', settingsFile(home, config()), 'sh', '-c', `echo SECRET > "$TMPDIR/s"; echo SECRET > ${shared}/direct; echo "$TMPDIR"; sleep 30`], { env: tenv, cwd: home })
    try {
      await writer.waitFor('\n')
      const theirs = writer.stdout.trim()
      assert.equal(fs.readFileSync(path.join(theirs, 's'), 'utf8'), 'SECRET\n', 'the host sees the TMPDIR')
      const reader = runSync('native', ['--settings', settingsFile(home, config()), 'sh', '-c', `cat ${theirs}/s ${shared}/direct ${mine}; ls -A ${shared} | wc -l; echo end`], { env: tenv, cwd: home })
      assert.doesNotMatch(reader.stdout, /SECRET|HOST/, reader.stderr)
      assert.match(reader.stdout, /^1\nend\n$/, 'only its own TMPDIR is there')
    } finally {
      writer.child.kill('SIGTERM')
      await writer.done
      fs.rmSync(mine, { force: true })
    }
    assert.ok(!fs.existsSync(writer.stdout.trim()), 'removed when the run ends')
  })

  it('writes everywhere with filesystem.disabled', () => {
    const work = tempDir()
    const r = sh(`echo x > ${work}/f`, config({ filesystem: { disabled: true } }))
    assert.equal(r.status, 0, r.stderr)
    assert.ok(fs.existsSync(path.join(work, 'f')))
  })
})

describe('reads', () => {
  const secrets = path.join(home, '.secrets')
  fs.mkdirSync(secrets, { recursive: true })
  fs.writeFileSync(path.join(secrets, 'key'), 'SECRET-KEY')
  fs.writeFileSync(path.join(secrets, 'public'), 'PUBLIC')
  fs.writeFileSync(path.join(home, 'token'), 'SECRET-TOKEN')

  it('hides a denied directory and a denied file', () => {
    const r = sh('ls -A ~/.secrets; cat ~/.secrets/key; cat ~/token; echo end', config({ filesystem: { denyRead: ['~/.secrets', '~/token'] } }))
    assert.doesNotMatch(r.stdout, /SECRET/)
    assert.match(r.stdout, /end/)
    assert.match(r.stderr, /No such file/)
  })

  it('expands read globs: every existing match is hidden, and says what a glob cannot cover', () => {
    const keys = path.join(home, 'keys')
    fs.mkdirSync(path.join(keys, 'deep', 'er'), { recursive: true })
    fs.writeFileSync(path.join(keys, 'a.pem'), 'SECRET-A')
    fs.writeFileSync(path.join(keys, 'deep', 'er', 'b.pem'), 'SECRET-B')
    fs.writeFileSync(path.join(keys, 'notes.txt'), 'PUBLIC-NOTES')
    const r = sh('cat ~/keys/a.pem ~/keys/deep/er/b.pem ~/keys/notes.txt; echo', config({ filesystem: { denyRead: ['~/keys/**/*.pem'] } }))
    assert.doesNotMatch(r.stdout, /SECRET/)
    assert.match(r.stdout, /PUBLIC-NOTES/)
    assert.match(r.stderr, /the glob "~\/keys\/\*\*\/\*\.pem" covers the 2 existing path\(s\)/)
  })

  it('a glob sent across the disk by a planted link is refused naming the link', () => {
    const work = tempDir()
    fs.symlinkSync('/', path.join(work, 'd'))
    const r = sh('echo RAN', config({ filesystem: { allowWrite: ['.'], denyWrite: ['./**/*.pem'] } }), { cwd: work })
    assert.equal(r.status, 1)
    assert.doesNotMatch(r.stdout, /RAN/)
    assert.match(r.stderr, new RegExp(`looks at more than 200000 entries \\(it went through the symbolic links ${work}/d[,:]`))
  })

  it('refuses a glob that would walk the whole disk', () => {
    const r = sh('echo RAN', config({ filesystem: { denyRead: ['/*/.ssh'] } }))
    assert.equal(r.status, 1)
    assert.doesNotMatch(r.stdout, /RAN/)
    assert.match(r.stderr, /would walk the whole disk/)
  })

  it('re-opens an allowRead path inside a denied directory', () => {
    const r = sh('cat ~/.secrets/public; echo; cat ~/.secrets/key', config({ filesystem: { denyRead: ['~/.secrets'], allowRead: ['~/.secrets/public'] } }))
    assert.match(r.stdout, /PUBLIC/)
    assert.doesNotMatch(r.stdout, /SECRET/)
  })

  it('an allowRead link one run plants leads into no denied directory in the next', () => {
    const work = tempDir()
    const secret = tempDir()
    fs.writeFileSync(path.join(secret, 'key'), 'SECRET-KEY')
    fs.mkdirSync(path.join(work, 'pub'))
    fs.writeFileSync(path.join(work, 'pub', 'readme'), 'PUBLIC-README')
    for (const allowRead of [['./pub/*'], ['./pub/k']]) {
      const settings = config({ filesystem: { denyRead: [secret, './pub'], allowRead, allowWrite: ['.'] } })
      fs.rmSync(path.join(work, 'pub', 'k'), { force: true })
      const plant = sh(`ln -s ${secret}/key pub/k && echo planted`, config({ filesystem: { allowWrite: ['.'] } }), { cwd: work })
      assert.equal(plant.stdout, 'planted\n', plant.stderr)
      const next = sh('cat pub/k; cat pub/readme; echo', settings, { cwd: work })
      assert.doesNotMatch(next.stdout, /SECRET/, JSON.stringify(allowRead))
      assert.match(next.stderr, /allowRead .*pub\/k is reached through the symbolic link/)
    }
    // A glob allowRead still re-opens what it names.
    const r = sh('cat pub/readme', config({ filesystem: { denyRead: ['./pub'], allowRead: ['./pub/*'] } }), { cwd: work })
    assert.match(r.stdout, /PUBLIC-README/, r.stderr)
  })

  it('a denyWrite glob that matches a link the command could replace refuses the run, like the literal form', () => {
    const work = tempDir()
    fs.mkdirSync(path.join(work, 'conf'))
    fs.writeFileSync(path.join(work, 'real.json'), 'orig')
    fs.symlinkSync(path.join(work, 'real.json'), path.join(work, 'conf', 'a.json'))
    const r = sh('rm conf/a.json; echo evil > conf/a.json; echo RAN', config({ filesystem: { allowWrite: ['.'], denyWrite: ['./conf/*.json'] } }), { cwd: work })
    assert.equal(r.status, 1)
    assert.doesNotMatch(r.stdout, /RAN/)
    assert.match(r.stderr, /conf\/a.json is a symbolic link in a directory the command may write/)
    assert.equal(fs.readlinkSync(path.join(work, 'conf', 'a.json')), path.join(work, 'real.json'))
  })

  it('takes literal entries and odd spellings as written', () => {
    fs.writeFileSync(path.join(home, 'odd[1]'), 'SECRET-ODD')
    fs.writeFileSync(path.join(home, 'odd1'), 'PUBLIC-ODD1')
    const r = sh('cat ~/odd1; echo; cat "$HOME/odd[1]"; cat ~/token; echo end', config({ filesystem: { denyRead: [{ path: '~/odd[1]', literal: true }, `${home}/sub/../token`] } }))
    assert.match(r.stdout, /PUBLIC-ODD1/, 'a literal entry is no set: odd1 stays readable')
    assert.doesNotMatch(r.stdout, /SECRET/)
  })

  it('hides the real file whichever name a symlink gives it', () => {
    const link = path.join(home, 'token-link')
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(home, 'token'), link)
    const r = sh('cat ~/token; cat ~/token-link; echo end', config({ filesystem: { denyRead: ['~/token-link'] } }))
    assert.doesNotMatch(r.stdout, /SECRET/)
  })

  it('cannot write into a hidden directory', () => {
    const r = sh('echo x > ~/.secrets/new', config({ filesystem: { denyRead: ['~/.secrets'], allowWrite: ['~'] } }))
    assert.notEqual(r.status, 0)
    assert.ok(!fs.existsSync(path.join(secrets, 'new')))
  })
})

describe('mandatory write denies', () => {
  function repo() {
    const work = tempDir()
    for (const d of ['.git/hooks', '.git/objects', '.vscode', '.claude/commands', 'a/b/c']) fs.mkdirSync(path.join(work, d), { recursive: true })
    for (const f of ['.bashrc', '.gitconfig', '.mcp.json', '.git/config', '.git/hooks/pre-commit', 'a/b/.zshrc', 'a/b/c/.zshrc', '.claude/settings.json', 'plain']) {
      fs.writeFileSync(path.join(work, f), 'orig\n')
    }
    // Ignore files hide nothing from the scan.
    fs.writeFileSync(path.join(work, '.gitignore'), '.bashrc\na/\n.vscode/\n')
    fs.writeFileSync(path.join(work, '.ignore'), '*\n')
    return work
  }
  const write = (files) => files.map((f) => `echo pwned > ${f}`).join('; ') + '; true'
  const content = (work, f) => (fs.existsSync(path.join(work, f)) ? fs.readFileSync(path.join(work, f), 'utf8') : null)

  it('protects shell rc files, git hooks and config, editor and agent folders', () => {
    const work = repo()
    const protectedFiles = ['.bashrc', '.gitconfig', '.mcp.json', '.git/config', '.git/hooks/pre-commit', 'a/b/.zshrc']
    sh(write([...protectedFiles, '.vscode/settings.json', '.claude/commands/x.md', 'plain', '.claude/settings.json', 'a/b/c/.zshrc']), config({ filesystem: { allowWrite: ['.'] } }), {
      cwd: work,
    })
    for (const f of protectedFiles) assert.equal(content(work, f), 'orig\n', f)
    assert.equal(content(work, '.vscode/settings.json'), null)
    assert.equal(content(work, '.claude/commands/x.md'), null)
    assert.equal(content(work, 'plain'), 'pwned\n', 'ordinary files stay writable')
    assert.equal(content(work, 'a/b/c/.zshrc'), 'pwned\n', 'beyond the search depth')
  })

  it("protects Claude Code's project settings and hooks, dev containers and hg config, made or not", () => {
    const work = repo()
    fs.mkdirSync(path.join(work, '.hg'))
    fs.writeFileSync(path.join(work, '.claude', 'notes.md'), 'orig\n')
    const r = sh(
      write(['.claude/settings.json', '.claude/settings.local.json', '.claude/hooks/h.sh', '.devcontainer/devcontainer.json', '.devcontainer.json', '.hg/hgrc', '.claude/notes.md']) +
        '; cat .claude/settings.local.json',
      config({ filesystem: { allowWrite: ['.'] } }),
      { cwd: work },
    )
    assert.equal(content(work, '.claude/settings.json'), 'orig\n')
    assert.equal(r.stdout, '{}\n', 'a missing settings file reads as one with no keys inside')
    for (const f of ['.claude/settings.local.json', '.claude/hooks', '.devcontainer', '.devcontainer.json', '.hg/hgrc']) {
      assert.equal(content(work, f), null, `${f} is not left behind`)
    }
    assert.equal(content(work, '.claude/notes.md'), 'pwned\n', 'the rest of .claude stays writable')
  })

  it('keeps the settings file in use read-only: the command cannot loosen its next run', () => {
    const work = tempDir()
    const file = path.join(work, 'srt.json')
    const rules = JSON.stringify(config({ filesystem: { allowWrite: ['.'] } }))
    fs.writeFileSync(file, rules)
    const r = runSync('native', ['--settings', './srt.json', 'sh', '-c', 'echo "{}" > srt.json; echo x > plain; echo done'], { env, cwd: work })
    assert.match(r.stdout, /done/, r.stderr)
    assert.equal(fs.readFileSync(file, 'utf8'), rules)
    assert.equal(content(work, 'plain'), 'x\n')
    // The default file, ~/.srt-settings.json, the same.
    const h = tempDir('srt-home-')
    fs.writeFileSync(path.join(h, '.srt-settings.json'), rules)
    const d = runSync('native', ['sh', '-c', 'echo "{}" > .srt-settings.json; echo done'], { env: { ...env, HOME: h }, cwd: h })
    assert.match(d.stdout, /done/, d.stderr)
    assert.equal(fs.readFileSync(path.join(h, '.srt-settings.json'), 'utf8'), rules)
  })

  it("a sandbox cannot remove another sandbox's placeholders (which would undo its mounts)", async () => {
    const outer = tempDir()
    const inner = path.join(outer, 'a', 'b')
    fs.mkdirSync(inner, { recursive: true })
    const rules = settingsFile(home, config({ filesystem: { allowWrite: ['.'] } }))
    const a = start('native', ['--settings', rules, 'sh', '-c', 'sleep 1.5; mkdir -p .git/hooks && echo A-PLANTED; echo x > .mcp.json && echo A-WROTE; true'], { env, cwd: inner })
    await new Promise((r) => setTimeout(r, 700))
    const b = runSync('native', ['--settings', rules, 'sh', '-c', 'rmdir a/b/.git && echo B-REMOVED; rm -f a/b/.mcp.json; echo done'], { env, cwd: outer })
    assert.match(b.stdout, /done/, b.stderr)
    assert.doesNotMatch(b.stdout, /B-REMOVED/)
    const r = await a.done
    assert.doesNotMatch(r.stdout, /A-PLANTED|A-WROTE/, r.stderr)
    assert.deepEqual(fs.readdirSync(inner), [], 'no placeholder left behind')
  })

  it("another sandbox's placeholders that were moved or removed get in no later run's way", async () => {
    const w = tempDir()
    for (const d of ['build', 'sub']) fs.mkdirSync(path.join(w, d))
    const rules = settingsFile(home, config({ filesystem: { allowWrite: ['.'] } }))
    const long = ['build', 'sub'].map((d) => start('native', ['--settings', rules, 'sh', '-c', 'echo started; sleep 30'], { env, cwd: path.join(w, d) }))
    try {
      // Started: every mount (and so every placeholder) is in place.
      await Promise.all(long.map((run) => run.waitFor('started')))
      // On the host: one run's directory removed, the other's swapped for a link.
      fs.rmSync(path.join(w, 'build'), { recursive: true, force: true })
      fs.renameSync(path.join(w, 'sub'), path.join(w, 'sub2'))
      fs.symlinkSync('sub2', path.join(w, 'sub'))
      const r = sh('mkdir -p build/out && echo x > build/x && echo made', config({ filesystem: { allowWrite: ['.'] } }), { cwd: w })
      assert.equal(r.stdout, 'made\n', r.stderr)
    } finally {
      for (const run of long) run.child.kill('SIGTERM')
      await Promise.all(long.map((run) => run.done))
    }
  })

  it('a name of another case left by one run stands in for nothing in the next', () => {
    const work = tempDir()
    const rules = config({ filesystem: { allowWrite: ['.'] } })
    sh('mkdir .GIT .CLAUDE; touch .MCP.JSON Refs', rules, { cwd: work })
    assert.ok(fs.existsSync(path.join(work, '.GIT')), 'the first run made its decoys')
    const r = sh('echo pwned > .mcp.json; mkdir .git; mkdir refs; mkdir -p .claude/commands; echo done', rules, { cwd: work })
    assert.match(r.stdout, /done/, r.stderr)
    for (const f of ['.mcp.json', '.git', 'refs', '.claude']) assert.ok(!fs.existsSync(path.join(work, f)), f)
  })

  it('refuses a settings file reached through a link the command could repoint', () => {
    const work = tempDir()
    const conf = tempDir()
    fs.writeFileSync(path.join(conf, 'S.json'), JSON.stringify(config({ filesystem: { allowWrite: ['.'] } })))
    fs.symlinkSync(conf, path.join(work, 'lnk'))
    const r = runSync('native', ['--settings', 'lnk/S.json', 'sh', '-c', 'echo ran'], { env, cwd: work })
    assert.notEqual(r.status, 0)
    assert.doesNotMatch(r.stdout, /ran/)
    assert.match(r.stderr, /reached through the symbolic link \S*lnk, in a directory the command may write/)
  })

  it('a single file allowWrite names stays writable', () => {
    const work = tempDir()
    fs.writeFileSync(path.join(work, 'out.log'), 'old\n')
    const r = sh('echo new >> out.log && echo ok', config({ filesystem: { allowWrite: ['./out.log'] } }), { cwd: work })
    assert.equal(r.stdout, 'ok\n', r.stderr)
    assert.equal(content(work, 'out.log'), 'old\nnew\n')
  })

  it('makes no repository where host git would find it: above the working directory, atop allowWrite', () => {
    const work = tempDir()
    const proj = path.join(work, 'proj')
    const other = path.join(tempDir(), 'other')
    fs.mkdirSync(proj)
    fs.mkdirSync(other)
    const r = sh(`git init -q ${work}; mkdir ${work}/.git; git init -q ${other}; mkdir ${other}/refs; echo x > inside; echo done`, config({ filesystem: { allowWrite: [work, other] } }), {
      cwd: proj,
    })
    assert.match(r.stdout, /done/, r.stderr)
    assert.equal(content(proj, 'inside'), 'x\n')
    for (const p of [path.join(work, '.git'), path.join(other, '.git'), path.join(other, 'refs')]) assert.ok(!fs.existsSync(p), p)
  })

  it('protects every name in a writable home, and its .ssh and git config, even those not there yet', () => {
    const h = tempDir('srt-home-')
    fs.mkdirSync(path.join(h, 'proj'))
    fs.mkdirSync(path.join(h, '.config'))
    const script = 'for f in .zshrc .zshenv .bash_login .gitconfig .mcp.json; do echo x > ~/$f; done; mkdir -p ~/.vscode ~/.ssh ~/.config/git; echo x > ~/.config/git/config; echo x > ~/plain; echo done'
    const file = settingsFile(h, config({ filesystem: { allowWrite: ['~'] } }))
    const r = runSync('native', ['--settings', file, 'sh', '-c', script], { env: { ...env, HOME: h }, cwd: path.join(h, 'proj') })
    assert.match(r.stdout, /done/, r.stderr)
    assert.equal(content(h, 'plain'), 'x\n')
    for (const f of ['.zshrc', '.zshenv', '.bash_login', '.gitconfig', '.mcp.json', '.vscode', '.ssh', '.config/git']) assert.ok(!fs.existsSync(path.join(h, f)), f)
  })

  it('gives a project no more placeholders than it needs: start-up files only where shells read them', () => {
    const work = tempDir()
    const rules = config({ filesystem: { allowWrite: ['.'] } })
    const r = sh('ls -A', rules, { cwd: work })
    const seen = r.stdout.split('\n').filter(Boolean).sort()
    const expected = ['.claude', '.devcontainer', '.devcontainer.json', '.git', '.hg', '.idea', '.mcp.json', '.vscode', 'commondir', 'refs']
    assert.deepEqual(seen, expected, r.stderr)
    // Where the environment says a shell or tool reads them, they are kept from being made.
    const file = settingsFile(home, rules)
    const script = 'echo x > .zshrc; echo x > .zshenv; echo x > rg.conf; echo x > plain; echo done'
    const z = runSync('native', ['--settings', file, 'sh', '-c', script], { env: { ...env, ZDOTDIR: work, RIPGREP_CONFIG_PATH: path.join(work, 'rg.conf') }, cwd: work })
    assert.match(z.stdout, /done/, z.stderr)
    assert.deepEqual(fs.readdirSync(work), ['plain'])
  })

  it('refuses to run when a protected name is a symlink the command could replace', () => {
    const work = tempDir()
    fs.writeFileSync(path.join(work, 'bashrc-real'), 'orig\n')
    fs.symlinkSync('bashrc-real', path.join(work, '.bashrc'))
    const r = sh('echo ran', config({ filesystem: { allowWrite: ['.'] } }), { cwd: work })
    assert.notEqual(r.status, 0)
    assert.doesNotMatch(r.stdout, /ran/)
    assert.match(r.stderr, /\.bashrc is a symbolic link in a directory the command may write/)
  })

  it('leaves .git/config writable with allowGitConfig, hooks still protected', () => {
    const work = repo()
    sh(write(['.git/config', '.git/hooks/pre-commit']), config({ filesystem: { allowWrite: ['.'], allowGitConfig: true } }), { cwd: work })
    assert.equal(content(work, '.git/config'), 'pwned\n')
    assert.equal(content(work, '.git/hooks/pre-commit'), 'orig\n')
  })

  it('follows mandatoryDenySearchDepth', () => {
    const work = repo()
    sh(write(['a/b/.zshrc', '.bashrc']), config({ filesystem: { allowWrite: ['.'] }, mandatoryDenySearchDepth: 1 }), { cwd: work })
    assert.equal(content(work, 'a/b/.zshrc'), 'pwned\n')
    assert.equal(content(work, '.bashrc'), 'orig\n')
  })

  it('keeps a nested repository read-only whole', () => {
    const work = tempDir()
    fs.mkdirSync(path.join(work, 'vendor', '.git', 'objects'), { recursive: true })
    const r = sh('mkdir vendor/.git/hooks && echo HOOKS; echo x > vendor/.git/config && echo CONFIG; echo ok > vendor/file; echo done', config({ filesystem: { allowWrite: ['.'] } }), {
      cwd: work,
    })
    assert.match(r.stdout, /done/)
    assert.doesNotMatch(r.stdout, /HOOKS|CONFIG/)
    assert.deepEqual(fs.readdirSync(path.join(work, 'vendor', '.git')), ['objects'])
    assert.equal(fs.readFileSync(path.join(work, 'vendor', 'file'), 'utf8'), 'ok\n')
  })

  it('protects paths that do not exist yet, and leaves nothing behind', () => {
    const work = tempDir()
    fs.mkdirSync(path.join(work, '.git', 'objects'), { recursive: true })
    const r = sh(
      'echo pwned > .mcp.json; mkdir -p .git/hooks; echo pwned > .git/hooks/pre-commit; echo pwned > .git/config; mkdir -p .claude/commands; echo pwned > .claude/commands/x.md; echo ok > plain; echo done',
      config({ filesystem: { allowWrite: ['.'] } }),
      { cwd: work },
    )
    assert.match(r.stdout, /done/)
    assert.equal(content(work, 'plain'), 'ok\n')
    assert.deepEqual(fs.readdirSync(work).sort(), ['.git', 'plain'], 'no placeholder is left on the host')
    assert.deepEqual(fs.readdirSync(path.join(work, '.git')), ['objects'])
  })

  it('removes the placeholders a killed run left, on the next run', async () => {
    const work = tempDir()
    const settings = config({ filesystem: { allowWrite: ['.'] } })
    const run = start('native', ['--settings', settingsFile(home, settings), 'sh', '-c', 'echo ready; sleep 60'], { env, cwd: work })
    await run.waitFor('ready')
    assert.ok(fs.existsSync(path.join(work, '.mcp.json')), 'bubblewrap made a mount point on the host')
    run.child.kill('SIGKILL')
    await run.done
    // Left behind by the killed run: the next srt run of this user removes
    // them (which may be another suite's, running meanwhile).
    sh('true', config(), { cwd: home })
    assert.deepEqual(fs.readdirSync(work), [], 'the next run cleaned up')
  })

  it('keeps a placeholder that another live run relies on', async () => {
    const work = tempDir()
    const file = settingsFile(home, config({ filesystem: { allowWrite: ['.'] } }))
    const script = 'echo ready; read go; echo pwned > .mcp.json; echo wrote=$?'
    // The first run makes the placeholder; the second finds it there and relies on it.
    const first = start('native', ['--settings', file, 'sh', '-c', script], { env, cwd: work })
    await first.waitFor('ready')
    const second = start('native', ['--settings', file, 'sh', '-c', script], { env, cwd: work })
    await second.waitFor('ready')
    first.child.stdin.end('go\n')
    await first.done
    assert.ok(fs.existsSync(path.join(work, '.mcp.json')), 'kept while the second run relies on it')
    second.child.stdin.end('go\n')
    const r = await second.done
    assert.match(r.stdout, /wrote=[1-9]/, 'still protected in the second run')
    assert.deepEqual(fs.readdirSync(work), [], 'every placeholder removed once no run relies on it')
  })

  it('cannot redirect git through .git/commondir, and host git keeps working meanwhile', async () => {
    const work = tempDir()
    const git = gitIn(work, env)
    assert.equal(git(['init', '-q']).status, 0)
    assert.equal(git(['commit', '-q', '--allow-empty', '-m', 'first']).status, 0)
    const file = settingsFile(home, config({ filesystem: { allowWrite: ['.'] } }))
    const run = start('native', ['--settings', file, 'sh', '-c', 'mkdir -p .git/evil; echo evil > .git/commondir; echo wrote=$?; mkdir .git/modules/x; echo ready; read go'], { env, cwd: work })
    await run.waitFor('ready')
    const status = git(['status', '--porcelain'])
    assert.equal(status.status, 0, `host git works while the sandbox runs: ${status.stderr}`)
    run.child.stdin.end('go\n')
    const r = await run.done
    assert.match(r.stdout, /wrote=[1-9]/)
    const left = fs.readdirSync(path.join(work, '.git'))
    for (const name of ['commondir', 'modules', 'worktrees', 'config.worktree']) assert.ok(!left.includes(name), `${name} left behind`)
    assert.equal(git(['log', '--oneline']).stdout.trim().split('\n').length, 1)
  })

  it('keeps placeholders out of git, inside and on the host', async () => {
    const work = tempDir()
    const git = gitIn(work, env)
    assert.equal(git(['init', '-q']).status, 0)
    fs.writeFileSync(path.join(work, 'a.txt'), 'a')
    const file = settingsFile(home, config({ filesystem: { allowWrite: ['.'] } }))
    const run = start('native', ['--settings', file, 'sh', '-c', 'git add -A && echo added=$?; git status --porcelain; echo ready; read go'], { env, cwd: work })
    await run.waitFor('ready')
    assert.equal(git(['status', '--porcelain']).stdout, 'A  a.txt\n', 'the host sees no placeholder (and the addition made inside)')
    run.child.stdin.end('go\n')
    const r = await run.done
    assert.match(r.stdout, /added=0\nA  a\.txt\nready/, r.stderr)
  })

  it('lets no bare repository be planted through a commondir, nor a Mercurial one, here or in a writable parent', () => {
    const parent = tempDir()
    const work = path.join(parent, 'proj')
    fs.mkdirSync(work)
    const plant = (dir) =>
      `cd ${dir}; printf "ref: refs/heads/main\\n" > HEAD; mkdir -p x/objects x/refs; echo x > commondir; printf "[core]\\n\\tpager = touch ${dir}/PWNED\\n" > x/config; mkdir .hg; echo done`
    // An executable `refs` file already there passes git's test for a repository's refs: no blocker.
    fs.writeFileSync(path.join(parent, 'refs'), '#!/bin/sh\n', { mode: 0o755 })
    const r = sh(`(${plant(work)}); (${plant(parent)})`, config({ filesystem: { allowWrite: ['.', parent] } }), { cwd: work })
    assert.match(r.stdout, /done\ndone/, r.stderr)
    for (const dir of [work, parent]) {
      for (const f of ['commondir', '.hg']) assert.ok(!fs.existsSync(path.join(dir, f)), path.join(dir, f))
      const git = spawnSync('git', ['rev-parse', '--git-dir'], { cwd: dir, encoding: 'utf8', env: { ...env, GIT_CEILING_DIRECTORIES: path.dirname(parent) } })
      assert.notEqual(git.status, 0, `git found a repository in ${dir}: ${git.stdout}`)
    }
  })

  it('lets no repository be planted where git will look', () => {
    const work = tempDir()
    const r = sh(
      "git init -q . && echo INIT; mkdir -p objects refs/heads && printf 'ref: refs/heads/master\\n' > HEAD && echo BARE; echo done",
      config({ filesystem: { allowWrite: ['.'] } }),
      { cwd: work },
    )
    assert.match(r.stdout, /done/)
    assert.doesNotMatch(r.stdout, /INIT|BARE/)
    assert.ok(!fs.existsSync(path.join(work, '.git')) && !fs.existsSync(path.join(work, 'refs')))
    // Whatever the command made there, git on the host finds no repository in it.
    const git = spawnSync('git', ['rev-parse', '--git-dir'], { cwd: work, encoding: 'utf8', env: { ...env, GIT_CEILING_DIRECTORIES: path.dirname(work) } })
    assert.notEqual(git.status, 0, git.stdout)
  })

  it('keeps a placeholder another run relies on, whatever its environment says', async () => {
    const work = tempDir()
    const file = settingsFile(home, config({ filesystem: { allowWrite: ['.'] } }))
    const long = start('native', ['--settings', file, 'sh', '-c', 'echo ready; read go; echo pwned > .mcp.json; echo wrote=$?'], { env, cwd: work })
    await long.waitFor('ready')
    const other = runSync('native', ['--settings', file, 'true'], { env: { ...env, XDG_RUNTIME_DIR: tempDir(), HOME: tempDir() }, cwd: work })
    assert.equal(other.status, 0, other.stderr)
    long.child.stdin.end('go\n')
    const r = await long.done
    assert.match(r.stdout, /wrote=[1-9]/)
    assert.ok(!fs.existsSync(path.join(work, '.mcp.json')))
  })

  it('cannot carry a protected path away by renaming an ancestor', () => {
    const work = repo()
    fs.mkdirSync(path.join(work, 'priv'))
    fs.writeFileSync(path.join(work, 'priv', 'key'), 'SECRET')
    const r = sh(
      'mv .git .git2 && mkdir -p .git/hooks && echo pwned > .git/hooks/pre-commit; mv .claude c2; mv priv p2 && echo pwned > priv; echo done',
      config({ filesystem: { allowWrite: ['.'], denyRead: ['./priv/key'] } }),
      { cwd: work },
    )
    assert.match(r.stdout, /done/)
    assert.match(r.stderr, /Device or resource busy/)
    assert.equal(content(work, '.git/hooks/pre-commit'), 'orig\n')
    for (const moved of ['.git2', 'c2', 'p2']) assert.ok(!fs.existsSync(path.join(work, moved)), moved)
    assert.equal(content(work, 'priv/key'), 'SECRET')
  })

  it('cannot carry a deeper protected file or a nested repository away by renaming its directory', () => {
    const parent = tempDir()
    const work = path.join(parent, 'sub')
    for (const d of ['nested/.git/hooks', 'a/b']) fs.mkdirSync(path.join(work, d), { recursive: true })
    fs.writeFileSync(path.join(work, 'a', 'b', '.bashrc'), 'orig\n')
    fs.writeFileSync(path.join(work, 'nested', '.git', 'hooks', 'pre-commit'), 'orig\n')
    const r = sh(
      'mv a/b a/b2; mkdir -p a/b && echo evil > a/b/.bashrc; mv nested nested2; mkdir -p nested/.git/hooks && echo evil > nested/.git/hooks/pre-commit; cd .. && mv sub sub2; echo done',
      config({ filesystem: { allowWrite: ['..'] } }),
      { cwd: work },
    )
    assert.match(r.stdout, /done/)
    assert.match(r.stderr, /Device or resource busy/)
    assert.equal(content(work, 'a/b/.bashrc'), 'orig\n')
    assert.equal(content(work, 'nested/.git/hooks/pre-commit'), 'orig\n')
    for (const moved of ['a/b2', 'nested2', '../sub2']) assert.ok(!fs.existsSync(path.join(work, moved)), moved)
  })

  it('cannot move a protected path away', () => {
    const work = repo()
    const r = sh('mv .git/hooks h2; mv .bashrc x; rm -rf .git/hooks; echo done', config({ filesystem: { allowWrite: ['.'] } }), { cwd: work })
    assert.match(r.stdout, /done/)
    assert.equal(content(work, '.git/hooks/pre-commit'), 'orig\n')
    assert.equal(content(work, '.bashrc'), 'orig\n')
  })
})

describe('process isolation', () => {
  it('a command that stops itself goes on: srt never waits on it forever', () => {
    const r = sh('kill -STOP $$; echo resumed')
    assert.equal(r.stdout, 'resumed\n', r.stderr)
    assert.equal(r.status, 0)
  })

  it('has its own pid namespace, the helper as pid 1, and cannot signal outside it', () => {
    const r = sh(`ls /proc | grep -c '^[0-9]'; tr '\\0' '\\n' < /proc/1/cmdline | sed -n 2p; test -e /proc/${process.pid} && echo host-visible; kill -0 ${process.pid} && echo SIGNALLED`)
    assert.doesNotMatch(r.stdout, /SIGNALLED/)
    const [count, init] = r.stdout.split('\n')
    assert.ok(Number(count) < 10, r.stdout)
    assert.equal(init, '__sandbox-exec')
    assert.doesNotMatch(r.stdout, /host-visible/)
  })

  it('has no network at all: only loopback, and the host loopback is unreachable', async () => {
    let connections = 0
    const server = net.createServer((s) => {
      connections++
      s.destroy()
    })
    await new Promise((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address()
    const r = sh(`grep -c : /proc/net/dev; (echo hi > /dev/tcp/127.0.0.1/${port}) 2>/dev/null && echo CONNECTED; echo end`.replace(/^/, ''), config(), {})
    await new Promise((res) => server.close(res))
    assert.equal(connections, 0)
    assert.doesNotMatch(r.stdout, /CONNECTED/)
    // The sandbox's /proc/net/dev lists only lo (one interface line).
    assert.equal(r.stdout.split('\n')[0], '1')
  })

  it('cannot create user namespaces, chroot or mount', () => {
    const r = sh('unshare -U true && echo USERNS; chroot / true && echo CHROOT; mount -t tmpfs none /tmp 2>&1 && echo MOUNTED; echo end')
    assert.doesNotMatch(r.stdout, /USERNS|CHROOT|MOUNTED/)
    assert.match(r.stdout, /end/)
    assert.match(r.stderr, /unshare failed: Operation not permitted/, 'refused by the seccomp filter')
  })

  it('refuses namespaces through seccomp even in the weaker nested mode, and threads still work', () => {
    const r = sh(
      `unshare -U true && echo USERNS; unshare -m true && echo MOUNTNS; python3 -c 'import threading; t = threading.Thread(target=print, args=("thread-ok",)); t.start(); t.join()'`,
      config({ enableWeakerNestedSandbox: true }),
    )
    assert.doesNotMatch(r.stdout, /USERNS|MOUNTNS/)
    assert.match(r.stdout, /thread-ok/, r.stderr)
  })

  it('allows nested user namespaces when allowNestedUserNamespaces is set', () => {
    const r = sh('unshare -U true && echo USERNS', config({ allowNestedUserNamespaces: true }))
    assert.match(r.stdout, /USERNS/, r.stderr)
  })

  it('gets no descriptor but its standard streams', () => {
    const victim = path.join(tempDir(), 'victim')
    fs.writeFileSync(victim, 'orig\n')
    const fd = fs.openSync(victim, 'a')
    try {
      const r = sh('echo pwned >&3; ls /proc/self/fd', config(), { stdio: ['pipe', 'pipe', 'pipe', fd] })
      assert.match(r.stderr, /Bad file descriptor/)
      assert.equal(fs.readFileSync(victim, 'utf8'), 'orig\n')
      assert.deepEqual(r.stdout.split('\n').filter(Boolean).sort(), ['0', '1', '2', '3'], 'ls sees 0-2 and its own directory handle')
    } finally {
      fs.closeSync(fd)
    }
  })

  it('cannot read the helper\'s memory or environment, nor reach the host through /proc/1/root', () => {
    const r = sh('cat /proc/1/environ >/dev/null && echo ENVIRON; head -c1 /proc/1/mem >/dev/null && echo MEM; ls /proc/1/root/ >/dev/null && echo ROOT; echo x > /proc/1/root/tmp/srt-proc-root-probe && echo WROTE; echo end')
    assert.doesNotMatch(r.stdout, /ENVIRON|MEM|ROOT|WROTE/)
    assert.ok(!fs.existsSync('/tmp/srt-proc-root-probe'))
  })

  it('cannot hard-link a protected or outside file into a writable directory', () => {
    const work = tempDir()
    fs.writeFileSync(path.join(work, '.bashrc'), 'orig\n')
    const outside = path.join(tempDir(), 'victim')
    fs.writeFileSync(outside, 'orig\n')
    const r = sh(`ln .bashrc rc-link && echo pwned >> rc-link; ln ${outside} v-link && echo pwned >> v-link; echo end`, config({ filesystem: { allowWrite: ['.'] } }), { cwd: work })
    assert.match(r.stdout, /end/)
    assert.match(r.stderr, /Invalid cross-device link/)
    assert.equal(fs.readFileSync(path.join(work, '.bashrc'), 'utf8'), 'orig\n')
    assert.equal(fs.readFileSync(outside, 'utf8'), 'orig\n')
  })

})

describe('unix sockets and other side doors', () => {
  const perl = (code) => `perl -MSocket -e '${code}'`

  it('cannot connect to a host unix socket, unless allowAllUnixSockets', async () => {
    const sock = path.join(tempDir(), 'host.sock')
    let received = ''
    const server = net.createServer((s) => s.on('data', (d) => (received += d)))
    await new Promise((r) => server.listen(sock, r))
    const script = perl(
      `socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die "socket: $!\\n"; connect($s, pack_sockaddr_un("${sock}")) or die "connect: $!\\n"; print $s "hello"; close $s; print "SENT\\n"`,
    )
    const blocked = sh(script)
    assert.match(blocked.stderr, /socket: Operation not permitted/)
    assert.equal(received, '')
    const allowed = sh(script, config({ network: { allowAllUnixSockets: true } }))
    assert.match(allowed.stdout, /SENT/, allowed.stderr)
    await new Promise((r) => setTimeout(r, 100))
    server.close()
    assert.equal(received, 'hello')
  })

  it('cannot get a datagram socket through socketpair, nor AF_VSOCK, nor io_uring', () => {
    const script = [
      perl('socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die; print "stream-pair-ok\\n"'),
      perl('socketpair(my $a, my $b, AF_UNIX, SOCK_DGRAM, 0) and print "DGRAM-PAIR\\n"'),
      // SOCK_RAW is a datagram socket in disguise.
      perl('socketpair(my $a, my $b, AF_UNIX, 3, 0) and print "RAW-PAIR\\n"'),
      perl('socket(my $s, 40, SOCK_STREAM, 0) and print "VSOCK\\n"; print "vsock: $!\\n"'),
      `perl -e 'my $p = "\\0" x 120; my $r = syscall(425, 4, $p); print "io_uring: $!\\n"'`,
      // bpf, perf_event_open, userfaultfd (x86-64 numbers): refused whatever the host's sysctls say.
      `perl -e 'syscall(321, 0, 0, 0); print "bpf: $!\\n"; syscall(298, 0, 0, -1, -1, 0); print "perf: $!\\n"; syscall(323, 0); print "uffd: $!\\n"'`,
    ].join('; ')
    const r = sh(script)
    assert.match(r.stdout, /stream-pair-ok/)
    assert.doesNotMatch(r.stdout, /DGRAM-PAIR|RAW-PAIR|VSOCK\n/)
    assert.match(r.stdout, /vsock: Operation not permitted/)
    assert.match(r.stdout, /io_uring: Operation not permitted/)
    if (process.arch === 'x64') assert.match(r.stdout, /bpf: Operation not permitted\nperf: Operation not permitted\nuffd: Operation not permitted/)
    // Outside the sandbox the same datagram pair works: the refusal is the filter's.
    const outside = spawnSync('sh', ['-c', perl('socketpair(my $a, my $b, AF_UNIX, SOCK_DGRAM, 0) and print "DGRAM-PAIR\\n"')], { encoding: 'utf8' })
    assert.match(outside.stdout, /DGRAM-PAIR/)
  })
})

describe('sequenced-packet pairs', () => {
  // cargo and rustc spawn their children through socketpair(AF_UNIX,
  // SOCK_SEQPACKET). Such a pair is connected like a stream pair: an address
  // given to sendto is ignored, so it reaches no host socket by path.
  it('are allowed, and a datagram sent on one with a host socket\'s address reaches only its peer', { skip: !which('python3') && 'no python3' }, async () => {
    const sock = path.join(tempDir(), 'host-dgram.sock')
    const host = spawn('python3', ['-c', `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(${JSON.stringify(sock)}); print("ready", flush=True)
sys.stdin.readline(); s.setblocking(False)
try: print("HOST-GOT", s.recv(100))
except BlockingIOError: print("nothing")`], { stdio: ['pipe', 'pipe', 'inherit'] })
    let out = ''
    host.stdout.on('data', (d) => (out += d))
    await eventually(() => out.includes('ready'))
    const r = sh(`perl -MSocket -e 'socketpair(my $a, my $b, AF_UNIX, SOCK_SEQPACKET, 0) or die "pair: $!\\n"; send($a, "via-path", 0, pack_sockaddr_un("${sock}")); recv($b, my $m, 100, 0); print "peer got $m\\n"'`)
    assert.equal(r.stdout, 'peer got via-path\n', r.stderr)
    host.stdin.end('\n')
    await new Promise((resolve) => host.on('close', resolve))
    assert.match(out, /nothing/)
  })
})

describe('setuid and setgid bits', () => {
  // The mounts inside are nosuid, but the files stay on the host: run as
  // root, a command could otherwise leave a setuid-root program behind.
  it('cannot be set, by chmod nor by creating a file with them', () => {
    const work = tempDir()
    const perlOpen = (name, mode) => `perl -MFcntl -e 'sysopen(F, "${name}", O_CREAT|O_WRONLY, ${mode}) ? print "created ${name}\\n" : print "${name}: $!\\n"'`
    const script = [
      'cp /bin/true t1',
      'chmod 4755 t1 || echo chmod-suid-refused',
      'chmod 2755 t1 || echo chmod-sgid-refused',
      'chmod 700 t1 && echo chmod-plain-ok',
      perlOpen('t2', '04755'),
      perlOpen('t3', '0755'),
      `python3 -c 'import os\ntry:\n  os.mknod("t4", 0o102755); print("mknod-made")\nexcept OSError as e: print("mknod:", e.strerror)'`,
      // With unix sockets allowed, vsock stays refused (the hypervisor's services).
    ].join('; ')
    const r = sh(script, config({ filesystem: { allowWrite: ['.'] } }), { cwd: work })
    assert.match(r.stdout, /chmod-suid-refused\nchmod-sgid-refused\nchmod-plain-ok/, r.stderr)
    assert.match(r.stdout, /t2: Operation not permitted/)
    assert.match(r.stdout, /created t3/)
    assert.match(r.stdout, /mknod: Operation not permitted/)
    for (const f of ['t1', 't2', 't3', 't4']) {
      if (fs.existsSync(path.join(work, f))) assert.equal(fs.statSync(path.join(work, f)).mode & 0o6000, 0, f)
    }
  })

  it('vsock stays refused with allowAllUnixSockets', () => {
    const r = sh(`perl -e 'socket(my $s, 40, 1, 0) and print "VSOCK\\n"; print "vsock: $!\\n"'`, config({ network: { allowAllUnixSockets: true } }))
    assert.match(r.stdout, /vsock: Operation not permitted/, r.stderr)
  })
})

describe('standard streams that are files', () => {
  // Such a stream is open on the host's mounts: reopened through
  // /proc/self/fd it would skip every mount of the sandbox.
  it('a directory given as stdin is no way past the mounts', () => {
    const secretDir = tempDir()
    fs.writeFileSync(path.join(secretDir, 'secret'), 'topsecret')
    const outside = path.join(tempDir(), 'escaped')
    const dir = fs.openSync('/', 'r')
    try {
      const r = sh(`cat /proc/self/fd/0${secretDir}/secret; echo pwned > /proc/self/fd/0${outside}; echo done`, config({ filesystem: { denyRead: [secretDir] } }), {
        stdio: [dir, 'pipe', 'pipe'],
      })
      assert.match(r.stdout, /done/, r.stderr)
      assert.doesNotMatch(r.stdout, /topsecret/)
      assert.ok(!fs.existsSync(outside))
    } finally {
      fs.closeSync(dir)
    }
  })

  it('a file given as stdin can be read, not reopened for writing', () => {
    const file = path.join(tempDir(), 'input.txt')
    fs.writeFileSync(file, 'original\n')
    const fd = fs.openSync(file, 'r')
    try {
      const r = sh('echo hacked > /proc/self/fd/0; cat', config(), { stdio: [fd, 'pipe', 'pipe'] })
      assert.match(r.stdout, /original/, r.stderr)
    } finally {
      fs.closeSync(fd)
    }
    assert.equal(fs.readFileSync(file, 'utf8'), 'original\n')
  })

  it('output that cannot be written is no success', () => {
    const full = fs.openSync('/dev/full', 'w')
    try {
      const r = sh('echo hi', config(), { stdio: ['ignore', full, 'pipe'] })
      assert.notEqual(r.status, 0)
      assert.match(r.stderr, /output could not all be written: No space left on device/)
    } finally {
      fs.closeSync(full)
    }
  })

  it('a file given as stdout and stderr gets both, in order, and the exit status passes', () => {
    const file = path.join(tempDir(), 'out.txt')
    const fd = fs.openSync(file, 'w')
    try {
      const r = sh('echo out; echo err >&2; echo out2; exit 3', config(), { stdio: ['ignore', fd, fd] })
      assert.equal(r.status, 3)
    } finally {
      fs.closeSync(fd)
    }
    assert.equal(fs.readFileSync(file, 'utf8'), 'out\nerr\nout2\n')
  })
})

describe('as an ordinary user', { skip: process.getuid() !== 0 && 'the suite already runs as an ordinary user' }, () => {
  it('sandboxes the same way for a user without privileges', () => {
    const work = tempDir()
    const userHome = tempDir()
    fs.writeFileSync(path.join(work, '.bashrc'), 'orig\n')
    // A directory the user may write but not list: what is inside is unknown, so it is denied whole.
    fs.mkdirSync(path.join(work, 'unlistable'))
    for (const dir of [work, userHome, path.join(work, 'unlistable')]) fs.chownSync(dir, 65534, 65534)
    fs.chmodSync(path.join(work, 'unlistable'), 0o300)
    fs.chownSync(path.join(work, '.bashrc'), 65534, 65534)
    const file = settingsFile(userHome, config({ filesystem: { allowWrite: ['.'] } }))
    fs.chmodSync(file, 0o644)
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', native, '--settings', file, 'sh', '-c', `id -u; echo ok > mine; echo pwned > .bashrc; echo x > unlistable/new; echo x > ${userHome}/outside; kill -TERM $$`], {
      env: { ...env, HOME: userHome },
      cwd: work,
      encoding: 'utf8',
    })
    assert.equal(r.status, 143, r.stderr)
    assert.equal(r.stdout.trim().split('\n').pop(), '65534')
    assert.equal(fs.readFileSync(path.join(work, 'mine'), 'utf8'), 'ok\n')
    assert.equal(fs.readFileSync(path.join(work, '.bashrc'), 'utf8'), 'orig\n')
    assert.ok(!fs.existsSync(path.join(userHome, 'outside')))
    assert.ok(!fs.existsSync(path.join(work, 'unlistable', 'new')), 'the unlistable directory was denied whole')
  })

  it('a repository left listable but closed (chmod 644 .git) is denied whole, not left unprotected', () => {
    const work = tempDir()
    const userHome = tempDir()
    spawnSync('git', ['init', '-q', work])
    spawnSync('chown', ['-R', '65534:65534', work, userHome])
    fs.chmodSync(path.join(work, '.git'), 0o644)
    const file = settingsFile(userHome, config({ filesystem: { allowWrite: ['.'] } }))
    fs.chmodSync(file, 0o644)
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', native, '--settings', file, 'sh', '-c', 'chmod 755 .git; echo pwned > .git/hooks/pre-commit; echo done'], {
      env: { ...env, HOME: userHome },
      cwd: work,
      encoding: 'utf8',
    })
    fs.chmodSync(path.join(work, '.git'), 0o755)
    assert.match(r.stdout, /done/, r.stderr)
    assert.ok(!fs.existsSync(path.join(work, '.git', 'hooks', 'pre-commit')), 'no hook was planted')
  })
})

describe('large profiles', () => {
  it('passes a profile too long for a command line through bubblewrap\'s --args', () => {
    // A 1 MiB stack limit makes the kernel's argument limit 256 KiB; these
    // 400 long paths take more than that as bubblewrap arguments.
    const base = path.join(tempDir(), 'a'.repeat(200), 'b'.repeat(200))
    fs.mkdirSync(base, { recursive: true })
    const files = []
    for (let i = 0; i < 400; i++) {
      const f = path.join(base, `${'c'.repeat(200)}-${i}`)
      fs.writeFileSync(f, 'SECRET')
      files.push(f)
    }
    const file = settingsFile(home, config({ filesystem: { denyRead: files } }))
    const r = spawnSync('sh', ['-c', `ulimit -s 1024 && exec "$@"`, 'sh', native, '--settings', file, 'sh', '-c', `cat "${files[0]}" "${files[399]}"; echo end`], {
      env,
      encoding: 'utf8',
    })
    assert.doesNotMatch(r.stderr, /Argument list too long/)
    assert.equal(r.stdout, 'end\n', r.stderr)
  })

  it('refuses a profile with more mounts than bubblewrap accepts, saying what to do', () => {
    const files = Array.from({ length: 3100 }, (_, i) => `/nonexistent-${i}`)
    const work = tempDir()
    const r = sh('echo RAN', config({ filesystem: { allowWrite: ['.'], denyWrite: files.map((f) => `.${f}`) } }), { cwd: work })
    assert.equal(r.status, 1)
    assert.doesNotMatch(r.stdout, /RAN/)
    assert.match(r.stderr, /more than the 9000 bubblewrap accepts: deny or allow whole directories/)
  })
})

describe('as root', { skip: process.getuid() !== 0 && 'only a caller running as root sees this' }, () => {
  it('denies whole a directory of another user that the sandbox could not look into', () => {
    const work = tempDir()
    const closed = path.join(work, 'theirs')
    fs.mkdirSync(closed)
    fs.writeFileSync(path.join(closed, '.bashrc'), 'orig\n')
    fs.chownSync(closed, 65534, 65534)
    fs.chmodSync(closed, 0o700)
    const r = sh('echo x > theirs/new; echo done', config({ filesystem: { allowWrite: ['.'] } }), { cwd: work })
    assert.equal(r.status, 0, r.stderr)
    assert.match(r.stdout, /done/)
    assert.ok(!fs.existsSync(path.join(closed, 'new')))
  })
})

describe('kernel interfaces', () => {
  it('cannot change kernel settings through /proc/sys, even as root', () => {
    const before = fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8')
    // Writes back the value it has, so a failure of this test changes nothing.
    const r = sh(`cat /proc/sys/kernel/core_pattern > /proc/sys/kernel/core_pattern && echo WROTE`)
    assert.doesNotMatch(r.stdout, /WROTE/)
    assert.match(r.stderr, /Read-only file system/)
    assert.equal(fs.readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), before)
  })

  it('cannot reach the kernel keyrings', { skip: process.arch !== 'x64' && 'syscall numbers are x86-64 ones' }, () => {
    // keyctl(KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0) and add_key.
    const r = sh(`perl -e 'syscall(250, 0, -3, 0) == -1 and print "keyctl: $!\\n"; my ($t, $d, $p) = ("user", "k", "v"); syscall(248, $t, $d, $p, 1, -3) == -1 and print "add_key: $!\\n"'`)
    assert.match(r.stdout, /keyctl: Operation not permitted/)
    assert.match(r.stdout, /add_key: Operation not permitted/)
  })
})

describe('refusals when the sandbox cannot work', () => {
  it('refuses to run without bubblewrap, naming what to install', () => {
    // A machine without bwrap: the real one hidden (by bwrap itself) and PATH without it.
    const hide = ['--dev-bind', '/', '/', '--ro-bind', '/dev/null', which('bwrap'), '--']
    for (const kind of ['native', 'shim']) {
      const [cmd, argv] = kinds[kind](['echo', 'RAN'])
      const r = spawnSync(which('bwrap'), [...hide, cmd, ...argv], { env: { ...env, PATH: '/nonexistent' }, encoding: 'utf8' })
      assert.equal(r.status, 1, r.stderr)
      assert.doesNotMatch(r.stdout, /RAN/)
      // This distribution's own command (the machines the suites run on are Debian's).
      const debianLike = /^ID(_LIKE)?="?[^\n]*\b(debian|ubuntu)\b/m.test(fs.readFileSync('/etc/os-release', 'utf8'))
      const hint = debianLike ? /install bubblewrap: sudo apt-get install bubblewrap\n/ : /install bubblewrap/
      assert.match(r.stderr, /bubblewrap \(bwrap\) is not installed: /)
      assert.match(r.stderr, hint)
    }
  })

  it('never runs a bwrap found through a relative PATH entry', () => {
    const dir = tempDir()
    fs.writeFileSync(path.join(dir, 'bwrap'), '#!/bin/sh\necho FAKE-BWRAP-RAN > fake-ran\nexit 0\n', { mode: 0o755 })
    const hide = ['--dev-bind', '/', '/', '--ro-bind', '/dev/null', which('bwrap'), '--']
    const r = spawnSync(which('bwrap'), [...hide, native, 'echo', 'RAN'], { env: { ...env, PATH: ':.' }, cwd: dir, encoding: 'utf8' })
    assert.equal(r.status, 1)
    assert.ok(!fs.existsSync(path.join(dir, 'fake-ran')), 'the bwrap in the working directory did not run')
  })

  it('never runs a bwrap found on PATH by itself: names it and asks for bwrapPath', () => {
    // As where bwrap is in no system directory: one on PATH that an earlier
    // sandboxed command (allowed to write there) could have put in place.
    const dir = tempDir()
    fs.chmodSync(dir, 0o755)
    fs.writeFileSync(path.join(dir, 'bwrap'), `#!/bin/sh\necho FAKE-BWRAP-RAN > ${dir}/fake-ran\nexit 0\n`, { mode: 0o755 })
    const hide = ['--dev-bind', '/', '/', '--ro-bind', '/dev/null', which('bwrap'), '--']
    const r = spawnSync(which('bwrap'), [...hide, native, 'echo', 'RAN'], { env: { ...env, PATH: `${dir}:/usr/bin:/bin` }, encoding: 'utf8' })
    assert.equal(r.status, 1)
    assert.doesNotMatch(r.stdout, /RAN/)
    assert.match(r.stderr, new RegExp(`bubblewrap was found on PATH \\(${dir}/bwrap\\)[\\s\\S]*bwrapPath`))
    assert.ok(!fs.existsSync(path.join(dir, 'fake-ran')), 'the bwrap on PATH did not run')
  })

  /** A stand-in for bubblewrap, from a shell script body. */
  function fakeBwrap(body) {
    const fake = path.join(tempDir(), 'bwrap')
    fs.writeFileSync(fake, `#!/bin/sh\n${body}\n`, { mode: 0o755 })
    return fake
  }

  it('refuses to run when bubblewrap cannot create namespaces, naming the fix', () => {
    // As on a machine without user namespaces: it fails before any sandbox exists.
    const fake = fakeBwrap('case "$1" in --version) echo "bubblewrap 0.8.0";; *) echo "bwrap: No permissions to create new namespace" >&2; exit 1;; esac')
    const r = sh('echo RAN', config({ bwrapPath: fake }))
    assert.equal(r.status, 1)
    assert.doesNotMatch(r.stdout, /RAN/)
    assert.match(r.stderr, /bubblewrap could not create the sandbox[\s\S]*max_user_namespaces/)
  })

  it('refuses to run when a write root is swapped for a symlink while the sandbox is set up', () => {
    const work = tempDir()
    fs.mkdirSync(path.join(work, 'build'))
    const victim = tempDir()
    const real = which('bwrap')
    // Stands in for another sandboxed command that swaps the directory between srt's plan and bubblewrap's mounts.
    const fake = fakeBwrap(`case "$1" in --version) exec ${real} --version;; esac\nmv ${work}/build ${work}/build.moved && ln -s ${path.relative(work, victim)} ${work}/build\nexec ${real} "$@"`)
    const r = sh(`echo pwned > ${work}/build/f; echo RAN`, config({ bwrapPath: fake, filesystem: { allowWrite: ['./build'] } }), { cwd: work })
    assert.doesNotMatch(r.stdout, /RAN/)
    assert.match(r.stderr, /the sandbox is not as planned/)
    assert.ok(!fs.existsSync(path.join(victim, 'f')), 'nothing written through the swapped link')
  })

  it('refuses to run when a mount landed somewhere else than planned', () => {
    // As if a swap back and forth during setup had led the write root's mount
    // to another directory: the stand-in moves it there itself.
    const work = tempDir()
    fs.mkdirSync(path.join(work, 'build'))
    // What srt protects atop a write root exists already, so bubblewrap needs
    // no placeholder there (which it could not make under the misdirected
    // mount) and the helper's check is what stops the run.
    fs.writeFileSync(path.join(work, 'build', 'refs'), '')
    fs.writeFileSync(path.join(work, 'build', '.git'), 'gitdir: /nonexistent\n')
    const elsewhere = tempDir()
    const real = which('bwrap')
    const fake = fakeBwrap(
      `case "$1" in --version) exec ${real} --version;; esac\nfor a in "$@"; do shift; if [ "$prev" = "${work}/build" ] && [ "$a" = "${work}/build" ]; then a="${elsewhere}"; fi; prev="$a"; set -- "$@" "$a"; done\nexec ${real} "$@"`,
    )
    const r = sh(`echo pwned > ${elsewhere}/f; echo RAN`, config({ bwrapPath: fake, filesystem: { allowWrite: ['./build'] } }), { cwd: work })
    assert.doesNotMatch(r.stdout, /RAN/)
    assert.match(r.stderr, /the sandbox is not as planned \(.*build has 0 mount\(s\) where 1 were planned\)/)
    assert.ok(!fs.existsSync(path.join(elsewhere, 'f')))
  })

  it('refuses a bubblewrap too old to stop nested user namespaces', () => {
    const r = sh('echo RAN', config({ bwrapPath: fakeBwrap('echo "bubblewrap 0.6.1"') }))
    assert.equal(r.status, 1)
    assert.doesNotMatch(r.stdout, /RAN/)
    assert.match(r.stderr, /too old[\s\S]*allowNestedUserNamespaces/)
  })

  it('binds the host /proc with enableWeakerNestedSandbox (documented as weaker)', () => {
    const r = sh(`test -e /proc/${process.pid} && echo host-visible`, config({ enableWeakerNestedSandbox: true }))
    assert.match(r.stdout, /host-visible/, r.stderr)
  })
})
