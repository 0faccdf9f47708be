//! The domain-pattern grammar of the settings file (reference §2.6).
//!
//! Pure parsing: a string from `allowedDomains`, `deniedDomains` or a host-only
//! list becomes a [`HostPattern`], or an error whose text says why. The proxy
//! (network issue) matches against these; `config` only validates with them.

use std::fmt;
use std::net::Ipv6Addr;

/// Which list an entry comes from: the grammar differs slightly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// `allowedDomains` and per-command lists: `host[:port]`.
    Allow,
    /// `deniedDomains`: like `Allow`, and the host may be a bare `*`.
    Deny,
    /// `mitmProxy.domains`, `tlsTerminate.excludeDomains`, `injectHosts`: no port.
    HostOnly,
}

/// The host part of a parsed entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostMatch {
    /// `*` (deny lists only): every host.
    Any,
    /// `*.example.com`: strict subdomains of the base (stored lower-case, without `*.`).
    Subdomains(String),
    /// An exact name or IP literal, lower-case (IPv6 canonical, without brackets).
    Exact(String),
}

/// One parsed entry of a domain list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern {
    pub host: HostMatch,
    /// `None` matches every port.
    pub port: Option<u16>,
}

/// Why an entry is not a valid pattern. Displayed after `"<entry>" is not a valid domain pattern`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError(pub String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(reason: impl Into<String>) -> Result<T, PatternError> {
    Err(PatternError(reason.into()))
}

/// Parses one list entry of the given kind.
pub fn parse_entry(entry: &str, kind: EntryKind) -> Result<HostPattern, PatternError> {
    if entry.is_empty() {
        return err("it is empty");
    }
    if entry.contains("://") || entry.contains('/') {
        return err("a domain pattern names a host, not a URL: drop the scheme and any path");
    }
    let (host, port_text) = split_host_port(entry)?;
    let port = match port_text {
        None => None,
        Some(_) if kind == EntryKind::HostOnly => {
            return err("this list takes host names only, without a \":port\"");
        }
        Some(text) => Some(parse_port(text)?),
    };
    let host = match host {
        SplitHost::Ipv6(addr) => HostMatch::Exact(addr.to_string()),
        SplitHost::Name(name) => parse_host_name(name, kind)?,
    };
    Ok(HostPattern { host, port })
}

enum SplitHost<'a> {
    Ipv6(Ipv6Addr),
    Name(&'a str),
}

fn split_host_port(entry: &str) -> Result<(SplitHost<'_>, Option<&str>), PatternError> {
    if let Some(rest) = entry.strip_prefix('[') {
        let Some(close) = rest.find(']') else {
            return err("an opening \"[\" needs its closing \"]\"");
        };
        let inside = &rest[..close];
        // A zone id (`%eth0`) names an interface of this host; it is dropped.
        let address = inside.split('%').next().unwrap_or("");
        let Ok(addr) = address.parse::<Ipv6Addr>() else {
            return err(format!("\"[{inside}]\" is not an IPv6 address"));
        };
        let after = &rest[close + 1..];
        return match after {
            "" => Ok((SplitHost::Ipv6(addr), None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((SplitHost::Ipv6(addr), Some(port))),
                None => err("only \":port\" may follow a bracketed IPv6 address"),
            },
        };
    }
    match entry.matches(':').count() {
        0 => Ok((SplitHost::Name(entry), None)),
        1 => {
            let (host, port) = entry.split_once(':').unwrap_or((entry, ""));
            Ok((SplitHost::Name(host), Some(port)))
        }
        _ => err("an IPv6 address must be written in brackets, like \"[::1]\" or \"[2001:db8::1]:443\""),
    }
}

/// A port is `[1-9][0-9]{0,4}` and at most 65535: no sign, no leading zero, no 0.
fn parse_port(text: &str) -> Result<u16, PatternError> {
    let well_formed =
        !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    match text.parse::<u16>() {
        Ok(port) if well_formed => Ok(port),
        _ => err(format!("the port \"{text}\" must be a number from 1 to 65535, without leading zeros")),
    }
}

fn parse_host_name(name: &str, kind: EntryKind) -> Result<HostMatch, PatternError> {
    if name == "*" {
        return match kind {
            EntryKind::Deny => Ok(HostMatch::Any),
            _ => err("a bare \"*\" is allowed in deniedDomains only"),
        };
    }
    if name.is_empty() {
        return err("the host is empty");
    }
    if name.eq_ignore_ascii_case("localhost") {
        return Ok(HostMatch::Exact(name.to_ascii_lowercase()));
    }
    if let Some(base) = name.strip_prefix("*.") {
        if base.contains('*') {
            return err("\"*\" may appear only once, as the leading \"*.\"");
        }
        if !base.contains('.') || base.starts_with('.') || base.ends_with('.') {
            return err("a wildcard needs at least two labels after \"*.\"");
        }
        if base.split('.').any(str::is_empty) {
            return err("a wildcard's base has an empty label");
        }
        return Ok(HostMatch::Subdomains(base.to_ascii_lowercase()));
    }
    if name.contains('*') {
        return err("a wildcard must be written \"*.\" followed by a domain, like \"*.example.com\"");
    }
    if !name.contains('.') {
        return err("a domain needs at least one dot, like \"example.com\" (or use \"localhost\")");
    }
    if name.starts_with('.') || name.ends_with('.') {
        return err("a domain cannot start or end with a dot");
    }
    Ok(HostMatch::Exact(name.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(entry: &str, kind: EntryKind) -> HostPattern {
        parse_entry(entry, kind).unwrap_or_else(|e| panic!("{entry}: {e}"))
    }

    fn bad(entry: &str, kind: EntryKind) -> String {
        match parse_entry(entry, kind) {
            Ok(p) => panic!("{entry} was accepted as {p:?}"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn plain_and_wildcard_domains() {
        assert_eq!(ok("Example.COM", EntryKind::Allow).host, HostMatch::Exact("example.com".into()));
        for good in ["*.example.com", "*.co.uk", "*.github.io"] {
            assert!(matches!(ok(good, EntryKind::Allow).host, HostMatch::Subdomains(_)));
        }
        assert!(bad("*.com", EntryKind::Allow).contains("two labels"));
        assert!(bad("*.", EntryKind::Allow).contains("two labels"));
        assert!(bad("*example.com", EntryKind::Allow).contains("\"*.\""));
        assert!(bad("not-a-domain", EntryKind::Allow).contains("dot"));
        assert!(bad("localhost.", EntryKind::Allow).contains("dot"));
        assert!(bad("https://example.com", EntryKind::Allow).contains("URL"));
        assert!(bad("example.com/path", EntryKind::Allow).contains("URL"));
        assert_eq!(ok("localhost", EntryKind::Allow).host, HostMatch::Exact("localhost".into()));
        assert_eq!(ok("10.0.0.1", EntryKind::Allow).host, HostMatch::Exact("10.0.0.1".into()));
    }

    #[test]
    fn ports() {
        assert_eq!(ok("example.com:443", EntryKind::Allow).port, Some(443));
        assert_eq!(ok("example.com:65535", EntryKind::Allow).port, Some(65535));
        for port in ["0", "080", "65536", "+1", "", "x", "123456"] {
            assert!(bad(&format!("example.com:{port}"), EntryKind::Allow).contains("port"), "{port}");
        }
        assert!(bad("example.com:443", EntryKind::HostOnly).contains("host names only"));
    }

    #[test]
    fn ipv6() {
        let p = ok("[2001:DB8:0:0::1]:443", EntryKind::Allow);
        assert_eq!(p.host, HostMatch::Exact("2001:db8::1".into()));
        assert_eq!(p.port, Some(443));
        assert_eq!(ok("[fe80::1%eth0]", EntryKind::Allow).host, HostMatch::Exact("fe80::1".into()));
        assert!(bad("::1", EntryKind::Allow).contains("brackets"));
        assert!(bad("[::1]:0", EntryKind::Allow).contains("port"));
        assert!(bad("[::1]junk", EntryKind::Allow).contains("only \":port\""));
        assert!(bad("[nope]", EntryKind::Allow).contains("not an IPv6"));
        assert!(bad("[::1", EntryKind::Allow).contains("closing"));
    }

    #[test]
    fn bare_star_only_in_deny_lists() {
        assert_eq!(ok("*", EntryKind::Deny).host, HostMatch::Any);
        assert_eq!(ok("*:22", EntryKind::Deny).port, Some(22));
        assert!(bad("*", EntryKind::Allow).contains("deniedDomains only"));
        assert!(bad("*", EntryKind::HostOnly).contains("deniedDomains only"));
    }
}
