// Loads the native addon. The one built or installed beside the package is
// loaded directly: the generated index.js first probes for musl (reading
// files, maybe a process report), a few milliseconds on every start.
// Anything else (a platform package, a musl system) goes through index.js.
'use strict'

function loadAddon() {
  const libc = process.platform === 'linux' ? '-gnu' : ''
  try {
    return require(`../srt.${process.platform}-${process.arch}${libc}.node`)
  } catch {}
  try {
    return require('../index.js')
  } catch (cause) {
    throw new Error(missingAddon(), { cause })
  }
}

/** Why there is no addon here, and what to do about it. */
function missingAddon() {
  const { platform, arch } = process
  const supported = ['linux-x64', 'linux-arm64', 'darwin-x64', 'darwin-arm64']
  if (!supported.includes(`${platform}-${arch}`)) {
    return `srt-rs has no build for ${platform}-${arch} (it runs on Linux and macOS, x64 and arm64)`
  }
  const musl = platform === 'linux' && !process.report?.getReport().header.glibcVersionRuntime
  const name = `srt-rs-${platform}-${arch}${platform === 'linux' ? (musl ? '-musl' : '-gnu') : ''}`
  return (
    `srt-rs: its native part for this machine, the package ${name}, is not installed. ` +
    `npm installs it with srt-rs unless optional dependencies are left out (--omit=optional, --no-optional): ` +
    `reinstall without that, or add ${name} at the same version. From a checkout, \`npm install\` builds it (it needs a Rust toolchain).`
  )
}

const addon = loadAddon()
// srt's own files (bin/, lib/, index.js) run outside the sandbox: a sandboxed
// command must not be able to rewrite them, nor the `srt` link npm made in
// node_modules/.bin (the next `npx srt` would run what was put there).
const path = require('node:path')
const packageRoot = path.resolve(__dirname, '..')
addon.protectPackage?.(packageRoot)
if (path.basename(path.dirname(packageRoot)) === 'node_modules') addon.protectPackage?.(path.join(path.dirname(packageRoot), '.bin'))
module.exports = addon
