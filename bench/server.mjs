// Loopback servers for the proxy benchmark, in a process of their own (so
// they do not share a core with the benchmark's bookkeeping): an HTTP server
// with a large and a small body, and a TCP echo server. Prints the ports.
import http from 'node:http'
import net from 'node:net'

const MB = Number(process.env.BENCH_BODY_MB || 200)
const chunk = Buffer.alloc(1 << 20, 120)
const small = Buffer.alloc(100, 121)

const web = http.createServer((req, res) => {
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
})
web.keepAliveTimeout = 1000
web.maxConnections = 100000

const echo = net.createServer((s) => {
  s.on('data', (d) => s.write(d))
  s.on('error', () => {})
})
echo.maxConnections = 100000

web.listen(0, '127.0.0.1', () =>
  echo.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ web: web.address().port, echo: echo.address().port }))),
)
