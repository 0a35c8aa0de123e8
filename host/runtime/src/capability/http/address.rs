//! Which addresses a plugin's request may reach.
//!
//! Every address a name resolves to, and every literal address, is classified here before the
//! host connects. Only globally routable unicast addresses pass by default; an admin may open
//! loopback, private, link-local and shared (CGNAT) ranges with `allow_private`, but never the
//! cloud metadata service, unspecified, broadcast, multicast or reserved addresses. Forms that
//! embed an IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4) are judged by the address
//! they embed.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use palisade_core::canonical::{self, address::Embedding};

/// Why an address is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Reachable only with `allow_private`.
    Private(PrivateKind),
    /// Never reachable, whatever the config says.
    Forbidden(ForbiddenKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivateKind {
    Loopback,
    /// RFC 1918, and IPv6 unique local addresses (fc00::/7).
    Private,
    /// 169.254/16 and fe80::/10.
    LinkLocal,
    /// Carrier-grade NAT, 100.64/10.
    SharedAddressSpace,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbiddenKind {
    /// 169.254.169.254, fd00:ec2::254 and the like: credentials live there.
    CloudMetadata,
    Unspecified,
    Broadcast,
    Multicast,
    /// Documentation, benchmarking, protocol assignments, reserved and deprecated ranges:
    /// nothing a plugin has business with.
    Reserved,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::Private(PrivateKind::Loopback) => "a loopback address",
            Refusal::Private(PrivateKind::Private) => "a private address",
            Refusal::Private(PrivateKind::LinkLocal) => "a link-local address",
            Refusal::Private(PrivateKind::SharedAddressSpace) => "a shared (CGNAT) address",
            Refusal::Forbidden(ForbiddenKind::CloudMetadata) => "the cloud metadata service",
            Refusal::Forbidden(ForbiddenKind::Unspecified) => "an unspecified address",
            Refusal::Forbidden(ForbiddenKind::Broadcast) => "a broadcast address",
            Refusal::Forbidden(ForbiddenKind::Multicast) => "a multicast address",
            Refusal::Forbidden(ForbiddenKind::Reserved) => "a reserved or non-routable address",
        })
    }
}

/// `Ok` when a request may connect to `ip`; `allow_private` is the admin's opt-in to the
/// [`Refusal::Private`] ranges.
pub fn check(ip: IpAddr, allow_private: bool) -> Result<(), Refusal> {
    match classify(ip) {
        None => Ok(()),
        Some(Refusal::Private(_)) if allow_private => Ok(()),
        Some(refusal) => Err(refusal),
    }
}

/// What is special about `ip`, or `None` for a globally routable unicast address.
pub fn classify(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, network: [u8; 4], prefix: u32) -> bool {
    let mask = if prefix == 0 { 0 } else { u32::MAX << (32 - prefix) };
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(network)) & mask
}

fn classify_v4(ip: Ipv4Addr) -> Option<Refusal> {
    use ForbiddenKind::*;
    use PrivateKind::*;
    const METADATA: &[[u8; 4]] = &[
        [169, 254, 169, 254], // AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        [169, 254, 170, 2],   // AWS ECS task metadata
        [100, 100, 100, 200], // Alibaba Cloud
    ];
    if METADATA.contains(&ip.octets()) {
        return Some(Refusal::Forbidden(CloudMetadata));
    }
    let ranges: &[([u8; 4], u32, Refusal)] = &[
        ([0, 0, 0, 0], 32, Refusal::Forbidden(Unspecified)),
        ([0, 0, 0, 0], 8, Refusal::Forbidden(Reserved)), // "this network"
        ([127, 0, 0, 0], 8, Refusal::Private(Loopback)),
        ([10, 0, 0, 0], 8, Refusal::Private(Private)),
        ([172, 16, 0, 0], 12, Refusal::Private(Private)),
        ([192, 168, 0, 0], 16, Refusal::Private(Private)),
        ([169, 254, 0, 0], 16, Refusal::Private(LinkLocal)),
        ([100, 64, 0, 0], 10, Refusal::Private(SharedAddressSpace)),
        ([192, 0, 0, 0], 24, Refusal::Forbidden(Reserved)), // IETF protocol assignments
        ([192, 0, 2, 0], 24, Refusal::Forbidden(Reserved)), // TEST-NET-1
        ([198, 51, 100, 0], 24, Refusal::Forbidden(Reserved)), // TEST-NET-2
        ([203, 0, 113, 0], 24, Refusal::Forbidden(Reserved)), // TEST-NET-3
        ([198, 18, 0, 0], 15, Refusal::Forbidden(Reserved)), // benchmarking
        ([192, 88, 99, 0], 24, Refusal::Forbidden(Reserved)), // deprecated 6to4 relay anycast
        ([255, 255, 255, 255], 32, Refusal::Forbidden(Broadcast)),
        ([224, 0, 0, 0], 4, Refusal::Forbidden(Multicast)),
        ([240, 0, 0, 0], 4, Refusal::Forbidden(Reserved)),
    ];
    ranges
        .iter()
        .find(|(network, prefix, _)| in_v4(ip, *network, *prefix))
        .map(|(_, _, refusal)| *refusal)
}

fn in_v6(ip: Ipv6Addr, network: [u16; 8], prefix: u32) -> bool {
    let mask = if prefix == 0 {
        0
    } else {
        u128::MAX << (128 - prefix)
    };
    u128::from(ip) & mask == u128::from(Ipv6Addr::from(network)) & mask
}

fn classify_v6(ip: Ipv6Addr) -> Option<Refusal> {
    use ForbiddenKind::*;
    use PrivateKind::*;
    if ip.is_unspecified() {
        return Some(Refusal::Forbidden(Unspecified));
    }
    if ip.is_loopback() {
        return Some(Refusal::Private(Loopback));
    }
    // Forms that carry an IPv4 address are judged by it: the packet ends up there.
    match canonical::address::embedded_v4(ip) {
        // IPv4-compatible is deprecated: never a legitimate target.
        Some((Embedding::Compatible, v4)) => return classify_v4(v4).or(Some(Refusal::Forbidden(Reserved))),
        Some((_, v4)) => return classify_v4(v4),
        None => {}
    }
    if ip.segments() == [0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254] {
        return Some(Refusal::Forbidden(CloudMetadata)); // AWS over IPv6
    }
    let ranges: &[([u16; 8], u32, Refusal)] = &[
        ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, Refusal::Private(Private)),
        ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, Refusal::Private(LinkLocal)),
        ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, Refusal::Private(Private)), // site-local (deprecated)
        ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, Refusal::Forbidden(Multicast)),
        ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, Refusal::Private(Private)), // local-use NAT64
        ([0x100, 0, 0, 0, 0, 0, 0, 0], 64, Refusal::Forbidden(Reserved)),  // discard
        (
            [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0],
            32,
            Refusal::Forbidden(Reserved),
        ), // documentation
        ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, Refusal::Forbidden(Reserved)), // documentation
        ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, Refusal::Forbidden(Reserved)), // IETF protocol assignments, Teredo
    ];
    if let Some((_, _, refusal)) = ranges.iter().find(|(net, prefix, _)| in_v6(ip, *net, *prefix)) {
        return Some(*refusal);
    }
    // Global unicast is 2000::/3; everything else is unassigned.
    if !in_v6(ip, [0x2000, 0, 0, 0, 0, 0, 0, 0], 3) {
        return Some(Refusal::Forbidden(Reserved));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str, allow_private: bool) -> Option<Refusal> {
        check(text.parse().unwrap(), allow_private).err()
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
        ] {
            assert_eq!(refused(ip, false), None, "{ip}");
        }
    }

    #[test]
    fn loopback_private_link_local_and_cgnat_need_the_admins_opt_in() {
        for (ip, kind) in [
            ("127.0.0.1", PrivateKind::Loopback),
            ("127.255.255.254", PrivateKind::Loopback),
            ("::1", PrivateKind::Loopback),
            ("10.0.0.1", PrivateKind::Private),
            ("172.16.0.1", PrivateKind::Private),
            ("172.31.255.255", PrivateKind::Private),
            ("192.168.1.1", PrivateKind::Private),
            ("fc00::1", PrivateKind::Private),
            ("fd12:3456::1", PrivateKind::Private),
            ("169.254.1.1", PrivateKind::LinkLocal),
            ("fe80::1", PrivateKind::LinkLocal),
            ("100.64.0.1", PrivateKind::SharedAddressSpace),
            ("100.127.255.255", PrivateKind::SharedAddressSpace),
        ] {
            assert_eq!(refused(ip, false), Some(Refusal::Private(kind)), "{ip}");
            assert_eq!(refused(ip, true), None, "{ip} with allow_private");
        }
        assert_eq!(refused("172.32.0.1", false), None, "just outside 172.16/12");
        assert_eq!(refused("100.128.0.1", false), None, "just outside 100.64/10");
    }

    #[test]
    fn the_metadata_service_and_meaningless_targets_are_never_reachable() {
        for ip in [
            "169.254.169.254",
            "169.254.170.2",
            "100.100.100.200",
            "fd00:ec2::254",
            "::ffff:169.254.169.254",
            "0.0.0.0",
            "::",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "ff02::1",
            "240.0.0.1",
            "192.0.2.1",
            "198.51.100.1",
            "203.0.113.7",
            "198.18.0.1",
            "2001:db8::1",
            "2001::1",
            "0.1.2.3",
        ] {
            assert!(
                matches!(refused(ip, true), Some(Refusal::Forbidden(_))),
                "{ip}: {:?}",
                refused(ip, true)
            );
        }
        assert_eq!(
            refused("169.254.169.254", true),
            Some(Refusal::Forbidden(ForbiddenKind::CloudMetadata))
        );
    }

    #[test]
    fn forms_embedding_an_ipv4_address_are_judged_by_it() {
        for ip in [
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a00:1",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::",
        ] {
            assert!(refused(ip, false).is_some(), "{ip}");
        }
        assert_eq!(
            refused("::ffff:127.0.0.1", false),
            Some(Refusal::Private(PrivateKind::Loopback))
        );
        assert_eq!(
            refused("2002:a9fe:a9fe::", true),
            Some(Refusal::Forbidden(ForbiddenKind::CloudMetadata)),
            "6to4 of 169.254.169.254"
        );
        assert_eq!(refused("::ffff:8.8.8.8", false), None);
        assert_eq!(refused("64:ff9b::808:808", false), None, "NAT64 of 8.8.8.8");
    }

    #[test]
    fn unassigned_ipv6_is_refused() {
        assert!(matches!(refused("4000::1", true), Some(Refusal::Forbidden(_))));
        assert!(matches!(refused("100::1", true), Some(Refusal::Forbidden(_))));
    }
}
