// Loads the native addon. The one built or installed beside the package is
// loaded directly: the generated index.js first probes for musl (reading
// files, maybe a process report), a few milliseconds on every start.
// Anything else (a platform package, a musl system) goes through index.js.
'use strict'

function loadAddon() {
  const libc = process.platform === 'linux' ? '-gnu' : ''
  try {
    return require(`../srt.${process.platform}-${process.arch}${libc}.node`)
  } catch {
    return require('../index.js')
  }
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
