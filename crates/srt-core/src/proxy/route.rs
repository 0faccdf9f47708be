//! How the kernel would route an address (RTM_GETROUTE over netlink), so
//! that the resolved-address guard also refuses addresses that are local by
//! route: AnyIP (`ip route add local 198.51.100.0/24 dev lo`) or a
//! hairpinned NAT address reaches this host's services without being on any
//! interface. The request and the reply are built and read here by hand
//! (they are three small structures); the socket is the only effect.

use std::net::IpAddr;

/// Values from linux/netlink.h and linux/rtnetlink.h (kernel ABI).
const NLMSG_HDRLEN: usize = 16;
const RTMSG_LEN: usize = 12;
const NLMSG_ERROR: u16 = 2;
const NLM_F_REQUEST: u16 = 1;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const RTA_DST: u16 = 1;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// A route type (`rtm_type`): delivered to this host.
pub const RTN_LOCAL: u8 = 2;
/// A route type (`rtm_type`): sent on to a gateway or a link.
#[cfg(test)]
pub const RTN_UNICAST: u8 = 1;

/// The kernel's answer about one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A route of this type (`RTN_*`).
    Route(u8),
    /// No route (the errno the kernel gave, e.g. ENETUNREACH): nothing to
    /// reach, so nothing local either.
    NoRoute(i32),
}

/// The address the kernel is asked about: an IPv4-mapped IPv6 address is
/// dialed as IPv4, so it is routed as IPv4.
fn asked(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

fn octets(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

/// The RTM_GETROUTE request for `ip` (already in the form to ask about):
/// header, rtmsg with a full-length destination, one RTA_DST attribute.
pub fn encode_request(ip: IpAddr, seq: u32) -> Vec<u8> {
    let addr = octets(ip);
    let (family, bits) = if ip.is_ipv4() { (AF_INET, 32) } else { (AF_INET6, 128) };
    let attr_len = 4 + addr.len();
    let total = NLMSG_HDRLEN + RTMSG_LEN + attr_len;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&(total as u32).to_ne_bytes());
    m.extend_from_slice(&RTM_GETROUTE.to_ne_bytes());
    m.extend_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes()); // the kernel's port id
                                              // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags.
    m.extend_from_slice(&[family, bits, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&(attr_len as u16).to_ne_bytes());
    m.extend_from_slice(&RTA_DST.to_ne_bytes());
    m.extend_from_slice(&addr);
    m
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The RTA_DST attribute among the attributes `attrs`, if any.
fn destination(mut attrs: &[u8]) -> Option<&[u8]> {
    while attrs.len() >= 4 {
        let len = usize::from(u16_at(attrs, 0)?);
        if len < 4 || len > attrs.len() {
            return None;
        }
        if u16_at(attrs, 2)? == RTA_DST {
            return Some(&attrs[4..len]);
        }
        // Attributes are padded to four bytes.
        attrs = attrs.get((len + 3) & !3..).unwrap_or_default();
    }
    None
}

/// Reads the kernel's reply to request `seq` about `ip`. A reply about
/// another address, or one that does not parse, is no answer (`None`).
pub fn decode_reply(buf: &[u8], seq: u32, ip: IpAddr) -> Option<Answer> {
    let mut rest = buf;
    while rest.len() >= NLMSG_HDRLEN {
        let len = u32_at(rest, 0)? as usize;
        if len < NLMSG_HDRLEN || len > rest.len() {
            return None;
        }
        let (kind, msg_seq) = (u16_at(rest, 4)?, u32_at(rest, 8)?);
        let body = &rest[NLMSG_HDRLEN..len];
        if msg_seq == seq {
            match kind {
                NLMSG_ERROR => {
                    // A negative errno; zero would be an acknowledgement, not asked for.
                    let errno = i32::from_ne_bytes(body.get(..4)?.try_into().ok()?);
                    if errno != 0 {
                        return Some(Answer::NoRoute(-errno));
                    }
                }
                RTM_NEWROUTE => {
                    let rtmsg = body.get(..RTMSG_LEN)?;
                    if destination(&body[RTMSG_LEN..])? != octets(ip).as_slice() {
                        return None;
                    }
                    return Some(Answer::Route(rtmsg[7]));
                }
                _ => {}
            }
        }
        rest = rest.get((len + 3) & !3..).unwrap_or_default();
    }
    None
}

/// Asks the kernel of this network namespace how it would route `ip`.
#[cfg(target_os = "linux")]
pub fn lookup(ip: IpAddr) -> std::io::Result<Answer> {
    use nix::sys::socket::{
        recv, sendto, setsockopt, socket, sockopt, AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol,
        SockType,
    };
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicU32, Ordering};

    static SEQ: AtomicU32 = AtomicU32::new(1);
    let ip = asked(ip);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let fd = socket(AddressFamily::Netlink, SockType::Raw, SockFlag::SOCK_CLOEXEC, SockProtocol::NetlinkRoute)?;
    // The kernel answers while it takes the request, so the reply is queued
    // before `sendto` returns; the timeout only keeps a broken kernel from
    // holding a proxy thread.
    setsockopt(&fd, sockopt::ReceiveTimeout, &nix::sys::time::TimeVal::new(1, 0))?;
    sendto(fd.as_raw_fd(), &encode_request(ip, seq), &NetlinkAddr::new(0, 0), MsgFlags::empty())?;
    let mut buf = [0u8; 4096];
    let n = recv(fd.as_raw_fd(), &mut buf, MsgFlags::empty())?;
    decode_reply(&buf[..n], seq, ip)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "unreadable netlink route reply"))
}

/// No netlink here: the caller keeps to the interface addresses.
#[cfg(not(target_os = "linux"))]
pub fn lookup(_ip: IpAddr) -> std::io::Result<Answer> {
    Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "no netlink"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reply as the kernel writes it: header, rtmsg, then `attrs`.
    fn reply(kind: u16, seq: u32, family: u8, route_type: u8, attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = vec![family, 32, 0, 0, 254, 2, 0, route_type, 0, 0, 0, 0];
        for (t, data) in attrs {
            body.extend_from_slice(&((4 + data.len()) as u16).to_ne_bytes());
            body.extend_from_slice(&t.to_ne_bytes());
            body.extend_from_slice(data);
            body.resize((body.len() + 3) & !3, 0);
        }
        let mut m = ((NLMSG_HDRLEN + body.len()) as u32).to_ne_bytes().to_vec();
        m.extend_from_slice(&kind.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&7u32.to_ne_bytes());
        m.extend_from_slice(&body);
        m
    }

    fn error(seq: u32, errno: i32) -> Vec<u8> {
        let mut m = 36u32.to_ne_bytes().to_vec();
        m.extend_from_slice(&NLMSG_ERROR.to_ne_bytes());
        m.extend_from_slice(&0u16.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&7u32.to_ne_bytes());
        m.extend_from_slice(&(-errno).to_ne_bytes());
        m.extend_from_slice(&[0u8; 16]); // the start of the request, echoed
        m
    }

    #[test]
    fn requests_ask_about_one_full_length_destination() {
        let v4 = encode_request("198.51.100.7".parse().unwrap(), 9);
        assert_eq!(v4.len(), 36);
        assert_eq!(u32_at(&v4, 0), Some(36));
        assert_eq!(u16_at(&v4, 4), Some(RTM_GETROUTE));
        assert_eq!(u16_at(&v4, 6), Some(NLM_F_REQUEST));
        assert_eq!(u32_at(&v4, 8), Some(9));
        assert_eq!(&v4[16..24], &[AF_INET, 32, 0, 0, 0, 0, 0, 0]);
        assert_eq!(u16_at(&v4, 28), Some(8));
        assert_eq!(u16_at(&v4, 30), Some(RTA_DST));
        assert_eq!(&v4[32..], &[198, 51, 100, 7]);

        let v6 = encode_request("2001:db8::7".parse().unwrap(), 1);
        assert_eq!((v6.len(), u32_at(&v6, 0)), (48, Some(48)));
        assert_eq!(&v6[16..18], &[AF_INET6, 128]);
        assert_eq!(u16_at(&v6, 28), Some(20));
        assert_eq!(&v6[32..], &"2001:db8::7".parse::<std::net::Ipv6Addr>().unwrap().octets());
    }

    #[test]
    fn a_mapped_address_is_asked_about_as_ipv4() {
        assert_eq!(asked("::ffff:198.51.100.7".parse().unwrap()), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(asked("2001:db8::7".parse().unwrap()), "2001:db8::7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn replies_give_the_route_type_of_the_address_asked_about() {
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let dst = [198, 51, 100, 7];
        // RTA_DST after another attribute (RTA_TABLE), with padding between.
        let local = reply(RTM_NEWROUTE, 5, AF_INET, RTN_LOCAL, &[(15, &[254, 0, 0, 0, 9]), (RTA_DST, &dst)]);
        assert_eq!(decode_reply(&local, 5, ip), Some(Answer::Route(RTN_LOCAL)));
        let unicast = reply(RTM_NEWROUTE, 5, AF_INET, RTN_UNICAST, &[(RTA_DST, &dst)]);
        assert_eq!(decode_reply(&unicast, 5, ip), Some(Answer::Route(RTN_UNICAST)));
        assert_eq!(decode_reply(&error(5, libc::ENETUNREACH), 5, ip), Some(Answer::NoRoute(libc::ENETUNREACH)));
        // A message of another request is passed over.
        let both = [reply(RTM_NEWROUTE, 4, AF_INET, RTN_UNICAST, &[(RTA_DST, &dst)]), local.clone()].concat();
        assert_eq!(decode_reply(&both, 5, ip), Some(Answer::Route(RTN_LOCAL)));
    }

    #[test]
    fn replies_that_do_not_fit_are_no_answer() {
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let local = reply(RTM_NEWROUTE, 5, AF_INET, RTN_LOCAL, &[(RTA_DST, &[198, 51, 100, 7])]);
        assert_eq!(decode_reply(&local, 6, ip), None, "another sequence number");
        assert_eq!(decode_reply(&local, 5, "198.51.100.8".parse().unwrap()), None, "another address");
        assert_eq!(decode_reply(&local[..local.len() - 2], 5, ip), None, "cut short");
        assert_eq!(decode_reply(&reply(RTM_NEWROUTE, 5, AF_INET, RTN_LOCAL, &[]), 5, ip), None, "no RTA_DST");
        let mut bad = local.clone();
        bad[32..34].copy_from_slice(&200u16.to_ne_bytes());
        assert_eq!(decode_reply(&bad, 5, ip), None, "an attribute longer than the message");
        assert_eq!(decode_reply(&[], 5, ip), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_kernel_routes_loopback_locally() {
        // Any network namespace has a local route for its loopback address,
        // and an ordinary user may ask about it.
        match lookup("127.0.0.1".parse().unwrap()) {
            Ok(answer) => assert_eq!(answer, Answer::Route(RTN_LOCAL)),
            Err(e) => panic!("netlink route lookup failed: {e}"),
        }
    }
}
