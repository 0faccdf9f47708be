#!/usr/bin/env node
// The checkout's `npm install` (the `prepare` hook, which npm runs in a
// checkout and for git dependencies, never for a package installed from
// the registry or a tarball): use the prebuilt platform package when there
// is one; otherwise build the addon and the native `srt` binary from source
// (release) and put them at the package root, where the generated loader
// (index.js) and the addon look first. An installed package needs no hook:
// its loader and its `srt` command find the platform package themselves.
'use strict'

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const force = process.argv.includes('--force')

function platformKey() {
  const { platform, arch } = process
  const cpu = { x64: 'x64', arm64: 'arm64' }[arch]
  if (!cpu || !['linux', 'darwin'].includes(platform)) return null
  if (platform === 'darwin') return `darwin-${cpu}`
  const glibc = process.report && process.report.getReport().header.glibcVersionRuntime
  return `linux-${cpu}-${glibc ? 'gnu' : 'musl'}`
}

function hasPrebuilt(key) {
  try {
    const dir = path.dirname(require.resolve(`srt-rs-${key}/package.json`, { paths: [root] }))
    return fs.existsSync(path.join(dir, `srt.${key}.node`)) && fs.existsSync(path.join(dir, 'srt'))
  } catch {
    return false
  }
}

function hostTriple() {
  const out = execFileSync('rustc', ['-vV'], { encoding: 'utf8' })
  const line = out.split('\n').find((l) => l.startsWith('host: '))
  return line.slice('host: '.length).trim()
}

function main() {
  const key = platformKey()
  if (!key) {
    console.error(`srt-rs: ${process.platform}-${process.arch} is not supported.`)
    process.exit(1)
  }
  if (!force && hasPrebuilt(key)) {
    // The npm bin (bin/srt) runs the native binary from the package root.
    const dir = path.dirname(require.resolve(`srt-rs-${key}/package.json`, { paths: [root] }))
    link(path.join(dir, 'srt'), path.join(root, 'srt'))
    return
  }
  if (!fs.existsSync(path.join(root, 'Cargo.toml'))) {
    console.error(`srt-rs: no prebuilt package srt-rs-${key} was installed, and this copy has no sources to build from.`)
    process.exit(1)
  }
  let triple
  try {
    triple = hostTriple()
  } catch {
    console.error('srt-rs: building from source needs a Rust toolchain (cargo, rustc): install it from https://rustup.rs')
    process.exit(1)
  }
  console.error(`srt-rs: building the addon and the srt binary from source (release, ${triple})...`)
  execFileSync('cargo', ['build', '--release', '--locked', '--target', triple, '-p', 'srt-node', '-p', 'srt-cli'], {
    cwd: root,
    stdio: 'inherit',
  })
  const out = path.join(root, 'target', triple, 'release')
  const lib = process.platform === 'darwin' ? 'libsrt_node.dylib' : 'libsrt_node.so'
  install(path.join(out, lib), path.join(root, `srt.${key}.node`))
  install(path.join(out, 'srt'), path.join(root, 'srt'))
}

// A symlink made beside, then renamed over the old name.
function link(target, to) {
  const tmp = `${to}.tmp-${process.pid}`
  fs.symlinkSync(target, tmp)
  fs.renameSync(tmp, to)
}

// Copy beside, then rename: a running process keeps the old file intact.
function install(from, to) {
  const tmp = `${to}.tmp-${process.pid}`
  fs.copyFileSync(from, tmp)
  fs.chmodSync(tmp, 0o755)
  fs.renameSync(tmp, to)
}

main()
