// index types: a TypeScript file written against the original's types
// compiles against them and, unchanged, against srt-rs's (issue 5).
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'

import { root } from './helpers.mjs'

const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const original = path.join(root, 'node_modules', '@anthropic-ai', 'sandbox-runtime', 'dist', 'index.d.ts')
const compile = (config) => spawnSync(process.execPath, [tsc, '-p', path.join(root, '__test__', 'types', config)], { encoding: 'utf8' })

it("code written against the original's types compiles against the original's (the test file is honest)", () => {
  assert.ok(fs.existsSync(original), 'the original is a devDependency')
  const r = compile('tsconfig.original.json')
  assert.equal(r.status, 0, r.stdout + r.stderr)
})

it('the same code compiles against srt-rs', () => {
  const r = compile('tsconfig.srt-rs.json')
  assert.equal(r.status, 0, r.stdout + r.stderr)
})
