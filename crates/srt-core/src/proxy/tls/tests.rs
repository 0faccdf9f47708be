//! TLS termination end to end on loopback: an HTTPS server with a CA of the
//! test's own (given as `extraCaCertPaths`), srt's proxy terminating, and a
//! client that trusts only the session's CA.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;
use crate::config::TlsTerminateSettings;
use crate::policy::decide::Rules;
use crate::proxy::clients::Clients;
use crate::proxy::{serve, Client, NetConfig, Proxy};

/// An HTTPS server on 127.0.0.1 whose certificate `ca` signed; it answers
/// every request with `host=<Host> path=<path>`.
async fn https_server(ca: &ca::SessionCa) -> u16 {
    let leaf = ca.leaf("127.0.0.1").unwrap();
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(leaf)));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let service = hyper::service::service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                    let host = req.headers().get("host").and_then(|h| h.to_str().ok()).unwrap_or("-").to_string();
                    let body = format!("host={host} path={}", req.uri().path());
                    let mut response = hyper::Response::new(Full::new(Bytes::from(body)));
                    // `/close` ends the connection after its answer.
                    if req.uri().path() == "/close" {
                        response.headers_mut().insert("connection", hyper::header::HeaderValue::from_static("close"));
                    }
                    Ok::<_, std::convert::Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(tls), service).await;
            });
        }
    });
    port
}

#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(&self, _: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// A terminating proxy on loopback that trusts `upstream_ca` beyond the
/// system's roots; returns it, its port and the session CA's PEM.
async fn terminating_proxy(upstream_ca: &ca::SessionCa, tweak: impl Fn(&mut NetConfig)) -> (Arc<Proxy>, u16, String) {
    let dir = std::env::temp_dir().join(format!("srt-tls-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    let extra = dir.join("upstream-ca.pem");
    std::fs::write(&extra, &upstream_ca.cert_pem).unwrap();
    let settings = TlsTerminateSettings {
        ca_cert_path: None,
        ca_key_path: None,
        exclude_domains: None,
        extra_ca_cert_paths: Some(vec![extra.display().to_string()]),
        max_tunnels: None,
        handshake_timeout_ms: None,
    };
    let terminator = Terminator::from_settings(&settings).unwrap();
    let session_ca = terminator.ca.cert_pem.clone();
    let mut config = NetConfig {
        rules: Rules::new(&["127.0.0.1".to_string()], &[], Default::default(), false).unwrap(),
        tls: Some(TlsRules::from_settings(&settings).unwrap()),
        ..NetConfig::default()
    };
    tweak(&mut config);
    let proxy = Proxy::with_terminator(config, terminator);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client = Arc::new(Client::new(Some("tls test".into())));
    let handle = tokio::runtime::Handle::current();
    serve::spawn_listener(&handle, listener, serve::Role::Filter, proxy.clone(), Clients::One(client)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (proxy, port, session_ca)
}

fn rand_suffix() -> String {
    crate::sys::random_hex(4).unwrap()
}

/// CONNECT through the proxy; the status line of its answer, and the stream.
async fn connect(proxy_port: u16, target: &str) -> (String, TcpStream) {
    let mut s = TcpStream::connect(("127.0.0.1", proxy_port)).await.unwrap();
    s.write_all(format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes()).await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && s.read(&mut byte).await.unwrap() == 1 {
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).lines().next().unwrap_or_default().to_string();
    (text, s)
}

/// A GET with `host` over TLS on `stream`, trusting only `ca_pem`:
/// the status and body, or the TLS error.
async fn get(stream: TcpStream, ca_pem: &str, host: &str) -> Result<(u16, String), String> {
    let mut sender = tls_client(stream, ca_pem).await?;
    request(&mut sender, "/p", host).await
}

type Sender = hyper::client::conn::http1::SendRequest<Empty<Bytes>>;

/// A TLS client that trusts only `ca_pem`.
fn trusting(ca_pem: &str) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in
        <rustls::pki_types::CertificateDer as rustls::pki_types::pem::PemObject>::pem_slice_iter(ca_pem.as_bytes())
    {
        roots.add(cert.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// HTTP/1.1 over TLS on `stream`, trusting only `ca_pem`.
async fn tls_client(stream: TcpStream, ca_pem: &str) -> Result<Sender, String> {
    let config = trusting(ca_pem);
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let tls =
        tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, stream).await.map_err(|e| e.to_string())?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls)).await.map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    Ok(sender)
}

/// A GET of `path` with `host`: the status and body.
async fn request(sender: &mut Sender, path: &str, host: &str) -> Result<(u16, String), String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let req = hyper::Request::get(path).header("host", host).body(Empty::<Bytes>::new()).unwrap();
    let response = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[tokio::test]
async fn a_terminated_tunnel_reaches_the_host_the_connect_named_over_verified_tls() {
    let upstream_ca = ca::SessionCa::generate().unwrap();
    let upstream = https_server(&upstream_ca).await;
    let (proxy, port, session_ca) = terminating_proxy(&upstream_ca, |_| {}).await;
    let target = format!("127.0.0.1:{upstream}");
    let (status, stream) = connect(port, &target).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // The client trusts only the session's CA: srt answered the handshake.
    // The request reaches the upstream with the tunnel's host, whatever it named.
    let (code, body) = get(stream, &session_ca, "elsewhere.example").await.unwrap();
    assert_eq!((code, body.as_str()), (200, format!("host={target} path=/p").as_str()));
    assert!(proxy.violations.recent().is_empty());
    // The session's trust bundle holds its CA after the system's roots.
    let terminator = proxy.terminator().unwrap();
    assert!(terminator.bundle_pem.ends_with(&session_ca));
    assert!(terminator.bundle_pem.matches("BEGIN CERTIFICATE").count() > 2);
}

#[tokio::test]
async fn an_upstream_srt_cannot_verify_is_refused_with_the_reason() {
    let upstream_ca = ca::SessionCa::generate().unwrap();
    let stranger = ca::SessionCa::generate().unwrap();
    let upstream = https_server(&stranger).await;
    let (proxy, port, session_ca) = terminating_proxy(&upstream_ca, |_| {}).await;
    let (status, stream) = connect(port, &format!("127.0.0.1:{upstream}")).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let (code, body) = get(stream, &session_ca, "127.0.0.1").await.unwrap();
    assert_eq!(code, 502);
    assert!(body.contains("is not trusted"), "{body}");
    let seen = proxy.violations.recent();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].line.contains("is not trusted"), "{:?}", seen[0]);
}

#[tokio::test]
async fn require_host_match_refuses_a_request_for_another_host() {
    let upstream_ca = ca::SessionCa::generate().unwrap();
    let upstream = https_server(&upstream_ca).await;
    let (proxy, port, session_ca) = terminating_proxy(&upstream_ca, |c| c.require_host_match = true).await;
    let target = format!("127.0.0.1:{upstream}");
    let (_, stream) = connect(port, &target).await;
    let (code, body) = get(stream, &session_ca, "elsewhere.example").await.unwrap();
    assert_eq!(code, 421, "{body}");
    assert!(body.contains("requireHostMatch"), "{body}");
    assert_eq!(proxy.violations.recent().len(), 1);
    let (_, stream) = connect(port, &target).await;
    assert_eq!(get(stream, &session_ca, &target).await.unwrap().0, 200);
}

#[tokio::test]
async fn an_excluded_host_is_tunnelled_untouched_and_tunnels_are_capped() {
    let upstream_ca = ca::SessionCa::generate().unwrap();
    let upstream = https_server(&upstream_ca).await;
    let target = format!("127.0.0.1:{upstream}");
    let exclude = |c: &mut NetConfig| {
        let mut rules = c.tls.clone().unwrap();
        rules.exclude =
            vec![crate::policy::decide::Pattern::new("127.0.0.1", crate::policy::domain::EntryKind::HostOnly).unwrap()];
        c.tls = Some(rules);
    };
    let (_, port, session_ca) = terminating_proxy(&upstream_ca, exclude).await;
    // Not terminated: the upstream's own certificate arrives, which the session's CA did not sign.
    let (_, stream) = connect(port, &target).await;
    assert!(get(stream, &session_ca, &target).await.is_err());
    let (_, stream) = connect(port, &target).await;
    assert_eq!(get(stream, &upstream_ca.cert_pem, &target).await.unwrap().0, 200);

    let (_, port, _) = terminating_proxy(&upstream_ca, |c| c.tls.as_mut().unwrap().max_tunnels = 1).await;
    let (first, _held) = connect(port, &target).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let (second, _) = connect(port, &target).await;
    assert!(second.starts_with("HTTP/1.1 503"), "{second}");
}

#[test]
fn a_named_ca_is_checked_and_only_its_certificate_is_shown_and_its_key_file_is_the_sessions_secret() {
    let dir = std::env::temp_dir().join(format!("srt-tls-ca-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    // A CA and its key, as rcgen writes them.
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).unwrap();
    let other_key = rcgen::KeyPair::generate().unwrap();
    let write = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).unwrap();
        dir.join(name).display().to_string()
    };
    let (cert_path, key_path) = (write("ca.pem", &cert.pem()), write("ca.key", &key.serialize_pem()));
    let settings = |cert: &str, key: &str| TlsTerminateSettings {
        ca_cert_path: Some(cert.into()),
        ca_key_path: Some(key.into()),
        exclude_domains: None,
        extra_ca_cert_paths: None,
        max_tunnels: None,
        handshake_timeout_ms: None,
    };
    let t = Terminator::from_settings(&settings(&cert_path, &key_path)).unwrap();
    assert_eq!(t.secret_files(), vec![std::fs::canonicalize(&key_path).unwrap()]);
    assert!(t.bundle_pem.ends_with(&cert.pem()));
    assert!(!t.bundle_pem.contains("PRIVATE"));
    // A certificate file holding its key too; a key that is not the certificate's.
    let both = write("both.pem", &format!("{}{}", cert.pem(), key.serialize_pem()));
    let err = Terminator::from_settings(&settings(&both, &key_path)).err().unwrap();
    assert!(err.contains("also holds a"), "{err}");
    let wrong = write("wrong.key", &other_key.serialize_pem());
    let err = Terminator::from_settings(&settings(&cert_path, &wrong)).err().unwrap();
    assert!(err.contains("does not sign for this certificate"), "{err}");
    // The hidden files go to denyRead whatever the settings a wrap uses.
    let plain = crate::config::parse_settings(
        r#"{"network": {"allowedDomains": [], "deniedDomains": []}, "filesystem": {"denyRead": [], "allowWrite": [], "denyWrite": []}}"#,
    )
    .unwrap()
    .settings;
    let hidden = hide_files(&plain, &t.secret_files());
    assert_eq!(hidden.filesystem.deny_read, vec![PathEntry::Literal(t.secret_files()[0].display().to_string())]);
    // The CA cannot be changed by an update.
    let proxy = Proxy::with_terminator(NetConfig::default(), t);
    let mut moved = settings(&cert_path, &key_path);
    moved.extra_ca_cert_paths = Some(vec![cert_path.clone()]);
    let config = NetConfig { tls: Some(TlsRules::from_settings(&moved).unwrap()), ..NetConfig::default() };
    assert!(proxy.update_config(config).unwrap_err().contains("fixed for a session"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn termination_cannot_be_turned_on_by_an_update() {
    let proxy = Proxy::new(NetConfig::default(), None);
    let settings = TlsTerminateSettings {
        ca_cert_path: None,
        ca_key_path: None,
        exclude_domains: None,
        extra_ca_cert_paths: None,
        max_tunnels: None,
        handshake_timeout_ms: None,
    };
    let config = NetConfig { tls: Some(TlsRules::from_settings(&settings).unwrap()), ..NetConfig::default() };
    assert!(proxy.update_config(config).unwrap_err().contains("cannot be turned on by updateConfig"));
}

#[tokio::test]
async fn a_tunnel_reconnecting_upstream_is_judged_again_by_the_rules_in_force() {
    let upstream_ca = ca::SessionCa::generate().unwrap();
    let upstream = https_server(&upstream_ca).await;
    let (proxy, port, session_ca) = terminating_proxy(&upstream_ca, |_| {}).await;
    let target = format!("127.0.0.1:{upstream}");
    let (_, stream) = connect(port, &target).await;
    let mut sender = tls_client(stream, &session_ca).await.unwrap();
    // The upstream closes after this answer: the next request reconnects.
    assert_eq!(request(&mut sender, "/close", &target).await.unwrap().0, 200);
    let mut denied = (*proxy.config()).clone();
    denied.rules = Rules::new(&[], &[], Default::default(), false).unwrap();
    proxy.update_config(denied).unwrap();
    let (code, body) = request(&mut sender, "/p", &target).await.unwrap();
    assert_eq!(code, 403, "{body}");
    assert_eq!(proxy.violations.recent().len(), 1);
}

/// Raw bytes over TLS in a tunnel: what comes back until the connection ends.
async fn raw_exchange(stream: TcpStream, ca_pem: &str, bytes: &[u8]) -> String {
    let config = trusting(ca_pem);
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, stream).await.unwrap();
    tls.write_all(bytes).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), tls.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn request_smuggling_through_a_terminated_tunnel_finds_no_second_reading() {
    let upstream_ca = ca::SessionCa::generate().unwrap();
    let upstream = https_server(&upstream_ca).await;
    let (_proxy, port, session_ca) = terminating_proxy(&upstream_ca, |_| {}).await;
    let target = format!("127.0.0.1:{upstream}");
    // CL.TE: chunked wins for the first request, and then the connection
    // closes (RFC 9112 6.1): what followed is never read as a request, nor
    // sent upstream inside a body.
    let (_, stream) = connect(port, &target).await;
    let clte = "POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n";
    let answer = raw_exchange(stream, &session_ca, clte.as_bytes()).await;
    assert!(answer.contains(&format!("host={target} path=/first")), "{answer}");
    assert!(!answer.contains("/second") && answer.to_lowercase().contains("connection: close"), "{answer}");
    // Framing srt cannot read one way only is refused, not passed on.
    for bad in [
        "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        "POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
    ] {
        let (_, stream) = connect(port, &target).await;
        let answer = raw_exchange(stream, &session_ca, bad.as_bytes()).await;
        assert!(!answer.contains("path=/x"), "{bad:?} was forwarded: {answer}");
    }
}

#[tokio::test]
async fn a_tls_server_name_other_than_the_tunnels_host_is_refused_at_the_handshake() {
    let upstream_ca = ca::SessionCa::generate().unwrap();
    let upstream = https_server(&upstream_ca).await;
    let (proxy, port, session_ca) = terminating_proxy(&upstream_ca, |_| {}).await;
    let (status, stream) = connect(port, &format!("127.0.0.1:{upstream}")).await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    // The client names another host in its ClientHello (SNI).
    let config = trusting(&session_ca);
    let name = rustls::pki_types::ServerName::try_from("elsewhere.example").unwrap();
    let shaken = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, stream).await;
    assert!(shaken.is_err(), "srt finished a handshake for another name");
    let lines: Vec<String> = proxy.violations.recent().into_iter().map(|v| v.line).collect();
    assert!(
        lines.iter().any(|l| l.contains("the TLS server name elsewhere.example is not the tunnel's host")),
        "{lines:?}"
    );
}
