//! The proxies over real loopback sockets, without a sandbox: raw clients
//! speak the protocols byte by byte, so the wire format is what is tested.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::clients::Clients;
use super::dial::address_refusal;
use super::*;

#[cfg(target_os = "linux")]
mod netns;

fn config(allowed: &[&str], denied: &[&str]) -> NetConfig {
    let s = |l: &[&str]| l.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut reasons = BTreeMap::new();
    reasons.insert("blocked.example".to_string(), "no blocked sites".to_string());
    NetConfig { rules: Rules::new(&s(allowed), &s(denied), reasons, false).unwrap(), ..NetConfig::default() }
}

/// A proxy on an ephemeral loopback port.
async fn start_proxy(config: NetConfig) -> (Arc<Proxy>, u16) {
    let proxy = Proxy::new(config, None);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = Arc::new(Client::new(Some("test command".into())));
    let handle = tokio::runtime::Handle::current();
    serve::spawn_listener(&handle, listener, serve::Role::Filter, proxy.clone(), Clients::One(client)).unwrap();
    (proxy, port)
}

/// A proxy whose one sandbox may hold at most `limit` connections.
fn start_capped(allowed: &[&str], limit: usize) -> u16 {
    let proxy = Proxy::new(config(allowed, &[]), None);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = Arc::new(Client::with_limit(Some("k".into()), limit));
    serve::spawn_listener(
        &tokio::runtime::Handle::current(),
        listener,
        serve::Role::Filter,
        proxy,
        Clients::One(client),
    )
    .unwrap();
    port
}

/// An upstream that answers every connection with what it read first, prefixed.
async fn echo_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&[b"echo:".as_slice(), &buf[..n]].concat()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// A proxy on loopback whose clients must present `token`, as the host's
/// loopback listeners on macOS will.
fn start_with_token(allowed: &[&str], token: &str) -> u16 {
    let proxy = Proxy::new(config(allowed, &[]), None);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tokens = clients::Tokens::new();
    tokens.insert(token.into(), Arc::new(Client::new(Some("k".into()))));
    let clients = Clients::Tokens(tokens);
    serve::spawn_listener(&tokio::runtime::Handle::current(), listener, serve::Role::Filter, proxy, clients).unwrap();
    port
}

pub(super) async fn read_head<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).await.unwrap() == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

#[tokio::test]
async fn connect_allowed_tunnels_bytes_and_denied_gets_the_reason() {
    let upstream = echo_server().await;
    let (proxy, port) = start_proxy(config(&[&format!("127.0.0.1:{upstream}")], &["blocked.example"])).await;

    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    // The first tunnel bytes come with the request: they must not be lost.
    s.write_all(format!("CONNECT 127.0.0.1:{upstream} HTTP/1.1\r\nHost: x\r\n\r\nhello").as_bytes()).await.unwrap();
    let head = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let mut got = [0u8; 10];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"echo:hello");

    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"CONNECT other.example:443 HTTP/1.1\r\n\r\n").await.unwrap();
    let head = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 403 host is not on the allow list\r\n"), "{head}");
    assert!(head.to_lowercase().contains("x-proxy-error: blocked-by-allowlist"), "{head}");

    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"CONNECT BLOCKED.example.:443 HTTP/1.1\r\n\r\n").await.unwrap();
    assert!(read_head(&mut s).await.starts_with("HTTP/1.1 403 no blocked sites\r\n"));

    // Same host, another port: not the allowed entry.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(format!("CONNECT 127.0.0.1:{} HTTP/1.1\r\n\r\n", upstream ^ 1).as_bytes()).await.unwrap();
    assert!(read_head(&mut s).await.starts_with("HTTP/1.1 403 "));

    let lines: Vec<String> = proxy.violations.recent().into_iter().map(|v| v.line).collect();
    assert_eq!(lines[0], "deny network-outbound other.example:443 (host is not on the allow list)");
    assert_eq!(lines[1], "deny network-outbound blocked.example:443 (no blocked sites)");
    assert_eq!(proxy.violations.recent()[0].command.as_deref(), Some("test command"));
}

#[tokio::test]
async fn plain_http_is_forwarded_with_its_own_hop_headers_removed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap().port();
    let seen = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let head = read_head(&mut s).await;
        s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\nX-Kept: yes\r\n\r\nok")
            .await
            .unwrap();
        head
    });
    let (_proxy, port) = start_proxy(config(&["127.0.0.1"], &[])).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let request = format!(
        "GET http://127.0.0.1:{upstream}/path?q=1 HTTP/1.1\r\nHost: evil.example\r\nProxy-Authorization: Basic eDp5\r\nConnection: close, X-Secret\r\nX-Secret: s\r\nX-Other: o\r\n\r\n"
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let head = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let lower = head.to_lowercase();
    assert!(lower.contains("x-kept: yes") && !lower.contains("keep-alive: timeout"), "{head}");
    let upstream_head = seen.await.unwrap();
    let lower = upstream_head.to_lowercase();
    assert!(upstream_head.starts_with("GET /path?q=1 HTTP/1.1\r\n"), "{upstream_head}");
    assert!(lower.contains(&format!("host: 127.0.0.1:{upstream}\r\n")), "{upstream_head}");
    assert!(lower.contains("x-other: o"), "{upstream_head}");
    assert!(!lower.contains("proxy-authorization") && !lower.contains("x-secret"), "{upstream_head}");

    // A denied plain request: 403 with the reason, nothing dialed.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET http://denied.example/ HTTP/1.1\r\nHost: denied.example\r\n\r\n").await.unwrap();
    let head = read_head(&mut s).await;
    assert!(head.starts_with("HTTP/1.1 403 host is not on the allow list"), "{head}");
}

async fn socks_connect(port: u16, request: &[u8]) -> (TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(&[5, 1, 0]).await.unwrap();
    let mut choice = [0u8; 2];
    s.read_exact(&mut choice).await.unwrap();
    assert_eq!(choice, [5, 0]);
    s.write_all(request).await.unwrap();
    let mut reply = vec![0u8; 10];
    s.read_exact(&mut reply).await.unwrap();
    (s, reply)
}

#[tokio::test]
async fn socks5_connects_allowed_names_and_refuses_with_rule_codes() {
    let upstream = echo_server().await;
    let (_proxy, port) = start_proxy(config(&["localhost"], &[])).await;
    let p = upstream.to_be_bytes();
    let mut req = vec![5, 1, 0, 3, 9];
    req.extend_from_slice(b"localhost");
    req.extend_from_slice(&p);
    let (mut s, reply) = socks_connect(port, &req).await;
    assert_eq!(reply[1], 0, "granted");
    s.write_all(b"hi").await.unwrap();
    let mut got = [0u8; 7];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"echo:hi");

    // 127.0.0.1 is not "localhost" to the lists: refused, code 2.
    let (_, reply) = socks_connect(port, &[5, 1, 0, 1, 127, 0, 0, 1, p[0], p[1]]).await;
    assert_eq!(reply[1], 2);
    // BIND and UDP ASSOCIATE are not offered.
    let (_, reply) = socks_connect(port, &[5, 2, 0, 1, 127, 0, 0, 1, p[0], p[1]]).await;
    assert_eq!(reply[1], 7);
    // A client offering only GSSAPI is told no acceptable method.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(&[5, 1, 1]).await.unwrap();
    let mut choice = [0u8; 2];
    s.read_exact(&mut choice).await.unwrap();
    assert_eq!(choice, [5, 0xff]);
}

#[tokio::test]
async fn updated_rules_apply_to_the_next_connection() {
    let upstream = echo_server().await;
    let (proxy, port) = start_proxy(config(&[], &[])).await;
    let connect = || async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(format!("CONNECT 127.0.0.1:{upstream} HTTP/1.1\r\n\r\n").as_bytes()).await.unwrap();
        read_head(&mut s).await
    };
    assert!(connect().await.starts_with("HTTP/1.1 403"));
    proxy.update_config(config(&["127.0.0.1"], &[])).unwrap();
    assert!(connect().await.starts_with("HTTP/1.1 200"));
}

#[test]
fn the_guard_refuses_forbidden_addresses_of_allowed_names() {
    let c = config(&["*.example.test", "10.1.2.3:443"], &["192.0.2.7"]);
    let own: Vec<std::net::IpAddr> = vec!["192.168.5.5".parse().unwrap()];
    // The kernel routes 198.51.100.0/24 here (AnyIP), though no interface has it.
    let anyip = |ip: std::net::IpAddr| matches!(ip, std::net::IpAddr::V4(a) if a.octets()[..3] == [198, 51, 100]);
    let refusal = |name: &str, ip: &str, port| address_refusal(name, ip.parse().unwrap(), port, &c, &own, &anyip);
    assert_eq!(refusal("a.example.test", "127.0.0.1", 443).as_deref(), Some("a loopback address"));
    assert_eq!(refusal("a.example.test", "::ffff:127.0.0.1", 443).as_deref(), Some("a loopback address"));
    assert_eq!(refusal("a.example.test", "169.254.169.254", 80).as_deref(), Some("a cloud metadata endpoint"));
    assert_eq!(refusal("a.example.test", "fd00:ec2::254", 80).as_deref(), Some("a cloud metadata endpoint"));
    assert_eq!(refusal("a.example.test", "192.168.5.5", 80).as_deref(), Some("an address of this host"));
    assert_eq!(refusal("a.example.test", "192.0.2.7", 80).as_deref(), Some("a deny-listed address"));
    // ... in every IPv6 form that carries it (DNS64 answers with NAT64 ones).
    assert_eq!(refusal("a.example.test", "64:ff9b::c000:207", 80).as_deref(), Some("a deny-listed address"));
    assert_eq!(refusal("a.example.test", "::ffff:192.0.2.7", 80).as_deref(), Some("a deny-listed address"));
    assert_eq!(refusal("a.example.test", "93.184.216.34", 443), None);
    // An address the allow list names (on its port) may be reached through a name.
    assert_eq!(refusal("a.example.test", "10.1.2.3", 443), None);
    // localhost means this machine's loopback and nothing else.
    assert_eq!(refusal("localhost", "127.0.0.1", 80), None);
    assert_eq!(refusal("app.localhost", "::1", 80), None);
    assert_eq!(refusal("localhost", "93.184.216.34", 80).as_deref(), Some("a non-loopback address"));
    let by_route = Some("an address local to this host by route");
    assert_eq!(refusal("a.example.test", "198.51.100.7", 443).as_deref(), by_route);
    assert_eq!(refusal("a.example.test", "198.51.101.7", 443), None);
}

/// Starts a proxy whose connections are attributed to `key`, with an optional ask hook.
async fn start_for(proxy: Arc<Proxy>, key: &str) -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = Arc::new(Client::with_list(Some(key.into()), Some(key.into())));
    serve::spawn_listener(
        &tokio::runtime::Handle::current(),
        listener,
        serve::Role::Filter,
        proxy,
        Clients::One(client),
    )
    .unwrap();
    port
}

async fn connect_status(port: u16, target: &str, extra: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(format!("CONNECT {target} HTTP/1.1\r\n{extra}\r\n").as_bytes()).await.unwrap();
    read_head(&mut s).await.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn per_command_lists_follow_the_listener_not_the_proxy_username() {
    let upstream = echo_server().await;
    let proxy = Proxy::new(config(&[], &[]), None);
    proxy.register_command("command-a", &[format!("localhost:{upstream}")]).unwrap();
    let a = start_for(proxy.clone(), "command-a").await;
    let b = start_for(proxy.clone(), "command-b").await;
    let target = format!("localhost:{upstream}");
    assert!(connect_status(a, &target, "").await.starts_with("HTTP/1.1 200"));
    // "srt.Y29tbWFuZC1h" is the original's username for command-a: it does not make b into a.
    let spoof = "Proxy-Authorization: Basic c3J0LlkyOXRiV0Z1WkMxaDp0b2tlbg==\r\n";
    assert_eq!(connect_status(b, &target, spoof).await, "HTTP/1.1 403 host is not on the allow list");
    let v = proxy.violations.recent();
    assert_eq!(v.last().unwrap().command.as_deref(), Some("command-b"));
    proxy.unregister_command("command-a");
    assert!(connect_status(a, &target, "").await.starts_with("HTTP/1.1 403"));
    assert!(proxy.register_command("x", &["*.com".into()]).is_err());
}

struct Answer(AskAnswer, std::sync::atomic::AtomicUsize);

impl Ask for Answer {
    fn ask(&self, _host: String, _port: u16) -> Pin<Box<dyn Future<Output = AskAnswer> + Send>> {
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let answer = self.0.clone();
        Box::pin(async move {
            tokio::task::yield_now().await;
            answer
        })
    }
}

#[tokio::test]
async fn the_ask_hook_decides_what_no_list_did() {
    let upstream = echo_server().await;
    let target = format!("localhost:{upstream}");
    let cases = [
        (AskAnswer::Allow, "HTTP/1.1 200 OK"),
        (AskAnswer::Deny(Some("not today".into())), "HTTP/1.1 403 not today"),
        (AskAnswer::Deny(None), "HTTP/1.1 403 user denied"),
        (AskAnswer::Failed, "HTTP/1.1 403 permission prompt failed"),
    ];
    for (answer, expected) in cases {
        let hook = Arc::new(Answer(answer, Default::default()));
        let proxy = Proxy::new(config(&[], &["blocked.example"]), Some(hook.clone()));
        let port = start_for(proxy.clone(), "k").await;
        assert_eq!(connect_status(port, &target, "").await, expected);
        // The deny list is never put to the hook.
        assert_eq!(connect_status(port, "blocked.example:443", "").await, "HTTP/1.1 403 no blocked sites");
        assert_eq!(hook.1.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
    // strictAllowlist: unmatched hosts are denied without asking.
    let hook = Arc::new(Answer(AskAnswer::Allow, Default::default()));
    let mut strict = config(&[], &[]);
    strict.rules.strict = true;
    let port = start_for(Proxy::new(strict, Some(hook.clone())), "k").await;
    assert_eq!(connect_status(port, &target, "").await, "HTTP/1.1 403 host is not on the allow list");
    assert_eq!(hook.1.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[tokio::test]
async fn refuse_opaque_tunnels_refuses_connect_and_socks() {
    let upstream = echo_server().await;
    let mut c = config(&["localhost"], &[]);
    c.refuse_opaque_tunnels = true;
    let proxy = Proxy::new(c, None);
    let port = start_for(proxy.clone(), "k").await;
    let status = connect_status(port, &format!("localhost:{upstream}"), "").await;
    assert_eq!(status, "HTTP/1.1 403 this proxy does not tunnel CONNECTs it cannot inspect");
    let p = upstream.to_be_bytes();
    let mut req = vec![5, 1, 0, 3, 9];
    req.extend_from_slice(b"localhost");
    req.extend_from_slice(&p);
    let (_, reply) = socks_connect(port, &req).await;
    assert_eq!(reply[1], 1, "general failure");
    assert!(proxy.violations.recent()[1].line.ends_with("(refuseOpaqueTunnels)"));
    // An HTTP upgrade is as opaque once the server says 101: refused before it is sent.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let req = format!("GET http://localhost:{upstream}/ HTTP/1.1\r\nHost: localhost\r\nConnection: upgrade\r\nUpgrade: anything\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let head = read_head(&mut s).await;
    assert!(
        head.starts_with("HTTP/1.1 403 this proxy does not tunnel upgraded connections it cannot inspect"),
        "{head}"
    );
}

#[tokio::test]
async fn tunnels_count_against_the_connection_cap_for_as_long_as_they_last() {
    let upstream = echo_server().await;
    let port = start_capped(&["localhost"], 2);
    let mut tunnels = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(format!("CONNECT localhost:{upstream} HTTP/1.1\r\n\r\n").as_bytes()).await.unwrap();
        assert!(read_head(&mut s).await.starts_with("HTTP/1.1 200"));
        tunnels.push(s);
    }
    // Both tunnels are open (the connections became tunnels): a third connection is over the cap.
    let mut third = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(std::time::Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "over the cap: closed ({n:?})");
    // The tunnels still work; once they end, their places are free again.
    tunnels[0].write_all(b"x").await.unwrap();
    let n = tunnels[0].read(&mut buf).await.unwrap();
    assert_eq!(&buf[..n], b"echo:x");
    drop(tunnels);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut again = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    again.write_all(format!("CONNECT localhost:{upstream} HTTP/1.1\r\n\r\n").as_bytes()).await.unwrap();
    assert!(read_head(&mut again).await.starts_with("HTTP/1.1 200"), "served again");
}

#[tokio::test]
async fn tunnels_carry_large_streams_and_pass_on_half_closes() {
    // Counts and checksums what it receives until end of stream, then answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut count, mut sum) = (0u64, 0u64);
                let mut buf = vec![0u8; 65536];
                loop {
                    let n = s.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    count += n as u64;
                    sum = buf[..n].iter().fold(sum, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(*b)));
                }
                s.write_all(format!("{count} {sum}").as_bytes()).await.unwrap();
            });
        }
    });
    let (_proxy, port) = start_proxy(config(&["127.0.0.1"], &[])).await;
    let payload: Vec<u8> = (0..8_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let expected = payload.iter().fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(*b)));
    for socks in [false, true] {
        let mut s = if socks {
            let p = upstream.to_be_bytes();
            let (s, reply) = socks_connect(port, &[5, 1, 0, 1, 127, 0, 0, 1, p[0], p[1]]).await;
            assert_eq!(reply[1], 0);
            s
        } else {
            let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            s.write_all(format!("CONNECT 127.0.0.1:{upstream} HTTP/1.1\r\n\r\n").as_bytes()).await.unwrap();
            assert!(read_head(&mut s).await.starts_with("HTTP/1.1 200"));
            s
        };
        s.write_all(&payload).await.unwrap();
        // Our half-close must reach the server, and its answer come back after it.
        s.shutdown().await.unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.unwrap();
        assert_eq!(answer, format!("{} {expected}", payload.len()), "socks: {socks}");
    }
}

#[tokio::test]
async fn tcp_urgent_data_does_not_stall_or_cut_a_tunnel() {
    use std::os::fd::AsRawFd;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        s.write_all(b"AAAA").await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        nix::sys::socket::send(s.as_raw_fd(), b"B", nix::sys::socket::MsgFlags::MSG_OOB).unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        s.write_all(b"CDEF and more").await.unwrap();
    });
    let (_proxy, port) = start_proxy(config(&["127.0.0.1"], &[])).await;
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(format!("CONNECT 127.0.0.1:{upstream} HTTP/1.1\r\n\r\n").as_bytes()).await.unwrap();
    assert!(read_head(&mut s).await.starts_with("HTTP/1.1 200"));
    let mut got = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the tunnel stalled after {:?}", String::from_utf8_lossy(&got));
    // The urgent byte itself is out of band (not part of the stream); the rest arrives.
    assert_eq!(String::from_utf8_lossy(&got), "AAAACDEF and more");
}

#[tokio::test]
async fn a_malformed_host_is_recorded_escaped() {
    let (proxy, port) = start_proxy(config(&[], &[])).await;
    let name = "a\u{202e}moc.x\u{2028}".as_bytes();
    let mut req = vec![5, 1, 0, 3, name.len() as u8];
    req.extend_from_slice(name);
    req.extend_from_slice(&[0, 80]);
    let (_, reply) = socks_connect(port, &req).await;
    assert_eq!(reply[1], 2);
    let line = &proxy.violations.recent()[0].line;
    assert_eq!(line, "deny network-outbound a\\u{202e}moc.x\\u{2028}:80 (malformed host)");
}

#[tokio::test]
async fn connections_are_capped_per_sandbox_and_slow_heads_are_dropped() {
    let port = start_capped(&["127.0.0.1"], 2);
    // Two connections that started a request head and stalled.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(b"GET http://127.0.0.1/ HT").await.unwrap();
        held.push(s);
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    // A third is closed at once.
    let mut third = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(std::time::Duration::from_millis(500), third.read(&mut buf)).await;
    assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "over the cap: closed ({n:?})");
    // The stalled heads are cut off by the head timeout, which frees their places.
    for s in &mut held {
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), s.read(&mut buf)).await;
        assert!(n.is_ok(), "a stalled head is dropped");
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let mut again = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    again.write_all(b"CONNECT 127.0.0.1:1 HTTP/1.1\r\n\r\n").await.unwrap();
    assert!(read_head(&mut again).await.starts_with("HTTP/1.1 "), "served again");
}

#[tokio::test]
async fn bad_targets_and_unreachable_destinations_get_the_rfc_answers() {
    // A port nothing listens on, kept bound (not listening) so that no other
    // test running meanwhile can take it.
    let (closed, _reserved) = reserved_closed_port();
    let (_proxy, port) = start_proxy(config(&["127.0.0.1", "localhost"], &[])).await;
    assert_eq!(connect_status(port, "127.0.0.1", "").await, "HTTP/1.1 400 Bad Request", "no port");
    assert_eq!(connect_status(port, "127.0.0.1:0", "").await, "HTTP/1.1 400 Bad Request", "port 0");
    assert_eq!(connect_status(port, &format!("127.0.0.1:{closed}"), "").await, "HTTP/1.1 502 Bad Gateway");
    // SOCKS: an unknown address type is 8, an unreachable destination 4.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(&[5, 1, 0]).await.unwrap();
    let mut choice = [0u8; 2];
    s.read_exact(&mut choice).await.unwrap();
    s.write_all(&[5, 1, 0, 9, 0, 0]).await.unwrap();
    let mut reply = [0u8; 10];
    s.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply[1], 8);
    let p = closed.to_be_bytes();
    let (_, reply) = socks_connect(port, &[5, 1, 0, 1, 127, 0, 0, 1, p[0], p[1]]).await;
    assert_eq!(reply[1], 4);
    // An origin-form request is not a proxy request.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n").await.unwrap();
    assert!(read_head(&mut s).await.starts_with("HTTP/1.1 400"));
}

/// A loopback port bound but not listening: connecting to it is refused.
fn reserved_closed_port() -> (u16, std::os::fd::OwnedFd) {
    use nix::sys::socket::{bind, getsockname, socket, AddressFamily, SockFlag, SockType, SockaddrIn};
    use std::os::fd::AsRawFd;
    #[cfg(target_os = "linux")]
    let flags = SockFlag::SOCK_CLOEXEC;
    #[cfg(not(target_os = "linux"))]
    let flags = SockFlag::empty();
    let fd = socket(AddressFamily::Inet, SockType::Stream, flags, None).unwrap();
    bind(fd.as_raw_fd(), &SockaddrIn::new(127, 0, 0, 1, 0)).unwrap();
    let bound: SockaddrIn = getsockname(fd.as_raw_fd()).unwrap();
    (bound.port(), fd)
}

/// Everything the proxy sends on `s` until it closes the connection. The
/// timeout only keeps a proxy that never closes from hanging the test.
async fn read_until_closed(s: &mut TcpStream) -> String {
    let mut all = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut all)).await;
    assert!(matches!(read, Ok(Ok(_))), "not closed ({read:?}) after {:?}", String::from_utf8_lossy(&all));
    String::from_utf8_lossy(&all).into_owned()
}

#[tokio::test]
async fn a_refused_http_request_ends_its_connection() {
    let (proxy, port) = start_proxy(config(&[], &[])).await;
    let requests = [
        ("CONNECT denied.example:443 HTTP/1.1\r\nHost: denied.example:443\r\n\r\n", "HTTP/1.1 403 "),
        ("GET http://denied.example/ HTTP/1.1\r\nHost: denied.example\r\n\r\n", "HTTP/1.1 403 "),
        ("CONNECT denied.example HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "),
        ("GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 "),
    ];
    for (request, status) in requests {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        // The same request again right behind it: a connection that ends
        // after the refusal never answers it. (The idle timeout would close
        // a kept-alive one too, but only after answering both.)
        s.write_all(format!("{request}{request}").as_bytes()).await.unwrap();
        let all = read_until_closed(&mut s).await;
        assert!(all.starts_with(status), "{all}");
        assert_eq!(all.matches("HTTP/1.1 ").count(), 1, "one answer, then the end: {all}");
        assert!(all.to_lowercase().contains("\r\nconnection: close\r\n"), "{all}");
    }
    // Each denied request was judged once: the repeats were never read.
    assert_eq!(proxy.violations.recent().len(), 2);
}

#[tokio::test]
async fn a_refused_socks_request_ends_its_connection() {
    let (_proxy, port) = start_proxy(config(&[], &[])).await;
    let mut req = vec![5, 1, 0, 3, 14];
    req.extend_from_slice(b"denied.example");
    req.extend_from_slice(&[0, 80]);
    let (mut s, reply) = socks_connect(port, &req).await;
    assert_eq!(reply[1], 2, "not allowed");
    assert_eq!(read_until_closed(&mut s).await, "", "nothing after the reply but the end");
    // SOCKS4 is refused outright, and closed as well.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(&[4, 1, 0, 80, 93, 184, 216, 34, 0]).await.unwrap();
    assert_eq!(read_until_closed(&mut s).await.as_bytes(), [0, 0x5b, 0, 0, 0, 0, 0, 0]);
}

#[tokio::test]
async fn a_proxy_that_needs_a_token_admits_only_the_clients_that_present_it() {
    let upstream = echo_server().await;
    let port = start_with_token(&[&format!("127.0.0.1:{upstream}")], "t0k");
    let basic = |pair: &str| format!("Proxy-Authorization: Basic {}\r\n", crate::base64::encode(pair.as_bytes()));
    for (credentials, status) in [
        (String::new(), "407"),
        (basic("srt:nope"), "407"),
        (basic("srt:t0k0"), "407"),
        (basic("srt:t0"), "407"),
        ("Proxy-Authorization: Bearer t0k\r\n".to_string(), "407"),
        (basic("anyone:t0k"), "200"),
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request =
            format!("CONNECT 127.0.0.1:{upstream} HTTP/1.1\r\nHost: 127.0.0.1:{upstream}\r\n{credentials}\r\n");
        s.write_all(request.as_bytes()).await.unwrap();
        let head = read_head(&mut s).await;
        assert!(head.starts_with(&format!("HTTP/1.1 {status}")), "{credentials:?}: {head}");
        if status == "407" {
            assert!(head.to_ascii_lowercase().contains("proxy-authenticate: basic realm=\"srt\""), "{head}");
            continue;
        }
        s.write_all(b"hi").await.unwrap();
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"echo:hi");
    }
    // SOCKS5: no authentication is not offered, and only the token's password passes.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(&[5, 1, 0]).await.unwrap();
    let mut answer = [0u8; 2];
    s.read_exact(&mut answer).await.unwrap();
    assert_eq!(answer, [5, 0xff]);
    for (password, ok) in [(&b"nope"[..], false), (b"t0k", true)] {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(&[5, 1, 2]).await.unwrap();
        s.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer, [5, 2]);
        let mut auth = vec![1, 3];
        auth.extend_from_slice(b"srt");
        auth.push(password.len() as u8);
        auth.extend_from_slice(password);
        s.write_all(&auth).await.unwrap();
        s.read_exact(&mut answer).await.unwrap();
        assert_eq!(answer, [1, if ok { 0 } else { 1 }]);
        if !ok {
            continue;
        }
        let mut request = vec![5, 1, 0, 1, 127, 0, 0, 1];
        request.extend_from_slice(&upstream.to_be_bytes());
        s.write_all(&request).await.unwrap();
        let mut reply = [0u8; 10];
        s.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply[1], 0, "granted");
        s.write_all(b"hi").await.unwrap();
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"echo:hi");
    }
}

#[tokio::test]
async fn one_loopback_listener_tells_its_commands_apart_by_their_secrets() {
    let proxy = Proxy::new(config(&[], &[]), None);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let tokens = clients::Tokens::new();
    tokens.insert("first-secret".into(), Arc::new(Client::new(Some("first command".into()))));
    tokens.insert("second-secret".into(), Arc::new(Client::new(Some("second command".into()))));
    let handle = tokio::runtime::Handle::current();
    serve::spawn_listener(&handle, listener, serve::Role::Filter, proxy.clone(), Clients::Tokens(tokens)).unwrap();
    let basic = |pair: &str| format!("Proxy-Authorization: Basic {}\r\n", crate::base64::encode(pair.as_bytes()));
    for (secret, host) in
        [("first-secret", "one.example"), ("second-secret", "two.example"), ("third", "three.example")]
    {
        let head = connect_status(port, &format!("{host}:443"), &basic(&format!("srt:{secret}"))).await;
        let expected = if secret == "third" { "HTTP/1.1 407" } else { "HTTP/1.1 403" };
        assert!(head.starts_with(expected), "{secret}: {head}");
    }
    let seen: Vec<(String, Option<String>)> =
        proxy.violations.recent().into_iter().map(|v| (v.line, v.command)).collect();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].0.contains("one.example") && seen[0].1.as_deref() == Some("first command"), "{seen:?}");
    assert!(seen[1].0.contains("two.example") && seen[1].1.as_deref() == Some("second command"), "{seen:?}");
}

#[tokio::test]
async fn require_host_match_refuses_a_plain_request_whose_host_names_another_destination() {
    let upstream = echo_server().await;
    let mut net = config(&["127.0.0.1"], &[]);
    net.require_host_match = true;
    let (proxy, port) = start_proxy(net).await;
    for (host, status) in [("elsewhere.example", "421"), (&*format!("127.0.0.1:{upstream}"), "200")] {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let request = format!("GET http://127.0.0.1:{upstream}/ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes()).await.unwrap();
        let head = read_head(&mut s).await;
        // The echo server answers with what it read, which is no HTTP: only the refusal is checked.
        if status == "421" {
            assert!(head.starts_with("HTTP/1.1 421"), "{host}: {head}");
        } else {
            assert!(!head.starts_with("HTTP/1.1 421"), "{host}: {head}");
        }
    }
    assert_eq!(proxy.violations.recent().len(), 1);
}

/// A stand-in for the caller's inspecting proxy on a Unix socket: it grants
/// CONNECTs and echoes what the tunnel carries, prefixed; it answers a plain
/// request with its request line. Hands over each head it read.
fn unix_proxy(dir: &std::path::Path) -> (std::path::PathBuf, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let path = dir.join("mitm.sock");
    let listener = tokio::net::UnixListener::bind(&path).unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            let tx = tx.clone();
            tokio::spawn(async move {
                let head = read_head(&mut s).await;
                if !head.ends_with("\r\n\r\n") {
                    return;
                }
                let line = head.lines().next().unwrap_or_default().to_string();
                let _ = tx.send(head);
                if line.starts_with("CONNECT ") {
                    s.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await.unwrap();
                    let mut buf = vec![0u8; 4096];
                    while let Ok(n) = s.read(&mut buf).await {
                        if n == 0 || s.write_all(&[b"mitm:".as_slice(), &buf[..n]].concat()).await.is_err() {
                            return;
                        }
                    }
                } else {
                    let answer = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{line}", line.len());
                    let _ = s.write_all(answer.as_bytes()).await;
                }
            });
        }
    });
    (path, rx)
}

#[tokio::test]
async fn mitm_proxy_domains_go_through_its_unix_socket_and_the_rest_does_not() {
    let dir = tempfile_dir("mitm");
    let (socket, mut heads) = unix_proxy(&dir);
    let upstream = echo_server().await;
    let mut net = config(&["*.mitm.test", &format!("127.0.0.1:{upstream}")], &["denied.mitm.test"]);
    net.mitm = Some(
        mitm::MitmRoute::from_settings(&crate::config::MitmProxySettings {
            socket_path: socket.display().to_string(),
            domains: vec!["*.mitm.test".into()],
        })
        .unwrap(),
    );
    let (_proxy, port) = start_proxy(net).await;

    // CONNECT, by name: the name reaches the other proxy unresolved.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"CONNECT api.mitm.test:443 HTTP/1.1\r\nHost: api.mitm.test:443\r\n\r\nhi").await.unwrap();
    assert!(read_head(&mut s).await.starts_with("HTTP/1.1 200"));
    let mut got = [0u8; 7];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"mitm:hi");
    assert!(heads.recv().await.unwrap().starts_with("CONNECT api.mitm.test:443 HTTP/1.1\r\n"));

    // SOCKS5 too.
    let (mut s, reply) = socks_connect(port, b"\x05\x01\x00\x03\x0dapi.mitm.test\x01\xbb").await;
    assert_eq!(reply[1], 0, "{reply:?}");
    s.write_all(b"yo").await.unwrap();
    let mut got = [0u8; 7];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"mitm:yo");
    assert!(heads.recv().await.unwrap().starts_with("CONNECT api.mitm.test:443 HTTP/1.1\r\n"));

    // A plain request, in absolute form.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET http://api.mitm.test/x?y HTTP/1.1\r\nHost: api.mitm.test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_until_closed(&mut s).await;
    assert!(answer.ends_with("\r\n\r\nGET http://api.mitm.test/x?y HTTP/1.1"), "{answer}");
    assert!(heads.recv().await.unwrap().starts_with("GET http://api.mitm.test/x?y HTTP/1.1\r\n"));

    // srt still judges first; other hosts go their own way.
    assert!(connect_status(port, "denied.mitm.test:443", "").await.starts_with("HTTP/1.1 403"));
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(format!("CONNECT 127.0.0.1:{upstream} HTTP/1.1\r\n\r\nhi").as_bytes()).await.unwrap();
    assert!(read_head(&mut s).await.starts_with("HTTP/1.1 200"));
    let mut got = [0u8; 7];
    s.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"echo:hi");
    assert!(heads.try_recv().is_err(), "only the matching hosts reached the socket");
    let _ = std::fs::remove_dir_all(dir);
}

/// A fresh directory under the system's temporary directory.
fn tempfile_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("srt-test-{tag}-{}", crate::sys::random_hex(8).unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
