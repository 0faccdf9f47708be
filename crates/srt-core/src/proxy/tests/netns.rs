//! The guard against addresses that are local by route, in a network
//! namespace of the test's own: there a `local` route for 198.51.100.0/24
//! (AnyIP) can be added without touching the host. Needs root; skipped with
//! the reason otherwise.

use std::net::IpAddr;
use std::process::Command;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::{config, connect_status, read_head, socks_connect, start_proxy};
use crate::proxy::route::{lookup, Answer, RTN_LOCAL};

/// Run inside the namespace: lo up, the AnyIP routes, and a hosts file
/// naming the test's addresses bound over /etc/hosts (in a private mount
/// namespace). IPv6 is tested where the namespace has it.
const SETUP: &str = r#"set -e
ip link set lo up
ip route add local 198.51.100.0/24 dev lo
if ip -6 route add local 2001:db8:7::/64 dev lo 2>/dev/null; then export SRT_NETNS_V6=1; fi
mount --bind "$SRT_NETNS_HOSTS" /etc/hosts
exec "$0" --exact "$1" --ignored --nocapture --test-threads=1"#;

const HOSTS: &str = "198.51.100.7 anyip.srt.test\n2001:db8:7::7 anyip6.srt.test\n203.0.113.5 elsewhere.srt.test\n";

/// Why the namespace cannot be made here, if it cannot.
fn cannot_run() -> Option<String> {
    if crate::sys::euid() != 0 {
        return Some("not root".into());
    }
    let works =
        |program: &str, args: &[&str]| Command::new(program).args(args).output().is_ok_and(|o| o.status.success());
    if !works("ip", &["-V"]) {
        return Some("no `ip` command".into());
    }
    if !works("unshare", &["-n", "-m", "true"]) {
        return Some("`unshare -n -m` is unavailable or not permitted".into());
    }
    None
}

#[test]
fn addresses_local_by_route_are_refused_in_a_private_network_namespace() {
    if let Some(reason) = cannot_run() {
        eprintln!("skipped: {reason}");
        return;
    }
    let hosts = std::env::temp_dir().join(format!("srt-netns-hosts-{}", std::process::id()));
    std::fs::write(&hosts, HOSTS).unwrap();
    let inner = format!("{}::inside_the_namespace", module_path!().split_once("::").unwrap().1);
    let out = Command::new("unshare")
        .args(["-n", "-m", "sh", "-c", SETUP])
        .arg(std::env::current_exe().unwrap())
        .arg(&inner)
        .env("SRT_NETNS_HOSTS", &hosts)
        .env("SRT_NETNS_INSIDE", "1")
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&hosts);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{report}");
    // The inner test ran (a filter that matched nothing would also succeed).
    assert!(stdout.contains("test result: ok. 1 passed"), "{report}");
}

#[tokio::test]
#[ignore = "run by addresses_local_by_route_are_refused_in_a_private_network_namespace, inside the namespace"]
async fn inside_the_namespace() {
    if std::env::var_os("SRT_NETNS_INSIDE").is_none() {
        eprintln!("skipped: only meaningful inside the namespace the outer test makes");
        return;
    }
    let anyip: IpAddr = "198.51.100.7".parse().unwrap();
    // The kernel routes it here, though no interface has it: the interface
    // check alone would let it through.
    assert_eq!(lookup(anyip).unwrap(), Answer::Route(RTN_LOCAL));
    assert_eq!(lookup("::ffff:198.51.100.7".parse().unwrap()).unwrap(), Answer::Route(RTN_LOCAL));
    assert!(matches!(lookup("203.0.113.5".parse().unwrap()).unwrap(), Answer::NoRoute(_)));
    let on_interfaces: Vec<IpAddr> = nix::ifaddrs::getifaddrs()
        .unwrap()
        .filter_map(|a| a.address.and_then(|s| s.as_sockaddr_in().map(|v4| IpAddr::V4(v4.ip()))))
        .collect();
    assert!(!on_interfaces.contains(&anyip), "{on_interfaces:?}");
    let resolved: Vec<IpAddr> = tokio::net::lookup_host(("anyip.srt.test", 0)).await.unwrap().map(|a| a.ip()).collect();
    assert_eq!(resolved, vec![anyip], "the test's hosts file is not what the resolver reads");

    // A service listening on every address of this host is reached through it.
    let server = TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = server.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = server.accept().await {
            let _ = s.write_all(b"host service").await;
        }
    });
    let mut direct = TcpStream::connect((anyip, port)).await.unwrap();
    let mut got = [0u8; 12];
    direct.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"host service");

    // Through the proxy, an allowed name that resolves to it is refused:
    // CONNECT, a plain request (the pool's dial) and SOCKS5.
    let (proxy, proxy_port) = start_proxy(config(&["*.srt.test"], &[])).await;
    let refused = "HTTP/1.1 403 resolved to an address local to this host by route";
    assert_eq!(connect_status(proxy_port, &format!("anyip.srt.test:{port}"), "").await, refused);
    let mut s = TcpStream::connect(("127.0.0.1", proxy_port)).await.unwrap();
    let request = format!("GET http://anyip.srt.test:{port}/ HTTP/1.1\r\nHost: anyip.srt.test\r\n\r\n");
    s.write_all(request.as_bytes()).await.unwrap();
    let head = read_head(&mut s).await;
    assert!(head.starts_with(&format!("{refused}\r\n")), "{head}");
    let mut req = vec![5, 1, 0, 3, 14];
    req.extend_from_slice(b"anyip.srt.test");
    req.extend_from_slice(&port.to_be_bytes());
    assert_eq!(socks_connect(proxy_port, &req).await.1[1], 2, "SOCKS5: not allowed");
    let line = &proxy.violations.recent()[0].line;
    assert!(line.ends_with("(resolved to an address local to this host by route)"), "{line}");

    // An address the kernel has no route for passes the guard; its dial
    // fails (502), which shows the refusal above came from the route.
    let status = connect_status(proxy_port, &format!("elsewhere.srt.test:{port}"), "").await;
    assert_eq!(status, "HTTP/1.1 502 Bad Gateway");

    if std::env::var_os("SRT_NETNS_V6").is_some() {
        assert_eq!(lookup("2001:db8:7::7".parse().unwrap()).unwrap(), Answer::Route(RTN_LOCAL));
        assert_eq!(connect_status(proxy_port, &format!("anyip6.srt.test:{port}"), "").await, refused);
    } else {
        eprintln!("IPv6 part skipped: the namespace has no IPv6");
    }
}
