// One version everywhere srt-rs ships one (scripts/versions.js): the main
// package, its optionalDependencies, the platform packages, the crates.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
const script = path.join(root, 'scripts', 'versions.js')
const versions = (...args) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8' })

describe('versions', () => {
  it('are in step in this tree, with a platform package for every target', () => {
    const checked = versions('check')
    assert.equal(checked.status, 0, checked.stderr)
    const main = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
    assert.equal(fs.readdirSync(path.join(root, 'npm')).length, main.napi.targets.length)
  })

  it('are set everywhere by one command, and a difference is named', () => {
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'srt-versions-'))
    try {
      for (const f of ['package.json', 'package-lock.json', 'Cargo.toml', 'Cargo.lock', 'npm']) {
        fs.cpSync(path.join(root, f), path.join(copy, f), { recursive: true })
      }
      const set = versions('set', '7.8.9', '--root', copy)
      assert.equal(set.status, 0, set.stderr)
      const read = (f) => fs.readFileSync(path.join(copy, f), 'utf8')
      assert.equal(JSON.parse(read('package.json')).version, '7.8.9')
      assert.equal(JSON.parse(read('npm/darwin-arm64/package.json')).version, '7.8.9')
      assert.match(read('Cargo.toml'), /\[workspace\.package\]\nversion = "7\.8\.9"/)
      assert.match(read('Cargo.lock'), /name = "srt-core"\nversion = "7\.8\.9"/)
      const pkg = JSON.parse(read('npm/linux-x64-musl/package.json'))
      fs.writeFileSync(path.join(copy, 'npm/linux-x64-musl/package.json'), JSON.stringify({ ...pkg, version: '7.8.8' }))
      const off = versions('check', '--root', copy)
      assert.equal(off.status, 1)
      assert.match(off.stderr, /npm\/linux-x64-musl\/package\.json version: 7\.8\.8/)
      assert.equal(versions('set', 'latest', '--root', copy).status, 2)
    } finally {
      fs.rmSync(copy, { recursive: true, force: true })
    }
  })
})
