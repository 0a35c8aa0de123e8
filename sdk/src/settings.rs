//! The plugin's settings, from `[plugins.NAME.settings]` in the admin's `palisade.toml`.

use std::fmt::Display;
use std::str::FromStr;

use crate::ActionError;
use crate::bindings::palisade::action::config;

/// The setting `key` as the admin wrote it, or `None` when it is not set.
pub fn setting(key: &str) -> Option<String> {
    config::get(key)
}

/// The setting `key` parsed as a `T`, or `None` when it is not set.
///
/// Surrounding whitespace is ignored. A value that does not parse is
/// [`ActionError::InvalidInput`] naming the key, the value and why, so
/// `setting_parse::<u8>("min_confidence")?.unwrap_or(80)` reports a typo to the admin.
pub fn setting_parse<T>(key: &str) -> Result<Option<T>, ActionError>
where
    T: FromStr,
    T::Err: Display,
{
    parse_setting(key, setting(key).as_deref())
}

/// The setting `key` as a comma-separated list, items trimmed, empty items dropped; empty when
/// the setting is not set.
pub fn setting_list(key: &str) -> Vec<String> {
    setting(key).as_deref().map(split_list).unwrap_or_default()
}

/// What [`setting_parse`] does with a value it has read: useful to test settings handling
/// natively, where the host is not there.
pub fn parse_setting<T>(key: &str, value: Option<&str>) -> Result<Option<T>, ActionError>
where
    T: FromStr,
    T::Err: Display,
{
    value
        .map(|raw| {
            raw.trim()
                .parse::<T>()
                .map_err(|e| ActionError::InvalidInput(format!("setting `{key}` = {raw:?} is invalid: {e}")))
        })
        .transpose()
}

/// What [`setting_list`] does with a value it has read: splits at commas, trims each item and
/// drops empty ones.
pub fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_setting_is_none() {
        assert_eq!(parse_setting::<u8>("min_confidence", None), Ok(None));
    }

    #[test]
    fn value_is_trimmed_and_parsed() {
        assert_eq!(parse_setting::<u8>("min_confidence", Some(" 75 ")), Ok(Some(75)));
    }

    #[test]
    fn invalid_value_names_the_key() {
        let err = parse_setting::<u8>("min_confidence", Some("high")).unwrap_err();
        let ActionError::InvalidInput(message) = err else {
            panic!("expected invalid-input, got {err:?}");
        };
        assert!(message.contains("min_confidence"), "{message}");
        assert!(message.contains("high"), "{message}");
    }

    #[test]
    fn list_drops_blanks() {
        assert_eq!(split_list(" alice, ,BOB ,"), vec!["alice", "BOB"]);
        assert!(split_list("").is_empty());
    }
}
