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

module.exports = loadAddon()
