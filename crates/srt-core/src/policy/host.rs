//! Destination hosts as a client spells them, normalised before any
//! matching (reference §2.7): case, one trailing dot, IDNA, the odd IPv4
//! spellings (`127.1`, `0x7f.1`, `2130706433`, `0177.0.0.1`), IPv6 with or
//! without brackets, IPv4-mapped IPv6. Control and invisible characters,
//! `%` and anything else that is not a host are refused.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A destination host in canonical form.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name: lower-case ASCII (punycode), no trailing dot.
    Name(String),
    /// An IP literal (IPv4-mapped IPv6 is stored as IPv4).
    Ip(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(n) => f.write_str(n),
            Host::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
            Host::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

/// Why a host was refused; the proxy reports it as `malformed host`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MalformedHost(pub &'static str);

/// Characters that change nothing visible and would let two spellings differ.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{E0000}'..='\u{E007F}')
}

/// Parses and normalises a host.
pub fn parse_host(raw: &str) -> Result<Host, MalformedHost> {
    if raw.is_empty() {
        return Err(MalformedHost("empty host"));
    }
    if raw.chars().any(|c| c.is_control() || c.is_whitespace() || is_invisible(c)) {
        return Err(MalformedHost("control or invisible characters"));
    }
    if raw.contains('%') {
        return Err(MalformedHost("percent signs"));
    }
    if let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner.parse::<Ipv6Addr>().map(ipv6).map_err(|_| MalformedHost("not an IPv6 address"));
    }
    if raw.contains(':') {
        return raw.parse::<Ipv6Addr>().map(ipv6).map_err(|_| MalformedHost("not an IPv6 address"));
    }
    let lower = raw.to_lowercase();
    let name = lower.strip_suffix('.').unwrap_or(&lower);
    if name.is_empty() || name.ends_with('.') {
        return Err(MalformedHost("empty label"));
    }
    if let Some(v4) = parse_ipv4(name)? {
        return Ok(Host::Ip(IpAddr::V4(v4)));
    }
    let ascii = idna::domain_to_ascii(name).map_err(|_| MalformedHost("not a valid internationalised name"))?;
    if ascii.is_empty() || ascii.len() > 253 {
        return Err(MalformedHost("bad length"));
    }
    let labels_ok = ascii.split('.').all(|l| {
        !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    if !labels_ok {
        return Err(MalformedHost("characters a host name cannot have"));
    }
    // IDNA can turn full-width digits into an address: check again.
    if let Some(v4) = parse_ipv4(&ascii)? {
        return Ok(Host::Ip(IpAddr::V4(v4)));
    }
    Ok(Host::Name(ascii))
}

fn ipv6(v6: Ipv6Addr) -> Host {
    match v6.to_ipv4_mapped() {
        Some(v4) => Host::Ip(IpAddr::V4(v4)),
        None => Host::Ip(IpAddr::V6(v6)),
    }
}

/// The WHATWG/inet_aton reading of IPv4: a name whose last label is a
/// number is an address (1 to 4 parts, decimal, `0x` hex or `0` octal), or
/// malformed. `None` when the name is not numeric.
fn parse_ipv4(name: &str) -> Result<Option<Ipv4Addr>, MalformedHost> {
    let parts: Vec<&str> = name.split('.').collect();
    let last = parts.last().copied().unwrap_or("");
    let numeric = |p: &str| parse_number(p).is_some();
    // Digits only (or 0x and hex digits): meant as a number, even if a bad one.
    let looks_numeric = |p: &str| {
        !p.is_empty()
            && (p.bytes().all(|b| b.is_ascii_digit())
                || p.strip_prefix("0x")
                    .or_else(|| p.strip_prefix("0X"))
                    .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit())))
    };
    if !looks_numeric(last) {
        return Ok(None);
    }
    if parts.len() > 4 || !parts.iter().all(|p| numeric(p)) {
        return Err(MalformedHost("an IPv4 address that is not one"));
    }
    let nums: Vec<u64> = parts.iter().map(|p| parse_number(p).unwrap_or(u64::MAX)).collect();
    let (init, tail) = nums.split_at(nums.len() - 1);
    if init.iter().any(|n| *n > 255) {
        return Err(MalformedHost("an IPv4 part above 255"));
    }
    let tail_bits = 8 * (5 - nums.len() as u32);
    if tail[0] >= 1u64 << tail_bits {
        return Err(MalformedHost("an IPv4 address out of range"));
    }
    let mut value = tail[0];
    for (i, n) in init.iter().enumerate() {
        value |= n << (24 - 8 * i as u32);
    }
    Ok(Some(Ipv4Addr::from(value as u32)))
}

fn parse_number(p: &str) -> Option<u64> {
    if p.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(h) = p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
        (h, 16)
    } else if p.len() > 1 && p.starts_with('0') {
        (&p[1..], 8)
    } else {
        (p, 10)
    };
    if digits.is_empty() {
        return (radix == 16).then_some(0);
    }
    if digits.len() > 16 {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Host {
        Host::Ip(s.parse().unwrap())
    }

    #[test]
    fn names_are_normalised() {
        assert_eq!(parse_host("GitHub.COM"), Ok(Host::Name("github.com".into())));
        assert_eq!(parse_host("github.com."), Ok(Host::Name("github.com".into())));
        assert!(parse_host("github.com..").is_err());
        assert_eq!(parse_host("bücher.example"), Ok(Host::Name("xn--bcher-kva.example".into())));
        assert_eq!(parse_host("xn--bcher-kva.example"), Ok(Host::Name("xn--bcher-kva.example".into())));
        assert_eq!(parse_host("Ⓖithub.com"), Ok(Host::Name("github.com".into())), "IDNA maps compatibility forms");
    }

    #[test]
    fn hidden_and_odd_characters_are_refused() {
        for bad in ["git\u{200B}hub.com", "github.com\0", "git hub.com", "github.com%2e", "a/b", "", ".", "a..b"] {
            assert!(parse_host(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn odd_ipv4_spellings() {
        for spelling in ["127.0.0.1", "127.1", "0x7f.1", "2130706433", "0177.0.0.1", "0x7f000001", "127.0.1"] {
            assert_eq!(parse_host(spelling), Ok(ip("127.0.0.1")), "{spelling}");
        }
        assert_eq!(parse_host("169.254.169.254"), Ok(ip("169.254.169.254")));
        for bad in ["256.0.0.1", "1.2.3.4.5", "4294967296", "0x1.0x100.1", "1.2.3.09"] {
            assert!(parse_host(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_host("1.2.3.example"), Ok(Host::Name("1.2.3.example".into())), "not numeric at the end");
    }

    #[test]
    fn ipv6_forms() {
        assert_eq!(parse_host("[::1]"), Ok(ip("::1")));
        assert_eq!(parse_host("::1"), Ok(ip("::1")));
        assert_eq!(parse_host("[::ffff:127.0.0.1]"), Ok(ip("127.0.0.1")));
        assert_eq!(parse_host("[::ffff:7f00:1]"), Ok(ip("127.0.0.1")));
        assert_eq!(parse_host("[2001:DB8::1]"), Ok(ip("2001:db8::1")));
        assert!(parse_host("[::1%eth0]").is_err());
        assert!(parse_host("[nope]").is_err());
    }
}
