//! Resolving the name a plugin passed to the one vendor record it denotes.
//!
//! Backends that match names themselves (the embedded directory and inventory, and vendor
//! replies that list candidates) use these, so every backend compares names the way the policy
//! gate does: canonical forms, addresses by the address they reach.

use super::ConnectorError;
use palisade_core::canonical;
use std::collections::HashMap;

/// Whether two names denote the same thing: equal canonical names, or equal addresses.
pub fn same_name(a: &str, b: &str) -> bool {
    name_key(a).is_some_and(|a| name_key(b) == Some(a))
}

/// What [`same_name`] compares: the address a name reaches, or else its canonical form. `None`
/// for a name with neither (empty, a control character), which matches nothing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NameKey {
    Address(ipnet::IpNet),
    Name(String),
}

pub fn name_key(text: &str) -> Option<NameKey> {
    match canonical::address::parse(text) {
        Ok(address) => Some(NameKey::Address(address)),
        Err(_) => canonical::name::name(text).ok().map(NameKey::Name),
    }
}

/// Records found by any of their names, as [`same_name`] compares them. The names are put in
/// canonical form once, when the records are loaded, so a lookup costs one canonical form and
/// one hash probe however many records there are.
pub struct NameIndex<T> {
    records: Vec<T>,
    by_key: HashMap<NameKey, Vec<usize>>,
}

impl<T: Clone> NameIndex<T> {
    pub fn new(records: Vec<T>, names: impl Fn(&T) -> Vec<String>) -> NameIndex<T> {
        let mut by_key: HashMap<NameKey, Vec<usize>> = HashMap::new();
        for (index, record) in records.iter().enumerate() {
            for key in names(record).iter().filter_map(|name| name_key(name)) {
                let holders = by_key.entry(key).or_default();
                // A record listed once however many of its names share the key.
                if holders.last() != Some(&index) {
                    holders.push(index);
                }
            }
        }
        NameIndex { records, by_key }
    }

    /// Every record one of whose names is the same as `name`, each once, in the order loaded.
    pub fn matching(&self, name: &str) -> Vec<T> {
        name_key(name)
            .and_then(|key| self.by_key.get(&key))
            .map(|holders| holders.iter().map(|&index| self.records[index].clone()).collect())
            .unwrap_or_default()
    }
}

/// The name as a lookup may use it: refused when it is empty or holds a control character,
/// which some URL builders and vendors drop (so `ce\tO` would reach `ceo`).
pub fn checked(what: &str, name: &str) -> Result<(), ConnectorError> {
    canonical::name::name(name)
        .map(drop)
        .map_err(|error| ConnectorError::InvalidInput(format!("{what} {name:?}: {error}")))
}

/// The one candidate, `NotFound` for none, `Ambiguous` naming each for more than one. Both
/// errors name `vendor`, as every connector error does (`okta: no user "alice"`). A backend
/// whose candidates come from a vendor's reply calls this through
/// [`VendorClient::exactly_one`](crate::http::VendorClient::exactly_one), which redacts them.
pub fn exactly_one<T>(
    vendor: &str,
    what: &str,
    wanted: &str,
    mut candidates: Vec<T>,
    describe: impl Fn(&T) -> String,
) -> Result<T, ConnectorError> {
    match candidates.len() {
        0 => Err(ConnectorError::NotFound(format!(
            "{vendor}: no {what} {wanted:?}"
        ))),
        1 => Ok(candidates.remove(0)),
        count => {
            let shown: Vec<String> = candidates.iter().take(5).map(describe).collect();
            let more = if count > shown.len() { ", ..." } else { "" };
            Err(ConnectorError::Ambiguous(format!(
                "{vendor}: {count} {what}s match {wanted:?}: {}{more}",
                shown.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_in_canonical_form_and_addresses_by_what_they_reach() {
        for (a, b) in [
            ("CEO@Example.com", "ceo@example.com"),
            (" dc01. ", "DC01"),
            ("::ffff:10.1.4.7", "10.1.4.7"),
        ] {
            assert!(same_name(a, b), "{a} = {b}");
        }
        for (a, b) in [("ceo", "ce0"), ("10.1.4.7", "10.1.4.70"), ("ceo\t", "ceo")] {
            assert!(!same_name(a, b), "{a} != {b}");
        }
    }

    #[test]
    fn an_index_finds_a_record_by_any_of_its_names_once_and_nothing_by_a_bad_name() {
        let records = vec![
            ("00u1", vec!["alice@example.com", "ALICE@example.com", "amartin"]),
            ("00u2", vec!["bob@example.com", "10.1.4.7"]),
            ("00u3", vec!["amartin"]),
        ];
        let index = NameIndex::new(records, |(_, names)| {
            names.iter().map(|name| name.to_string()).collect()
        });
        let ids = |name: &str| -> Vec<&str> { index.matching(name).iter().map(|(id, _)| *id).collect() };
        assert_eq!(ids(" Alice@Example.COM "), ["00u1"]);
        assert_eq!(ids("::ffff:10.1.4.7"), ["00u2"]);
        assert_eq!(ids("AMartin"), ["00u1", "00u3"]);
        assert!(ids("carol").is_empty());
        assert!(ids("").is_empty());
        assert!(ids("alice@example.com\t").is_empty());
    }

    #[test]
    fn one_is_found_none_is_not_found_and_two_are_ambiguous() {
        assert_eq!(
            exactly_one("okta", "user", "a", vec![1], |n| n.to_string()),
            Ok(1)
        );
        assert_eq!(
            exactly_one::<u8>("okta", "user", "a", vec![], |n| n.to_string()),
            Err(ConnectorError::NotFound("okta: no user \"a\"".into()))
        );
        let two = exactly_one("okta", "user", "ceo", vec![1, 2], |n| format!("#{n}")).unwrap_err();
        assert_eq!(
            two,
            ConnectorError::Ambiguous("okta: 2 users match \"ceo\": #1, #2".into())
        );
        assert!(matches!(
            checked("user", "ce\to"),
            Err(ConnectorError::InvalidInput(_))
        ));
    }
}
