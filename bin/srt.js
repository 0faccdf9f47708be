#!/usr/bin/env node
// The `srt` command of the npm package: runs the CLI inside the addon and
// passes on the signals Node receives, so the sandboxed command gets them.
'use strict'

const { runCli, signalCli } = require('../lib/addon.js')
const { constants } = require('node:os')

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
