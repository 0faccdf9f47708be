//! The parent proxy (reference §6.5): for users behind a corporate proxy,
//! srt's own outbound connections go through it: tunnels as `CONNECT`,
//! plain requests in absolute form. From `network.parentProxy`, else from
//! the srt process's `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY`. Loopback and
//! `localhost` always go direct.

use std::net::IpAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::tunnel::Upstream;
use crate::config::ParentProxySettings;
use crate::policy::address::Cidr;
use crate::policy::host::Host;

/// What a parent proxy speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParentKind {
    /// HTTP: `CONNECT` for tunnels, absolute form for plain requests.
    Http,
    /// The same inside TLS to the proxy (verified against the system's roots).
    Https,
    /// SOCKS5 (the proxy resolves names): every connection is a tunnel.
    Socks5,
}

/// One parent proxy: where it is and how to authenticate to it.
#[derive(Clone, PartialEq, Eq)]
pub struct ParentUrl {
    pub kind: ParentKind,
    pub host: String,
    pub port: u16,
    /// The `Proxy-Authorization` value, from the URL's user information (HTTP, HTTPS).
    pub authorization: Option<String>,
    /// The user name and password (SOCKS5).
    credentials: Option<(String, String)>,
}

/// Never shows the credentials.
impl std::fmt::Debug for ParentUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let auth = self.authorization.is_some() || self.credentials.is_some();
        write!(f, "{:?} proxy {}:{}{}", self.kind, self.host, self.port, if auth { " (with credentials)" } else { "" })
    }
}

impl ParentUrl {
    /// Whether plain requests go to it as HTTP requests (else through a tunnel).
    pub fn speaks_http(&self) -> bool {
        self.kind != ParentKind::Socks5
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Bypass {
    All,
    Range(Cidr),
    /// The name and every name below it.
    Domain(String),
}

/// The parent proxies and the destinations that bypass them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parent {
    pub http: Option<ParentUrl>,
    pub https: Option<ParentUrl>,
    bypass: Vec<Bypass>,
}

/// `%XX` escapes decoded (an invalid one kept as written).
pub(crate) fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// A proxy URL as it may be shown: its user information (a password) hidden.
pub fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").map(|(s, r)| (format!("{s}://"), r)).unwrap_or((String::new(), url));
    // Up to the last `@`: a password may hold `/`, `?` or `#`.
    match rest.rsplit_once('@') {
        Some((_, host)) => format!("{scheme}***@{host}"),
        None => url.to_string(),
    }
}

/// Parses `http://[user:password@]host[:port][/]`.
pub fn parse_url(url: &str) -> Result<ParentUrl, String> {
    let shown = redacted(url);
    parse_url_shown(url, &shown)
}

fn parse_url_shown(url: &str, shown: &str) -> Result<ParentUrl, String> {
    let url_shown = shown;
    let (kind, rest) = match url.split_once("://") {
        Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
            "http" => (ParentKind::Http, rest),
            "https" => (ParentKind::Https, rest),
            "socks5" | "socks5h" => (ParentKind::Socks5, rest),
            _ => {
                return Err(format!(
                    "{url_shown:?}: {scheme}:// parent proxies are not supported (use http://, https:// or socks5://)"
                ))
            }
        },
        None => (ParentKind::Http, url),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let (h, tail) = v6.split_once(']').ok_or_else(|| format!("{url_shown:?}: an unclosed IPv6 bracket"))?;
        (h.to_string(), tail.strip_prefix(':'))
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (hostport.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("{url_shown:?}: no host"));
    }
    let port = match port {
        Some(p) => p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| format!("{url_shown:?}: a bad port"))?,
        None => match kind {
            ParentKind::Http => 80,
            ParentKind::Https => 443,
            ParentKind::Socks5 => 1080,
        },
    };
    let pair = userinfo.map(|u| {
        let (user, pass) = u.split_once(':').unwrap_or((u, ""));
        (percent_decode(user), percent_decode(pass))
    });
    let (authorization, credentials) = match (kind, pair) {
        (_, None) => (None, None),
        (ParentKind::Socks5, Some((user, pass))) => {
            let text =
                |b: Vec<u8>| String::from_utf8(b).map_err(|_| format!("{url_shown:?}: credentials that are not UTF-8"));
            (None, Some((text(user)?, text(pass)?)))
        }
        (_, Some((user, pass))) => {
            (Some(format!("Basic {}", crate::base64::encode(&[user, b":".to_vec(), pass].concat()))), None)
        }
    };
    Ok(ParentUrl { kind, host, port, authorization, credentials })
}

fn parse_bypass(list: &str) -> Vec<Bypass> {
    list.split([',', ' ', '\t', '\n'])
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .map(|e| {
            if e == "*" {
                return Bypass::All;
            }
            if let Some(c) = Cidr::parse(&e) {
                return Bypass::Range(c);
            }
            let bare = e.trim_start_matches("*.").trim_start_matches('.');
            // A port on an entry is ignored (as curl does).
            let bare = match bare.rsplit_once(':') {
                Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
                _ => bare,
            };
            let bare = bare.trim_start_matches('[').trim_end_matches(']');
            match Cidr::parse(bare) {
                Some(c) => Bypass::Range(c),
                None => Bypass::Domain(bare.trim_end_matches('.').to_string()),
            }
        })
        .collect()
}

impl Parent {
    /// From the settings, or else from the environment given; what was left
    /// aside goes to `warnings`.
    pub fn configure(
        settings: Option<&ParentProxySettings>,
        env: impl Fn(&str) -> Option<String>,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Parent>, String> {
        let (http, https, no_proxy) = match settings {
            Some(s) => (s.http.clone(), s.https.clone(), s.no_proxy.clone()),
            None => {
                let var = |upper: &str, lower: &str| env(lower).or_else(|| env(upper)).filter(|v| !v.trim().is_empty());
                // ALL_PROXY serves where the scheme's own variable is unset (as curl reads it).
                let all = var("ALL_PROXY", "all_proxy");
                (
                    var("HTTP_PROXY", "http_proxy").or_else(|| all.clone()),
                    var("HTTPS_PROXY", "https_proxy").or(all),
                    var("NO_PROXY", "no_proxy"),
                )
            }
        };
        // A proxy of the srt process's environment that srt cannot use is
        // left aside with a warning (the run goes on, direct); one the
        // settings name is an error.
        let from_env = settings.is_none();
        let mut usable = |url: Option<String>| -> Result<Option<ParentUrl>, String> {
            match url.as_deref().map(parse_url).transpose() {
                Err(e) if from_env => {
                    tracing::warn!("ignoring the proxy of srt's environment: {e}");
                    warnings.push(format!("ignoring the proxy of srt's environment: {e}"));
                    Ok(None)
                }
                other => other,
            }
        };
        let http = usable(http)?;
        let https = usable(https)?;
        if http.is_none() && https.is_none() {
            return Ok(None);
        }
        Ok(Some(Parent { http, https, bypass: no_proxy.as_deref().map(parse_bypass).unwrap_or_default() }))
    }

    /// The parent to use for `host`: for a tunnel the https one (else the
    /// http one), for a plain request the http one; `None` to go direct.
    pub fn route(&self, host: &Host, tunnel: bool) -> Option<&ParentUrl> {
        let bypass = match host {
            Host::Ip(ip) => {
                is_loopback(*ip)
                    || self
                        .bypass
                        .iter()
                        .any(|b| matches!(b, Bypass::All) || matches!(b, Bypass::Range(c) if c.contains(*ip)))
            }
            Host::Name(name) => {
                name == "localhost"
                    || name.ends_with(".localhost")
                    || self.bypass.iter().any(|b| match b {
                        Bypass::All => true,
                        Bypass::Range(_) => false,
                        Bypass::Domain(d) => {
                            name == d || (name.ends_with(d.as_str()) && name[..name.len() - d.len()].ends_with('.'))
                        }
                    })
            }
        };
        if bypass {
            return None;
        }
        if tunnel {
            self.https.as_ref().or(self.http.as_ref())
        } else {
            self.http.as_ref()
        }
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback(),
    }
}

/// Connects to the parent proxy itself (TLS to an `https://` one).
pub async fn connect(parent: &ParentUrl) -> std::io::Result<Upstream> {
    let stream = dial(parent).await?;
    if parent.kind != ParentKind::Https {
        return Ok(Upstream::Tcp(stream));
    }
    let name = rustls::pki_types::ServerName::try_from(parent.host.clone())
        .map_err(|e| std::io::Error::other(format!("the parent proxy's name {}: {e}", parent.host)))?;
    let tls = tokio_rustls::TlsConnector::from(tls_to_parents()).connect(name, stream);
    let tls = tokio::time::timeout(Duration::from_secs(30), tls)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "the parent proxy's TLS did not complete"))?
        .map_err(|e| std::io::Error::other(format!("TLS with the parent proxy {}: {e}", parent.host)))?;
    Ok(Upstream::Tls(Box::new(tls)))
}

/// A TCP connection to the parent proxy itself.
async fn dial(parent: &ParentUrl) -> std::io::Result<TcpStream> {
    let dial = TcpStream::connect((parent.host.as_str(), parent.port));
    let stream = tokio::time::timeout(Duration::from_secs(30), dial)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "the parent proxy did not answer"))??;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// How srt speaks TLS to an `https://` parent: the system's roots (which
/// `SSL_CERT_FILE` and `SSL_CERT_DIR` of srt's environment replace), made
/// the first time one is used.
fn tls_to_parents() -> std::sync::Arc<rustls::ClientConfig> {
    static CONFIG: std::sync::OnceLock<std::sync::Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(cert);
            }
            let config = rustls::ClientConfig::builder_with_provider(super::tls::provider())
                .with_safe_default_protocol_versions()
                .expect("ring supports the default protocol versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            std::sync::Arc::new(config)
        })
        .clone()
}

/// Opens a tunnel to `host:port` through the parent.
pub async fn connect_through(parent: &ParentUrl, host: &Host, port: u16) -> std::io::Result<Upstream> {
    if parent.kind == ParentKind::Socks5 {
        return socks_through(parent, host, port).await.map(Upstream::Tcp);
    }
    let mut stream = connect(parent).await?;
    connect_handshake(&mut stream, host, port, parent.authorization.as_deref()).await?;
    Ok(stream)
}

/// A SOCKS5 tunnel; the parent resolves a name.
async fn socks_through(parent: &ParentUrl, host: &Host, port: u16) -> std::io::Result<TcpStream> {
    let proxy = dial(parent).await?;
    let target: tokio_socks::TargetAddr<'_> = match host {
        Host::Ip(ip) => tokio_socks::TargetAddr::Ip(std::net::SocketAddr::new(*ip, port)),
        Host::Name(name) => tokio_socks::TargetAddr::Domain(name.as_str().into(), port),
    };
    let shaking = async {
        match &parent.credentials {
            Some((user, pass)) => {
                tokio_socks::tcp::Socks5Stream::connect_with_password_and_socket(proxy, target, user, pass).await
            }
            None => tokio_socks::tcp::Socks5Stream::connect_with_socket(proxy, target).await,
        }
    };
    let stream = tokio::time::timeout(Duration::from_secs(30), shaking)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "the SOCKS5 parent proxy did not answer"))?
        .map_err(|e| std::io::Error::other(format!("the SOCKS5 parent proxy refused {host}:{port}: {e}")))?;
    Ok(stream.into_inner())
}

/// Asks the proxy at the other end of `stream` for a tunnel to `host:port`
/// (`CONNECT`, with `authorization` as `Proxy-Authorization`).
pub async fn connect_handshake<S>(
    stream: &mut S,
    host: &Host,
    port: u16,
    authorization: Option<&str>,
) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let authority = format!("{host}:{port}");
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = authorization {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    // Byte by byte to the blank line: whatever follows belongs to the tunnel.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 || stream.read(&mut byte).await? == 0 {
            return Err(std::io::Error::other("the upstream proxy closed the connection"));
        }
        head.push(byte[0]);
    }
    let status = String::from_utf8_lossy(&head).split(' ').nth(1).unwrap_or_default().to_string();
    if status != "200" {
        return Err(std::io::Error::other(format!("the upstream proxy answered {status} to CONNECT {authority}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_credentials_ports_and_ipv6() {
        let p = parse_url("http://us%40er:p%3Ass@proxy.corp:3128/").unwrap();
        assert_eq!((p.host.as_str(), p.port), ("proxy.corp", 3128));
        // base64 of "us@er:p:ss"
        assert_eq!(p.authorization.as_deref(), Some("Basic dXNAZXI6cDpzcw=="));
        assert_eq!(parse_url("proxy.corp").unwrap().port, 80);
        assert_eq!(parse_url("http://[::1]:8080").unwrap().host, "::1");
        let https = parse_url("https://proxy.corp").unwrap();
        assert_eq!((https.kind, https.port), (ParentKind::Https, 443));
        let socks = parse_url("socks5h://alice:s%3Acret@proxy.corp").unwrap();
        assert_eq!((socks.kind, socks.port, socks.authorization.as_deref()), (ParentKind::Socks5, 1080, None));
        assert_eq!(socks.credentials, Some(("alice".into(), "s:cret".into())));
        assert!(!format!("{socks:?}").contains("cret"), "{socks:?}");
        let e = parse_url("socks4://alice:s3cret@proxy.corp:1080").unwrap_err();
        assert!(!e.contains("s3cret") && e.contains("***@proxy.corp:1080"), "{e}");
        assert!(!parse_url("http://alice:s3cret@proxy.corp:99999").unwrap_err().contains("s3cret"));
        assert!(!parse_url("http://alice:s3/c?r#et@proxy.corp:99999").unwrap_err().contains("c?r#et"));
        // Unusable in the environment: left aside; in the settings: an error.
        let env = |k: &str| (k == "HTTPS_PROXY").then(|| "socks4://a:b@p:1".to_string());
        let mut warnings = Vec::new();
        assert_eq!(Parent::configure(None, env, &mut warnings).unwrap(), None);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("ignoring the proxy of srt's environment") && !warnings[0].contains(":b@"),
            "{warnings:?}"
        );
        let bad = ParentProxySettings { http: Some("ftp://p:1".into()), https: None, no_proxy: None };
        assert!(Parent::configure(Some(&bad), |_| None, &mut Vec::new()).is_err());
        assert!(parse_url("http://proxy.corp:0").is_err());
        assert_eq!(crate::base64::encode(b"a"), "YQ==");
        assert_eq!(crate::base64::encode(b"ab"), "YWI=");
        assert_eq!(crate::base64::encode(b"abc"), "YWJj");
    }

    #[test]
    fn routes_and_bypasses() {
        let env = |k: &str| match k {
            "HTTP_PROXY" => Some("http://p1:1".to_string()),
            "no_proxy" => Some(".corp.example, 10.0.0.0/8,exact.example:443".to_string()),
            _ => None,
        };
        let parent = Parent::configure(None, env, &mut Vec::new()).unwrap().unwrap();
        let name = |n: &str| Host::Name(n.into());
        assert_eq!(
            parent.route(&name("a.example"), true).map(|p| p.host.as_str()),
            Some("p1"),
            "https falls back to http"
        );
        assert!(parent.route(&name("x.corp.example"), true).is_none());
        assert!(parent.route(&name("corp.example"), true).is_none());
        assert!(parent.route(&name("notcorp.example"), true).is_some());
        assert!(parent.route(&name("exact.example"), false).is_none());
        assert!(parent.route(&Host::Ip("10.1.1.1".parse().unwrap()), true).is_none());
        assert!(parent.route(&Host::Ip("127.0.0.1".parse().unwrap()), true).is_none(), "loopback goes direct");
        assert!(parent.route(&name("localhost"), true).is_none());
        let only_https =
            ParentProxySettings { http: None, https: Some("http://p2:2".into()), no_proxy: Some("*".into()) };
        let p = Parent::configure(Some(&only_https), |_| None, &mut Vec::new()).unwrap().unwrap();
        assert!(p.route(&name("a.example"), true).is_none(), "* bypasses everything");
        assert!(Parent::configure(None, |_| None, &mut Vec::new()).unwrap().is_none());
    }
}
