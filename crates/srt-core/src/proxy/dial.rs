//! Dialing an allowed destination through the resolved-address guard
//! (reference §6.4): a name is resolved once, forbidden addresses are
//! dropped, and only an address that passed is dialed (no second lookup
//! that a rebinding server could answer differently). IP literals were
//! judged by the lists alone.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::tunnel::Upstream;
use super::{route, NetConfig, Refusal};
use crate::policy::address::{classify, embedded_ipv4, DeniedClass};
use crate::policy::host::Host;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub enum DialError {
    Refused(Refusal),
    Failed(std::io::Error),
}

/// Why one resolved address may not be dialed, if it may not. `own` lists
/// this host's interface addresses; `local_by_route` says whether the kernel
/// would deliver an address to this host.
pub fn address_refusal(
    name: &str,
    ip: IpAddr,
    port: u16,
    config: &NetConfig,
    own: &[IpAddr],
    local_by_route: &dyn Fn(IpAddr) -> bool,
) -> Option<String> {
    let literal = Host::Ip(match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    });
    // A denied IPv4 address is denied in every IPv6 form that carries it
    // (NAT64, 6to4, ...), as for a literal the client writes itself.
    let carried = match ip {
        IpAddr::V6(v6) => embedded_ipv4(v6).map(|v4| Host::Ip(IpAddr::V4(v4))),
        IpAddr::V4(_) => None,
    };
    let denied = |h: &Host| config.rules.denied.iter().any(|p| p.is_literal() && p.matches(h, port));
    if denied(&literal) || carried.as_ref().is_some_and(denied) {
        return Some("a deny-listed address".into());
    }
    if config.rules.allowed.iter().any(|p| p.is_literal() && p.matches(&literal, port)) {
        return None;
    }
    let is_loopback = |ip: IpAddr| match ip {
        IpAddr::V4(a) => a.is_loopback(),
        IpAddr::V6(a) => a.is_loopback() || embedded_ipv4(a).is_some_and(|e| e.is_loopback()),
    };
    if name == "localhost" || name.ends_with(".localhost") {
        // The user allowed this machine by name: its loopback, and nothing else.
        return if is_loopback(ip) { None } else { Some("a non-loopback address".into()) };
    }
    classify(ip, own, &config.denied_resolved)
        .or_else(|| local_by_route(ip).then_some(DeniedClass::LocalByRoute))
        .map(|c| c.describe().to_string())
}

/// This host's own addresses, re-read at most once a second.
fn own_addresses() -> Vec<IpAddr> {
    static CACHE: Mutex<Option<(Instant, Vec<IpAddr>)>> = Mutex::new(None);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, list)) = cache.as_ref() {
        if at.elapsed() < Duration::from_secs(1) {
            return list.clone();
        }
    }
    let list: Vec<IpAddr> = nix::ifaddrs::getifaddrs()
        .map(|addrs| {
            addrs
                .filter_map(|a| {
                    let addr = a.address?;
                    if let Some(v4) = addr.as_sockaddr_in() {
                        Some(IpAddr::V4(v4.ip()))
                    } else {
                        addr.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip()))
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    *cache = Some((Instant::now(), list.clone()));
    list
}

/// Opens a tunnel to an allowed destination: through the `mitmProxy` socket
/// or the parent proxy if one applies (it resolves the name), else directly
/// through the guard.
pub async fn dial_tunnel(host: &Host, port: u16, config: &NetConfig) -> Result<Upstream, DialError> {
    if let Some(mitm) = config.mitm.as_ref().filter(|m| m.covers(host, port)) {
        return mitm.connect_through(host, port).await.map(Upstream::Unix).map_err(DialError::Failed);
    }
    if let Some(parent) = config.parent.as_ref().and_then(|p| p.route(host, true)) {
        return super::parent::connect_through(parent, host, port).await.map_err(DialError::Failed);
    }
    dial(host, port, config).await.map(Upstream::Tcp)
}

/// Answers kept for a while, by key; at most `KEPT` of them.
struct Recent<K, V>(Option<HashMap<K, (Instant, V)>>);

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    const KEPT: usize = 1024;

    const fn new() -> Self {
        Recent(None)
    }

    fn get<Q: Eq + Hash + ?Sized>(&self, key: &Q, ttl: Duration) -> Option<V>
    where
        K: Borrow<Q>,
    {
        self.0.as_ref()?.get(key).filter(|(at, _)| at.elapsed() < ttl).map(|(_, v)| v.clone())
    }

    fn put(&mut self, key: K, value: V, ttl: Duration) {
        let map = self.0.get_or_insert_with(HashMap::new);
        if map.len() >= Self::KEPT {
            map.retain(|_, (at, _)| at.elapsed() < ttl);
            if map.len() >= Self::KEPT {
                map.clear();
            }
        }
        map.insert(key, (Instant::now(), value));
    }
}

/// How long an answer of the system resolver is reused. Every use is
/// checked again, so a short-lived answer (rebinding) gains nothing from
/// it; what it saves is a resolver thread hand-off per connection.
const RESOLVED_FOR: Duration = Duration::from_secs(5);

/// The addresses of `name`, from the system resolver (getaddrinfo).
async fn resolve(name: &str) -> std::io::Result<Vec<IpAddr>> {
    static ANSWERS: Mutex<Recent<String, Vec<IpAddr>>> = Mutex::new(Recent::new());
    if let Some(ips) = ANSWERS.lock().unwrap_or_else(|e| e.into_inner()).get(name, RESOLVED_FOR) {
        return Ok(ips);
    }
    let ips: Vec<IpAddr> = tokio::net::lookup_host((name, 0)).await?.map(|a| a.ip()).collect();
    if !ips.is_empty() {
        ANSWERS.lock().unwrap_or_else(|e| e.into_inner()).put(name.to_string(), ips.clone(), RESOLVED_FOR);
    }
    Ok(ips)
}

/// How long the kernel's route for an address is reused: routes change
/// rarely, and a busy proxy should not ask netlink once per connection.
const ROUTED_FOR: Duration = Duration::from_secs(2);

/// Whether the kernel would deliver `ip` to this host (a `local` route).
///
/// When netlink cannot be asked (no netlink, or a seccomp policy around srt
/// that forbids it), the guard keeps to the interface addresses rather than
/// refuse every dial: local routes to addresses on no interface are rare
/// host set-ups, while failing closed would make the proxy unusable. The
/// failure is logged and not cached, so the next dial asks again.
fn local_by_route(ip: IpAddr) -> bool {
    static ANSWERS: Mutex<Recent<IpAddr, bool>> = Mutex::new(Recent::new());
    if let Some(local) = ANSWERS.lock().unwrap_or_else(|e| e.into_inner()).get(&ip, ROUTED_FOR) {
        return local;
    }
    match route::lookup(ip) {
        Ok(answer) => {
            let local = answer == route::Answer::Route(route::RTN_LOCAL);
            ANSWERS.lock().unwrap_or_else(|e| e.into_inner()).put(ip, local, ROUTED_FOR);
            local
        }
        Err(e) => {
            tracing::debug!("route lookup for {ip} failed ({e}): judged by the interface addresses only");
            false
        }
    }
}

/// Connects directly to an allowed destination.
pub async fn dial(host: &Host, port: u16, config: &NetConfig) -> Result<TcpStream, DialError> {
    let candidates: Vec<SocketAddr> = match host {
        Host::Ip(ip) => vec![SocketAddr::new(*ip, port)],
        Host::Name(name) => {
            let resolved: Vec<SocketAddr> = resolve(name)
                .await
                .map_err(DialError::Failed)?
                .into_iter()
                .map(|ip| SocketAddr::new(ip, port))
                .collect();
            if resolved.is_empty() {
                return Err(DialError::Failed(std::io::Error::new(std::io::ErrorKind::NotFound, "no address")));
            }
            let own = own_addresses();
            let mut classes: Vec<String> = Vec::new();
            let mut passed = Vec::new();
            for addr in resolved {
                match address_refusal(name, addr.ip(), port, config, &own, &local_by_route) {
                    None => passed.push(addr),
                    Some(class) if !classes.contains(&class) => classes.push(class),
                    Some(_) => {}
                }
            }
            if passed.is_empty() {
                return Err(DialError::Refused(Refusal::Resolved(classes.join(" / "))));
            }
            passed
        }
    };
    let mut last = None;
    for addr in candidates {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Ok(Err(e)) => last = Some(e),
            Err(_) => last = Some(std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")),
        }
    }
    Err(DialError::Failed(last.unwrap_or_else(|| std::io::Error::other("no address to dial"))))
}
