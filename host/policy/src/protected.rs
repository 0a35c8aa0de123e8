//! Entities automation must never act on by itself.
//!
//! Protection is checked on what the vendor will act on, never on the string a plugin passed:
//! an account or a device arrives here as its vendor record with every name it answers to,
//! and one match on any of them protects it. Names are compared in canonical form (Unicode
//! NFKC, case, surrounding space and dots), addresses by the address a packet reaches (an
//! IPv4-mapped or NAT64 form of a protected address is that address), domains in their IDNA
//! form with their subdomains.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use ipnet::IpNet;
use palisade_core::canonical;
use std::net::IpAddr;

/// What a destructive operation acts on, as the gate knows it when it decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An account as its identity provider records it.
    Account {
        id: String,
        /// Every name the record answers to: login, addresses, short names, display name.
        names: Vec<String>,
        groups: Vec<String>,
    },
    /// A device as its EDR records it.
    Device {
        id: String,
        /// Hostname, FQDN, short names and addresses.
        names: Vec<String>,
    },
    /// An address or a range, canonical.
    Address(IpNet),
    /// A domain, canonical.
    Domain(String),
}

#[derive(Debug, Clone, Default)]
pub struct Protected {
    users: Patterns,
    /// Group names, canonical.
    groups: Vec<String>,
    hosts: Patterns,
    /// Canonical ranges.
    ranges: Vec<IpNet>,
    /// Canonical domains; each covers its subdomains.
    domains: Vec<String>,
}

/// Protected names or glob patterns, in canonical form.
#[derive(Debug, Clone, Default)]
struct Patterns {
    set: Option<GlobSet>,
    /// As the admin wrote them, to say which one matched.
    written: Vec<String>,
}

impl Patterns {
    fn new(patterns: &[String], what: &str) -> Result<Patterns, String> {
        if patterns.is_empty() {
            return Ok(Patterns::default());
        }
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            let canonical = alias(pattern).map_err(|error| format!("{what} {pattern:?}: {error}"))?;
            builder.add(
                GlobBuilder::new(&canonical)
                    .literal_separator(false)
                    .backslash_escape(false)
                    .build()
                    .map_err(|error| format!("{what} {pattern:?}: {error}"))?,
            );
        }
        Ok(Patterns {
            set: Some(builder.build().map_err(|error| error.to_string())?),
            written: patterns.to_vec(),
        })
    }

    /// The first of `names` a pattern matches, with the pattern.
    fn first_match<'a>(&'a self, names: &'a [String]) -> Option<(&'a str, &'a str)> {
        let set = self.set.as_ref()?;
        names.iter().find_map(|name| {
            // A name that has no canonical form (a control character) matches nothing here;
            // the gate refuses such targets before it asks.
            let canonical = alias(name).ok()?;
            let index = set.matches(&canonical).into_iter().next()?;
            Some((name.as_str(), self.written[index].as_str()))
        })
    }
}

/// A name as protection compares it: an address as the canonical address it reaches, anything
/// else as a canonical name.
fn alias(text: &str) -> Result<String, canonical::NameError> {
    match text.trim().parse::<IpAddr>() {
        Ok(ip) => Ok(canonical::address::ip(ip).to_string()),
        Err(_) => canonical::name::name(text),
    }
}

impl Protected {
    /// Builds the protected lists; `Err` names the entry that is not a valid name, pattern,
    /// range or domain.
    pub fn new(
        users: &[String],
        groups: &[String],
        hosts: &[String],
        ranges: &[IpNet],
        domains: &[String],
    ) -> Result<Protected, String> {
        Ok(Protected {
            users: Patterns::new(users, "user")?,
            groups: groups
                .iter()
                .map(|group| {
                    canonical::name::name(group).map_err(|error| format!("group {group:?}: {error}"))
                })
                .collect::<Result<_, _>>()?,
            hosts: Patterns::new(hosts, "host")?,
            ranges: ranges
                .iter()
                .map(|range| canonical::address::net(*range))
                .collect(),
            domains: domains
                .iter()
                .map(|domain| {
                    canonical::domain::domain(domain).map_err(|error| format!("domain {domain:?}: {error}"))
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// Why the target is protected, if it is: which of its names matched which entry.
    pub fn protects(&self, target: &Target) -> Option<String> {
        match target {
            Target::Account { id, names, groups } => {
                if let Some((name, pattern)) = self.users.first_match(names) {
                    return Some(format!(
                        "account {name} (id {id}) is protected{}",
                        by(name, pattern)
                    ));
                }
                let group = groups.iter().find(|group| {
                    canonical::name::name(group).is_ok_and(|group| self.groups.contains(&group))
                })?;
                Some(format!("account {id} is in protected group {group}"))
            }
            Target::Device { id, names } => {
                let (name, pattern) = self.hosts.first_match(names)?;
                Some(format!("host {name} (id {id}) is protected{}", by(name, pattern)))
            }
            Target::Address(net) => self
                .ranges
                .iter()
                .find(|range| canonical::address::overlaps(range, net))
                .map(|range| format!("{net} overlaps protected range {range}")),
            Target::Domain(domain) => self
                .domains
                .iter()
                .find(|protected| canonical::domain::overlap(protected, domain))
                .map(|protected| format!("domain {domain} overlaps protected domain {protected}")),
        }
    }
}

/// Which entry protects a name, where it is not simply the name itself.
fn by(name: &str, pattern: &str) -> String {
    if alias(name).ok() == alias(pattern).ok() {
        String::new()
    } else {
        format!(" by {pattern}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn protected() -> Protected {
        Protected::new(
            &["ceo@example.com".into(), "svc-*".into()],
            &["Executives".into()],
            &["dc*".into(), "payroll-db".into()],
            &["10.0.0.0/8".parse().unwrap(), "2001:db8:1::/48".parse().unwrap()],
            &["example.com".into(), "bücher.example".into()],
        )
        .unwrap()
    }

    fn account(names: &[&str], groups: &[&str]) -> Target {
        Target::Account {
            id: "00u0ceo".into(),
            names: names.iter().map(|n| n.to_string()).collect(),
            groups: groups.iter().map(|g| g.to_string()).collect(),
        }
    }

    #[test]
    fn an_account_is_protected_when_any_of_its_names_matches_in_any_spelling() {
        for names in [
            &["00u0ceo", "ceo@example.com"][..],
            &["00u0ceo", "CEO@Example.COM"],
            &["00u0ceo", " ceo@example.com. "],
            &["00u0ceo", "ｃｅｏ@example.com"],
            &["S-1-5-21", "EXAMPLE\\ceo", "ceo@example.com"],
            &["svc-backup"],
        ] {
            let reason = protected().protects(&account(names, &[]));
            assert!(reason.is_some(), "{names:?}");
        }
        let reason = protected()
            .protects(&account(&["vp@example.com"], &["executives"]))
            .unwrap();
        assert!(reason.contains("protected group executives"), "{reason}");
        assert_eq!(
            protected().protects(&account(&["alice@example.com", "alice"], &["finance"])),
            None
        );
    }

    #[test]
    fn a_device_is_protected_by_any_hostname_fqdn_or_short_name() {
        let device = |names: &[&str]| Target::Device {
            id: "d-1".into(),
            names: names.iter().map(|n| n.to_string()).collect(),
        };
        for names in [
            &["DC01"][..],
            &["10.0.0.5", "dc01.corp.example.com", "dc01"],
            &[" .Payroll-DB. "],
        ] {
            assert!(protected().protects(&device(names)).is_some(), "{names:?}");
        }
        assert_eq!(protected().protects(&device(&["fin-ws-07", "10.1.4.7"])), None);
    }

    #[test]
    fn addresses_and_ranges_are_matched_by_what_they_reach() {
        let net = |text: &str| Target::Address(canonical::address::parse(text).unwrap());
        for held in [
            "10.2.3.4",
            "::ffff:10.2.3.4",
            "64:ff9b::a02:304",
            "2002:a02:304::1",
            "0.0.0.0/0",
            "::/0",
            "::ffff:0:0/96",
            "10.2.0.0/16",
            "2001:db8:1:2::1",
        ] {
            assert!(protected().protects(&net(held)).is_some(), "{held}");
        }
        for free in ["11.0.0.1", "203.0.113.7", "::ffff:203.0.113.7", "2001:db8:2::1"] {
            assert_eq!(protected().protects(&net(free)), None, "{free}");
        }
    }

    #[test]
    fn domains_are_matched_with_their_subdomains_in_idna_form() {
        let domain = |text: &str| Target::Domain(canonical::domain::domain(text).unwrap());
        for held in [
            "Example.COM.",
            "mail.example.com",
            "com",
            "xn--bcher-kva.example",
            "BÜCHER.example",
        ] {
            assert!(protected().protects(&domain(held)).is_some(), "{held}");
        }
        for free in ["badexample.com", "example.org"] {
            assert_eq!(protected().protects(&domain(free)), None, "{free}");
        }
    }

    #[test]
    fn an_entry_that_is_not_a_name_is_refused_with_where() {
        let error = Protected::new(&["ceo\n".into()], &[], &[], &[], &[]).unwrap_err();
        assert!(error.contains("user \"ceo\\n\""), "{error}");
        let error = Protected::new(&[], &[], &[], &[], &["a..b\u{0}".into()]).unwrap_err();
        assert!(error.contains("domain"), "{error}");
    }
}
