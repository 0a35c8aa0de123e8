//! The outbound HTTP guard: allow-list entries, request URIs, and the address check.
//!
//! - An entry that parses prints as text that parses back to the same entry, and a request
//!   to exactly what it prints is allowed by it (a wildcard entry: to a subdomain).
//! - A request's target prints as a URI that reads back as the same target (an address in
//!   any of its spellings: `[02::0]` prints as `[2::]`).
//! - An address is judged by the IPv4 address it carries: an IPv4-mapped, NAT64 or 6to4 form
//!   is refused exactly when the IPv4 address is, and `allow_private` opens only the private
//!   kinds, never a forbidden one.

use arbitrary::{Arbitrary, Unstructured};
use palisade_runtime::capability::http::address::{self, Refusal};
use palisade_runtime::capability::http::{Origin, Target};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Arbitrary)]
struct Input {
    entry: String,
    uri: String,
    label: u8,
    ip: [u8; 16],
    v4: bool,
}

fn target(uri: &str) -> Option<Result<Target, String>> {
    let uri: http::Uri = uri.parse().ok()?;
    Some(Target::of(&uri))
}

pub fn http_guard(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };

    if let Ok(origin) = Origin::parse(&input.entry) {
        let printed = origin.to_string();
        assert_eq!(
            Origin::parse(&printed).as_ref(),
            Ok(&origin),
            "{:?} prints as {printed:?}",
            input.entry
        );
        // A request to the entry itself (a wildcard: to one of its subdomains) is allowed.
        let request = match printed.split_once("*.") {
            Some((scheme, rest)) => format!("{scheme}l{}.{rest}", input.label),
            None => printed.clone(),
        };
        match target(&request) {
            Some(Ok(target)) => assert!(
                origin.matches(&target),
                "entry {printed:?} does not allow a request to {request:?} ({target:?})"
            ),
            other => panic!("entry {printed:?}: a request to {request:?} is {other:?}"),
        }
    }

    if let Some(Ok(target)) = target(&input.uri) {
        assert!(!target.host.is_empty());
        assert_eq!(
            target.host,
            target.host.to_ascii_lowercase(),
            "the host is lower case"
        );
        // `x..` keeps one dot (`x.`), which prints as `x.` and reads back as `x`: a host with an
        // empty label matches no entry (every entry is a valid name), so only the log differs.
        // The URI parser also lets odd authorities through (`U[::4444]1:` has the host `u[`);
        // they match no entry either. Only hosts an entry could name are held to the round trip.
        let nameable = target
            .host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if target.host.ends_with('.') || !(nameable || target.ip().is_some()) {
            return;
        }
        let printed = target.to_string();
        match self::target(&printed) {
            // The same scheme, port and host; an address in any of its spellings.
            Some(Ok(again)) => assert!(
                again.scheme == target.scheme
                    && again.port == target.port
                    && match target.ip() {
                        Some(ip) => again.ip() == Some(ip),
                        None => again.host == target.host,
                    },
                "{:?} ({target:?}) prints as {printed:?} ({again:?})",
                input.uri
            ),
            other => panic!(
                "{:?}: its target prints as {printed:?}, which reads as {other:?}",
                input.uri
            ),
        }
        // The address a literal host is checked as.
        if let Some(ip) = target.ip() {
            let _ = address::check(ip, false);
        }
    }

    let ip = if input.v4 {
        IpAddr::V4(Ipv4Addr::new(input.ip[0], input.ip[1], input.ip[2], input.ip[3]))
    } else {
        IpAddr::V6(Ipv6Addr::from(input.ip))
    };
    let refusal = address::classify(ip);
    for allow_private in [false, true] {
        match (address::check(ip, allow_private), refusal) {
            (Ok(()), None) => {}
            (Ok(()), Some(Refusal::Private(_))) => assert!(allow_private),
            (Err(error), Some(expected)) => {
                assert_eq!(error, expected);
                assert!(!allow_private || matches!(error, Refusal::Forbidden(_)));
            }
            (result, refusal) => panic!("{ip}: check {result:?} against classify {refusal:?}"),
        }
    }
    if let IpAddr::V4(v4) = ip {
        let bits = u128::from(u32::from(v4));
        for (form, carried) in [
            (v4.to_ipv6_mapped(), "IPv4-mapped"),
            (Ipv6Addr::from((0x64_ff9b_u128 << 96) | bits), "NAT64"),
            (Ipv6Addr::from((0x2002_u128 << 112) | (bits << 80)), "6to4"),
        ] {
            assert_eq!(
                address::classify(IpAddr::V6(form)),
                refusal,
                "{form} ({carried} {v4}) is judged as {v4}"
            );
        }
        // The deprecated IPv4-compatible form is never a legitimate target.
        if u32::from(v4) > 1 {
            let compatible = Ipv6Addr::from(bits);
            assert!(
                address::classify(IpAddr::V6(compatible)).is_some(),
                "{compatible} is IPv4-compatible"
            );
        }
    }
}
