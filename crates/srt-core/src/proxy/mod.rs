//! The network proxies: HTTP (CONNECT and absolute-form) and SOCKS5 on one
//! port, first byte deciding, on tokio and hyper. Every connection is
//! judged by `policy`, refusals go to the violation store, and allowed
//! names are dialed through the resolved-address guard.
//!
//! On Linux the proxies listen on sockets that the sandbox's helper created
//! inside the sandbox's network namespace and handed over (see `bridge`):
//! no relay process, no unix socket path, and each sandbox's connections
//! arrive on listeners of its own, which is how they are attributed.

#[cfg(target_os = "linux")]
pub mod bridge;
pub mod clients;
pub mod connect_command;
pub mod dial;
pub mod env;
pub mod filter;
pub mod http;
pub mod mitm;
pub mod parent;
pub mod pool;
pub mod request_target;
pub mod route;
pub mod serve;
#[cfg(target_os = "linux")]
pub mod session;
pub mod socks;
#[cfg(target_os = "linux")]
mod splice;
pub mod tls;
pub mod tunnel;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};

use crate::config::Settings;
use crate::policy::address::Cidr;
use crate::policy::decide::{decide, Pattern, Rules, Verdict, NOT_ALLOWED};
use crate::policy::domain::EntryKind;
use crate::policy::host::Host;
use crate::violations::Store;

/// The ports the command finds its proxies on, inside the sandbox.
pub const SANDBOX_HTTP_PORT: u16 = 3128;
pub const SANDBOX_SOCKS_PORT: u16 = 1080;

/// What the ask hook answers for a host that no list decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AskAnswer {
    Allow,
    /// Denied, with the reason to show (`user denied` without one).
    Deny(Option<String>),
    /// The hook failed (threw, rejected): denied as `permission prompt failed`.
    Failed,
}

/// The library's ask callback.
pub trait Ask: Send + Sync {
    fn ask(&self, host: String, port: u16) -> Pin<Box<dyn Future<Output = AskAnswer> + Send>>;
}

/// The network part of the settings, compiled.
#[derive(Clone, Debug, Default)]
pub struct NetConfig {
    pub rules: Rules,
    pub denied_resolved: Vec<Cidr>,
    pub refuse_opaque_tunnels: bool,
    /// Forward the sandbox's HTTP proxy port to this host port, unfiltered.
    pub external_http: Option<u16>,
    /// Forward the sandbox's SOCKS port to this host port, unfiltered.
    pub external_socks: Option<u16>,
    /// Where srt's own outbound connections go, if not direct.
    pub parent: Option<parent::Parent>,
    /// `mitmProxy`: the hosts reached through another proxy's Unix socket.
    pub mitm: Option<mitm::MitmRoute>,
    /// What was left aside (an unusable proxy in srt's environment), for the front end to show.
    pub warnings: Vec<String>,
    /// How CONNECTs are terminated (`tlsTerminate`), if they are.
    pub tls: Option<tls::TlsRules>,
    /// `requireHostMatch`: a request in a terminated tunnel naming another host is refused (421).
    pub require_host_match: bool,
    /// `stripResponseHeaders`: response headers never passed back (names folded).
    pub strip_response_headers: Vec<String>,
    /// `allowPlaintextHeaderSet`: a filterRequest allow may set headers on cleartext requests.
    pub allow_plaintext_header_set: bool,
    /// `ambiguousRequestTarget`: what becomes of a target whose readings differ (with filterRequest).
    pub ambiguous_request_target: crate::config::AmbiguousRequestTarget,
    /// `credentials.allowPlaintextInject`: masked credentials are injected in cleartext requests too.
    pub allow_plaintext_inject: bool,
    /// `credentials.sigv4`: which AWS signatures srt cannot redo pass through.
    pub sigv4: crate::credentials::sigv4::Policies,
}

impl NetConfig {
    /// From the settings; the parent proxy falls back to `env` (the srt
    /// process's `HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`).
    pub fn from_settings(s: &Settings, env: impl Fn(&str) -> Option<String>) -> Result<NetConfig, String> {
        let n = &s.network;
        let reasons: BTreeMap<String, String> = n.denied_domain_reasons.clone().unwrap_or_default();
        let rules = Rules::new(&n.allowed_domains, &n.denied_domains, reasons, n.strict_allowlist == Some(true))?;
        let denied_resolved = n
            .denied_resolved_addresses
            .iter()
            .flatten()
            .map(|a| {
                Cidr::parse(a)
                    .ok_or_else(|| format!("network.deniedResolvedAddresses: {a:?} is not an IP address or CIDR range"))
            })
            .collect::<Result<_, _>>()?;
        let port = |p: Option<i64>| p.and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0);
        let mut warnings = Vec::new();
        let parent = parent::Parent::configure(n.parent_proxy.as_ref(), env, &mut warnings).map_err(|e| {
            let whence = if n.parent_proxy.is_some() { "network.parentProxy" } else { "the proxy environment of srt" };
            format!("{whence}: {e}")
        })?;
        Ok(NetConfig {
            rules,
            denied_resolved,
            refuse_opaque_tunnels: n.refuse_opaque_tunnels == Some(true),
            external_http: port(n.http_proxy_port),
            external_socks: port(n.socks_proxy_port),
            parent,
            mitm: n.mitm_proxy.as_ref().map(mitm::MitmRoute::from_settings).transpose()?,
            warnings,
            tls: n.tls_terminate.as_ref().map(tls::TlsRules::from_settings).transpose()?,
            require_host_match: n.require_host_match == Some(true),
            strip_response_headers: n.strip_response_headers.clone().unwrap_or_default(),
            allow_plaintext_header_set: n.allow_plaintext_header_set == Some(true),
            ambiguous_request_target: n.ambiguous_request_target.unwrap_or_default(),
            allow_plaintext_inject: s.credentials.as_ref().and_then(|c| c.allow_plaintext_inject) == Some(true),
            sigv4: crate::credentials::sigv4::Policies::from_settings(
                s.credentials.as_ref().and_then(|c| c.sigv4.as_ref()),
            ),
        })
    }
}

/// Who is connecting: the sandbox whose listener the connection came in on.
pub struct Client {
    /// The attribution key (the command id, or the command).
    pub key: Option<String>,
    /// The command id its per-command list is registered under, if it was given one.
    pub list_id: Option<String>,
    /// Upstream connections of this sandbox's plain requests, kept alive.
    pool: std::sync::OnceLock<pool::Pool>,
    /// Its connections open now, at most `serve::MAX_CONNECTIONS`.
    pub connections: Arc<tokio::sync::Semaphore>,
}

impl Client {
    pub fn new(key: Option<String>) -> Client {
        Client::with_limit(key, serve::connection_cap())
    }

    /// At most `limit` connections open at once.
    pub fn with_limit(key: Option<String>, limit: usize) -> Client {
        let connections = Arc::new(tokio::sync::Semaphore::new(limit));
        Client { key, list_id: None, pool: Default::default(), connections }
    }

    /// A library sandbox: attributed to `key`, its per-command list under `list_id`.
    pub fn with_list(key: Option<String>, list_id: Option<String>) -> Client {
        Client { list_id, ..Client::new(key) }
    }

    /// This sandbox's pool; never shared with another sandbox (a server may
    /// tie state to a connection).
    pub fn pool(&self, proxy: &Arc<Proxy>) -> &pool::Pool {
        self.pool.get_or_init(|| pool::new_pool(proxy.clone(), self.connections.clone()))
    }
}

/// Why a destination was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// By the lists, the ask hook or a setting: 403 `blocked-by-allowlist`.
    Policy(String),
    /// The name resolved only to forbidden addresses: `resolved to <classes>`.
    Resolved(String),
}

impl Refusal {
    pub fn reason(&self) -> String {
        match self {
            Refusal::Policy(r) => r.clone(),
            Refusal::Resolved(classes) => format!("resolved to {classes}"),
        }
    }
}

/// A session's proxy state, shared by every listener and connection.
pub struct Proxy {
    config: RwLock<Arc<NetConfig>>,
    /// The session's TLS terminator, made at its start when the settings ask.
    terminator: Option<Arc<tls::Terminator>>,
    per_command: RwLock<HashMap<String, Vec<Pattern>>>,
    ask: Option<Arc<dyn Ask>>,
    /// The library's `filterRequest`, if set (replaced by each `updateConfig`).
    filter: RwLock<Option<Arc<dyn filter::RequestFilter>>>,
    /// The session's masked credentials, swapped in on the way out.
    pub sentinels: Arc<crate::credentials::sentinels::Sentinels>,
    pub violations: Arc<Store>,
}

impl Proxy {
    #[cfg(test)]
    pub fn new(config: NetConfig, ask: Option<Arc<dyn Ask>>) -> Arc<Proxy> {
        Proxy::with_store(config, ask, Arc::new(Store::default()))
    }

    /// With the session's violation store (which knows `ignoreViolations`).
    #[cfg(test)]
    pub fn with_store(config: NetConfig, ask: Option<Arc<dyn Ask>>, violations: Arc<Store>) -> Arc<Proxy> {
        Arc::new(Proxy {
            config: RwLock::new(Arc::new(config)),
            terminator: None,
            per_command: RwLock::new(HashMap::new()),
            ask,
            filter: RwLock::new(None),
            sentinels: Arc::default(),
            violations,
        })
    }

    /// A session's proxy state, with a TLS terminator when the settings ask
    /// for one (`tlsTerminate`): its CA is made or read now, once.
    pub fn for_session(
        settings: &Settings,
        config: NetConfig,
        ask: Option<Arc<dyn Ask>>,
        violations: Arc<Store>,
    ) -> Result<Arc<Proxy>, String> {
        let terminator = match &settings.network.tls_terminate {
            Some(t) => Some(Arc::new(tls::Terminator::from_settings(t)?)),
            None => None,
        };
        Ok(Arc::new(Proxy {
            config: RwLock::new(Arc::new(config)),
            terminator,
            per_command: RwLock::new(HashMap::new()),
            ask,
            filter: RwLock::new(None),
            sentinels: Arc::default(),
            violations,
        }))
    }

    /// A proxy that terminates with `terminator` (tests).
    #[cfg(test)]
    pub fn with_terminator(config: NetConfig, terminator: tls::Terminator) -> Arc<Proxy> {
        Arc::new(Proxy {
            config: RwLock::new(Arc::new(config)),
            terminator: Some(Arc::new(terminator)),
            per_command: RwLock::new(HashMap::new()),
            ask: None,
            filter: RwLock::new(None),
            sentinels: Arc::default(),
            violations: Arc::new(Store::default()),
        })
    }

    /// The session's TLS terminator, if it has one.
    pub fn terminator(&self) -> Option<Arc<tls::Terminator>> {
        self.terminator.clone()
    }

    /// The configuration in force now; new connections see an update at once.
    pub fn config(&self) -> Arc<NetConfig> {
        self.config.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// New rules from the next connection. TLS termination cannot be turned
    /// on here: the sandboxes already running do not trust a CA made now.
    pub fn update_config(&self, config: NetConfig) -> Result<(), String> {
        match (&config.tls, &self.terminator) {
            (Some(_), None) => {
                return Err("network.tlsTerminate cannot be turned on by updateConfig: the session started without it, so its sandboxes trust no CA of srt's (start a new session)".into());
            }
            (Some(rules), Some(t)) if !t.made_from(rules) => {
                return Err("network.tlsTerminate: caCertPath, caKeyPath and extraCaCertPaths are fixed for a session (its sandboxes trust what they made); start a new session to change them".into());
            }
            _ => {}
        }
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        Ok(())
    }

    /// Sets (or clears) the library's `filterRequest`, from the next request.
    pub fn set_request_filter(&self, filter: Option<Arc<dyn filter::RequestFilter>>) {
        *self.filter.write().unwrap_or_else(|e| e.into_inner()) = filter;
    }

    /// The `filterRequest` in force.
    pub fn request_filter(&self) -> Option<Arc<dyn filter::RequestFilter>> {
        self.filter.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Per-command allow lists (library `registerCommandNetworkLists`).
    pub fn register_command(&self, key: &str, allowed: &[String]) -> Result<(), String> {
        let list = allowed.iter().map(|e| Pattern::new(e, EntryKind::Allow)).collect::<Result<Vec<_>, _>>()?;
        self.per_command.write().unwrap_or_else(|e| e.into_inner()).insert(key.to_string(), list);
        Ok(())
    }

    pub fn unregister_command(&self, key: &str) {
        self.per_command.write().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    /// Judges `raw_host:port` for `client`: the canonical host to dial, or
    /// the refusal (already recorded as a violation).
    pub async fn check(&self, raw_host: &str, port: u16, client: &Client) -> Result<(Host, Arc<NetConfig>), Refusal> {
        let config = self.config();
        let verdict = {
            let lists = self.per_command.read().unwrap_or_else(|e| e.into_inner());
            let own = client.list_id.as_ref().and_then(|k| lists.get(k)).map(Vec::as_slice);
            decide(&config.rules, raw_host, port, own)
        };
        let (host, verdict) = verdict;
        let verdict = match (verdict, &self.ask, &host) {
            (Verdict::Ask, Some(ask), Some(h)) => match ask.ask(h.to_string(), port).await {
                AskAnswer::Allow => Verdict::Allow,
                AskAnswer::Deny(reason) => {
                    Verdict::Deny(reason.filter(|r| !r.trim().is_empty()).unwrap_or_else(|| "user denied".into()))
                }
                AskAnswer::Failed => Verdict::Deny("permission prompt failed".into()),
            },
            (Verdict::Ask, _, _) => Verdict::Deny(NOT_ALLOWED.into()),
            (v, _, _) => v,
        };
        match (verdict, host) {
            (Verdict::Allow, Some(h)) => Ok((h, config)),
            (Verdict::Deny(reason), host) => {
                // A host that did not parse is whatever the command made up: shown escaped.
                let shown = host
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| raw_host.chars().take(200).flat_map(char::escape_default).collect());
                self.refused(&shown, port, &Refusal::Policy(reason.clone()), client);
                Err(Refusal::Policy(reason))
            }
            _ => {
                let refusal = Refusal::Policy("malformed host".into());
                let shown: String = raw_host.chars().take(200).flat_map(char::escape_default).collect();
                self.refused(&shown, port, &refusal, client);
                Err(refusal)
            }
        }
    }

    /// The (sentinel, real value) pairs to swap in a request to `host:port`
    /// (none in cleartext unless `allowPlaintextInject`).
    pub fn injections(
        &self,
        host: &Host,
        port: u16,
        config: &NetConfig,
        terminated: bool,
    ) -> crate::credentials::substitute::Pairs {
        if !terminated && !config.allow_plaintext_inject {
            return Vec::new();
        }
        self.sentinels.for_host(host, port)
    }

    /// Records a refusal.
    pub fn refused(&self, host: &str, port: u16, refusal: &Refusal, client: &Client) {
        let host = host.trim_start_matches('[').trim_end_matches(']');
        tracing::debug!("denied {host}:{port}: {}", refusal.reason());
        self.violations.network_denied(host, port, &refusal.reason(), client.key.as_deref());
    }
}

/// A reason as one line of an HTTP status or an SSH message: printable ASCII only.
pub fn status_text(reason: &str) -> String {
    reason.chars().take(200).map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' }).collect()
}

#[cfg(test)]
mod filter_tests;
#[cfg(test)]
mod tests;
