#!/usr/bin/env node
// `npm run artifacts`: this machine's platform package and the main
// package, packed into artifacts/*.tgz exactly as they would be published
// (`npm pack`), with artifacts/manifest.json saying what was built. The
// install test and the install benchmark install from them.
//
//   node scripts/artifacts.js [--native] [--skip-build]
//
// --native      build with the host's toolchain instead of zig (see build-target.js)
// --skip-build  pack what npm/<platform>/ already holds
'use strict'

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const { PLATFORMS } = require('./build-target.js')
const { publishedOptional } = require('./versions.js')

const root = path.join(__dirname, '..')
const out = path.join(root, 'artifacts')

function hostTriple() {
  const text = execFileSync('rustc', ['-vV'], { encoding: 'utf8' })
  return text.split('\n').find((l) => l.startsWith('host: ')).slice('host: '.length).trim()
}

/** `npm pack` of `dir` into artifacts/: the tarball's name and sizes. */
function pack(dir) {
  const json = execFileSync('npm', ['pack', dir, '--pack-destination', out, '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
  })
  const [info] = JSON.parse(json)
  return { file: info.filename, size: info.size, unpackedSize: info.unpackedSize, entries: info.entryCount }
}

/**
 * The main package as `napi pre-publish` leaves it to be published: its
 * files, with every platform package in optionalDependencies (the checkout
 * cannot list them: npm cannot lock packages not yet on the registry).
 */
function stageMain() {
  const stage = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'srt-main-'))
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
  for (const entry of [...pkg.files, 'README.md']) {
    fs.cpSync(path.join(root, entry), path.join(stage, entry), { recursive: true })
  }
  pkg.optionalDependencies = publishedOptional()
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify(pkg, null, 2) + '\n')
  return stage
}

function main() {
  const args = process.argv.slice(2)
  execFileSync(process.execPath, [path.join(__dirname, 'versions.js'), 'check'], { stdio: 'inherit' })
  const triple = hostTriple()
  const platform = PLATFORMS[triple]
  if (!platform) {
    console.error(`srt-rs: this machine (${triple}) has no platform package`)
    process.exit(1)
  }
  if (!args.includes('--skip-build')) {
    const build = [path.join(__dirname, 'build-target.js'), triple, ...args.filter((a) => a === '--native')]
    execFileSync(process.execPath, build, { stdio: 'inherit' })
  }
  const dir = path.join(root, 'npm', platform)
  for (const file of [`srt.${platform}.node`, 'srt']) {
    if (!fs.existsSync(path.join(dir, file))) {
      console.error(`srt-rs: npm/${platform}/${file} is missing: run without --skip-build`)
      process.exit(1)
    }
  }
  fs.rmSync(out, { recursive: true, force: true })
  fs.mkdirSync(out)
  const build = JSON.parse(fs.readFileSync(path.join(dir, '.build.json'), 'utf8'))
  const version = require(path.join(root, 'package.json')).version
  const stage = stageMain()
  let manifest
  try {
    manifest = { version, platform, ...build, packages: { platform: pack(dir), main: pack(stage) } }
  } finally {
    fs.rmSync(stage, { recursive: true, force: true })
  }
  fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
  for (const [what, p] of Object.entries(manifest.packages)) {
    console.log(`${what}: artifacts/${p.file} ${(p.size / 1024).toFixed(0)} KiB packed, ${(p.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${p.entries} files`)
  }
}

main()
