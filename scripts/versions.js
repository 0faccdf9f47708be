#!/usr/bin/env node
// One version for everything srt-rs ships: the main package, the six
// platform packages (which the published main package lists in
// optionalDependencies: added when it is packed, since a checkout cannot
// lock packages not yet on the registry), and the Rust crates (whose
// version `srt --version` prints).
//
//   node scripts/versions.js check        exits 1, naming what differs
//   node scripts/versions.js set 0.2.0    sets every one (npm run set-version -- 0.2.0)
//
// `--root DIR` works on another copy of the tree (the tests use it).
'use strict'

const fs = require('node:fs')
const path = require('node:path')

const args = process.argv.slice(2)
const rootAt = args.indexOf('--root')
const root = rootAt >= 0 ? path.resolve(args[rootAt + 1]) : path.join(__dirname, '..')
const [command, wanted] = rootAt >= 0 ? args.filter((_, i) => i !== rootAt && i !== rootAt + 1) : args

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/
const CRATES = ['srt-node', 'srt-core', 'srt-cli']

const readJson = (file) => JSON.parse(fs.readFileSync(path.join(root, file), 'utf8'))
const writeJson = (file, value) => fs.writeFileSync(path.join(root, file), JSON.stringify(value, null, 2) + '\n')
const platformDirs = () =>
  fs
    .readdirSync(path.join(root, 'npm'))
    .filter((d) => fs.existsSync(path.join(root, 'npm', d, 'package.json')))
    .sort()

/** Every place a version is written, as [where, version]. */
function found() {
  const main = readJson('package.json')
  const places = [['package.json version', main.version]]
  const optional = main.optionalDependencies ?? {}
  for (const dir of platformDirs()) {
    const pkg = readJson(`npm/${dir}/package.json`)
    places.push([`npm/${dir}/package.json version`, pkg.version])
  }
  // Listed only in a package being published (napi pre-publish adds them).
  for (const [name, v] of Object.entries(optional)) places.push([`package.json optionalDependencies["${name}"]`, v])
  const cargo = fs.readFileSync(path.join(root, 'Cargo.toml'), 'utf8')
  const workspace = cargo.match(/\[workspace\.package\][^[]*?\nversion = "([^"]+)"/)
  places.push(['Cargo.toml [workspace.package] version', workspace?.[1]])
  const lock = fs.readFileSync(path.join(root, 'Cargo.lock'), 'utf8')
  for (const crate of CRATES) {
    const entry = lock.match(new RegExp(`\\[\\[package\\]\\]\\nname = "${crate}"\\nversion = "([^"]+)"`))
    places.push([`Cargo.lock ${crate}`, entry?.[1]])
  }
  return places
}

function check() {
  const places = found()
  const version = places[0][1]
  const wrong = places.filter(([, v]) => v !== version)
  if (wrong.length) {
    console.error(`srt-rs: versions out of step with package.json (${version}):`)
    for (const [where, v] of wrong) console.error(`  ${where}: ${v ?? 'missing'}`)
    console.error('Run: npm run set-version -- <version>')
    process.exit(1)
  }
  console.log(`srt-rs ${version}: ${places.length} places in step`)
}

function set(version) {
  if (!SEMVER.test(version ?? '')) {
    console.error(`srt-rs: "${version ?? ''}" is not a version (like 0.2.0)`)
    process.exit(2)
  }
  const main = readJson('package.json')
  main.version = version
  writeJson('package.json', main)
  // The platform packages: napi-rs's own tool, from the main version.
  const napi = require.resolve('@napi-rs/cli/package.json', { paths: [root, __dirname] })
  const bin = path.join(path.dirname(napi), require(napi).bin.napi)
  require('node:child_process').execFileSync(process.execPath, [bin, 'version', '--cwd', root], { stdio: 'inherit' })
  if (main.optionalDependencies) {
    for (const name of Object.keys(main.optionalDependencies)) main.optionalDependencies[name] = version
    writeJson('package.json', main)
  }
  const cargoFile = path.join(root, 'Cargo.toml')
  const cargo = fs.readFileSync(cargoFile, 'utf8')
  fs.writeFileSync(cargoFile, cargo.replace(/(\[workspace\.package\][^[]*?\nversion = ")[^"]+(")/, `$1${version}$2`))
  const lockFile = path.join(root, 'Cargo.lock')
  let lock = fs.readFileSync(lockFile, 'utf8')
  for (const crate of CRATES) {
    lock = lock.replace(new RegExp(`(\\[\\[package\\]\\]\\nname = "${crate}"\\nversion = ")[^"]+(")`), `$1${version}$2`)
  }
  fs.writeFileSync(lockFile, lock)
  const lockJson = path.join(root, 'package-lock.json')
  if (fs.existsSync(lockJson)) {
    const npmLock = JSON.parse(fs.readFileSync(lockJson, 'utf8'))
    npmLock.version = version
    if (npmLock.packages?.['']) npmLock.packages[''].version = version
    fs.writeFileSync(lockJson, JSON.stringify(npmLock, null, 2) + '\n')
  }
  check()
}

/** The main package's optionalDependencies as published: every platform package, at its version. */
function publishedOptional() {
  return Object.fromEntries(platformDirs().map((d) => [readJson(`npm/${d}/package.json`).name, readJson(`npm/${d}/package.json`).version]))
}

module.exports = { publishedOptional }

if (require.main === module) {
  if (command === 'check') check()
  else if (command === 'set') set(wanted)
  else {
    console.error('usage: node scripts/versions.js check | set <version> [--root DIR]')
    process.exit(2)
  }
}
