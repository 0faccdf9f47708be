#!/usr/bin/env node
// Builds what one platform package carries, for a Rust target triple: the
// Node addon (`napi build --platform`) and the native `srt` binary (cargo),
// into npm/<platform>/. `npm run artifacts` runs it for this machine; the
// release workflow runs it once per target.
//
//   node scripts/build-target.js [TRIPLE] [--native]
//
// Linux targets are built through zig (`napi build -x`, cargo-zigbuild), so
// that they run on more than the build machine: gnu ones against glibc 2.28
// (RHEL 8 and its rebuilds, the oldest major distributions still supported,
// and the floor Node 20 itself needs), musl ones with the `srt` binary
// static. zig comes from PyPI (`pip install ziglang`) and cargo-zigbuild from
// crates.io (`cargo install cargo-zigbuild --locked`). `--native` builds with
// the host's own toolchain instead: the binaries then need this machine's
// glibc or newer. macOS targets build natively.
'use strict'

const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')

/** Rust target triple -> platform package suffix (npm/<suffix>/). */
const PLATFORMS = {
  'x86_64-unknown-linux-gnu': 'linux-x64-gnu',
  'aarch64-unknown-linux-gnu': 'linux-arm64-gnu',
  'x86_64-unknown-linux-musl': 'linux-x64-musl',
  'aarch64-unknown-linux-musl': 'linux-arm64-musl',
  'x86_64-apple-darwin': 'darwin-x64',
  'aarch64-apple-darwin': 'darwin-arm64',
}

/** The oldest glibc the gnu builds may need. */
const GLIBC_FLOOR = '2.28'

function hostTriple() {
  const out = execFileSync('rustc', ['-vV'], { encoding: 'utf8' })
  return out.split('\n').find((l) => l.startsWith('host: ')).slice('host: '.length).trim()
}

function run(program, args, options = {}) {
  console.error(`$ ${program} ${args.join(' ')}`)
  execFileSync(program, args, { cwd: root, stdio: 'inherit', ...options })
}

/** Whether zig and cargo-zigbuild are there to build with. */
function zigReady() {
  const works = (program, args) => {
    try {
      execFileSync(program, args, { stdio: 'ignore' })
      return true
    } catch {
      return false
    }
  }
  const zig = works('zig', ['version']) || works('python3', ['-m', 'ziglang', 'version'])
  return zig && works('cargo', ['zigbuild', '--help'])
}

function main() {
  const args = process.argv.slice(2)
  const native = args.includes('--native')
  const triple = args.find((a) => !a.startsWith('--')) ?? hostTriple()
  const platform = PLATFORMS[triple]
  if (!platform) {
    console.error(`srt-rs: no platform package for ${triple} (known: ${Object.keys(PLATFORMS).join(', ')})`)
    process.exit(2)
  }
  const linux = triple.includes('-linux-')
  const zig = linux && !native
  if (zig && !zigReady()) {
    console.error(
      'srt-rs: Linux packages are built with zig, to hold their glibc floor (or build a static musl binary).\n' +
        'Install it: pip install ziglang && cargo install cargo-zigbuild --locked\n' +
        '(or pass --native to build for this machine and newer only)',
    )
    process.exit(1)
  }
  // cargo-zigbuild reads the glibc version from the target's suffix.
  const spelled = zig && triple.endsWith('-gnu') ? `${triple}.${GLIBC_FLOOR}` : triple
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'srt-build-'))
  try {
    const napi = path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js')
    const crossFlag = zig ? ['-x'] : []
    // A target directory of its own: the day-to-day builds keep theirs.
    const targetDir = path.join(root, 'target', 'dist')
    const napiArgs = ['build', '--platform', '--release', ...crossFlag, '--target', spelled, '--target-dir', targetDir]
    run(process.execPath, [napi, ...napiArgs, '-o', out, '--no-js'])
    const cargo = zig ? ['zigbuild'] : ['build']
    run('cargo', [...cargo, '--release', '--locked', '--target', spelled, '--target-dir', targetDir, '-p', 'srt-cli'])
    const dir = path.join(root, 'npm', platform)
    const addon = `srt.${platform}.node`
    copy(path.join(out, addon), path.join(dir, addon))
    copy(path.join(root, 'target', 'dist', triple, 'release', 'srt'), path.join(dir, 'srt'))
    const floor = zig && triple.endsWith('-gnu') ? GLIBC_FLOOR : null
    fs.writeFileSync(
      path.join(dir, '.build.json'),
      JSON.stringify({ triple, built: zig ? 'zig' : 'native', glibcFloor: floor }, null, 2) + '\n',
    )
    console.error(`srt-rs: npm/${platform}/ holds ${addon} and srt (${zig ? `zig${floor ? `, glibc ${floor}` : ''}` : 'native'})`)
  } finally {
    fs.rmSync(out, { recursive: true, force: true })
  }
}

function copy(from, to) {
  fs.copyFileSync(from, to)
  fs.chmodSync(to, 0o755)
}

module.exports = { PLATFORMS, GLIBC_FLOOR }

if (require.main === module) main()
