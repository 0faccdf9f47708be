#!/usr/bin/env node
// The `srt` command of the npm package: runs the CLI inside the addon and
// passes on the signals Node receives, so the sandboxed command gets them.
'use strict'

const { constants } = require('node:os')

let addon
try {
  addon = require('../lib/addon.js')
} catch (err) {
  // Without the native part nothing can run; the version can still be told.
  if (process.argv[2] === '--version' || process.argv[2] === '-V') {
    process.stdout.write(`${require('../package.json').version}\n`)
    process.exit(0)
  }
  process.stderr.write(`Error: ${err.message}\n`)
  process.exit(1)
}
const { runCli, signalCli } = addon

// SIGUSR1 is left to Node (its debugger). SIGWINCH resizes the sandbox's terminal.
const forwarded = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR2', 'SIGWINCH']
const listeners = forwarded.map((name) => {
  const listener = () => signalCli(constants.signals[name])
  process.on(name, listener)
  return [name, listener]
})

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    process.stderr.write(`Error: ${err && err.message ? err.message : err}\n`)
    process.exitCode = 1
  },
).finally(() => {
  for (const [name, listener] of listeners) process.off(name, listener)
})
