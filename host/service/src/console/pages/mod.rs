//! One module per page, and what their filters share: text fields, times from
//! `datetime-local` inputs (read as UTC, as the pages show times), links that keep a filter.

pub(super) mod alert;
pub(super) mod alerts;
pub(super) mod approvals;
pub(super) mod audit;
pub(super) mod breaker;
pub(super) mod login;
pub(super) mod overview;
pub(super) mod plugins;

use time::PrimitiveDateTime;
use time::macros::format_description;

/// A filter's text: trimmed, `None` when empty, and cut to a length no real value reaches.
pub(super) fn text(value: Option<&str>) -> Option<String> {
    let value = value?.trim();
    (!value.is_empty()).then(|| value.chars().take(200).collect())
}

/// A `datetime-local` value (`2026-12-04T10:17`, seconds optional) as unix seconds, read as
/// UTC; `Err` names the field for the message.
pub(super) fn instant(field: &str, value: Option<&str>) -> Result<Option<i64>, String> {
    let Some(value) = text(value) else {
        return Ok(None);
    };
    let minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    PrimitiveDateTime::parse(&value, minutes)
        .or_else(|_| PrimitiveDateTime::parse(&value, seconds))
        .map(|at| Some(at.assume_utc().unix_timestamp()))
        .map_err(|_| format!("{field}: not a date and time (YYYY-MM-DDTHH:MM, UTC); ignored"))
}

/// Unix seconds as a `datetime-local` input's value, so a filter shows what it was set to.
pub(super) fn instant_value(unix: Option<i64>) -> String {
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    unix.and_then(|unix| time::OffsetDateTime::from_unix_timestamp(unix).ok())
        .and_then(|at| at.format(format).ok())
        .unwrap_or_default()
}

/// The `since` and `until` fields of a filter form, read as unix seconds. A value that cannot
/// be read is left out of the filter and said why among `problems`, above the page.
pub(super) struct TimeRange {
    pub since: Option<i64>,
    pub until: Option<i64>,
}

impl TimeRange {
    pub(super) fn read(since: Option<&str>, until: Option<&str>, problems: &mut Vec<String>) -> TimeRange {
        let mut read = |field: &str, value: Option<&str>| {
            instant(field, value).unwrap_or_else(|problem| {
                problems.push(problem);
                None
            })
        };
        TimeRange {
            since: read("since", since),
            until: read("until", until),
        }
    }

    /// Its query pairs, for a link that keeps the filter.
    pub(super) fn pairs(&self) -> [(&'static str, Option<String>); 2] {
        [
            ("since", self.since.map(|at| instant_value(Some(at)))),
            ("until", self.until.map(|at| instant_value(Some(at)))),
        ]
    }

    /// Its two inputs, labelled `since_label` and `until_label` (UTC, as the pages show times).
    pub(super) fn fields(&self, since_label: &str, until_label: &str) -> maud::Markup {
        maud::html! {
            div {
                label for="since" { (since_label) " (UTC)" }
                input id="since" name="since" type="datetime-local" value=(instant_value(self.since));
            }
            div {
                label for="until" { (until_label) " (UTC)" }
                input id="until" name="until" type="datetime-local" value=(instant_value(self.until));
            }
        }
    }
}

/// A link to `path` with these query pairs (empty ones left out), escaped for a URL.
pub(super) fn link(path: &str, pairs: &[(&str, Option<String>)]) -> String {
    let pairs: Vec<(&str, &str)> = pairs
        .iter()
        .filter_map(|(key, value)| value.as_deref().map(|value| (*key, value)))
        .collect();
    match serde_urlencoded::to_string(&pairs) {
        Ok(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_times_are_read_as_utc_and_shown_back() {
        assert_eq!(instant("since", Some("1970-01-02T00:00")), Ok(Some(86_400)));
        assert_eq!(instant("since", Some("1970-01-02T00:00:30")), Ok(Some(86_430)));
        assert_eq!(instant("since", Some("  ")), Ok(None));
        assert!(
            instant("since", Some("yesterday"))
                .unwrap_err()
                .starts_with("since:")
        );
        assert_eq!(instant_value(Some(86_400)), "1970-01-02T00:00");
        assert_eq!(instant_value(None), "");
    }

    #[test]
    fn links_keep_filters_escaped() {
        assert_eq!(
            link("/ui/alerts", &[("source", Some("a&b".into())), ("rule", None)]),
            "/ui/alerts?source=a%26b"
        );
        assert_eq!(link("/ui/alerts", &[("rule", None)]), "/ui/alerts");
    }
}
