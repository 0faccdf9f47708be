//! The domain decision (reference §2.7): deny list first, then the allow
//! list, then (unless `strictAllowlist`) the per-command list, then the ask
//! callback. Hosts and patterns are compared in canonical form.

use std::collections::BTreeMap;

use super::domain::{parse_entry, EntryKind, HostMatch};
use super::host::{parse_host, Host};

/// A list entry ready for matching.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern {
    /// The entry as written (the key of `deniedDomainReasons`).
    pub text: String,
    kind: Kind,
    port: Option<u16>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Any,
    Exact(Host),
    /// Strict subdomains of this canonical name.
    Below(String),
}

impl Pattern {
    /// Compiles one list entry.
    pub fn new(text: &str, kind: EntryKind) -> Result<Pattern, String> {
        let parsed = parse_entry(text, kind).map_err(|e| format!("{text:?} is not a valid domain pattern ({e})"))?;
        let kind = match parsed.host {
            HostMatch::Any => Kind::Any,
            HostMatch::Exact(h) => Kind::Exact(
                parse_host(&h).map_err(|e| format!("{text:?} is not a valid domain pattern (a host with {})", e.0))?,
            ),
            HostMatch::Subdomains(base) => match parse_host(&base) {
                Ok(Host::Name(n)) => Kind::Below(n),
                _ => return Err(format!("{text:?} is not a valid domain pattern (a wildcard's base must be a name)")),
            },
        };
        Ok(Pattern { text: text.to_string(), kind, port: parsed.port })
    }

    /// Whether the entry names one IP address (the guard lets an allowed
    /// literal through, and refuses a deny-listed one, by address).
    pub fn is_literal(&self) -> bool {
        matches!(self.kind, Kind::Exact(Host::Ip(_)))
    }

    /// Whether the pattern covers this destination.
    pub fn matches(&self, host: &Host, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match (&self.kind, host) {
            (Kind::Any, _) => true,
            (Kind::Exact(h), _) => h == host,
            // An IP literal is never a subdomain of anything.
            (Kind::Below(base), Host::Name(name)) => {
                name.len() > base.len() + 1
                    && name.ends_with(base.as_str())
                    && name.as_bytes()[name.len() - base.len() - 1] == b'.'
            }
            (Kind::Below(_), Host::Ip(_)) => false,
        }
    }
}

/// The network rules of a session.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub allowed: Vec<Pattern>,
    pub denied: Vec<Pattern>,
    pub reasons: BTreeMap<String, String>,
    pub strict: bool,
}

impl Rules {
    pub fn new(
        allowed: &[String],
        denied: &[String],
        reasons: BTreeMap<String, String>,
        strict: bool,
    ) -> Result<Rules, String> {
        let compile = |list: &[String], kind| list.iter().map(|e| Pattern::new(e, kind)).collect::<Result<Vec<_>, _>>();
        Ok(Rules {
            allowed: compile(allowed, EntryKind::Allow)?,
            denied: compile(denied, EntryKind::Deny)?,
            reasons,
            strict,
        })
    }
}

/// What to do with one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Deny(String),
    /// Nothing decided: the ask callback decides, or without one it is denied.
    Ask,
}

pub const NOT_ALLOWED: &str = "host is not on the allow list";

/// Decides for `raw_host:port`; also returns the canonical host for the dial.
pub fn decide(rules: &Rules, raw_host: &str, port: u16, per_command: Option<&[Pattern]>) -> (Option<Host>, Verdict) {
    let host = match parse_host(raw_host) {
        Ok(h) => h,
        Err(_) => return (None, Verdict::Deny("malformed host".into())),
    };
    // A denied IPv4 address is denied in every IPv6 form that carries it
    // (compatible, NAT64, 6to4): IP literals never meet the address guard.
    let carried = match &host {
        Host::Ip(std::net::IpAddr::V6(v6)) => super::address::embedded_ipv4(*v6).map(|v4| Host::Ip(v4.into())),
        _ => None,
    };
    let denied = |p: &&Pattern| p.matches(&host, port) || carried.as_ref().is_some_and(|c| p.matches(c, port));
    if let Some(p) = rules.denied.iter().find(denied) {
        let reason = rules.reasons.get(&p.text).cloned().unwrap_or_else(|| "host is on the deny list".into());
        return (Some(host), Verdict::Deny(reason));
    }
    if rules.allowed.iter().any(|p| p.matches(&host, port)) {
        return (Some(host), Verdict::Allow);
    }
    if rules.strict {
        return (Some(host), Verdict::Deny(NOT_ALLOWED.into()));
    }
    if per_command.is_some_and(|list| list.iter().any(|p| p.matches(&host, port))) {
        return (Some(host), Verdict::Allow);
    }
    (Some(host), Verdict::Ask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(allowed: &[&str], denied: &[&str]) -> Rules {
        let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Rules::new(&own(allowed), &own(denied), BTreeMap::new(), false).unwrap()
    }

    fn verdict(r: &Rules, host: &str, port: u16) -> Verdict {
        decide(r, host, port, None).1
    }

    #[test]
    fn suffix_confusion_and_apex() {
        let r = rules(&["*.github.com", "example.com"], &[]);
        assert_eq!(verdict(&r, "api.github.com", 443), Verdict::Allow);
        assert_eq!(verdict(&r, "a.b.github.com", 443), Verdict::Allow);
        for other in
            ["github.com", "evilgithub.com", "github.com.evil.com", "xgithub.com", "notexample.com", "example.com.evil"]
        {
            assert_eq!(verdict(&r, other, 443), Verdict::Ask, "{other}");
        }
    }

    #[test]
    fn case_trailing_dot_and_idn() {
        let r = rules(&["*.Example.COM", "bücher.example"], &["evil.com"]);
        assert_eq!(verdict(&r, "API.EXAMPLE.com.", 443), Verdict::Allow);
        assert_eq!(verdict(&r, "xn--bcher-kva.example", 443), Verdict::Allow);
        assert_eq!(verdict(&r, "EVIL.com.", 443), Verdict::Deny("host is on the deny list".into()));
        assert_eq!(verdict(&r, "evil\u{200B}.com", 443), Verdict::Deny("malformed host".into()));
    }

    #[test]
    fn deny_before_allow_with_reasons_and_ports() {
        let mut reasons = BTreeMap::new();
        reasons.insert("*:22".to_string(), "no ssh here".to_string());
        let r = Rules::new(
            &["github.com".into(), "*.github.com".into()],
            &["*:22".into(), "gist.github.com".into()],
            reasons,
            false,
        )
        .unwrap();
        assert_eq!(verdict(&r, "github.com", 22), Verdict::Deny("no ssh here".into()));
        assert_eq!(verdict(&r, "github.com", 443), Verdict::Allow);
        assert_eq!(verdict(&r, "gist.github.com", 443), Verdict::Deny("host is on the deny list".into()));
        let ported = rules(&["example.com:443"], &[]);
        assert_eq!(verdict(&ported, "example.com", 443), Verdict::Allow);
        assert_eq!(verdict(&ported, "example.com", 8443), Verdict::Ask, "port confusion");
    }

    #[test]
    fn ip_literals_in_any_spelling() {
        let r = rules(&["*.example.com"], &["127.0.0.1", "[::1]"]);
        for spelling in ["127.1", "2130706433", "0x7f.1", "0177.0.0.1", "[::ffff:127.0.0.1]", "[::ffff:7f00:1]"] {
            assert_eq!(verdict(&r, spelling, 80), Verdict::Deny("host is on the deny list".into()), "{spelling}");
        }
        assert_eq!(verdict(&r, "[0:0:0:0:0:0:0:1]", 80), Verdict::Deny("host is on the deny list".into()));
        assert_eq!(verdict(&r, "1.2.3.4", 80), Verdict::Ask, "an IP is never a subdomain");
        let allow_ip = rules(&["10.0.0.1:8080"], &[]);
        assert_eq!(verdict(&allow_ip, "10.0.0.1", 8080), Verdict::Allow);
        assert_eq!(verdict(&allow_ip, "0x0a.0.0.1", 8080), Verdict::Allow);
    }

    #[test]
    fn strict_allowlist_and_per_command_lists() {
        let per_command = vec![Pattern::new("pypi.org", EntryKind::Allow).unwrap()];
        let mut r = rules(&["example.com"], &["*.evil.com"]);
        assert_eq!(decide(&r, "pypi.org", 443, Some(&per_command)).1, Verdict::Allow);
        assert_eq!(
            decide(&r, "x.evil.com", 443, Some(&[Pattern::new("*.evil.com", EntryKind::Allow).unwrap()])).1,
            Verdict::Deny("host is on the deny list".into()),
            "deny wins over a per-command allow"
        );
        r.strict = true;
        assert_eq!(decide(&r, "pypi.org", 443, Some(&per_command)).1, Verdict::Deny(NOT_ALLOWED.into()));
        assert_eq!(decide(&r, "other.org", 443, None).1, Verdict::Deny(NOT_ALLOWED.into()));
    }

    #[test]
    fn bare_star_denies_everything() {
        let r = rules(&["example.com"], &["*"]);
        assert_eq!(verdict(&r, "example.com", 443), Verdict::Deny("host is on the deny list".into()));
    }
}
