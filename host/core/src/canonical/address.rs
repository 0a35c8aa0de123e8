//! IP addresses and ranges, compared by where a packet goes.
//!
//! `::ffff:10.0.0.10` is `10.0.0.10`: the IPv4-mapped form is the same address, so it is
//! rewritten to the IPv4 form and acted on as such. NAT64 (`64:ff9b::/96`), 6to4
//! (`2002::/16`) and the deprecated IPv4-compatible form (`::/96`) are distinct IPv6
//! addresses that carry an IPv4 one and deliver to it; they keep their own form, but
//! [`overlaps`] counts the IPv4 addresses they carry, so a protected IPv4 range is protected
//! in every spelling that reaches it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use super::NameError;

/// How an IPv6 address carries an IPv4 one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Embedding {
    /// `::ffff:a.b.c.d`: the IPv4 address itself, as dual-stack sockets see it.
    Mapped,
    /// `::a.b.c.d`, deprecated by RFC 4291 (`::` and `::1` are not in it).
    Compatible,
    /// `64:ff9b::a.b.c.d`, the well-known NAT64 prefix (RFC 6052).
    Nat64,
    /// `2002:aabb:ccdd::/48`, 6to4 (RFC 3056): the IPv4 address is bits 16..48.
    SixToFour,
}

/// The prefixes that embed an IPv4 address, with the bit offset (from the least significant
/// end) at which the 32 IPv4 bits sit.
const EMBEDDINGS: [(Embedding, Ipv6Addr, u8, u32); 4] = [
    (
        Embedding::Mapped,
        Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0),
        96,
        0,
    ),
    (
        Embedding::Compatible,
        Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0),
        96,
        0,
    ),
    (
        Embedding::Nat64,
        Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0),
        96,
        0,
    ),
    (
        Embedding::SixToFour,
        Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0),
        16,
        80,
    ),
];

/// The IPv4 address `ip` carries, and how.
pub fn embedded_v4(ip: Ipv6Addr) -> Option<(Embedding, Ipv4Addr)> {
    if ip.is_unspecified() || ip.is_loopback() {
        return None;
    }
    let bits = u128::from(ip);
    EMBEDDINGS.iter().find_map(|(embedding, prefix, len, shift)| {
        let net = Ipv6Net::new(*prefix, *len).expect("embedding prefixes are valid");
        net.contains(&ip)
            .then(|| (*embedding, Ipv4Addr::from((bits >> shift) as u32)))
    })
}

/// The canonical form of an address: IPv4-mapped IPv6 becomes the IPv4 address it is.
pub fn ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The canonical form of a range: host bits cleared, and a range inside `::ffff:0:0/96`
/// written as the IPv4 range it is.
pub fn net(net: IpNet) -> IpNet {
    match net.trunc() {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => {
                IpNet::V4(Ipv4Net::new(v4, v6.prefix_len() - 96).expect("a prefix of at most 32 bits"))
            }
            None => IpNet::V6(v6),
        },
        other => other,
    }
}

/// Parses an address (`10.0.0.10`, `[::1]`) or a range (`10.0.0.0/8`) into its canonical
/// range; a single address is a full-length prefix.
pub fn parse(text: &str) -> Result<IpNet, NameError> {
    if let Some(bad) = text.chars().find(|c| super::name::is_hidden(*c)) {
        return Err(NameError::ControlCharacter(bad as u32));
    }
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    let bare = trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(trimmed);
    let parsed = bare
        .parse::<IpNet>()
        .or_else(|_| bare.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| NameError::Invalid(format!("{trimmed:?} is not an IP address or range")))?;
    Ok(net(parsed))
}

/// Whether any address in `a` reaches an address in `b`, counting the IPv4 addresses that
/// IPv6 ranges carry (so `::/0`, `2002::/16` and `64:ff9b::a00:0/104` all overlap
/// `10.0.0.0/8`).
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    let (a, b) = (net(*a), net(*b));
    if intersect(&a, &b) {
        return true;
    }
    let (a4, b4) = (v4_images(&a), v4_images(&b));
    a4.iter()
        .any(|x| b4.iter().any(|y| intersect(&IpNet::V4(*x), &IpNet::V4(*y))))
}

fn intersect(a: &IpNet, b: &IpNet) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The IPv4 ranges a range reaches: itself for IPv4, and for IPv6 the part of each
/// embedding prefix it covers.
fn v4_images(net: &IpNet) -> Vec<Ipv4Net> {
    let v6 = match net {
        IpNet::V4(v4) => return vec![*v4],
        IpNet::V6(v6) => *v6,
    };
    EMBEDDINGS
        .iter()
        .filter_map(|(_, prefix, len, shift)| {
            let embedding = Ipv6Net::new(*prefix, *len).expect("embedding prefixes are valid");
            if v6.contains(&embedding) {
                // The range covers the whole prefix, so every IPv4 address.
                return Some(Ipv4Net::default());
            }
            if !embedding.contains(&v6) {
                return None;
            }
            // The range sits inside the prefix: its fixed bits beyond the prefix are IPv4
            // bits, up to 32 of them.
            let v4_bits = (u32::from(v6.prefix_len()) - u32::from(*len)).min(32) as u8;
            let v4 = Ipv4Addr::from((u128::from(v6.network()) >> shift) as u32);
            Some(Ipv4Net::new(v4, v4_bits).expect("at most 32 bits").trunc())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str) -> IpNet {
        parse(text).unwrap()
    }

    #[test]
    fn each_embedding_yields_its_ipv4_address() {
        let ten = Ipv4Addr::new(10, 2, 3, 4);
        for (text, embedding) in [
            ("::ffff:10.2.3.4", Embedding::Mapped),
            ("::10.2.3.4", Embedding::Compatible),
            ("64:ff9b::a02:304", Embedding::Nat64),
            ("2002:a02:304::1", Embedding::SixToFour),
        ] {
            assert_eq!(
                embedded_v4(text.parse().unwrap()),
                Some((embedding, ten)),
                "{text}"
            );
        }
        for plain in ["::", "::1", "2001:db8::1", "fe80::1"] {
            assert_eq!(embedded_v4(plain.parse().unwrap()), None, "{plain}");
        }
    }

    #[test]
    fn mapped_addresses_and_ranges_are_written_as_ipv4() {
        assert_eq!(n("::ffff:10.0.0.10"), n("10.0.0.10"));
        assert_eq!(n("[::ffff:10.0.0.10]"), n("10.0.0.10"));
        assert_eq!(n("::ffff:10.0.0.0/104"), n("10.0.0.0/8"));
        assert_eq!(n("::ffff:0:0/96"), n("0.0.0.0/0"));
        assert_eq!(n(" 10.1.2.3/8 "), n("10.0.0.0/8"), "host bits are cleared");
        // NAT64 is another address that delivers to the IPv4 one, not the same address.
        assert_ne!(n("64:ff9b::a00:a"), n("10.0.0.10"));
    }

    #[test]
    fn malformed_and_hidden_text_is_refused() {
        for text in ["", "10.0.0", "010.0.0.10", "10.0.0.10/33", "fe80::1%eth0", "dc01"] {
            assert!(
                matches!(parse(text), Err(NameError::Invalid(_) | NameError::Empty)),
                "{text:?}"
            );
        }
        assert!(matches!(
            parse("10.0.0.10\u{200B}"),
            Err(NameError::ControlCharacter(_))
        ));
    }

    #[test]
    fn overlap_counts_every_spelling_that_reaches_a_range() {
        let protected = n("10.0.0.0/8");
        for reaching in [
            "10.2.3.4",
            "10.0.0.0/7",
            "0.0.0.0/0",
            "::ffff:10.2.3.4",
            "::10.2.3.4",
            "64:ff9b::a02:304",
            "64:ff9b::/96",
            "2002:a02:304::1",
            "2002:a00::/24",
            "2002::/16",
            "::/0",
            "::/1",
        ] {
            assert!(overlaps(&protected, &n(reaching)), "{reaching}");
            assert!(overlaps(&n(reaching), &protected), "{reaching} (reversed)");
        }
        for elsewhere in [
            "11.0.0.1",
            "203.0.113.0/24",
            "64:ff9b::b00:1",
            "2002:b00::/24",
            "2001:db8::/32",
            "8000::/1",
        ] {
            assert!(!overlaps(&protected, &n(elsewhere)), "{elsewhere}");
        }
    }

    #[test]
    fn ipv6_ranges_overlap_by_containment() {
        assert!(overlaps(&n("2001:db8::/32"), &n("2001:db8:1::1")));
        assert!(!overlaps(&n("2001:db8::/32"), &n("2001:db9::1")));
    }
}
