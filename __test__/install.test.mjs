// The user's path: srt-rs installed the way npm installs a published
// package, from the tarballs `npm run artifacts` packs (the main package and
// this machine's platform package), into a fresh directory, with no Rust
// toolchain on PATH (stand-ins for cargo and rustc that record being called)
// and no registry to reach (an unreachable one, an empty cache, --offline).
// Built here from the sources when artifacts/ holds none for this version.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version
const artifacts = path.join(root, 'artifacts')

/** artifacts/manifest.json for this version, building the artifacts when there are none. */
function manifest() {
  const file = path.join(artifacts, 'manifest.json')
  const current = () => fs.existsSync(file) && JSON.parse(fs.readFileSync(file, 'utf8')).version === version
  if (!current()) {
    const built = spawnSync(process.execPath, [path.join(root, 'scripts', 'artifacts.js')], { cwd: root, stdio: 'inherit' })
    assert.equal(built.status, 0, 'npm run artifacts failed')
  }
  return JSON.parse(fs.readFileSync(file, 'utf8'))
}

/** A fresh project directory, PATH without a toolchain, and no registry. */
function freshProject() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'srt-install-'))
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'user-project', version: '1.0.0', private: true }))
  const stubs = path.join(dir, 'no-toolchain')
  fs.mkdirSync(stubs)
  for (const tool of ['cargo', 'rustc', 'rustup']) {
    fs.writeFileSync(path.join(stubs, tool), `#!/bin/sh\necho "$0 $*" >> '${dir}/toolchain-called'\nexit 1\n`, { mode: 0o755 })
  }
  const env = {
    HOME: dir,
    PATH: [stubs, path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    npm_config_registry: 'http://127.0.0.1:9/',
    npm_config_cache: path.join(dir, '.npm-cache'),
    npm_config_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  }
  return { dir, env }
}

const run = (cmd, args, { dir, env }) => spawnSync(cmd, args, { cwd: dir, env, encoding: 'utf8', timeout: 120_000 })

describe('installing the packed packages', () => {
  let m
  let project
  before(() => {
    m = manifest()
    project = freshProject()
  })
  after(() => fs.rmSync(project.dir, { recursive: true, force: true }))

  it('the main package lists every platform package at its version, as published', () => {
    const packed = spawnSync('tar', ['-xzOf', path.join(artifacts, m.packages.main.file), 'package/package.json'], { encoding: 'utf8' })
    const optional = JSON.parse(packed.stdout).optionalDependencies
    const platforms = fs.readdirSync(path.join(root, 'npm')).map((d) => `srt-rs-${d}`)
    assert.deepEqual(Object.keys(optional).sort(), platforms.sort())
    assert.ok(Object.values(optional).every((v) => v === version), JSON.stringify(optional))
  })

  it('installs from the tarballs alone, compiling nothing', () => {
    const tarballs = [m.packages.main.file, m.packages.platform.file].map((f) => path.join(artifacts, f))
    const installed = run('npm', ['install', ...tarballs], project)
    assert.equal(installed.status, 0, installed.stderr)
    assert.ok(!fs.existsSync(path.join(project.dir, 'toolchain-called')), 'cargo or rustc was called')
    const platformDir = path.join(project.dir, 'node_modules', `srt-rs-${m.platform}`)
    assert.ok(fs.existsSync(path.join(platformDir, `srt.${m.platform}.node`)))
    // No install hook ran: the package found its platform package by itself.
    assert.ok(!fs.existsSync(path.join(project.dir, 'node_modules', 'srt-rs', 'srt')))
  })

  it('npx srt runs a command in the sandbox, and says its version', () => {
    const ok = run('npx', ['srt', '--', 'sh', '-c', 'echo ok; touch /etc/srt-install-probe 2>/dev/null || echo refused'], project)
    assert.equal(ok.status, 0, ok.stderr)
    assert.equal(ok.stdout, 'ok\nrefused\n')
    const v = run('npx', ['srt', '--version'], project)
    assert.equal(v.stdout.trim(), version)
  })

  it('the library works through import and require', () => {
    const script = `
      import { SandboxManager } from 'srt-rs'
      import { spawnSync } from 'node:child_process'
      const cjs = (await import('node:module')).createRequire(import.meta.url)('srt-rs')
      if (cjs.SandboxManager !== SandboxManager) throw new Error('two copies')
      const m = new SandboxManager()
      await m.initialize({ network: { allowedDomains: [], deniedDomains: [] }, filesystem: { denyRead: [], allowWrite: [], denyWrite: [] } })
      const line = await m.wrapWithSandbox('echo ok; touch /etc/srt-install-probe 2>/dev/null || echo refused')
      process.stdout.write(spawnSync(line, { shell: true, encoding: 'utf8' }).stdout)
      await m.reset()
    `
    fs.writeFileSync(path.join(project.dir, 'use.mjs'), script)
    const used = run(process.execPath, ['use.mjs'], project)
    assert.equal(used.status, 0, used.stderr)
    assert.equal(used.stdout, 'ok\nrefused\n')
  })

  it('the Linux gnu binaries need no glibc newer than the floor they were built for', (t) => {
    if (!m.glibcFloor) {
      t.skip(`artifacts built ${m.built} for ${m.platform}, with no glibc floor to check`)
      return
    }
    const platformDir = path.join(project.dir, 'node_modules', `srt-rs-${m.platform}`)
    const minor = (v) => Number(v.split('.')[1])
    for (const file of ['srt', `srt.${m.platform}.node`]) {
      const bytes = fs.readFileSync(path.join(platformDir, file)).toString('latin1')
      const needed = [...bytes.matchAll(/GLIBC_2\.(\d+)/g)].map((x) => Number(x[1]))
      assert.ok(needed.length > 0, `${file} names no glibc version`)
      assert.ok(Math.max(...needed) <= minor(m.glibcFloor), `${file} needs GLIBC_2.${Math.max(...needed)}, above ${m.glibcFloor}`)
    }
  })
})

describe('installing without the platform package (optional dependencies left out)', () => {
  let project
  let m
  before(() => {
    m = manifest()
    project = freshProject()
    const installed = run('npm', ['install', '--omit=optional', path.join(artifacts, m.packages.main.file)], project)
    assert.equal(installed.status, 0, installed.stderr)
  })
  after(() => fs.rmSync(project.dir, { recursive: true, force: true }))

  it('says what is missing and how to get it, and still tells its version', () => {
    const failed = run('npx', ['srt', '--', 'true'], project)
    assert.equal(failed.status, 1)
    assert.ok(failed.stderr.includes(`the package srt-rs-${m.platform}, is not installed`), failed.stderr)
    assert.match(failed.stderr, /--omit=optional/)
    const v = run('npx', ['srt', '--version'], project)
    assert.equal(v.status, 0, v.stderr)
    assert.equal(v.stdout.trim(), version)
  })
})
