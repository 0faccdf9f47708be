// The proxy benchmark's client, run inside the sandbox (of srt-rs or of the
// original) or, for a baseline, directly. It speaks to the proxy named by
// HTTP_PROXY (with its credentials, if the URL has them) and prints JSON.
//   seq N HOST PORT          N sequential requests, a new connection each
//   par C N HOST PORT        C clients at once, N sequential requests each
//   tunnels N HOST PORT      N CONNECT tunnels opened and held, then each used once
//   tls N HOST PORT          N sequential HTTPS requests, each a CONNECT and a new TLS
//                            session (no resumption) trusting NODE_EXTRA_CA_CERTS
const http = require('node:http')
const net = require('node:net')
const tls = require('node:tls')

const [mode, ...args] = process.argv.slice(2)
const proxy = process.env.HTTP_PROXY ? new URL(process.env.HTTP_PROXY) : null
const auth = proxy && proxy.username
  ? 'Basic ' + Buffer.from(decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password)).toString('base64')
  : null

function get(host, port) {
  return new Promise((resolve, reject) => {
    const headers = { host: `${host}:${port}` }
    if (auth) headers['proxy-authorization'] = auth
    const options = proxy
      ? { host: proxy.hostname, port: proxy.port, path: `http://${host}:${port}/small`, headers, agent: false }
      : { host, port, path: '/small', agent: false }
    http
      .get(options, (res) => {
        res.resume()
        res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))))
      })
      .on('error', reject)
  })
}

async function sequential(n, host, port) {
  let failed = 0
  for (let i = 0; i < n; i++) await get(host, port).catch(() => failed++)
  return failed
}

function tunnel(host, port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(proxy.port), proxy.hostname)
    let head = ''
    const onData = (d) => {
      head += d
      if (!head.includes('\r\n\r\n')) return
      s.off('data', onData)
      if (!/^HTTP\/1\.[01] 200/.test(head)) return reject(new Error(head.split('\r\n')[0]))
      resolve(s)
    }
    s.on('data', onData)
    s.on('error', reject)
    s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n${auth ? `Proxy-Authorization: ${auth}\r\n` : ''}\r\n`)
  })
}

function ping(s) {
  return new Promise((resolve, reject) => {
    s.once('data', (d) => (String(d) === 'ping' ? resolve() : reject(new Error('bad echo'))))
    s.write('ping')
  })
}

/** One HTTPS request in a tunnel of its own, with a full TLS handshake. */
function tlsGet(host, port) {
  return tunnel(host, port).then(
    (socket) =>
      new Promise((resolve, reject) => {
        const t = tls.connect({ socket, servername: host }, () =>
          t.write(`GET /small HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`),
        )
        let got = ''
        t.on('data', (d) => (got += d))
        t.on('end', () => (/^HTTP\/1\.1 200/.test(got) ? resolve() : reject(new Error(got.split('\r\n')[0]))))
        t.on('error', reject)
      }),
  )
}

;(async () => {
  const t0 = process.hrtime.bigint()
  const ms = () => Number(process.hrtime.bigint() - t0) / 1e6
  if (mode === 'seq') {
    const [n, host, port] = args
    const failed = await sequential(Number(n), host, port)
    console.log(JSON.stringify({ requests: Number(n), failed, ms: ms() }))
  } else if (mode === 'par') {
    const [c, n, host, port] = args
    const results = await Promise.all(Array.from({ length: Number(c) }, () => sequential(Number(n), host, port)))
    console.log(JSON.stringify({ requests: Number(c) * Number(n), failed: results.reduce((a, b) => a + b, 0), ms: ms() }))
  } else if (mode === 'tunnels') {
    const [n, host, port] = args
    const opened = await Promise.allSettled(Array.from({ length: Number(n) }, () => tunnel(host, port)))
    const sockets = opened.filter((r) => r.status === 'fulfilled').map((r) => r.value)
    const openMs = ms()
    // Held: every tunnel is open at once here. Signal it and give the benchmark a moment to count processes.
    console.error('HELD')
    await new Promise((r) => setTimeout(r, Number(process.env.BENCH_HOLD_MS || 1500)))
    const used = await Promise.allSettled(sockets.map(ping))
    const ok = used.filter((r) => r.status === 'fulfilled').length
    for (const s of sockets) s.destroy()
    const errors = [...new Set(opened.filter((r) => r.status === 'rejected').map((r) => String(r.reason.message || r.reason)))].slice(0, 3)
    console.log(JSON.stringify({ tunnels: Number(n), opened: sockets.length, used: ok, openMs, errors }))
  } else if (mode === 'tls') {
    const [n, host, port] = args
    let failed = 0
    for (let i = 0; i < Number(n); i++) await tlsGet(host, port).catch(() => failed++)
    console.log(JSON.stringify({ requests: Number(n), failed, ms: ms() }))
  } else {
    console.error('usage: client.cjs seq|par|tunnels|tls ...')
    process.exit(2)
  }
})()
