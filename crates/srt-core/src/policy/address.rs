//! The resolved-address guard's classes (reference §6.4): where a name
//! that passed the domain lists may still not lead. IPv4 rules also apply
//! to IPv4 carried inside IPv6 (mapped, compatible, translated, NAT64, 6to4).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is refused; shown as `resolved to <class>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeniedClass {
    Loopback,
    Unspecified,
    LinkLocal,
    Multicast,
    Broadcast,
    CloudMetadata,
    ThisHost,
    /// Routed to this host by the kernel (AnyIP, hairpin NAT) though on no interface.
    LocalByRoute,
    Listed,
}

impl DeniedClass {
    pub fn describe(self) -> &'static str {
        match self {
            DeniedClass::Loopback => "a loopback address",
            DeniedClass::Unspecified => "an unspecified address",
            DeniedClass::LinkLocal => "a link-local address",
            DeniedClass::Multicast => "a multicast address",
            DeniedClass::Broadcast => "the broadcast address",
            DeniedClass::CloudMetadata => "a cloud metadata endpoint",
            DeniedClass::ThisHost => "an address of this host",
            DeniedClass::LocalByRoute => "an address local to this host by route",
            DeniedClass::Listed => "a listed address",
        }
    }
}

/// An address range: `10.0.0.0/8`, `fd00::/8`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, Some(p.parse::<u8>().ok()?)),
            None => (text.parse::<IpAddr>().ok()?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(a)) => prefix_eq(&net.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(net), IpAddr::V6(a)) => prefix_eq(&net.octets(), &a.octets(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let full = usize::from(bits / 8);
    let rest = bits % 8;
    a[..full] == b[..full] && (rest == 0 || (a[full] ^ b[full]) >> (8 - rest) == 0)
}

const METADATA_V4: &[Ipv4Addr] = &[
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
    Ipv4Addr::new(192, 0, 0, 192),
];

fn metadata_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    (s[0] == 0xfd00 && s[1] == 0x0ec2)
        || a == Ipv6Addr::new(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254)
        || a == Ipv6Addr::new(0xfd00, 0xc1, 0, 0, 0, 0, 0xa9fe, 0xa9fe)
        || a == Ipv6Addr::new(0xfd00, 0x42, 0, 0, 0, 0, 0, 0x42)
        || a == Ipv6Addr::new(0xfd00, 0xa9fe, 0xa9fe, 0, 0, 0, 0, 1)
        || a == Ipv6Addr::new(0xfd00, 0x100, 0, 0, 0, 0, 0x100, 0x200)
}

/// The IPv4 address an IPv6 address carries, if it is one of the forms that do.
pub fn embedded_ipv4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = a.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let first_six = &s[..6];
    let mapped = first_six == [0, 0, 0, 0, 0, 0xffff];
    let compatible = first_six == [0, 0, 0, 0, 0, 0] && a != Ipv6Addr::UNSPECIFIED && a != Ipv6Addr::LOCALHOST;
    let translated = first_six == [0, 0, 0, 0, 0xffff, 0];
    let nat64 = s[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    if mapped || compatible || translated || nat64 {
        return Some(tail);
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address is in bits 16 to 48.
        return Some(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
    }
    None
}

fn classify_v4(a: Ipv4Addr) -> Option<DeniedClass> {
    if a.is_loopback() {
        Some(DeniedClass::Loopback)
    } else if a.octets()[0] == 0 {
        Some(DeniedClass::Unspecified)
    } else if METADATA_V4.contains(&a) {
        Some(DeniedClass::CloudMetadata)
    } else if a.is_link_local() {
        Some(DeniedClass::LinkLocal)
    } else if a.is_multicast() {
        Some(DeniedClass::Multicast)
    } else if a.is_broadcast() {
        Some(DeniedClass::Broadcast)
    } else {
        None
    }
}

/// The class that forbids connecting to `ip`, if any. `own` lists this
/// host's addresses; `listed` the configured `deniedResolvedAddresses`.
pub fn classify(ip: IpAddr, own: &[IpAddr], listed: &[Cidr]) -> Option<DeniedClass> {
    let inherent = match ip {
        IpAddr::V4(a) => classify_v4(a),
        IpAddr::V6(a) => {
            if a.is_loopback() {
                Some(DeniedClass::Loopback)
            } else if a.is_unspecified() {
                Some(DeniedClass::Unspecified)
            } else if metadata_v6(a) {
                Some(DeniedClass::CloudMetadata)
            } else if (a.segments()[0] & 0xffc0) == 0xfe80 {
                Some(DeniedClass::LinkLocal)
            } else if a.is_multicast() {
                Some(DeniedClass::Multicast)
            } else {
                embedded_ipv4(a).and_then(classify_v4)
            }
        }
    };
    if inherent.is_some() {
        return inherent;
    }
    let both = |target: IpAddr| -> Vec<IpAddr> {
        let mut v = vec![target];
        if let IpAddr::V6(a) = target {
            if let Some(e) = embedded_ipv4(a) {
                v.push(IpAddr::V4(e));
            }
        }
        v
    };
    let forms = both(ip);
    if forms.iter().any(|f| listed.iter().any(|c| c.contains(*f))) {
        return Some(DeniedClass::Listed);
    }
    if forms.iter().any(|f| own.contains(f)) {
        return Some(DeniedClass::ThisHost);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(s: &str) -> Option<DeniedClass> {
        classify(s.parse().unwrap(), &["192.168.1.20".parse().unwrap()], &[Cidr::parse("10.0.0.0/8").unwrap()])
    }

    #[test]
    fn denied_classes() {
        use DeniedClass::*;
        assert_eq!(class("127.0.0.1"), Some(Loopback));
        assert_eq!(class("127.255.0.9"), Some(Loopback));
        assert_eq!(class("::1"), Some(Loopback));
        assert_eq!(class("0.0.0.0"), Some(Unspecified));
        assert_eq!(class("::"), Some(Unspecified));
        assert_eq!(class("169.254.169.254"), Some(CloudMetadata));
        assert_eq!(class("fd00:ec2::254"), Some(CloudMetadata));
        assert_eq!(class("100.100.100.200"), Some(CloudMetadata));
        assert_eq!(class("169.254.1.1"), Some(LinkLocal));
        assert_eq!(class("fe80::1"), Some(LinkLocal));
        assert_eq!(class("224.0.0.1"), Some(Multicast));
        assert_eq!(class("ff02::1"), Some(Multicast));
        assert_eq!(class("255.255.255.255"), Some(Broadcast));
        assert_eq!(class("192.168.1.20"), Some(ThisHost));
        assert_eq!(class("10.1.2.3"), Some(Listed));
        assert_eq!(class("93.184.216.34"), None);
        assert_eq!(class("2606:4700::1111"), None);
    }

    #[test]
    fn ipv4_inside_ipv6_is_judged_as_ipv4() {
        use DeniedClass::*;
        for carried in ["::ffff:127.0.0.1", "::127.0.0.1", "::ffff:0:7f00:1", "64:ff9b::7f00:1", "2002:7f00:1::"] {
            assert_eq!(class(carried), Some(Loopback), "{carried}");
        }
        assert_eq!(class("64:ff9b::a9fe:a9fe"), Some(CloudMetadata));
        assert_eq!(class("::ffff:10.0.0.1"), Some(Listed));
        assert_eq!(class("::ffff:192.168.1.20"), Some(ThisHost));
    }

    #[test]
    fn cidr_ranges() {
        let c = Cidr::parse("172.16.0.0/12").unwrap();
        assert!(c.contains("172.31.255.1".parse().unwrap()));
        assert!(!c.contains("172.32.0.1".parse().unwrap()));
        assert!(Cidr::parse("fd00::/8").unwrap().contains("fdab::1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("1.2.3.4").unwrap().contains("1.2.3.4".parse().unwrap()));
    }
}
