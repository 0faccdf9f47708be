// Loopback servers for the proxy benchmark, in a process of their own (so
// they do not share a core with the benchmark's bookkeeping): an HTTP server
// with a large and a small body (and the same over HTTPS, given a key and a
// certificate), and a TCP echo server. Prints the ports.
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'

const MB = Number(process.env.BENCH_BODY_MB || 200)
const chunk = Buffer.alloc(1 << 20, 120)
const small = Buffer.alloc(100, 121)

const handler = (req, res) => {
  if (req.url === '/big') {
    res.writeHead(200, { 'content-length': MB * chunk.length })
    let sent = 0
    const pump = () => {
      while (sent < MB) {
        sent++
        if (!res.write(chunk)) return res.once('drain', pump)
      }
      res.end()
    }
    return pump()
  }
  res.writeHead(200, { 'content-length': small.length })
  res.end(small)
}
const web = http.createServer(handler)
web.keepAliveTimeout = 1000
web.maxConnections = 100000
// With BENCH_TLS_KEY and BENCH_TLS_CERT: the same over HTTPS.
const secure = process.env.BENCH_TLS_KEY
  ? https.createServer({ key: fs.readFileSync(process.env.BENCH_TLS_KEY), cert: fs.readFileSync(process.env.BENCH_TLS_CERT) }, handler)
  : null

const echo = net.createServer((s) => {
  s.on('data', (d) => s.write(d))
  s.on('error', () => {})
})
echo.maxConnections = 100000

web.listen(0, '127.0.0.1', () =>
  echo.listen(0, '127.0.0.1', () => {
    const ports = { web: web.address().port, echo: echo.address().port }
    if (!secure) return console.log(JSON.stringify(ports))
    secure.keepAliveTimeout = 5000
    // Both stacks: a client may try localhost's ::1 first.
    secure.listen(0, '::', () => console.log(JSON.stringify({ ...ports, secure: secure.address().port })))
  }),
)
