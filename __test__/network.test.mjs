// The network of issue 4, with real clients (curl, git, ssh, node) in the
// real sandbox against loopback servers this file starts: what the proxies
// let through, what they refuse and how the client learns why, and what a
// program that ignores the proxy variables gets (nothing).
import assert from 'node:assert/strict'
import { spawn, spawnSync } from 'node:child_process'
import crypto from 'node:crypto'
import dgram from 'node:dgram'
import fs from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import url from 'node:url'
import { after, before, describe, it } from 'node:test'

import { collect, config, gitIn, kinds, settingsFile, sandboxEnv, tempDir, which } from './helpers.mjs'

const { home, env } = sandboxEnv()
const work = tempDir('srt-net-')

/** Runs `sh -c script` in the sandbox without blocking this process (its servers must answer). */
function run(script, network = {}, { kind = 'native', filesystem = {}, wrap, extra = {} } = {}) {
  const file = settingsFile(home, config({ network, filesystem, ...extra }))
  let [cmd, argv] = kinds[kind](['--settings', file, 'sh', '-c', script])
  if (wrap) [cmd, argv] = wrap(cmd, argv)
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { env, cwd: work, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30000)
    child.on('error', reject)
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    })
  })
}

/** Starts a server on an ephemeral loopback port; it is closed after the file. */
async function listen(server, host = '127.0.0.1') {
  await new Promise((r) => server.listen(0, host, r))
  after(() => {
    server.closeAllConnections?.()
    server.close()
  })
  return server.address().port
}

// A CA of our own and a certificate for localhost signed by it.
const tls = {}
before(() => {
  const dir = path.join(work, 'tls')
  fs.mkdirSync(dir)
  const ssl = (args) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' })
    assert.equal(r.status, 0, r.stderr)
  }
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  ssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-subj', '/CN=srt test CA', '-days', '2'])
  ssl(['req', ...ec, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=localhost'])
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  ssl(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'leaf.pem', '-days', '2', '-extfile', 'san.ext'])
  tls.ca = path.join(dir, 'ca.pem')
  tls.key = fs.readFileSync(path.join(dir, 'leaf.key'))
  tls.cert = fs.readFileSync(path.join(dir, 'leaf.pem'))
})

/** Servers answering `<greeting> <path>`, recording each request's Host header. */
async function webServers(greeting = 'hello') {
  const hosts = []
  const handler = (req, res) => {
    hosts.push(req.headers.host)
    res.end(`${greeting} ${req.url}\n`)
  }
  const plain = await listen(http.createServer(handler))
  const secure = await listen(https.createServer({ key: tls.key, cert: tls.cert }, handler))
  return { plain, secure, hosts }
}

// curl and git honour NO_PROXY, which names localhost (as the original's
// does): the tests that reach the loopback servers by name unset it.
const viaProxy = 'unset NO_PROXY no_proxy;'

describe('allowed destinations work, denied ones fail with the reason', () => {
  for (const kind of ['native', 'shim']) {
    it(`plain HTTP through the HTTP proxy (curl, ${kind})`, async () => {
      const s = await webServers()
      const r = await run(
        `${viaProxy} curl -sS http://localhost:${s.plain}/a; curl -sS -w '%{http_code}\\n' http://denied.example:${s.plain}/b`,
        { allowedDomains: ['localhost'] },
        { kind },
      )
      assert.match(r.stdout, new RegExp(`^hello /a\\n`), r.stderr)
      assert.match(r.stdout, /Connection blocked by network allowlist: host is not on the allow list\n403\n$/)
      assert.deepEqual(s.hosts, [`localhost:${s.plain}`])
      // The CLI sums up what it refused when the command ends.
      assert.match(r.stderr, new RegExp(`srt: the sandbox blocked 1 network connection:\\n  denied\\.example:${s.plain} \\(host is not on the allow list\\)\\n`))
    })
  }

  it('CONNECT to a TLS server with its own CA (curl), and the 403 reason as the status text', async () => {
    const s = await webServers('secure')
    const r = await run(
      `${viaProxy} curl -sS --cacert ${tls.ca} https://localhost:${s.secure}/tls; curl -sS -v https://other.example/ 2>&1 | grep -E '^< HTTP|CONNECT tunnel failed'`,
      { allowedDomains: ['localhost'] },
    )
    assert.match(r.stdout, /^secure \/tls\n/, r.stderr)
    assert.match(r.stdout, /< HTTP\/1\.1 403 host is not on the allow list/)
    assert.match(r.stdout, /CONNECT tunnel failed, response 403/)
  })

  it('SOCKS5 with the name resolved by the proxy (curl --socks5-hostname)', async () => {
    const s = await webServers('socks')
    const r = await run(
      `${viaProxy} curl -sS --socks5-hostname localhost:1080 http://localhost:${s.plain}/p; curl -sS --socks5-hostname localhost:1080 --cacert ${tls.ca} https://localhost:${s.secure}/s; curl -sS --socks5-hostname localhost:1080 http://denied.example/; echo "exit $?"`,
      { allowedDomains: ['localhost'] },
    )
    assert.match(r.stdout, /^socks \/p\nsocks \/s\nexit 97\n$/, r.stderr)
    // curl reports the SOCKS reply code: 2, connection not allowed by ruleset.
    assert.match(r.stderr, /Can't complete SOCKS5 connection to denied\.example\. \(2\)/)
  })

  it("node's https through a CONNECT tunnel, and the refusal's status text", async () => {
    const s = await webServers('node')
    const script = path.join(work, 'tunnel.cjs')
    fs.writeFileSync(
      script,
      `const http = require('http'), https = require('https'), tls = require('tls'), fs = require('fs')
const [target, port] = process.argv.slice(2)
const ca = fs.readFileSync(${JSON.stringify(tls.ca)})
const req = http.request({ host: 'localhost', port: 3128, method: 'CONNECT', path: target + ':' + port })
req.on('connect', (res, socket) => {
  if (res.statusCode !== 200) return console.log('refused', res.statusCode, res.statusMessage)
  https.get({ host: target, port, path: '/via-node', ca, createConnection: () => tls.connect({ socket, servername: target, ca }) }, (r) => r.pipe(process.stdout))
})
req.end()
`,
    )
    const r = await run(`node ${script} localhost ${s.secure}; node ${script} denied.example 443`, { allowedDomains: ['localhost'] })
    assert.equal(r.stdout, 'node /via-node\nrefused 403 host is not on the allow list\n', r.stderr)
  })

  it('git clones over http and https through the proxy, and a denied remote fails', async () => {
    const repo = path.join(work, 'served', 'repo.git')
    fs.mkdirSync(path.dirname(repo), { recursive: true })
    const src = path.join(work, 'src')
    fs.mkdirSync(src)
    const git = gitIn(src, env)
    for (const args of [['init', '-q'], ['commit', '-q', '--allow-empty', '-m', 'over the proxy'], ['clone', '-q', '--bare', src, repo]]) {
      assert.equal(git(args).status, 0)
    }
    assert.equal(gitIn(repo, env)(['update-server-info']).status, 0)
    // The "dumb" HTTP protocol: the repository's files, served as they are.
    const files = (req, res) => {
      const file = path.join(work, 'served', decodeURIComponent(new URL(req.url, 'http://x').pathname))
      fs.readFile(file, (err, data) => (err ? res.writeHead(404).end() : res.end(data)))
    }
    const plain = await listen(http.createServer(files))
    const secure = await listen(https.createServer({ key: tls.key, cert: tls.cert }, files))
    const out = path.join(work, 'clones')
    fs.mkdirSync(out)
    const r = await run(
      `${viaProxy} cd ${out} && git clone -q http://localhost:${plain}/repo.git a && git -C a log --format=%s && GIT_SSL_CAINFO=${tls.ca} git clone -q https://localhost:${secure}/repo.git b && git -C b log --format=%s; git clone -q https://denied.example/repo.git c; echo "exit $?"`,
      { allowedDomains: ['localhost'] },
      { filesystem: { allowWrite: [out] } },
    )
    assert.equal(r.stdout, 'over the proxy\nover the proxy\nexit 128\n', r.stderr)
    assert.match(r.stderr, /CONNECT tunnel failed, response 403/)
  })

  it('ssh through GIT_SSH_COMMAND reaches an allowed server and not a denied one', { skip: !which('ssh') && 'no ssh client' }, async () => {
    let banners = 0
    const sshd = net.createServer((sock) => {
      banners++
      sock.write('SSH-2.0-srt_fake_server\r\n')
      sock.once('data', () => setTimeout(() => sock.destroy(), 50))
    })
    const port = await listen(sshd)
    const ssh = (host) => `eval "$GIT_SSH_COMMAND -v -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -p ${port} t@${host} true"`
    const r = await run(`${ssh('localhost')}; ${ssh('denied.example')}; echo done`, { allowedDomains: ['localhost'] })
    assert.equal(banners, 1)
    assert.match(r.stderr, /remote software version srt_fake_server/)
    assert.match(r.stderr, /proxy connect to denied\.example:\d+: refused: HTTP\/1\.1 403 host is not on the allow list/)
  })
})

describe('git over SSH through srt (GIT_SSH_COMMAND)', () => {
  const sshd = '/usr/sbin/sshd'
  it('clones from a real sshd on loopback through the proxy, keeping the caller\'s ssh options; a denied host is refused', { skip: (!fs.existsSync(sshd) || !which('ssh')) && 'no sshd (Debian: openssh-server)' }, async () => {
    const dir = fs.mkdtempSync(path.join(work, 'ssh-'))
    const keygen = (name) => assert.equal(spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, name)]).status, 0)
    keygen('host_key')
    keygen('client_key')
    fs.copyFileSync(path.join(dir, 'client_key.pub'), path.join(dir, 'authorized_keys'))
    fs.chmodSync(path.join(dir, 'authorized_keys'), 0o600)
    // A free port, then sshd on it (it takes no port 0).
    const probe = net.createServer()
    await new Promise((r) => probe.listen(0, '127.0.0.1', r))
    const port = probe.address().port
    await new Promise((r) => probe.close(r))
    fs.writeFileSync(
      path.join(dir, 'sshd_config'),
      [`Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${dir}/host_key`, `AuthorizedKeysFile ${dir}/authorized_keys`, 'PasswordAuthentication no', 'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', `PidFile ${dir}/sshd.pid`].join('\n') + '\n',
    )
    if (process.getuid() === 0) fs.mkdirSync('/run/sshd', { recursive: true })
    const server = spawn(sshd, ['-f', path.join(dir, 'sshd_config'), '-D', '-e'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let serverLog = ''
    server.stderr.on('data', (d) => (serverLog += d))
    after(() => server.kill())
    for (let i = 0; i < 50 && !serverLog.includes('Server listening'); i++) await new Promise((r) => setTimeout(r, 100))
    // A repository with one commit, served bare.
    const src = path.join(dir, 'src')
    fs.mkdirSync(src)
    const git = gitIn(src, env)
    git(['init', '-q'])
    fs.writeFileSync(path.join(src, 'f'), 'over ssh\n')
    git(['add', 'f'])
    git(['commit', '-qm', 'cloned over ssh through srt'])
    assert.equal(spawnSync('git', ['clone', '-q', '--bare', src, path.join(dir, 'repo.git')]).status, 0)
    const user = os.userInfo().username
    // The caller's GIT_SSH_COMMAND (its key and options) is kept; srt adds its ProxyCommand.
    const callerSsh = `ssh -i ${dir}/client_key -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes`
    const wrap = (cmd, argv) => ['env', [`GIT_SSH_COMMAND=${callerSsh}`, cmd, ...argv]]
    const out = path.join(dir, 'out')
    fs.mkdirSync(out)
    const r = await run(
      `git clone -q ssh://${user}@localhost:${port}${dir}/repo.git ${out}/cloned && git -C ${out}/cloned log --format=%s; ` +
        `git clone -q ssh://${user}@denied.example:${port}${dir}/repo.git ${out}/denied 2>&1 | grep -o 'refused: HTTP/1.1 403 host is not on the allow list'; echo "GIT_SSH_COMMAND=$GIT_SSH_COMMAND"`,
      { allowedDomains: [`localhost:${port}`] },
      { wrap, filesystem: { allowWrite: [out] } },
    )
    assert.match(r.stdout, /^cloned over ssh through srt\nrefused: HTTP\/1\.1 403 host is not on the allow list\n/, r.stderr + serverLog)
    assert.match(r.stdout, new RegExp(`GIT_SSH_COMMAND=ssh -i ${dir}/client_key .*ProxyCommand=`))
    assert.equal(fs.readFileSync(path.join(out, 'cloned', 'f'), 'utf8'), 'over ssh\n')
  })
})

describe('a program that ignores the proxy variables gets nothing', () => {
  it('no raw TCP to the host, no UDP, no DNS, and node fetch (which ignores proxies) fails', async () => {
    let connections = 0
    const tcp = await listen(net.createServer((s) => (connections++, s.destroy())))
    const udp = dgram.createSocket('udp4')
    let datagrams = 0
    udp.on('message', () => datagrams++)
    await new Promise((r) => udp.bind(0, '127.0.0.1', r))
    after(() => udp.close())
    const udpPort = udp.address().port
    const script = path.join(work, 'direct.cjs')
    fs.writeFileSync(
      script,
      `const net = require('net'), dgram = require('dgram'), dns = require('dns')
const say = (what, how) => console.log(what + ': ' + how)
net.connect(${tcp}, '127.0.0.1').on('connect', () => say('tcp', 'CONNECTED')).on('error', (e) => say('tcp', e.code))
const u = dgram.createSocket('udp4'); u.send('x', ${udpPort}, '127.0.0.1', (e) => { say('udp', e ? e.code : 'sent'); u.close() })
dns.lookup('example.com', (e, a) => say('dns', e ? 'failed' : 'RESOLVED ' + a))
fetch('http://localhost:${tcp}/').then(() => say('fetch', 'FETCHED')).catch((e) => say('fetch', 'failed'))
`,
    )
    // allowedDomains would allow everything here: a direct connection still has nowhere to go.
    const r = await run(`node ${script}; getent hosts example.com || echo getent failed`, { allowedDomains: ['localhost', 'example.com'] })
    await new Promise((res) => setTimeout(res, 200))
    assert.match(r.stdout, /tcp: ECONNREFUSED/, r.stderr)
    assert.match(r.stdout, /dns: failed/)
    assert.match(r.stdout, /fetch: failed/)
    assert.match(r.stdout, /getent failed/)
    assert.doesNotMatch(r.stdout, /CONNECTED|RESOLVED|FETCHED/)
    assert.equal(connections, 0)
    assert.equal(datagrams, 0, 'the datagram (sent into the sandbox loopback) never reached the host')
  })
})

/** Sends raw `CONNECT <target>` requests from inside the sandbox; maps each target to the proxy's status line. */
async function probe(targets, network, extra = '', wrap = undefined) {
  const script = path.join(work, `probe-${Math.random().toString(36).slice(2)}.cjs`)
  fs.writeFileSync(
    script,
    `const net = require('net')
const targets = ${JSON.stringify(targets)}
const port = +(process.env.PROBE_PORT || 3128)
;(async () => {
  for (const t of targets) {
    const line = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      let got = ''
      s.on('data', (d) => { got += d; if (got.includes('\\r\\n')) { resolve(got.split('\\r\\n')[0]); s.destroy() } })
      s.on('error', (e) => resolve('error ' + e.code))
      s.on('close', () => resolve(got.split('\\r\\n')[0] || 'closed'))
      s.write(Buffer.from('CONNECT ' + t + ' HTTP/1.1\\r\\nHost: ' + t + '\\r\\n\\r\\n', 'utf8'))
    })
    console.log(JSON.stringify([t, line]))
  }
})()
`,
  )
  const r = await run(`${extra} node ${script}`, network, { wrap })
  const lines = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l))
  assert.equal(lines.length, targets.length, r.stdout + r.stderr)
  return { status: Object.fromEntries(lines), stderr: r.stderr }
}

describe('attacks on the domain policy (attacks.md 5c)', () => {
  it('odd IPv4 spellings and IPv6 forms of a denied address are the same address', async () => {
    // Every spelling, and every IPv6 form that carries it (mapped, compatible, NAT64, 6to4).
    const spellings = ['127.0.0.1', '127.1', '2130706433', '0x7f.1', '0177.0.0.1', '0x7f000001', '[::ffff:127.0.0.1]', '[::ffff:7f00:1]', '[::127.0.0.1]', '[64:ff9b::7f00:1]', '[2002:7f00:1::]']
    const others = ['[::1]', '127.0.0.2']
    const { status } = await probe([...spellings, ...others].map((h) => `${h}:80`), { allowedDomains: ['localhost'], deniedDomains: ['127.0.0.1'] })
    for (const h of spellings) assert.equal(status[`${h}:80`], 'HTTP/1.1 403 host is on the deny list', h)
    for (const h of others) assert.equal(status[`${h}:80`], 'HTTP/1.1 403 host is not on the allow list', h)
  })

  it('suffix confusion, wildcard versus apex, trailing dots and case', async () => {
    const s = await webServers()
    const { status } = await probe(
      [
        `exact.example.evil.test:443`,
        `evilexact.example:443`,
        `wild.example:443`,
        `x.wild.example.evil.test:443`,
        `LOCALHOST:${s.plain}`,
        `localhost.:${s.plain}`,
        `EXACT.Example.:443`,
        `deep.sub.wild.example:443`,
        `BAD.wild.example.:443`,
      ],
      { allowedDomains: ['localhost', 'Exact.EXAMPLE', '*.Wild.example'], deniedDomains: ['bad.wild.example'] },
    )
    const denied = 'HTTP/1.1 403 host is not on the allow list'
    assert.equal(status['exact.example.evil.test:443'], denied)
    assert.equal(status['evilexact.example:443'], denied)
    assert.equal(status['wild.example:443'], denied, '*.wild.example does not cover the apex')
    assert.equal(status['x.wild.example.evil.test:443'], denied)
    assert.match(status[`LOCALHOST:${s.plain}`], /^HTTP\/1\.1 200/)
    assert.match(status[`localhost.:${s.plain}`], /^HTTP\/1\.1 200/)
    // Allowed, then nowhere to go (no such name): the dial fails, which the lists did not stop.
    assert.equal(status['EXACT.Example.:443'], 'HTTP/1.1 502 Bad Gateway')
    assert.equal(status['deep.sub.wild.example:443'], 'HTTP/1.1 502 Bad Gateway')
    assert.equal(status['BAD.wild.example.:443'], 'HTTP/1.1 403 host is on the deny list')
  })

  it('punycode and Unicode spell one name; homographs, control and invisible characters are refused', async () => {
    // "gіthub.example" with a Cyrillic і, as a client would send it (punycode).
    const homograph = `${url.domainToASCII('g\u0456thub.example')}:443`
    const { status } = await probe(
      ['xn--bcher-kva.example:443', 'BÜCHER.example:443', 'bu\u200bcher.example:443', 'a\u0000b.example:443', 'a%2eb.example:443', homograph],
      { allowedDomains: ['localhost', 'github.example'], deniedDomains: ['bücher.example'] },
    )
    assert.equal(status['xn--bcher-kva.example:443'], 'HTTP/1.1 403 host is on the deny list')
    assert.match(homograph, /^xn--/)
    assert.equal(status[homograph], 'HTTP/1.1 403 host is not on the allow list')
    for (const t of ['BÜCHER.example:443', 'bu\u200bcher.example:443', 'a\u0000b.example:443', 'a%2eb.example:443']) {
      assert.match(status[t], /^HTTP\/1\.1 (400|403)/, t)
    }
  })

  it('port confusion: an entry with a port allows that port only', async () => {
    const s = await webServers()
    const { status } = await probe([`localhost:${s.plain}`, `localhost:${s.secure}`, `[::1]:${s.plain}`, 'localhost:3128'], {
      allowedDomains: [`localhost:${s.plain}`],
    })
    assert.match(status[`localhost:${s.plain}`], /^HTTP\/1\.1 200/)
    assert.equal(status[`localhost:${s.secure}`], 'HTTP/1.1 403 host is not on the allow list')
    assert.equal(status[`[::1]:${s.plain}`], 'HTTP/1.1 403 host is not on the allow list')
    assert.equal(status['localhost:3128'], 'HTTP/1.1 403 host is not on the allow list', 'no CONNECT to the proxy itself')
  })

  it('a relay inside the sandbox still goes through the policy', async () => {
    const relay = path.join(work, 'relay.cjs')
    fs.writeFileSync(
      relay,
      `const net = require('net')
net.createServer((c) => { const p = net.connect(3128, '127.0.0.1'); c.pipe(p); p.pipe(c); c.on('error', () => {}); p.on('error', () => {}) }).listen(9000, '127.0.0.1', () => console.error('relay up'))
`,
    )
    const { status } = await probe(['denied.example:443'], { allowedDomains: ['localhost'] }, `node ${relay} & sleep 0.3; PROBE_PORT=9000`)
    assert.equal(status['denied.example:443'], 'HTTP/1.1 403 host is not on the allow list')
  })

  it('plain HTTP: the Host header the client wrote cannot redirect the request', async () => {
    const s = await webServers()
    const r = await run(`${viaProxy} curl -sS -H 'Host: evil.example' http://localhost:${s.plain}/h`, { allowedDomains: ['localhost'] })
    assert.equal(r.stdout, 'hello /h\n', r.stderr)
    assert.deepEqual(s.hosts, [`localhost:${s.plain}`])
  })

  it('a proxy username naming another command changes nothing', async () => {
    const s = await webServers()
    const r = await run(
      `${viaProxy} curl -sS -U 'srt.b3RoZXI=:token' http://denied.example:${s.plain}/; echo; curl -sS -U 'srt:x' http://localhost:${s.plain}/ok`,
      { allowedDomains: ['localhost'] },
    )
    assert.match(r.stdout, /^Connection blocked by network allowlist: host is not on the allow list\n\nhello \/ok\n$/, r.stderr)
  })

  it('filters hosts, not paths or methods: anything may be sent to an allowed host (a documented limit)', async () => {
    const received = []
    const port = await listen(http.createServer((req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => (received.push(`${req.method} ${req.url} ${body}`), res.end('stored\n')))
    }))
    const r = await run(`${viaProxy} curl -sS -X PUT --data-binary secret-data http://localhost:${port}/attacker/repo`, { allowedDomains: [`localhost:${port}`] })
    assert.equal(r.stdout, 'stored\n', r.stderr)
    assert.deepEqual(received, ['PUT /attacker/repo secret-data'])
  })

  const root = process.getuid?.() === 0 && which('unshare')
  it('srt never resolves a name it refuses (no DNS exfiltration through the proxy)', { skip: !root && 'needs root and unshare for a private resolv.conf' }, async (t) => {
    // A DNS server of our own on 127.0.0.1:53, named in a resolv.conf that only srt sees.
    const queries = []
    const dns = dgram.createSocket('udp4')
    dns.on('message', (msg, rinfo) => {
      // The query name: length-prefixed labels from byte 12.
      const labels = []
      for (let i = 12; msg[i]; i += msg[i] + 1) labels.push(msg.subarray(i + 1, i + 1 + msg[i]).toString())
      queries.push(labels.join('.'))
      // Answer "no such name", echoing the question.
      const answer = Buffer.from(msg)
      answer[2] = 0x81
      answer[3] = 0x83
      dns.send(answer, rinfo.port, rinfo.address)
    })
    try {
      await new Promise((resolve, reject) => (dns.once('error', reject), dns.bind(53, '127.0.0.1', resolve)))
    } catch (e) {
      return t.skip(`cannot listen on 127.0.0.1:53 (${e.code})`)
    }
    after(() => dns.close())
    const resolv = path.join(work, 'resolv.conf')
    fs.writeFileSync(resolv, 'nameserver 127.0.0.1\noptions attempts:1 timeout:1\n')
    const { status } = await probe(
      ['c2VjcmV0.exfil.example:443', 'allowed.dns.example:443'],
      { allowedDomains: ['*.dns.example'] },
      '',
      (cmd, argv) => ['unshare', ['-m', 'sh', '-c', `mount --bind ${resolv} /etc/resolv.conf && exec "$0" "$@"`, cmd, ...argv]],
    )
    assert.equal(status['c2VjcmV0.exfil.example:443'], 'HTTP/1.1 403 host is not on the allow list')
    assert.equal(status['allowed.dns.example:443'], 'HTTP/1.1 502 Bad Gateway')
    assert.ok(queries.some((q) => q === 'allowed.dns.example'), `the allowed name was looked up: ${queries}`)
    assert.ok(!queries.some((q) => q.includes('exfil')), `the refused name never was: ${queries}`)
  })


  it('an allowed name that resolves to loopback, metadata or this host is refused (rebinding)', { skip: !root && 'needs root and unshare for a private /etc/hosts' }, async () => {
    const own = Object.values(os.networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4')?.address
    const hosts = path.join(work, 'hosts')
    const entries = [
      ['127.0.0.1', 'loop.rebind.example'],
      ['169.254.169.254', 'meta.rebind.example'],
      ['fd00:ec2::254', 'meta6.rebind.example'],
      ['0.0.0.0', 'zero.rebind.example'],
      ['10.9.8.7', 'listed.rebind.example'],
      ...(own ? [[own, 'own.rebind.example']] : []),
    ]
    fs.writeFileSync(hosts, entries.map(([a, n]) => `${a} ${n}`).join('\n') + '\n127.0.0.1 localhost\n::1 localhost\n')
    const targets = [...entries.map(([, n]) => `${n}:80`), 'GET http://loop.rebind.example/']
    const script = path.join(work, `rebind.cjs`)
    fs.writeFileSync(
      script,
      `const net = require('net')
;(async () => { for (const t of ${JSON.stringify(targets)}) console.log(JSON.stringify([t, await new Promise((resolve) => {
  const s = net.connect(3128, '127.0.0.1'); let got = ''
  s.on('data', (d) => { got += d; if (got.includes('\\r\\n')) { resolve(got.split('\\r\\n')[0]); s.destroy() } })
  s.on('close', () => resolve(got || 'closed'))
  s.write((t.startsWith('GET ') ? t : 'CONNECT ' + t) + ' HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n') })])) })()
`,
    )
    const r = await run(`node ${script}`, { allowedDomains: ['*.rebind.example'], deniedResolvedAddresses: ['10.9.8.0/24'] }, {
      // srt alone sees the private hosts file: a mount namespace of its own.
      wrap: (cmd, argv) => ['unshare', ['-m', 'sh', '-c', `mount --bind ${hosts} /etc/hosts && exec "$0" "$@"`, cmd, ...argv]],
    })
    const status = Object.fromEntries(r.stdout.trim().split('\n').map((l) => JSON.parse(l)))
    assert.equal(status['loop.rebind.example:80'], 'HTTP/1.1 403 resolved to a loopback address', r.stderr)
    assert.equal(status['meta.rebind.example:80'], 'HTTP/1.1 403 resolved to a cloud metadata endpoint')
    assert.equal(status['meta6.rebind.example:80'], 'HTTP/1.1 403 resolved to a cloud metadata endpoint')
    assert.equal(status['zero.rebind.example:80'], 'HTTP/1.1 403 resolved to an unspecified address')
    assert.equal(status['listed.rebind.example:80'], 'HTTP/1.1 403 resolved to a listed address')
    if (own) assert.equal(status['own.rebind.example:80'], 'HTTP/1.1 403 resolved to an address of this host')
    // Plain HTTP goes through the same guard (a kept-alive upstream connection is dialed the same way).
    assert.equal(status['GET http://loop.rebind.example/'], 'HTTP/1.1 403 resolved to a loopback address')
    assert.match(r.stderr, /loop\.rebind\.example:80 \(resolved to a loopback address\)/)
  })
})

describe('TLS termination (tlsTerminate)', () => {
  // The fixture's CA is srt's to trust (extraCaCertPaths), never the command's:
  // the clients inside trust the session's CA through the variables srt sets.
  const terminate = (extra = {}) => ({ allowedDomains: ['localhost'], tlsTerminate: { extraCaCertPaths: [tls.ca], ...extra } })

  for (const kind of ['native', 'shim']) {
    it(`curl and python reach an HTTPS server through a terminated tunnel, trusting the session's CA (${kind})`, async () => {
      const s = await webServers('terminated')
      // Python's ssl reads SSL_CERT_FILE; its urllib, HTTPS_PROXY.
      const py = `import urllib.request; print(urllib.request.urlopen('https://localhost:${s.secure}/py').read().decode(), end='')`
      const r = await run(
        `${viaProxy} curl -sS https://localhost:${s.secure}/curl; python3 -c "${py}"; ` +
          `test -r "$SSL_CERT_FILE" && test "$SSL_CERT_FILE" = "$NODE_EXTRA_CA_CERTS" && echo "bundle $(grep -c 'BEGIN CERTIFICATE' "$SSL_CERT_FILE")"; ` +
          `echo x 2>/dev/null >> "$SSL_CERT_FILE" || echo read-only`,
        terminate(),
        { kind },
      )
      assert.match(r.stdout, /^terminated \/curl\nterminated \/py\nbundle \d+\nread-only\n$/, r.stderr)
      // The server saw srt's requests, for the host the CONNECT named.
      assert.deepEqual(s.hosts, [`localhost:${s.secure}`, `localhost:${s.secure}`])
    })
  }

  it('without tlsTerminate the same curl does not trust the server (the fixture CA is not the command\'s)', async () => {
    const s = await webServers()
    const r = await run(`${viaProxy} curl -sS https://localhost:${s.secure}/x; echo "exit $?"`, { allowedDomains: ['localhost'] })
    assert.match(r.stdout, /exit 60\n$/, r.stderr)
  })

  it('requireHostMatch answers 421 to a request for another host', async () => {
    const s = await webServers()
    const r = await run(
      `${viaProxy} curl -sS -w '%{http_code}\\n' -H 'Host: elsewhere.example' https://localhost:${s.secure}/x`,
      { ...terminate(), requireHostMatch: true, refuseOpaqueTunnels: true },
    )
    assert.match(r.stdout, /requireHostMatch: the request names elsewhere\.example:443, not the tunnel's host\n421\n$/, r.stderr)
    assert.deepEqual(s.hosts, [])
  })

  it('a CA the settings name signs the leaves, and its key is hidden from the command', async () => {
    const s = await webServers('own-ca')
    const key = path.join(path.dirname(tls.ca), 'ca.key')
    const r = await run(
      `${viaProxy} curl -sS https://localhost:${s.secure}/k; cat ${key} 2>/dev/null | grep -c PRIVATE; ` +
        `openssl s_client -proxy localhost:3128 -connect localhost:${s.secure} -servername localhost </dev/null 2>/dev/null | grep -m1 '^issuer='`,
      terminate({ caCertPath: tls.ca, caKeyPath: key }),
    )
    assert.match(r.stdout, /^own-ca \/k\n0\nissuer=\s*CN\s*=\s*srt test CA\n$/, r.stderr)
  })

  it('TLS through SOCKS5 is terminated too: judged per request, and allowed with refuseOpaqueTunnels', async () => {
    const s = await webServers('socks-terminated')
    const r = await run(
      `${viaProxy} curl -sS --socks5-hostname localhost:1080 https://localhost:${s.secure}/s; ` +
        `curl -sS --socks5-hostname localhost:1080 -w '%{http_code}\\n' -H 'Host: elsewhere.example' https://localhost:${s.secure}/h; ` +
        `curl -sS --socks5-hostname localhost:1080 http://localhost:${s.plain}/plain; echo "exit $?"`,
      { ...terminate(), requireHostMatch: true, refuseOpaqueTunnels: true },
    )
    // The plain HTTP one carries no TLS: refused under refuseOpaqueTunnels.
    assert.match(r.stdout, /^socks-terminated \/s\nsrt: requireHostMatch: the request names elsewhere\.example:443, not the tunnel's host\n421\nexit (52|56)\n$/, r.stderr)
    assert.deepEqual(s.hosts, [`localhost:${s.secure}`])
  })

  it('an upgraded connection (WebSocket) in a terminated tunnel is judged, then relayed; refuseOpaqueTunnels refuses it', async () => {
    // The server answers an upgrade with 101 and then echoes raw bytes (framing is the protocol's own).
    const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => res.end('plain\n'))
    const upgrades = []
    server.on('upgrade', (req, socket) => {
      upgrades.push(`${req.headers.upgrade} ${req.url} ${req.headers.host}`)
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')
      socket.on('data', (d) => socket.write(`echo:${d}`))
    })
    const port = await listen(server)
    const script = path.join(work, 'ws-client.cjs')
    fs.writeFileSync(
      script,
      `const net = require('net'), tls = require('tls')
const s = net.connect(3128, '127.0.0.1', () => s.write('CONNECT localhost:${port} HTTP/1.1\\r\\nHost: localhost:${port}\\r\\n\\r\\n'))
s.once('data', (head) => {
  if (!/ 200 /.test(String(head))) return console.log('no tunnel: ' + head)
  const t = tls.connect({ socket: s, servername: 'localhost' }, () => t.write('GET /chat HTTP/1.1\\r\\nHost: localhost:${port}\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Version: 13\\r\\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n\\r\\n'))
  let got = ''
  t.on('data', (d) => {
    got += d
    if (got.includes('\\r\\n\\r\\n') && !got.includes('echo:')) {
      console.log(got.split('\\r\\n')[0])
      if (/ 101 /.test(got)) t.write('ping')
      else t.end()
    }
    if (got.includes('echo:ping')) { console.log('echo:ping'); t.end() }
  })
  t.on('error', (e) => console.log('error ' + e.message))
})
`,
    )
    let r = await run(`node ${script}`, { allowedDomains: ['localhost'], tlsTerminate: { extraCaCertPaths: [tls.ca] } })
    assert.equal(r.stdout, 'HTTP/1.1 101 Switching Protocols\necho:ping\n', r.stderr)
    assert.deepEqual(upgrades, [`websocket /chat localhost:${port}`])
    r = await run(`node ${script}`, { allowedDomains: ['localhost'], tlsTerminate: { extraCaCertPaths: [tls.ca] }, refuseOpaqueTunnels: true })
    assert.equal(r.stdout, 'HTTP/1.1 403 Forbidden\n', r.stderr)
    assert.equal(upgrades.length, 1)
  })

  it('the library terminates for its wrapped commands too', async () => {
    const { SandboxManager } = await import('../lib/index.mjs')
    const s = await webServers('library')
    const m = new SandboxManager()
    await m.initialize(config({ network: terminate() }))
    try {
      const line = await m.wrapWithSandbox(`${viaProxy} curl -sS https://localhost:${s.secure}/lib`)
      // Not spawnSync: the server answering is in this process.
      const r = await collect('/bin/sh', ['-c', line], { env, cwd: work })
      assert.equal(r.stdout, 'library /lib\n', r.stderr)
    } finally {
      await m.reset()
    }
  })
})

describe('filterRequest (library) and the header rules', () => {
  const terminate = { allowedDomains: ['localhost'], tlsTerminate: { extraCaCertPaths: [tls.ca] } }

  /** Plain and TLS servers that record each request (head and body) and set a cookie. */
  async function recordingServers() {
    const seen = []
    const handler = (req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body })
        res.setHeader('Set-Cookie', 'session=secret')
        res.setHeader('X-Kept', 'yes')
        res.end(`seen ${req.method} ${req.url}\n`)
      })
    }
    const plain = await listen(http.createServer(handler))
    const secure = await listen(https.createServer({ key: tls.key, cert: tls.cert }, handler))
    return { plain, secure, seen }
  }

  /** Runs `script` wrapped by `m` (with `options`), from this process (its servers must answer). */
  async function wrapped(m, script, options) {
    const line = await m.wrapWithSandbox(`${viaProxy} ${script}`, undefined, undefined, undefined, options)
    return collect('/bin/sh', ['-c', line], { env, cwd: work })
  }

  it('decides plain and terminated requests, reads bodies without consuming them, edits headers and observes responses', async () => {
    const { SandboxManager } = await import('../lib/index.mjs')
    const s = await recordingServers()
    const asked = []
    const responses = []
    const filterRequest = async (request, info) => {
      const body = request.body ? await request.text() : null
      asked.push({ method: request.method, url: request.url, body, scheme: info.scheme, sni: info.sni, commandId: info.commandId, ua: request.headers.get('user-agent') })
      if (body === 'forbidden') return { action: 'deny', reason: 'uploads of forbidden things are refused', status: 451 }
      return {
        action: 'allow',
        removeHeaders: ['x_drop'],
        setHeaders: [['x-injected', 'by-filter']],
        onResponse: (status, headers) => responses.push([status, headers['set-cookie']]),
      }
    }
    const m = new SandboxManager()
    await m.initialize(config({ network: { ...terminate, filterRequest, stripResponseHeaders: ['Set_Cookie'] } }))
    try {
      const r = await wrapped(
        m,
        `curl -sS -D - -H 'X-Drop: 1' -d 'hello' https://localhost:${s.secure}/up; ` +
          `curl -sS -w ' %{http_code}\n' -d 'forbidden' https://localhost:${s.secure}/no; ` +
          `curl -sS -w ' %{http_code}\n' http://localhost:${s.plain}/plain`,
        { commandId: 'cmd-filter-test-0123456789' },
      )
      // Terminated HTTPS: allowed, the body still forwarded, headers edited, the cookie stripped.
      assert.match(r.stdout, /^HTTP\/1\.1 200 OK\r\n/, r.stderr)
      assert.match(r.stdout, /x-kept: yes/i)
      assert.doesNotMatch(r.stdout, /set-cookie/i)
      assert.match(r.stdout, /seen POST \/up\n/)
      // The denial: its status and reason, nothing forwarded.
      assert.match(r.stdout, /uploads of forbidden things are refused\n 451\n/)
      // Plain HTTP: a header set there needs allowPlaintextHeaderSet.
      assert.match(r.stdout, /network\.allowPlaintextHeaderSet is true; nothing was forwarded\n 403\n$/)
      assert.deepEqual(s.seen.map((x) => [x.method, x.url, x.body, x.headers['x-injected'], x.headers['x-drop']]), [['POST', '/up', 'hello', 'by-filter', undefined]])
      assert.deepEqual(asked.map((a) => [a.method, a.url, a.body, a.scheme, a.sni ?? null, a.commandId]), [
        ['POST', `https://localhost:${s.secure}/up`, 'hello', 'https', 'localhost', 'cmd-filter-test-0123456789'],
        ['POST', `https://localhost:${s.secure}/no`, 'forbidden', 'https', 'localhost', 'cmd-filter-test-0123456789'],
        ['GET', `http://localhost:${s.plain}/plain`, null, 'http', null, 'cmd-filter-test-0123456789'],
      ])
      assert.match(asked[0].ua, /^curl\//)
      // onResponse saw the response before the strip.
      assert.deepEqual(responses, [[200, ['session=secret']]])
      const lines = m.getSandboxViolationStore().getViolations().map((v) => v.line)
      assert.ok(lines.includes(`deny http-request POST https://localhost:${s.secure}/no (uploads of forbidden things are refused)`), lines.join('\n'))
    } finally {
      await m.reset()
    }
  })

  it('a throwing or malformed filter denies; updateConfig replaces or removes it; a non-function is refused', async () => {
    const { SandboxManager } = await import('../lib/index.mjs')
    const s = await recordingServers()
    const m = new SandboxManager()
    const network = { allowedDomains: ['localhost'], allowPlaintextHeaderSet: true }
    await m.initialize(config({ network: { ...network, filterRequest: async () => { throw new Error('policy store is down') } } }))
    try {
      const get = `curl -sS -w ' %{http_code}\n' http://localhost:${s.plain}/x`
      let r = await wrapped(m, get)
      assert.equal(r.stdout, 'sandbox policy check failed: policy store is down\n 403\n', r.stderr)
      m.updateConfig(config({ network: { ...network, filterRequest: async () => ({ action: 'allow', setHeaders: [['x-bad', 'a\nb']] }) } }))
      r = await wrapped(m, get)
      assert.equal(r.stdout, 'malformed filterRequest decision: setHeaders holds an invalid header value\n 403\n', r.stderr)
      m.updateConfig(config({ network: { ...network, filterRequest: async () => ({ action: 'allow', setHeaders: [['authorization', 'Bearer t']] }) } }))
      r = await wrapped(m, get)
      assert.equal(r.stdout, 'seen GET /x\n 200\n', r.stderr)
      assert.equal(s.seen.at(-1).headers.authorization, 'Bearer t')
      assert.equal(typeof m.getConfig().network.filterRequest, 'function')
      m.updateConfig(config({ network }))
      r = await wrapped(m, get)
      assert.equal(r.stdout, 'seen GET /x\n 200\n', r.stderr)
      assert.equal(s.seen.at(-1).headers.authorization, undefined)
      assert.equal(s.seen.length, 2, 'the denied requests never reached the server')
      assert.throws(() => m.updateConfig(config({ network: { ...network, filterRequest: 'allow' } })), /filterRequest must be a function/)
    } finally {
      await m.reset()
    }
    const file = settingsFile(home, config({ network: { allowedDomains: [], filterRequest: 'x' } }))
    const cli = spawnSync(...kinds.native(['--settings', file, 'true']), { env, encoding: 'utf8' })
    assert.notEqual(cli.status, 0)
    assert.match(cli.stderr, /network\.filterRequest: filterRequest must be a function/)
  })

  it('an ambiguous request-target is refused before the filter is asked, unless ambiguousRequestTarget says otherwise', async () => {
    const { SandboxManager } = await import('../lib/index.mjs')
    const s = await recordingServers()
    const asked = []
    const filterRequest = async (request, info) => (asked.push(info.requestTarget), { action: 'allow' })
    const m = new SandboxManager()
    await m.initialize(config({ network: { allowedDomains: ['localhost'], filterRequest } }))
    try {
      const get = `curl -sS --path-as-is -w ' %{http_code}\n' http://localhost:${s.plain}/public/%2e%2e/admin`
      let r = await wrapped(m, get)
      assert.match(r.stdout, /^ambiguous request-target: .* 400\n$/s, r.stderr)
      assert.deepEqual(asked, [])
      m.updateConfig(config({ network: { allowedDomains: ['localhost'], filterRequest, ambiguousRequestTarget: 'normalize' } }))
      r = await wrapped(m, get)
      assert.equal(r.stdout, 'seen GET /admin\n 200\n', r.stderr)
      assert.deepEqual(asked, ['/public/%2e%2e/admin'])
    } finally {
      await m.reset()
    }
  })

  it('stripResponseHeaders works without a filter, from the CLI', async () => {
    const s = await recordingServers()
    const r = await run(`${viaProxy} curl -sS -D - -o /dev/null http://localhost:${s.plain}/h`, { allowedDomains: ['localhost'], stripResponseHeaders: ['set-cookie'] })
    assert.match(r.stdout, /x-kept: yes/i, r.stderr)
    assert.doesNotMatch(r.stdout, /set-cookie/i)
  })
})

describe('credentials: denied and masked secrets (the canary test)', () => {
  // Secrets of this run: each must appear nowhere the command or the logs can see.
  const canary = `canary-${crypto.randomBytes(28).toString('hex')}`
  const denied = `denied-${crypto.randomBytes(16).toString('hex')}`
  const inFile = `file-secret-${crypto.randomBytes(16).toString('hex')}`
  const inMasked = `masked-file-secret-${crypto.randomBytes(16).toString('hex')}`

  /** An HTTPS and a plain server that record what reaches them. */
  async function recording() {
    const seen = []
    const handler = (req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        seen.push({ url: req.url, auth: req.headers.authorization, body })
        // An echo, as some servers' error pages make: srt turns the real value back into its sentinel.
        res.end(req.url === '/echo' ? `echoed ${req.headers.authorization}\n` : 'recorded\n')
      })
    }
    return { plain: await listen(http.createServer(handler)), secure: await listen(https.createServer({ key: tls.key, cert: tls.cert }, handler)), seen }
  }

  /** Everything a command can see of its environment and its neighbours', then the requests. */
  const script = (s, file) =>
    `${viaProxy} echo "masked=$CANARY_TOKEN denied=\${CANARY_DENIED:-unset}"; ` +
    `cat ${file} 2>&1 | head -c 200; echo; cat ${file}.conf; ` +
    `curl -sS -H "Authorization: Bearer $(sed -n 's/^password=//p' ${file}.conf)" https://localhost:${s.secure}/file; ` +
    `for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ; tr '\\0' ' ' < $p/cmdline; echo; done 2>/dev/null; env; ` +
    `curl -sS -H "Authorization: Bearer $CANARY_TOKEN" -d "token=$CANARY_TOKEN" https://localhost:${s.secure}/inject; ` +
    `curl -sS -H "Authorization: Bearer $CANARY_TOKEN" http://localhost:${s.plain}/cleartext; ` +
    `curl -sS -H "Authorization: Bearer $CANARY_TOKEN" https://localhost:${s.secure}/echo; ` +
    `echo "java=$JAVA_TOOL_OPTIONS"; ` +
    `curl -sS -H "Authorization: Bearer $CANARY_TOKEN" https://denied.example/ 2>&1; ` +
    `curl -sS -H "Authorization: Bearer $CANARY_TOKEN" https://localhost:1/ 2>&1; true`

  const settings = (file) => ({
    network: { allowedDomains: ['localhost', 'localhost:1'], tlsTerminate: { extraCaCertPaths: [tls.ca] } },
    credentials: {
      envVars: [
        { name: 'CANARY_TOKEN', mode: 'mask' },
        { name: 'CANARY_DENIED', mode: 'deny' },
        // A variable srt extends: the caller's value must not come back through srt's.
        { name: 'JAVA_TOOL_OPTIONS', mode: 'deny' },
      ],
      files: [
        { path: file, mode: 'deny' },
        // Only the password is masked: the rest of the file stays as it is.
        { path: `${file}.conf`, mode: 'mask', extract: 'password=(\\S+)' },
      ],
    },
  })

  function check(r, s) {
    const everything = r.stdout + r.stderr
    for (const secret of [canary, denied, inFile, inMasked]) assert.ok(!everything.includes(secret), `a secret leaked into the command's view or srt's output:\n${everything}`)
    const sentinel = /masked=(fake_value_[0-9a-f-]+[a-z0-9_-]*) denied=unset\n/.exec(r.stdout)?.[1]
    assert.ok(sentinel, r.stdout + r.stderr)
    assert.equal(sentinel.length, canary.length, 'padded to the real length')
    assert.match(r.stdout, /\nuser=bob\npassword=fake_value_[0-9a-z_-]+\n/)
    assert.match(r.stdout, new RegExp(`recorded\nrecorded\nechoed Bearer ${sentinel}\njava=-Dhttp\\.proxyHost=`))
    // Injected in the terminated tunnel, header and body; not in cleartext.
    assert.deepEqual(s.seen, [
      { url: '/file', auth: `Bearer ${inMasked}`, body: '' },
      { url: '/inject', auth: `Bearer ${canary}`, body: `token=${canary}` },
      { url: '/cleartext', auth: `Bearer ${sentinel}`, body: '' },
      { url: '/echo', auth: `Bearer ${canary}`, body: '' },
    ])
  }

  it('the CLI: the command sees a sentinel, the injection host the real value, and nothing shows a secret (with --debug)', async () => {
    const s = await recording()
    const file = path.join(work, 'secret-file')
    fs.writeFileSync(file, `${inFile}\n`)
    fs.writeFileSync(`${file}.conf`, `user=bob\npassword=${inMasked}\n`)
    const wrap = (cmd, argv) => ['env', [`CANARY_TOKEN=${canary}`, `CANARY_DENIED=${denied}`, `JAVA_TOOL_OPTIONS=-Dpw=${denied}`, 'SRT_DEBUG=1', cmd, ...argv]]
    const r = await run(script(s, file), settings(file).network, { wrap, extra: { credentials: settings(file).credentials } })
    check(r, s)
    assert.match(r.stderr, /\[SandboxDebug\]/, 'debug output was on')
    assert.match(r.stderr, /denied\.example:443 \(host is not on the allow list\)/)
  })

  it('the library: the same, and its violations show no secret', async () => {
    const { SandboxManager } = await import('../lib/index.mjs')
    const s = await recording()
    const file = path.join(work, 'secret-file-lib')
    fs.writeFileSync(file, `${inFile}\n`)
    fs.writeFileSync(`${file}.conf`, `user=bob\npassword=${inMasked}\n`)
    process.env.CANARY_TOKEN = canary
    process.env.CANARY_DENIED = denied
    process.env.JAVA_TOOL_OPTIONS = `-Dpw=${denied}`
    const m = new SandboxManager()
    try {
      await m.initialize(config(settings(file)))
      const line = await m.wrapWithSandbox(script(s, file))
      assert.ok(!line.includes(canary) && !line.includes(denied))
      const r = await collect('/bin/sh', ['-c', line], { env: { ...env, CANARY_TOKEN: canary, CANARY_DENIED: denied, JAVA_TOOL_OPTIONS: `-Dpw=${denied}` }, cwd: work })
      check(r, s)
      const lines = m.getSandboxViolationStore().getViolations().map((v) => v.line).join('\n')
      assert.match(lines, /denied\.example/)
      assert.ok(!lines.includes(canary), lines)
    } finally {
      delete process.env.CANARY_TOKEN
      delete process.env.CANARY_DENIED
      delete process.env.JAVA_TOOL_OPTIONS
      await m.reset()
    }
  })
})

describe('credentials: AWS SigV4 re-signing', () => {
  // A compact SigV4 signer (header form), the one the client inside and the
  // fixture's verifier both use; srt's own signer is Rust, written apart.
  const sigv4 = `
const crypto = require('crypto')
const hmac = (k, d) => crypto.createHmac('sha256', k).update(d).digest()
const sha = (d) => crypto.createHash('sha256').update(d).digest('hex')
function sign({ method, path, headers, body, keyId, secret, date, region, service }) {
  const signed = Object.keys(headers).map((h) => h.toLowerCase()).sort()
  const canonical = [method, path, '', signed.map((h) => h + ':' + String(headers[h]).trim()).join('\\n') + '\\n', signed.join(';'), sha(body)].join('\\n')
  const scope = date.slice(0, 8) + '/' + region + '/' + service + '/aws4_request'
  const toSign = ['AWS4-HMAC-SHA256', date, scope, sha(canonical)].join('\\n')
  let k = hmac('AWS4' + secret, date.slice(0, 8))
  for (const p of [region, service, 'aws4_request']) k = hmac(k, p)
  return 'AWS4-HMAC-SHA256 Credential=' + keyId + '/' + scope + ', SignedHeaders=' + signed.join(';') + ', Signature=' + hmac(k, toSign).toString('hex')
}
module.exports = { sign, sha }
`
  const keyId = `AKIA${crypto.randomBytes(8).toString('hex').toUpperCase()}`
  const secret = `secret/${crypto.randomBytes(20).toString('base64')}`
  const token = `token-${crypto.randomBytes(24).toString('hex')}`

  it('a request the command signs with the masked pair reaches the server signed with the real one; nothing shows the secret', async () => {
    const lib = path.join(work, 'sigv4.cjs')
    fs.writeFileSync(lib, sigv4)
    const { sign, sha } = await import(lib)
    const seen = []
    const server = https.createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      let body = ''
      req.on('data', (d) => (body += d))
      req.on('end', () => {
        if (!req.headers.authorization) {
          // Not signed: what a command put in a body of its own.
          seen.push({ unsigned: body })
          return res.end('stored\n')
        }
        // Verify as AWS would: with the real secret, over the headers the signature names.
        const auth = req.headers.authorization
        const names = /SignedHeaders=([^,]+)/.exec(auth)[1].split(';')
        const headers = Object.fromEntries(names.map((n) => [n, req.headers[n]]))
        const date = req.headers['x-amz-date']
        const expected = sign({ method: req.method, path: req.url, headers, body, keyId, secret, date, region: 'us-east-1', service: 'sqs' })
        seen.push({ valid: auth === expected, keyId: /Credential=([^/]+)/.exec(auth)[1], token: req.headers['x-amz-security-token'], hash: req.headers['x-amz-content-sha256'] === sha(body), body })
        res.end(auth === expected ? 'signature ok\n' : 'signature mismatch\n')
      })
    })
    const port = await listen(server)
    const client = path.join(work, 'aws-client.cjs')
    fs.writeFileSync(
      client,
      `const { sign, sha } = require(${JSON.stringify(lib)})
const net = require('net'), tls = require('tls')
const body = 'Action=SendMessage&MessageBody=hello'
const date = '20261208T120000Z'
// As the AWS JS and Go SDKs do, content-length is signed too.
const headers = { host: 'localhost:${port}', 'x-amz-date': date, 'x-amz-content-sha256': sha(body), 'x-amz-security-token': process.env.AWS_SESSION_TOKEN, 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length) }
const auth = sign({ method: 'POST', path: '/queue', headers, body, keyId: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY, date, region: 'us-east-1', service: 'sqs' })
console.log('inside: ' + process.env.AWS_ACCESS_KEY_ID.slice(0, 11) + ' ' + process.env.AWS_SECRET_ACCESS_KEY.slice(0, 11))
const s = net.connect(3128, '127.0.0.1', () => s.write('CONNECT localhost:${port} HTTP/1.1\\r\\nHost: localhost:${port}\\r\\n\\r\\n'))
s.once('data', () => {
  const t = tls.connect({ socket: s, servername: 'localhost' }, () => {
    let head = 'POST /queue HTTP/1.1\\r\\nConnection: close\\r\\nAuthorization: ' + auth + '\\r\\n'
    for (const [k, v] of Object.entries(headers)) head += k + ': ' + v + '\\r\\n'
    t.end(head + '\\r\\n' + body)
  })
  let got = ''
  t.on('data', (d) => (got += d))
  t.on('end', () => console.log((/signature (ok|mismatch)/.exec(got) || ['raw: ' + JSON.stringify(got)])[0]))
  t.on('error', (e) => console.log('error: ' + e.message))
})
`,
    )
    const wrap = (cmd, argv) => ['env', [`AWS_ACCESS_KEY_ID=${keyId}`, `AWS_SECRET_ACCESS_KEY=${secret}`, `AWS_SESSION_TOKEN=${token}`, 'SRT_DEBUG=1', cmd, ...argv]]
    const network = { allowedDomains: ['localhost'], tlsTerminate: { extraCaCertPaths: [tls.ca] } }
    const credentials = { envVars: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'].map((name) => ({ name, mode: 'mask' })) }
    const r = await run(`node ${client}`, network, { wrap, extra: { credentials } })
    assert.equal(r.stdout, 'inside: fake_value_ fake_value_\nsignature ok\n', r.stderr)
    assert.deepEqual(seen, [{ valid: true, keyId, token, hash: true, body: 'Action=SendMessage&MessageBody=hello' }])
    for (const x of [secret, token, keyId]) assert.ok(!(r.stdout + r.stderr).includes(x), `${x} shown`)
    // A presigned URL with the masked key cannot be signed again: denied by default.
    const presign = `${viaProxy} curl -sS -w ' %{http_code}\\n' "https://localhost:${port}/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=$AWS_ACCESS_KEY_ID%2F20261208%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=00"`
    const p = await run(presign, network, { wrap, extra: { credentials } })
    assert.match(p.stdout, /AWS SigV4 presigned request uses a masked credential[^]*\n 403\n$/, p.stderr)
    assert.equal(seen.length, 1)
    // The secret is the signer's alone: a body that holds its sentinel keeps the sentinel.
    const store = await run(`${viaProxy} curl -sS -d "s=$AWS_SECRET_ACCESS_KEY&t=$AWS_SESSION_TOKEN" https://localhost:${port}/store`, network, { wrap, extra: { credentials } })
    assert.equal(store.stdout, 'stored\n', store.stderr)
    assert.match(seen[1].unsigned, /^s=fake_value_[^&]+&t=fake_value_/)
    assert.ok(!seen[1].unsigned.includes(secret) && !seen[1].unsigned.includes(token))
  })
})

describe('--control-fd: settings updates while the command runs', () => {
  const allowLocalhost = JSON.stringify(config({ network: { allowedDomains: ['localhost'] } }))

  /** Runs srt with `channel` as its descriptor 3; `feed(child)` writes the updates once the command waits for them. */
  function runWithChannel(script, channel, feed) {
    const file = settingsFile(home, config({ network: { allowedDomains: [] } }))
    const [cmd, argv] = kinds.native(['--control-fd', '3', '--settings', file, 'sh', '-c', `${viaProxy} ${script}`])
    const child = spawn(cmd, argv, { env, cwd: work, stdio: ['ignore', 'pipe', 'pipe', channel] })
    return new Promise((resolve, reject) => {
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => {
        stdout += d
        if (String(d).includes('WAITING')) feed(child)
      })
      child.stderr.on('data', (d) => (stderr += d))
      const timer = setTimeout(() => child.kill('SIGKILL'), 30000)
      child.on('error', reject)
      child.on('close', (status) => {
        clearTimeout(timer)
        resolve({ status, stdout, stderr })
      })
    })
  }

  // Denied until the update arrives, then allowed; the channel never reaches the command.
  const script = (port) =>
    `curl -s -o /dev/null -w 'before %{http_code}\\n' http://localhost:${port}/a; echo WAITING; ` +
    `for i in $(seq 100); do c=$(curl -s -o /dev/null -w '%{http_code}' http://localhost:${port}/b); [ "$c" = 200 ] && break; sleep 0.1; done; echo "after $c"; ` +
    `[ -e /proc/$$/fd/3 ] && echo 'fd 3 inside' || echo 'no fd 3 inside'`

  for (const kind of ['pipe', 'fifo', 'socket']) {
    it(`applies each line's network rules from the next connection, reports a bad line and goes on (${kind})`, async () => {
      const s = await webServers('controlled')
      let channel
      let write
      let cleanup = () => {}
      if (kind === 'pipe') {
        channel = 'pipe'
      } else if (kind === 'fifo') {
        const fifo = path.join(work, `control-${crypto.randomBytes(4).toString('hex')}.fifo`)
        spawnSync('mkfifo', [fifo])
        channel = fs.openSync(fifo, 'r+')
        write = (text) => fs.writeSync(channel, text)
        cleanup = () => fs.closeSync(channel)
      } else {
        const sock = path.join(work, `control-${crypto.randomBytes(4).toString('hex')}.sock`)
        const server = net.createServer()
        await new Promise((r) => server.listen(sock, r))
        const accepted = new Promise((r) => server.once('connection', r))
        const client = net.connect(sock)
        channel = await accepted
        write = (text) => client.write(text)
        cleanup = () => (client.destroy(), server.close())
      }
      const r = await runWithChannel(script(s.plain), channel, (child) => {
        const w = write ?? ((text) => child.stdio[3].write(text))
        w('this is not json\n')
        w(`${allowLocalhost}\n`)
      })
      cleanup()
      assert.equal(r.status, 0, r.stderr)
      assert.match(r.stdout, /^before 403\nWAITING\nafter 200\nno fd 3 inside\n$/, r.stderr)
      assert.match(r.stderr, /srt: invalid config on control fd 3: ignored, previous config still in force/)
      assert.deepEqual(s.hosts, [`localhost:${s.plain}`])
    })
  }

  it('refuses a descriptor it cannot read, and a number below 3, before anything starts', () => {
    const file = path.join(work, 'write-only')
    const fd = fs.openSync(file, 'w')
    const [cmd, argv] = kinds.native(['--control-fd', '3', 'sh', '-c', 'echo RAN'])
    let r = spawnSync(cmd, argv, { env, cwd: work, stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' })
    fs.closeSync(fd)
    assert.equal(r.status, 1)
    assert.doesNotMatch(r.stdout, /RAN/)
    assert.match(r.stderr, /--control-fd 3 is not usable: .*Refusing to run the command without the control channel it asks for/)
    r = spawnSync(...kinds.native(['--control-fd', '2', 'true']), { env, encoding: 'utf8' })
    assert.equal(r.status, 1)
    assert.match(r.stderr, /must be an integer file descriptor >= 3 \(0-2 are stdin, stdout and stderr\)/)
  })
})

describe('other proxies on the way out', () => {
  /** A parent proxy that records what it is asked and sends everything to `port` on loopback (listening on `socketPath` if given; TLS with `secure`). */
  async function parentProxy(port, socketPath, secure = false) {
    const seen = []
    const create = secure ? (h) => https.createServer({ key: tls.key, cert: tls.cert }, h) : (h) => http.createServer(h)
    const server = create((req, res) => {
      seen.push({ line: `${req.method} ${req.url}`, auth: req.headers['proxy-authorization'] })
      const up = http.request({ host: '127.0.0.1', port, path: new URL(req.url).pathname, method: req.method, headers: req.headers }, (r) => {
        res.writeHead(r.statusCode, r.headers)
        r.pipe(res)
      })
      req.pipe(up)
    })
    server.on('connect', (req, sock, head) => {
      seen.push({ line: `CONNECT ${req.url}`, auth: req.headers['proxy-authorization'] })
      const up = net.connect(port, '127.0.0.1', () => {
        sock.write('HTTP/1.1 200 Connection Established\r\n\r\n')
        up.write(head)
        up.pipe(sock)
        sock.pipe(up)
      })
      up.on('error', () => sock.destroy())
      sock.on('error', () => up.destroy())
    })
    if (socketPath) {
      await new Promise((r) => server.listen(socketPath, r))
      after(() => server.close())
      return { seen }
    }
    return { port: await listen(server), seen }
  }

  /** A SOCKS5 parent (no authentication, or a user name and password) that records what it is asked and sends everything to `port` on loopback. */
  async function socksParent(port) {
    const seen = []
    const server = net.createServer((c) => {
      let buf = Buffer.alloc(0)
      let stage = 'greeting'
      let user = '-'
      c.on('error', () => {})
      const onData = (d) => {
        buf = Buffer.concat([buf, d])
        for (;;) {
          if (stage === 'greeting') {
            if (buf.length < 2 || buf.length < 2 + buf[1]) return
            const method = buf.subarray(2, 2 + buf[1]).includes(2) ? 2 : 0
            buf = buf.subarray(2 + buf[1])
            c.write(Buffer.from([5, method]))
            stage = method === 2 ? 'auth' : 'request'
          } else if (stage === 'auth') {
            if (buf.length < 3 || buf.length < 3 + buf[1] || buf.length < 3 + buf[1] + buf[2 + buf[1]]) return
            const ul = buf[1]
            const pl = buf[2 + ul]
            user = `${buf.subarray(2, 2 + ul)}:${buf.subarray(3 + ul, 3 + ul + pl)}`
            buf = buf.subarray(3 + ul + pl)
            c.write(Buffer.from([1, 0]))
            stage = 'request'
          } else {
            if (buf.length < 5 || buf[3] !== 3 || buf.length < 7 + buf[4]) return
            const host = String(buf.subarray(5, 5 + buf[4]))
            const rest = buf.subarray(7 + buf[4])
            seen.push(`${host}:${buf.readUInt16BE(5 + buf[4])} ${user}`)
            c.removeListener('data', onData)
            const up = net.connect(port, '127.0.0.1', () => {
              c.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0]))
              up.write(rest)
              up.pipe(c)
              c.pipe(up)
            })
            up.on('error', () => c.destroy())
            return
          }
        }
      }
      c.on('data', onData)
    })
    return { port: await listen(server), seen }
  }

  it('https:// and socks5:// parent proxies carry tunnels and plain requests, with their credentials', async () => {
    const s = await webServers('via parent')
    const script = `curl -sS http://upstream.example/plain; curl -sS -p http://upstream.example:8443/tunnel; curl -sS --socks5-hostname localhost:1080 http://upstream.example/socks`
    // srt trusts the parent's certificate through its own SSL_CERT_FILE.
    const secure = await parentProxy(s.plain, undefined, true)
    const wrap = (cmd, argv) => ['env', [`SSL_CERT_FILE=${tls.ca}`, cmd, ...argv]]
    let r = await run(script, { allowedDomains: ['upstream.example'], parentProxy: { http: `https://u:pw@localhost:${secure.port}` } }, { wrap })
    assert.equal(r.stdout, 'via parent /plain\nvia parent /tunnel\nvia parent /socks\n', r.stderr)
    const basic = `Basic ${Buffer.from('u:pw').toString('base64')}`
    assert.deepEqual(secure.seen, [
      { line: 'GET http://upstream.example/plain', auth: basic },
      { line: 'CONNECT upstream.example:8443', auth: basic },
      { line: 'CONNECT upstream.example:80', auth: basic },
    ])
    // Without the CA, srt does not trust that parent: nothing gets through it.
    r = await run(`curl -sS -o /dev/null -w '%{http_code}\\n' http://upstream.example/plain`, { allowedDomains: ['upstream.example'], parentProxy: { http: `https://localhost:${secure.port}` } })
    assert.equal(r.stdout, '502\n', r.stderr)
    assert.equal(secure.seen.length, 3)

    const socks = await socksParent(s.plain)
    r = await run(script, { allowedDomains: ['upstream.example'], parentProxy: { http: `socks5://alice:s%3Acret@127.0.0.1:${socks.port}` } })
    assert.equal(r.stdout, 'via parent /plain\nvia parent /tunnel\nvia parent /socks\n', r.stderr)
    assert.deepEqual(socks.seen, ['upstream.example:80 alice:s:cret', 'upstream.example:8443 alice:s:cret', 'upstream.example:80 alice:s:cret'])
    // ALL_PROXY of srt's environment serves where HTTP(S)_PROXY is unset.
    const env2 = (cmd, argv) => ['env', ['-u', 'HTTP_PROXY', '-u', 'HTTPS_PROXY', `ALL_PROXY=socks5h://127.0.0.1:${socks.port}`, cmd, ...argv]]
    r = await run(`curl -sS http://upstream.example/all`, { allowedDomains: ['upstream.example'] }, { wrap: env2 })
    assert.equal(r.stdout, 'via parent /all\n', r.stderr)
    assert.equal(socks.seen.at(-1), 'upstream.example:80 -')
  })

  it('network.mitmProxy sends its domains through its Unix socket (CONNECT, SOCKS, plain), after srt judged them', async () => {
    const s = await webServers('via mitm')
    const socketPath = path.join(work, 'mitm.sock')
    const mitm = await parentProxy(s.plain, socketPath)
    const r = await run(
      `curl -sS http://api.mitm.example/plain; curl -sS -p http://api.mitm.example:8443/tunnel; ` +
        `curl -sS --socks5-hostname localhost:1080 http://api.mitm.example/socks; curl -sS -o /dev/null -w '%{http_code}\\n' http://other.mitm.example/`,
      { allowedDomains: ['api.mitm.example'], mitmProxy: { socketPath, domains: ['*.mitm.example'] } },
    )
    assert.equal(r.stdout, 'via mitm /plain\nvia mitm /tunnel\nvia mitm /socks\n403\n', r.stderr)
    assert.deepEqual(mitm.seen.map((x) => x.line), ['GET http://api.mitm.example/plain', 'CONNECT api.mitm.example:8443', 'CONNECT api.mitm.example:80'])
  })

  it('network.parentProxy carries tunnels and plain requests, with its credentials', async () => {
    const s = await webServers('via parent')
    const parent = await parentProxy(s.plain)
    const r = await run(
      `curl -sS http://upstream.example/plain; curl -sS -p http://upstream.example:8443/tunnel; curl -sS --socks5-hostname localhost:1080 http://upstream.example/socks; env | grep -c u%3Aser || true`,
      {
        allowedDomains: ['upstream.example'],
        parentProxy: { http: `http://u%3Aser:pa55@127.0.0.1:${parent.port}`, noProxy: 'bypassed.example' },
      },
    )
    assert.equal(r.stdout, 'via parent /plain\nvia parent /tunnel\nvia parent /socks\n0\n', r.stderr)
    const basic = `Basic ${Buffer.from('u:ser:pa55').toString('base64')}`
    assert.deepEqual(parent.seen, [
      { line: 'GET http://upstream.example/plain', auth: basic },
      { line: 'CONNECT upstream.example:8443', auth: basic },
      { line: 'CONNECT upstream.example:80', auth: basic },
    ])
  })

  it("the srt process's own HTTPS_PROXY and NO_PROXY are used, and never shown inside", async () => {
    const s = await webServers('env parent')
    const parent = await parentProxy(s.plain)
    const wrap = (cmd, argv) => ['env', [`HTTPS_PROXY=http://127.0.0.1:${parent.port}`, 'NO_PROXY=skip.example', cmd, ...argv]]
    const r = await run(`curl -sS -p http://upstream.example/env; curl -sS -p http://skip.example/x; echo " exit $?"; echo "inside: $HTTPS_PROXY"`, { allowedDomains: ['upstream.example', 'skip.example'] }, { wrap })
    assert.match(r.stdout, /^env parent \/env\n/, r.stderr)
    // NO_PROXY: skip.example goes direct, and there is no such name: 502 from srt, not the parent.
    assert.match(r.stdout, /CONNECT tunnel failed|exit 56/)
    assert.match(r.stdout, /inside: http:\/\/localhost:3128\n$/)
    assert.deepEqual(parent.seen.map((x) => x.line), ['CONNECT upstream.example:80'])
  })

  it('httpProxyPort and socksProxyPort hand the sandbox to external proxies, unfiltered by srt', async () => {
    const seen = []
    const external = await listen(http.createServer((req, res) => (seen.push(`${req.method} ${req.url}`), res.end('external says hi\n'))))
    const echo = await listen(net.createServer((s) => s.on('data', (d) => s.write(`echo:${d}`))))
    const script = `const s = require('net').connect(1080, '127.0.0.1', () => s.write('ping')); s.on('data', (d) => { console.log(String(d)); s.destroy() })`
    const r = await run(`curl -sS http://anything.example/x; node -e "${script}"`, { httpProxyPort: external, socksProxyPort: echo })
    assert.equal(r.stdout, 'external says hi\necho:ping\n', r.stderr)
    assert.deepEqual(seen, ['GET http://anything.example/x'])
    assert.doesNotMatch(r.stderr, /blocked/)
  })

  // A remote host, from this machine's npm configuration; skipped where it cannot be reached.
  const registry = (() => {
    const out = spawnSync('npm', ['config', 'get', 'registry'], { encoding: 'utf8' }).stdout?.trim()
    try {
      const url = new URL(out)
      const direct = spawnSync('curl', ['-sS', '-o', '/dev/null', '-m', '10', '-w', '%{http_code}', url.href], { encoding: 'utf8' })
      return direct.status === 0 && direct.stdout !== '000' ? url : null
    } catch {
      return null
    }
  })()
  it('reaches a real remote host by name through CONNECT and SOCKS, resolved and checked by srt', { skip: !registry && 'no reachable registry host' }, async () => {
    const r = await run(
      `curl -sS -o /dev/null -w '%{http_code}\\n' ${registry.href}; curl -sS -o /dev/null -w '%{http_code}\\n' --socks5-hostname localhost:1080 ${registry.href}; curl -sS -o /dev/null ${registry.protocol}//not-${registry.hostname}/; echo "exit $?"`,
      { allowedDomains: [registry.host] },
    )
    const [https1, socks, denied] = r.stdout.trim().split('\n')
    assert.match(https1, /^[1-5]\d\d$/, r.stderr)
    assert.match(socks, /^[1-5]\d\d$/, r.stderr)
    assert.notEqual(denied, 'exit 0')
    assert.match(r.stderr, /not on the allow list/)
  })
})

it("the command keeps the descriptor limit srt was given (srt raises only its own, for its tunnels)", async () => {
  const wrap = (cmd, argv) => ['sh', ['-c', 'ulimit -Sn 1000 && exec "$0" "$@"', cmd, ...argv]]
  const r = await run('ulimit -Sn', { allowedDomains: ['localhost'] }, { wrap })
  assert.equal(r.stdout, '1000\n', r.stderr)
})

it("node's built-in fetch through the proxy, given a proxy dispatcher (undici's ProxyAgent)", async () => {
  const s = await webServers('fetched')
  const undici = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'node_modules', 'undici')
  const script = path.join(work, 'fetch.cjs')
  fs.writeFileSync(
    script,
    `const { ProxyAgent, setGlobalDispatcher } = require(${JSON.stringify(undici)})
// Node 20's fetch reads no proxy variables; this is how a program points it at one.
setGlobalDispatcher(new ProxyAgent(process.env.HTTPS_PROXY))
;(async () => {
  for (const url of ['http://localhost:${s.plain}/plain', 'https://localhost:${s.secure}/tls', 'https://denied.example/']) {
    try {
      const r = await fetch(url)
      console.log(r.status, (await r.text()).trim())
    } catch (e) {
      console.log('failed:', e.cause?.message || e.message)
    }
  }
})()
`,
  )
  const r = await run(`NODE_EXTRA_CA_CERTS=${tls.ca} node ${script}`, { allowedDomains: ['localhost'] })
  assert.match(r.stdout, /^200 fetched \/plain\n200 fetched \/tls\nfailed: /, r.stdout + r.stderr)
  // undici reports a refused tunnel without the proxy's status text; srt's summary names the reason.
  assert.match(r.stderr, /denied\.example:443 \(host is not on the allow list\)/)
})
