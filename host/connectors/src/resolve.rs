//! Resolving the name a plugin passed to the one vendor record it denotes.
//!
//! Backends that match names themselves (the embedded directory and inventory, and vendor
//! replies that list candidates) use these, so every backend compares names the way the policy
//! gate does: canonical forms, addresses by the address they reach.

use super::ConnectorError;
use palisade_core::canonical;

/// Whether two names denote the same thing: equal canonical names, or equal addresses.
pub fn same_name(a: &str, b: &str) -> bool {
    match (canonical::address::parse(a), canonical::address::parse(b)) {
        (Ok(a), Ok(b)) => a == b,
        (Ok(_), Err(_)) | (Err(_), Ok(_)) => false,
        _ => match (canonical::name::name(a), canonical::name::name(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        },
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
