// The library API: `SandboxManager`, shaped like the original's
// (`@anthropic-ai/sandbox-runtime`), over the native session in the addon.
// Static calls (`SandboxManager.initialize(...)`) use one default instance;
// `new SandboxManager()` gives independent sessions with their own policies.
'use strict'

const os = require('node:os')

const native = require('./addon.js')
const { nativeFilter, splitFilter } = require('./request-filter.js')

const MAX_VIOLATIONS = 100

/** The key a violation is filed under: base64 of the first 100 characters (as the original). */
function encodeKey(key) {
  return Buffer.from(String(key).slice(0, 100), 'utf8').toString('base64')
}

/** A second initialize() while one is running, with another config or callback. */
class SandboxInitializeConflictError extends Error {
  constructor() {
    super('initialize() is already running with a different configuration or different callbacks: wait for it, or reset() first')
    this.name = 'SandboxInitializeConflictError'
    this.code = 'initialize_conflict'
  }
}

/** A wrap refused on Linux; `.code` says why (`too_many_arguments`, `nul_in_path`, `command_too_long`). */
class LinuxSandboxProfileError extends Error {
  constructor(message, code) {
    super(message)
    this.name = 'LinuxSandboxProfileError'
    this.code = code
  }
}

/** The original's error class for an engine error's code, where it has one. */
const PROFILE_ERRORS = { SRT_TOO_MANY_ARGUMENTS: 'too_many_arguments', SRT_NUL_IN_PATH: 'nul_in_path' }

/**
 * An engine error (`{code, message}`, code `SRT_...`) as the error to throw:
 * chosen by its code, never by its message.
 */
function engineError({ code, message }) {
  if (PROFILE_ERRORS[code]) return new LinuxSandboxProfileError(message, PROFILE_ERRORS[code])
  return Object.assign(new Error(message), { code })
}

const pull = Symbol('pull')

/** A violation line made safe for a report (the engine's rule: see `store_line`). */
function sanitizeLine(line) {
  return native.sanitizeViolationLine(String(line))
}

/** An in-memory ring of the last 100 violations, with listeners. */
class SandboxViolationStore {
  #violations = []
  #total = 0
  #listeners = new Set()
  #poll = undefined;
  /** Set by a SandboxManager: brings in what its proxies recorded since. */
  [pull] = () => {}

  addViolation(violation) {
    this.#violations.push({ ...violation, line: sanitizeLine(violation.line) })
    if (this.#violations.length > MAX_VIOLATIONS) this.#violations.shift()
    this.#total++
    this.#notify()
  }

  getViolations(limit) {
    this[pull]()
    return limit === undefined ? [...this.#violations] : this.#violations.slice(-limit)
  }

  getCount() {
    this[pull]()
    return this.#violations.length
  }

  getTotalCount() {
    this[pull]()
    return this.#total
  }

  getViolationsForCommand(key) {
    this[pull]()
    const encoded = encodeKey(key)
    return this.#violations.filter((v) => v.encodedCommand === encoded)
  }

  clear() {
    this[pull]()
    this.#violations = []
    this.#notify()
  }

  /** Calls `listener` with every violation now and on each new one; returns the unsubscribe function. */
  subscribe(listener) {
    this.#listeners.add(listener)
    listener(this.getViolations())
    // Refusals happen in native threads: look for new ones while someone listens
    // (an unref'd timer: it never keeps Node alive).
    this.#poll ??= setInterval(() => this[pull](), 50).unref()
    return () => {
      this.#listeners.delete(listener)
      if (this.#listeners.size === 0 && this.#poll) {
        clearInterval(this.#poll)
        this.#poll = undefined
      }
    }
  }

  #notify() {
    const all = this.getViolations()
    for (const l of this.#listeners) l(all)
  }
}

/** The user's ask callback, as the addon calls it: always a Promise of a decision word. */
function nativeAsk(askCallback) {
  return async ({ host, port }) => {
    try {
      const answer = await askCallback({ host, port })
      // Only `true` allows, as in the original.
      if (answer === true) return { allow: true }
      if (answer && typeof answer === 'object' && answer.allow === false && typeof answer.reason === 'string') return { allow: false, reason: answer.reason }
      return { allow: false }
    } catch {
      return null // the engine denies: "permission prompt failed"
    }
  }
}

/** The config a wrap uses: the session's, with `customConfig`'s filesystem fields taking precedence one by one. */
function mergeCustom(config, custom) {
  if (!custom) return undefined
  const fsBase = config.filesystem || {}
  const fsCustom = custom.filesystem || {}
  const filesystem = { ...fsBase }
  // The original's per-wrap fields; allowGitConfig is the session's alone.
  for (const key of ['denyRead', 'allowRead', 'allowWrite', 'denyWrite', 'disabled']) {
    if (fsCustom[key] !== undefined) filesystem[key] = fsCustom[key]
  }
  // A filesystem block given for this wrap is enforced unless it says otherwise (as the original).
  if (custom.filesystem) filesystem.disabled = fsCustom.disabled ?? false
  const merged = { ...config, filesystem }
  // As the original: a wrap's credentials replace the session's whole.
  for (const key of ['allowPty', 'allowNestedUserNamespaces', 'credentials']) if (custom[key] !== undefined) merged[key] = custom[key]
  return merged
}

/** `config` holding `filterRequest` again (by reference: it is a function). */
function withFilter(config, filterRequest) {
  if (filterRequest) config.network = { ...config.network, filterRequest }
  return config
}

/** The original's default write paths, as the engine names them. */
const defaultWritePaths = () => native.defaultWritePaths()

class SandboxManager {
  #native = new native.NativeSession()
  #config = undefined
  #init = undefined
  #store = new SandboxViolationStore()
  #seen = 0
  /** Plan remarks already emitted this session. */
  #warned = new Set()
  #ask = undefined
  #starting = false

  constructor() {
    this.#store[pull] = () => this.#pullViolations()
  }

  /** Starts the proxies with `config`. `askCallback({host, port})` decides hosts no list did (only `true` allows). */
  async initialize(config, askCallback, enableLogMonitor = false) {
    if (this.#init) {
      // Running with other arguments: a conflict. Done already: the original ignores the new config.
      const same =
        JSON.stringify(config) === JSON.stringify(this.#config) &&
        askCallback === this.#ask &&
        config?.network?.filterRequest === this.#config?.network?.filterRequest
      if (this.#starting && !same) throw new SandboxInitializeConflictError()
      return this.#init
    }
    // The callback travels apart from the JSON; the kept config holds it by reference.
    const { plain, filterRequest } = splitFilter(config)
    this.#ask = askCallback
    this.#starting = true
    this.#config = withFilter(structuredClone(plain), filterRequest)
    const hooks = filterRequest ? nativeFilter(filterRequest) : undefined
    this.#init = (async () => {
      const started = await this.#native.initialize(
        JSON.stringify(plain),
        askCallback ? nativeAsk(askCallback) : undefined,
        Boolean(enableLogMonitor),
        hooks?.decide,
        hooks?.observe,
      )
      if (started.error) throw engineError(started.error)
      for (const w of started.warnings) process.emitWarning(`srt: ${w}`)
    })()
    try {
      await this.#init
    } catch (e) {
      this.#init = undefined
      throw e
    } finally {
      this.#starting = false
    }
  }

  isSupportedPlatform() {
    return process.platform === 'linux' || process.platform === 'darwin'
  }

  isSandboxingEnabled() {
    return this.#config !== undefined
  }

  /** What is missing on this machine: `{errors, warnings}`. */
  checkDependencies() {
    return native.checkDependencies()
  }

  async checkDependenciesAsync() {
    return this.checkDependencies()
  }

  async waitForNetworkInitialization() {
    if (!this.#config) return false
    try {
      await this.#init
      return true
    } catch {
      return false
    }
  }

  /** A shell command line that runs `command` in the sandbox: run it with `spawn(line, {shell: true})`. */
  async wrapWithSandbox(command, binShell, customConfig, abortSignal, options = {}) {
    return this.#wrap(command, binShell, customConfig, abortSignal, undefined, options)
  }

  async #wrap(command, binShell, customConfig, abortSignal, cwd, options = {}) {
    if (!this.#init) throw new Error('the sandbox is not initialized: call initialize() first')
    // The working directory of this call, whatever the process does while the walk runs.
    const dir = cwd ?? process.cwd()
    await this.#init
    abortSignal?.throwIfAborted()
    const custom = mergeCustom(this.#config, customConfig)
    const wrapped = await this.#native.wrap(command, binShell, custom ? JSON.stringify(custom) : undefined, options?.commandId || undefined, dir)
    if (wrapped.error) throw engineError(wrapped.error)
    // Each remark once per session: an agent wraps hundreds of commands under the same rules.
    for (const w of wrapped.warnings) {
      if (this.#warned.has(w)) continue
      this.#warned.add(w)
      process.emitWarning(`srt: ${w}`)
    }
    return wrapped.commandLine
  }

  async wrapWithSandboxArgv(command, binShell, customConfig, abortSignal, cwd, options) {
    if (binShell !== undefined && typeof binShell !== 'string') throw new TypeError('binShell must be a string')
    const line = await this.#wrap(command, binShell, customConfig, abortSignal, cwd, options)
    return { argv: [binShell && binShell.startsWith('/') ? binShell : '/bin/bash', '-c', line], env: process.env }
  }

  cleanupAfterCommand() {
    this.#native.cleanupAfterCommand()
  }

  /** Stops the proxies; afterwards nothing of the session keeps Node alive. */
  async reset() {
    this.#pullViolations()
    this.#config = undefined
    this.#init = undefined
    this.#ask = undefined
    this.#seen = 0
    this.#warned = new Set()
    await this.#native.reset()
  }

  getConfig() {
    return this.#config
  }

  updateConfig(newConfig) {
    const { plain, filterRequest } = splitFilter(newConfig)
    const hooks = filterRequest ? nativeFilter(filterRequest) : undefined
    const updated = this.#native.updateConfig(JSON.stringify(plain), hooks?.decide, hooks?.observe)
    if (updated.error) throw engineError(updated.error)
    this.#config = withFilter(structuredClone(plain), filterRequest)
    for (const w of updated.warnings) process.emitWarning(`srt: ${w}`)
  }

  getNetworkRestrictionConfig() {
    const n = this.#config?.network
    if (!n) return {}
    return n.deniedDomains?.length ? { allowedHosts: n.allowedDomains, deniedHosts: n.deniedDomains } : { allowedHosts: n.allowedDomains }
  }

  getFsReadConfig() {
    const f = this.#config?.filesystem
    return { denyOnly: f?.denyRead ?? [], allowWithinDeny: f?.allowRead ?? [] }
  }

  getFsWriteConfig() {
    const f = this.#config?.filesystem
    if (f?.disabled) return { allowOnly: ['/'], denyWithinAllow: [] }
    return { allowOnly: [...defaultWritePaths(), ...(f?.allowWrite ?? [])], denyWithinAllow: f?.denyWrite ?? [] }
  }

  getAllowUnixSockets() {
    return this.#config?.network?.allowUnixSockets
  }

  getAllowLocalBinding() {
    return this.#config?.network?.allowLocalBinding
  }

  getAllowMachLookup() {
    return this.#config?.network?.allowMachLookup
  }

  /** srt-rs issues no session-wide proxy token: on Linux its proxies are reachable only from inside each sandbox, on macOS each wrapped command gets a secret of its own. */
  getProxyAuthToken() {
    return undefined
  }

  /** TLS termination and credential masking are not supported yet (initialize refuses those settings). */
  getMitmCA() {
    return undefined
  }

  getSentinelRegistry() {
    return undefined
  }

  getAwsPairRegistry() {
    return undefined
  }

  getMaskedFileStore() {
    return undefined
  }

  getIgnoreViolations() {
    return this.#config?.ignoreViolations
  }

  getEnableWeakerNestedSandbox() {
    return this.#config?.enableWeakerNestedSandbox
  }

  /** The host port commands reach the HTTP proxy on: srt's loopback listener on macOS (or an external proxy the config names); on Linux only an external one (srt's own proxies listen inside each sandbox). */
  getProxyPort() {
    return this.#native.proxyPorts()?.[0] ?? this.#config?.network?.httpProxyPort
  }

  getSocksProxyPort() {
    return this.#native.proxyPorts()?.[1] ?? this.#config?.network?.socksProxyPort
  }

  /** The session's bridge socket (both protocols). */
  getLinuxHttpSocketPath() {
    return this.#native.bridgeSocketPath() ?? undefined
  }

  getLinuxSocksSocketPath() {
    return this.#native.bridgeSocketPath() ?? undefined
  }

  registerCommandNetworkLists(commandId, lists = {}) {
    if (typeof commandId !== 'string' || commandId.replaceAll('\uFFFD', '').length < 22) {
      throw new Error('registerCommandNetworkLists: commandId must be at least 22 characters (use 128 random bits)')
    }
    this.#native.registerCommandNetworkLists(commandId, lists.allowedDomains ?? [])
  }

  unregisterCommandNetworkLists(commandId) {
    this.#native.unregisterCommandNetworkLists(commandId)
  }

  getLinuxGlobPatternWarnings() {
    return []
  }

  /** The violations so far (the proxies' refusals, attributed to their commands). */
  getSandboxViolationStore() {
    return this.#store
  }

  /** Moves what the proxies recorded since the last look into the store. */
  #pullViolations() {
    const total = this.#native.violationTotal()
    if (total <= this.#seen) return
    const all = this.#native.violations()
    // The native ring keeps the last 100: take the ones this store has not seen.
    const fresh = all.slice(Math.max(0, all.length - (total - this.#seen)))
    this.#seen = total
    for (const v of fresh) {
      this.#store.addViolation({ line: v.line, command: v.command ?? undefined, encodedCommand: v.command ? encodeKey(v.command) : undefined, timestamp: new Date(v.timestamp) })
    }
  }

  /** `stderr` with the command's violations appended in a `<sandbox_violations>` block, or unchanged. */
  annotateStderrWithSandboxFailures(key, stderr) {
    if (!this.#config) return stderr
    const lines = this.getSandboxViolationStore()
      .getViolationsForCommand(key)
      .map((v) => v.line)
    if (!lines.length) return stderr
    return [stderr, '<sandbox_violations>', ...lines, '</sandbox_violations>'].join(os.EOL)
  }
}

/** The ask callback may answer `{ allow: false, reason }` (as the original's flag says). */
SandboxManager.prototype.askCallbackDenyReason = true

// The original's static style: every method on the class, bound to one default instance.
let defaultInstance
for (const name of Object.getOwnPropertyNames(SandboxManager.prototype)) {
  if (name === 'constructor') continue
  if (typeof SandboxManager.prototype[name] !== 'function') {
    SandboxManager[name] = SandboxManager.prototype[name]
    continue
  }
  SandboxManager[name] = (...args) => (defaultInstance ??= new SandboxManager())[name](...args)
}

/** Validates a config exactly as `srt` and `initialize` do: `{ok, errors, warnings}`. */
function validateConfig(config) {
  return native.validateConfig(typeof config === 'string' ? config : JSON.stringify(config))
}

function getDefaultWritePaths() {
  return defaultWritePaths()
}

const { schemas, SandboxConfigSchemaError } = require('./schemas.js')

module.exports = {
  SandboxManager,
  SandboxViolationStore,
  SandboxInitializeConflictError,
  LinuxSandboxProfileError,
  SandboxConfigSchemaError,
  validateConfig,
  getDefaultWritePaths,
  ...schemas(native),
}
