//! Canonical forms and the matching of protected entities, checked against a simple model.
//!
//! - Every canonical form is idempotent: a canonical name, domain or range is its own
//!   canonical form (else a value stored in canonical form would stop matching itself).
//! - An alias of a protected entity always matches: any respelling that has the same
//!   canonical form (case, full-width forms, surrounding space and dots, an IPv4-mapped form
//!   of an address), a subdomain of a protected domain, an address inside a protected range
//!   in any embedding that reaches it.
//! - And nothing else does: for a protected name without glob syntax, a name is protected
//!   exactly when the model (canonical forms equal) says so.

use arbitrary::{Arbitrary, Unstructured};
use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use palisade_core::canonical::{address, domain, name};
use palisade_policy::{Protected, Target};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Debug, Arbitrary)]
enum Respell {
    Upper,
    Lower,
    /// ASCII letters and digits as their full-width forms (NFKC folds them back).
    FullWidth,
    /// Surrounding space and dots.
    Pad {
        before: u8,
        after: u8,
    },
    /// A trailing ideographic space and a dot.
    Ideographic,
}

#[derive(Debug, Arbitrary)]
struct Input {
    /// A protected user or host name (a literal: glob syntax is skipped).
    protected: String,
    respell: Vec<Respell>,
    /// Another name the record answers to.
    other: String,
    /// A protected domain, and a label put in front of it.
    domain: String,
    label: String,
    /// A protected range, and an address (as its low bits) inside it.
    range: ([u8; 16], u8, bool),
    inside: [u8; 16],
}

fn respell(text: &str, how: &Respell) -> String {
    match how {
        Respell::Upper => text.to_uppercase(),
        Respell::Lower => text.to_lowercase(),
        Respell::FullWidth => text
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
                } else {
                    c
                }
            })
            .collect(),
        Respell::Pad { before, after } => {
            let pad = |n: u8| -> String {
                (0..n % 4)
                    .map(|i| if (n >> (i + 2)) & 1 == 1 { '.' } else { ' ' })
                    .collect()
            };
            format!("{}{text}{}", pad(*before), pad(*after))
        }
        Respell::Ideographic => format!("{text}\u{3000}."),
    }
}

/// The model of a name as protection compares it: an address as the address it reaches,
/// anything else by its canonical name.
fn model(text: &str) -> Option<String> {
    match text.trim().parse::<IpAddr>() {
        Ok(ip) => Some(address::ip(ip).to_string()),
        Err(_) => name::name(text).ok(),
    }
}

const GLOB: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];

fn account(names: Vec<String>) -> Target {
    Target::Account {
        id: "fuzz".into(),
        names,
        groups: Vec::new(),
    }
}

pub fn canonical_protected(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };

    // Idempotence of each canonical form.
    for text in [&input.protected, &input.other, &input.domain, &input.label] {
        if let Ok(once) = name::name(text) {
            assert_eq!(name::name(&once).as_ref(), Ok(&once), "name({text:?})");
        }
        if let Ok(once) = domain::domain(text) {
            assert_eq!(domain::domain(&once).as_ref(), Ok(&once), "domain({text:?})");
        }
        if let Ok(once) = address::parse(text) {
            assert_eq!(
                address::parse(&once.to_string()),
                Ok(once),
                "address::parse({text:?})"
            );
            assert_eq!(address::net(once), once, "address::net of a parsed range");
        }
    }

    // Names: every respelling of a protected name is protected; others match as the model says.
    let protected_name = &input.protected;
    if let Some(canonical) = model(protected_name)
        && !protected_name.contains(GLOB)
        && !canonical.contains(GLOB)
    {
        let names = std::slice::from_ref(protected_name);
        let protected = Protected::new(names, &[], names, &[], &[]).unwrap_or_else(|error| {
            panic!("{protected_name:?} has a canonical form but is refused: {error}")
        });
        let mut alias = protected_name.clone();
        for how in input.respell.iter().take(8) {
            let next = respell(&alias, how);
            // A respelling that changes the canonical form is a different name (`ß`
            // upper-cases to `SS`; a dot next to a padding dot is no longer surrounding).
            if model(&next).as_ref() == Some(&canonical) {
                alias = next;
            }
        }
        for target in [
            account(vec!["00u0fuzz".into(), alias.clone()]),
            Target::Device {
                id: "fuzz".into(),
                names: vec![alias.clone()],
            },
        ] {
            assert!(
                protected.protects(&target).is_some(),
                "{alias:?} is an alias of protected {protected_name:?} (canonical {canonical:?}) but does not match"
            );
        }
        let expected = model(&input.other).as_ref() == Some(&canonical);
        let got = protected.protects(&account(vec![input.other.clone()])).is_some();
        assert_eq!(
            got,
            expected,
            "protected {protected_name:?} ({canonical:?}), name {:?} ({:?})",
            input.other,
            model(&input.other)
        );
    }

    // Domains: the domain and every subdomain of it are protected.
    if let Ok(canonical) = domain::domain(&input.domain)
        && let Ok(protected) = Protected::new(&[], &[], &[], &[], std::slice::from_ref(&input.domain))
    {
        assert!(
            protected.protects(&Target::Domain(canonical.clone())).is_some(),
            "{canonical:?} is protected domain {:?}",
            input.domain
        );
        if let Ok(sub) = domain::domain(&format!("{}.{canonical}", input.label))
            && sub.ends_with(&format!(".{canonical}"))
        {
            assert!(
                protected.protects(&Target::Domain(sub.clone())).is_some(),
                "{sub:?} is a subdomain of protected {canonical:?}"
            );
        }
    }

    // Addresses: every address inside a protected range, and its IPv4-mapped, NAT64 and
    // 6to4 forms when it is an IPv4 address, is protected.
    let (bits, prefix, v4) = input.range;
    let range = if v4 {
        let network = Ipv4Addr::from(u32::from_be_bytes(bits[..4].try_into().unwrap()));
        IpNet::V4(Ipv4Net::new(network, prefix % 33).unwrap())
    } else {
        IpNet::V6(Ipv6Net::new(Ipv6Addr::from(bits), prefix % 129).unwrap())
    };
    let protected = Protected::new(&[], &[], &[], &[range], &[]).expect("a range is always valid");
    let inside = u128::from_be_bytes(input.inside);
    let ip = match address::net(range) {
        IpNet::V4(net) => {
            let host_bits = 32 - u32::from(net.prefix_len());
            let low = if host_bits == 0 {
                0
            } else {
                (inside as u32) & (u32::MAX >> (32 - host_bits))
            };
            IpAddr::V4(Ipv4Addr::from(u32::from(net.network()) | low))
        }
        IpNet::V6(net) => {
            let host_bits = 128 - u32::from(net.prefix_len());
            let low = if host_bits == 0 {
                0
            } else {
                inside & (u128::MAX >> (128 - host_bits))
            };
            IpAddr::V6(Ipv6Addr::from(u128::from(net.network()) | low))
        }
    };
    let mut forms = vec![ip];
    if let IpAddr::V4(v4) = ip {
        let bits = u128::from(u32::from(v4));
        forms.push(IpAddr::V6(v4.to_ipv6_mapped()));
        forms.push(IpAddr::V6(Ipv6Addr::from((0x64_ff9b_u128 << 96) | bits)));
        forms.push(IpAddr::V6(Ipv6Addr::from((0x2002_u128 << 112) | (bits << 80))));
    }
    for form in forms {
        let target = Target::Address(IpNet::from(address::ip(form)));
        assert!(
            protected.protects(&target).is_some(),
            "{form} is inside protected range {range}"
        );
        // As a host name of a device too: its address is one of the names it answers to.
        if range.prefix_len() == range.max_prefix_len() {
            let device = Target::Device {
                id: "fuzz".into(),
                names: vec![form.to_string()],
            };
            let by_name = Protected::new(&[], &[], &[range.addr().to_string()], &[], &[]).unwrap();
            if address::ip(form) == address::ip(range.addr()) {
                assert!(
                    by_name.protects(&device).is_some(),
                    "{form} is host {}",
                    range.addr()
                );
            }
        }
    }
}
