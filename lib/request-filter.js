// `network.filterRequest` on the JavaScript side: the engine's proxy asks
// (with a plain description of the request), this builds the web-standard
// `Request` the user's callback expects, runs it, and answers with a plain
// verdict the engine checks again. Failing closed: a throw, a rejection or
// a decision that is not well-formed denies.
'use strict'

const native = require('./addon.js')

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** HTAB and no other control character; nothing above U+00FF. */
function isFieldValue(value) {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if ((c < 0x20 && c !== 0x09) || c === 0x7f || c > 0xff) return false
  }
  return true
}

/** Why a decision cannot be applied as given, or undefined when it can. */
function malformedReason(d) {
  if (typeof d !== 'object' || d === null) return 'not an object'
  if (d.action !== 'allow' && d.action !== 'deny') return 'unknown action'
  if (d.reason !== undefined && typeof d.reason !== 'string') return 'reason is not a string'
  if (d.status !== undefined && typeof d.status !== 'number') return 'status is not a number'
  if (d.mark !== undefined && (typeof d.mark !== 'string' || !HEADER_NAME.test(d.mark))) return 'mark is not a reason code'
  if (d.action === 'deny') return undefined
  if (d.onResponse !== undefined && typeof d.onResponse !== 'function') return 'onResponse is not a function'
  if (d.removeHeaders !== undefined) {
    if (!Array.isArray(d.removeHeaders)) return 'removeHeaders is not an array'
    if (d.removeHeaders.some((n) => typeof n !== 'string' || !HEADER_NAME.test(n))) return 'removeHeaders holds an invalid header name'
  }
  if (d.setHeaders !== undefined) {
    if (!Array.isArray(d.setHeaders)) return 'setHeaders is not an array'
    for (const entry of d.setHeaders) {
      if (!Array.isArray(entry) || entry.length !== 2) return 'setHeaders holds an entry that is not a [name, value] pair'
      const [name, value] = entry
      if (typeof name !== 'string' || !HEADER_NAME.test(name)) return 'setHeaders holds an invalid header name'
      if (typeof value !== 'string' || !isFieldValue(value)) return 'setHeaders holds an invalid header value'
    }
  }
  return undefined
}

const deny = (reason) => ({ action: 'deny', reason })

/** The body the engine keeps for request `id`, as a web stream. */
function bodyStream(id) {
  return new ReadableStream({
    async pull(controller) {
      const chunk = await native.filterBodyRead(id)
      if (chunk == null) controller.close()
      else controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    },
  })
}

/** For a GET, HEAD or OPTIONS declaring a body: whether it carries bytes. */
function unshownBodyProbe(call, headers) {
  let answer
  const probe = async () => {
    if (!headers.get('transfer-encoding') && Number(headers.get('content-length')) > 0) return true
    for (;;) {
      const chunk = await native.filterBodyRead(call.id)
      if (chunk == null) return false
      if (chunk.length > 0) return true
    }
  }
  return () => (answer ??= probe())
}

/** Node's shape of response headers: lower-case names, repeated ones (and set-cookie) as arrays. */
function headersObject(pairs) {
  const out = {}
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const [name, value] = [pairs[i].toLowerCase(), pairs[i + 1]]
    if (name === 'set-cookie') (out[name] ??= []).push(value)
    else if (out[name] === undefined) out[name] = value
    else out[name] = [].concat(out[name], value)
  }
  return out
}

/**
 * The two callbacks the engine is given for `filterRequest`: `decide(call)`
 * resolves to a verdict; `observe(seen)` delivers an upstream response to
 * the decision's `onResponse` (status 0: there was none).
 */
function nativeFilter(filterRequest) {
  const observers = new Map()
  const decide = async (call) => {
    let request
    const headers = new Headers()
    try {
      for (let i = 0; i + 1 < call.rawHeaders.length; i += 2) headers.append(call.rawHeaders[i], call.rawHeaders[i + 1])
      const body = call.body === 'shown' ? { body: bodyStream(call.id), duplex: 'half' } : {}
      request = new Request(call.url, { method: call.method, headers, ...body })
    } catch (err) {
      return deny(`malformed request: ${err?.message ?? String(err)}`)
    }
    const info = {
      scheme: call.scheme,
      target: { host: call.targetHost, port: call.targetPort },
      requestTarget: call.requestTarget,
      normalizedRequestTarget: call.normalizedRequestTarget,
      requestTargetIsAmbiguous: call.requestTargetIsAmbiguous,
      rawHeaders: [...call.rawHeaders],
    }
    if (call.sni != null) info.sni = call.sni
    if (call.commandId != null) info.commandId = call.commandId
    if (call.body === 'unshown') info.unshownBody = unshownBodyProbe(call, headers)
    let decision
    try {
      decision = await filterRequest(request, info)
    } catch (err) {
      return deny(`sandbox policy check failed: ${err?.message ?? String(err)}`)
    }
    const malformed = malformedReason(decision)
    if (malformed !== undefined) return deny(`malformed filterRequest decision: ${malformed}`)
    if (decision.action === 'deny') {
      const s = decision.status
      return { action: 'deny', reason: decision.reason, status: Number.isInteger(s) && s >= 400 && s <= 599 ? s : undefined }
    }
    const observe = typeof decision.onResponse === 'function'
    if (observe) {
      // Bounded: an answer the engine no longer waited for is never observed.
      if (observers.size >= 4096) observers.delete(observers.keys().next().value)
      observers.set(call.id, decision.onResponse)
    }
    return { action: 'allow', removeHeaders: decision.removeHeaders, setHeaders: decision.setHeaders, observe }
  }
  const observe = ({ id, status, headers }) => {
    const onResponse = observers.get(id)
    observers.delete(id)
    if (!onResponse || status === 0) return
    const failed = (err) => process.emitWarning(`srt: filterRequest onResponse failed: ${err?.message ?? String(err)}`)
    try {
      const returned = onResponse(status, headersObject(headers))
      if (returned && typeof returned.then === 'function') returned.then(undefined, failed)
    } catch (err) {
      failed(err)
    }
  }
  return { decide, observe }
}

/** The config without its callback (for JSON and cloning), and the callback. */
function splitFilter(config) {
  const filterRequest = config?.network?.filterRequest
  if (filterRequest === undefined) return { plain: config, filterRequest }
  if (typeof filterRequest !== 'function') {
    throw Object.assign(new Error('network.filterRequest: filterRequest must be a function'), { code: 'SRT_INVALID_CONFIG' })
  }
  const { filterRequest: _, ...network } = config.network
  return { plain: { ...config, network }, filterRequest }
}

module.exports = { nativeFilter, splitFilter }
