// The original's config schemas (`SandboxRuntimeConfigSchema`,
// `NetworkConfigSchema`, ...), as objects with `parse` and `safeParse`,
// judged by srt's own validator (the one `srt` and `initialize` use) rather
// than zod. Results keep the shapes callers read: `{ success, data }` or
// `{ success: false, error }`, where `error.issues` lists `{ code, path,
// message }` with `path` an array of keys and indices.
'use strict'

/** A config that does not fit its schema; shaped like zod's error. */
class SandboxConfigSchemaError extends Error {
  constructor(issues) {
    super(issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('\n'))
    this.name = 'ZodError'
    this.issues = issues
  }

  get errors() {
    return this.issues
  }
}

/** `network.allowedDomains[2]` -> ['network', 'allowedDomains', 2] */
function toPath(text) {
  const out = []
  for (const part of text.split('.').filter(Boolean)) {
    const [key, ...indices] = part.split('[')
    if (key) out.push(key)
    for (const i of indices) out.push(Number(i.replace(']', '')))
  }
  return out
}

const minimal = () => ({
  network: { allowedDomains: [], deniedDomains: [] },
  filesystem: { denyRead: [], allowWrite: [], denyWrite: [] },
})

/**
 * A schema for the part of the config at `key` (the whole config without
 * one): the value is judged in place, inside a config that is otherwise
 * the least valid one, and only the issues within it are reported.
 */
function makeSchema(native, key, inner) {
  const place = (value) => {
    if (!key) return value
    const doc = minimal()
    if (inner) doc[key] = { [inner]: value }
    else doc[key] = value
    return doc
  }
  const prefix = [key, inner].filter(Boolean).join('.')
  const safeParse = (value) => {
    let text
    try {
      text = JSON.stringify(place(value))
    } catch (e) {
      return { success: false, error: new SandboxConfigSchemaError([{ code: 'custom', path: [], message: String(e.message ?? e) }]) }
    }
    const found = native.configIssues(text ?? 'null')
    const mine = found.filter((i) => !prefix || i.path === prefix || i.path.startsWith(`${prefix}.`) || i.path.startsWith(`${prefix}[`))
    if (mine.length > 0) {
      const issues = mine.map((i) => ({ code: 'custom', path: toPath(prefix ? i.path.slice(prefix.length) : i.path), message: i.message }))
      return { success: false, error: new SandboxConfigSchemaError(issues) }
    }
    return { success: true, data: JSON.parse(JSON.stringify(value)) }
  }
  return {
    safeParse,
    parse(value) {
      const r = safeParse(value)
      if (!r.success) throw r.error
      return r.data
    },
    async safeParseAsync(value) {
      return safeParse(value)
    },
    async parseAsync(value) {
      return this.parse(value)
    },
  }
}

function schemas(native) {
  return {
    SandboxRuntimeConfigSchema: makeSchema(native, null),
    NetworkConfigSchema: makeSchema(native, 'network'),
    FilesystemConfigSchema: makeSchema(native, 'filesystem'),
    CredentialsConfigSchema: makeSchema(native, 'credentials'),
    IgnoreViolationsConfigSchema: makeSchema(native, 'ignoreViolations'),
    RipgrepConfigSchema: makeSchema(native, 'ripgrep'),
    WindowsConfigSchema: makeSchema(native, 'windows'),
    SrtWinConfigSchema: makeSchema(native, 'windows', 'srtWin'),
    GitConfigSchema: makeSchema(native, 'git'),
  }
}

module.exports = { schemas, SandboxConfigSchemaError, toPath }
