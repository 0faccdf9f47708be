//! `srt __proxy-connect HOST PORT`: a ProxyCommand for ssh inside the
//! sandbox. It opens a CONNECT tunnel through the sandbox's HTTP proxy and
//! joins it to its standard input and output (what socat or `nc -X connect`
//! do for the original, without either being installed). The proxy is the
//! one `HTTPS_PROXY` names, with its credentials (macOS's loopback listener
//! requires them); else the sandbox's own port.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::SANDBOX_HTTP_PORT;

/// Runs the subcommand; returns the exit status. A front end of its own
/// (ssh runs it), so it prints.
#[allow(clippy::print_stderr)]
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    let (Some(host), Some(port)) = (args.first().and_then(|a| a.to_str()), args.get(1).and_then(|a| a.to_str())) else {
        eprintln!("usage: srt {} HOST PORT", super::env::CONNECT_SUBCOMMAND);
        return 2;
    };
    let proxy = proxy_from(|k| std::env::var(k).ok());
    match tunnel(&proxy, host, port) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("srt: proxy connect to {host}:{port}: {e}");
            1
        }
    }
}

/// Where the HTTP proxy is, and what it is told.
#[derive(Debug, PartialEq, Eq)]
struct ProxyAt {
    host: String,
    port: u16,
    /// `user:password` as the URL spelled it, for `Proxy-Authorization: Basic`.
    credentials: Option<String>,
}

/// The proxy `HTTPS_PROXY` (or `https_proxy`, `HTTP_PROXY`) names, when it
/// is an `http://` URL with a port; else the sandbox's own.
fn proxy_from(env: impl Fn(&str) -> Option<String>) -> ProxyAt {
    let named = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"].iter().find_map(|k| env(k));
    named.as_deref().and_then(parse_proxy_url).unwrap_or(ProxyAt {
        host: "127.0.0.1".into(),
        port: SANDBOX_HTTP_PORT,
        credentials: None,
    })
}

fn parse_proxy_url(url: &str) -> Option<ProxyAt> {
    let rest = url.strip_prefix("http://")?.trim_end_matches('/');
    let (credentials, hostport) = match rest.rsplit_once('@') {
        Some((c, h)) => (Some(c.to_string()), h),
        None => (None, rest),
    };
    let (host, port) = hostport.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let host = if host == "localhost" { "127.0.0.1" } else { host };
    Some(ProxyAt { host: host.to_string(), port: port.parse().ok()?, credentials })
}

fn tunnel(proxy: &ProxyAt, host: &str, port: &str) -> Result<(), String> {
    let authority = if host.contains(':') { format!("[{host}]:{port}") } else { format!("{host}:{port}") };
    let mut stream = TcpStream::connect((proxy.host.as_str(), proxy.port))
        .map_err(|e| format!("cannot reach the proxy at {}:{}: {e}", proxy.host, proxy.port))?;
    let _ = stream.set_nodelay(true);
    let auth = match &proxy.credentials {
        Some(c) => format!("Proxy-Authorization: Basic {}\r\n", crate::base64::encode(c.as_bytes())),
        None => String::new(),
    };
    stream
        .write_all(format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{auth}\r\n").as_bytes())
        .map_err(|e| e.to_string())?;
    // Byte by byte up to the blank line: nothing of the tunnel is read early.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || stream.read(&mut byte).map_err(|e| e.to_string())? == 0 {
            return Err("the proxy closed the connection".into());
        }
        head.push(byte[0]);
    }
    let status = String::from_utf8_lossy(head.split(|b| *b == b'\r').next().unwrap_or_default()).into_owned();
    if status.split(' ').nth(1) != Some("200") {
        return Err(format!("refused: {status}"));
    }
    let mut upstream_out = stream.try_clone().map_err(|e| e.to_string())?;
    let sender = std::thread::spawn(move || {
        let _ = std::io::copy(&mut std::io::stdin().lock(), &mut upstream_out);
        let _ = upstream_out.shutdown(std::net::Shutdown::Write);
    });
    // Flushed at every read: Rust's stdout holds bytes back until a newline,
    // and ssh's binary packets may have none (ssh would wait for ever).
    let mut out = std::io::stdout().lock();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
        }
    }
    drop(sender);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxy_is_the_one_the_environment_names_with_its_credentials() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        assert_eq!(
            proxy_from(env(&[("HTTPS_PROXY", "http://srt:t0k@localhost:50123")])),
            ProxyAt { host: "127.0.0.1".into(), port: 50123, credentials: Some("srt:t0k".into()) }
        );
        assert_eq!(
            proxy_from(env(&[("http_proxy", "http://localhost:3128/")])),
            ProxyAt { host: "127.0.0.1".into(), port: 3128, credentials: None }
        );
        // Nothing usable named: the sandbox's own port.
        for unusable in [&[][..], &[("HTTPS_PROXY", "socks5h://localhost:1080")], &[("HTTPS_PROXY", "http://nohost")]] {
            assert_eq!(
                proxy_from(env(unusable)),
                ProxyAt { host: "127.0.0.1".into(), port: SANDBOX_HTTP_PORT, credentials: None }
            );
        }
    }
}
