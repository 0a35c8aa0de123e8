//! What the normalizers share: field paths into a JSON document, entity building and
//! deduplication, times, and the confidence words every vendor uses.

use super::{Direction, Entity, HashAlgorithm, SignInResult, Status};
use serde_json::Value;
use std::collections::HashMap;
use std::net::IpAddr;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A path to fields in a JSON document: keys separated by dots, array indexes in brackets,
/// `[*]` for every element: `finding_info.analytic.name`, `evidences[0].user.name`,
/// `email.to.address[*]`.
///
/// Keys are looked up dotted first, so one path reads both the nested form
/// (`{"kibana": {"alert": {...}}}`) and the flat form (`{"kibana.alert.severity": ...}`) that
/// Elasticsearch and Splunk produce, and any mix of the two. An array met where a key is
/// expected is walked element by element, as if `[*]` had been written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
    All,
}

impl FieldPath {
    /// Parses a path; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let mut segments = Vec::new();
        if text.trim().is_empty() {
            return Err("a field path is not empty".into());
        }
        for part in text.split('.') {
            let (key, mut rest) = match part.find('[') {
                Some(at) => (&part[..at], &part[at..]),
                None => (part, ""),
            };
            if key.is_empty() && (rest.is_empty() || segments.is_empty()) {
                return Err(format!("{text:?}: an empty key (two dots, or a dot at an end)"));
            }
            if !key.is_empty() {
                segments.push(Segment::Key(key.to_owned()));
            }
            while !rest.is_empty() {
                let Some(close) = rest.find(']') else {
                    return Err(format!("{text:?}: a `[` without its `]`"));
                };
                let inside = &rest[1..close];
                segments.push(match inside {
                    "*" => Segment::All,
                    index => Segment::Index(
                        index
                            .parse()
                            .map_err(|_| format!("{text:?}: `[{index}]` is neither an index nor `[*]`"))?,
                    ),
                });
                rest = &rest[close + 1..];
                if !rest.is_empty() && !rest.starts_with('[') {
                    return Err(format!("{text:?}: `{rest}` after `]` (a dot is missing)"));
                }
            }
        }
        Ok(FieldPath {
            text: text.to_owned(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every value the path reaches, in document order.
    pub fn values<'a>(&self, document: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        walk(document, &self.segments, &mut out);
        out
    }

    /// The first value the path reaches that is not `null`.
    pub fn first<'a>(&self, document: &'a Value) -> Option<&'a Value> {
        self.values(document).into_iter().find(|v| !v.is_null())
    }
}

impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

fn walk<'a>(value: &'a Value, segments: &[Segment], out: &mut Vec<&'a Value>) {
    let Some(segment) = segments.first() else {
        out.push(value);
        return;
    };
    match (segment, value) {
        (Segment::Index(index), Value::Array(items)) => {
            if let Some(item) = items.get(*index) {
                walk(item, &segments[1..], out);
            }
        }
        (Segment::All, Value::Array(items)) => {
            for item in items {
                walk(item, &segments[1..], out);
            }
        }
        (Segment::Key(_), Value::Array(items)) => {
            for item in items {
                walk(item, segments, out);
            }
        }
        (Segment::Key(_), Value::Object(object)) => {
            // The longest dotted key first: `kibana.alert.rule.name`, then `kibana.alert.rule`
            // followed by `name`, and so on.
            let keys = segments
                .iter()
                .take_while(|s| matches!(s, Segment::Key(_)))
                .count();
            for length in (1..=keys).rev() {
                let joined = segments[..length]
                    .iter()
                    .map(|s| match s {
                        Segment::Key(key) => key.as_str(),
                        _ => unreachable!("only keys are joined"),
                    })
                    .collect::<Vec<_>>()
                    .join(".");
                if let Some(next) = object.get(&joined) {
                    walk(next, &segments[length..], out);
                }
            }
        }
        _ => {}
    }
}

/// A path written in the code; panics on a malformed one (a test catches that).
pub(crate) fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap_or_else(|error| panic!("a built-in field path: {error}"))
}

/// The first value at `path` as text: a string as it is, a number or boolean written out.
/// Empty strings count as absent.
pub(crate) fn text(document: &Value, field: &str) -> Option<String> {
    path(field).values(document).into_iter().find_map(scalar_text)
}

/// Every value at `path` as text, arrays flattened, empty strings left out.
pub(crate) fn texts(document: &Value, field: &str) -> Vec<String> {
    let mut out = Vec::new();
    for value in path(field).values(document) {
        match value {
            Value::Array(items) => out.extend(items.iter().filter_map(scalar_text)),
            other => out.extend(scalar_text(other)),
        }
    }
    out
}

pub(crate) fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The first value at `path` as a number; numeric strings count.
pub(crate) fn number(document: &Value, field: &str) -> Option<f64> {
    path(field)
        .values(document)
        .into_iter()
        .find_map(|value| match value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
}

/// The object that holds the alert when it came wrapped as an Elasticsearch hit (`_source`).
pub(crate) fn unwrap_hit(document: &Value) -> &Value {
    match document.get("_source") {
        Some(source @ Value::Object(_)) => source,
        _ => document,
    }
}

// ---------------------------------------------------------------------------------------------
// Times.

/// An RFC 3339 time in UTC from an RFC 3339 string or a number (or numeric string) of
/// seconds, milliseconds, microseconds or nanoseconds since 1970.
///
/// The magnitude decides the unit, whatever the format documents, since producers disagree
/// with their schemas (OCSF's `time` is documented in milliseconds, and
/// several producers put seconds there): below 10^11 is seconds (10^11 milliseconds is 1973,
/// before any alert), below 10^14 milliseconds, below 10^17 microseconds, above nanoseconds.
/// The digits are read as a decimal, never through a float, so no precision is lost or made up.
pub(crate) fn timestamp(value: &Value) -> Result<String, String> {
    let parsed = match value {
        Value::String(text) => match OffsetDateTime::parse(text.trim(), &Rfc3339) {
            Ok(time) => time,
            Err(error) => {
                from_epoch(text.trim()).map_err(|_| format!("{text:?} is not an RFC 3339 time: {error}"))?
            }
        },
        // serde_json prints an integer as it was written, and a float as the shortest
        // decimal that reads back to it: the digits the producer sent.
        Value::Number(number) => from_epoch(&number.to_string())?,
        other => return Err(format!("{other} is not a time")),
    };
    parsed
        .to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .map_err(|error| format!("{value} cannot be written as a time: {error}"))
}

/// A non-negative decimal number of seconds, milliseconds, microseconds or nanoseconds since
/// 1970 (see [`timestamp`]), as exact integer nanoseconds.
fn from_epoch(text: &str) -> Result<OffsetDateTime, String> {
    let not_a_time = || format!("{text} is not a time");
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits =
        |part: &str| !part.is_empty() && part.len() <= 30 && part.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !(fraction.is_empty() || digits(fraction)) {
        return Err(not_a_time());
    }
    let whole_value: u128 = whole.parse().map_err(|_| not_a_time())?;
    // Nanoseconds per unit, chosen by the whole part's magnitude.
    let scale: u32 = match whole_value {
        0..100_000_000_000 => 9,
        100_000_000_000..100_000_000_000_000 => 6,
        100_000_000_000_000..100_000_000_000_000_000 => 3,
        _ => 0,
    };
    // Digits beyond a nanosecond are below what a time can say: dropped, not rounded up.
    let kept: String = fraction.chars().take(scale as usize).collect();
    let fraction_value: u128 = if kept.is_empty() {
        0
    } else {
        kept.parse::<u128>().map_err(|_| not_a_time())? * 10u128.pow(scale - kept.len() as u32)
    };
    let nanos = whole_value
        .checked_mul(10u128.pow(scale))
        .and_then(|n| n.checked_add(fraction_value))
        .and_then(|n| i128::try_from(n).ok())
        .ok_or_else(not_a_time)?;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|error| format!("{text}: {error}"))
}

// ---------------------------------------------------------------------------------------------
// Scales.

/// A status word as the vendors write it: Sentinel's New/InProgress/Resolved/Dismissed and an
/// incident's Active/Closed, Elastic's open/acknowledged/closed, Splunk ES's Unassigned/New/
/// In Progress/Pending/Resolved/Closed, OCSF's New/In Progress/Suppressed/Resolved/Archived/
/// Deleted and a compliance check's Pass/Warning/Fail. `None` for unknown words.
pub(crate) fn status_word(word: &str) -> Option<Status> {
    let word: String = word
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect();
    Some(match word.as_str() {
        "new" | "open" | "unassigned" => Status::New,
        "inprogress" | "active" | "acknowledged" | "pending" => Status::InProgress,
        "resolved" => Status::Resolved,
        "closed" | "dismissed" | "archived" | "deleted" => Status::Closed,
        "suppressed" => Status::Suppressed,
        "pass" | "passed" => Status::Passed,
        "fail" | "failed" | "warning" => Status::Failed,
        _ => return None,
    })
}

/// A confidence word as the vendors write it (OCSF `confidence`, Sentinel `ConfidenceLevel`,
/// ECS `threat.indicator.confidence`): Low 30, Medium 60, High 90; `None` for unknown words.
pub(crate) fn confidence_word(word: &str) -> Option<u8> {
    match word.trim().to_ascii_lowercase().as_str() {
        "low" => Some(30),
        "medium" | "moderate" => Some(60),
        "high" => Some(90),
        _ => None,
    }
}

/// A 0-100 score from a number: fractions in [0, 1] with a decimal part (Sentinel's
/// `ConfidenceScore` 0.92) are scaled to 0-100, anything above 100 is 100.
pub(crate) fn percent(number: f64) -> Option<u8> {
    if !number.is_finite() || number < 0.0 {
        return None;
    }
    let scaled = if number <= 1.0 && number.fract() != 0.0 {
        number * 100.0
    } else {
        number
    };
    Some(scaled.round().min(100.0) as u8)
}

/// `Credential Access`, `CredentialAccess`, `credential_access` -> `credential-access`.
pub(crate) fn kebab(text: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in text.trim().chars() {
        if c.is_ascii_uppercase() && previous_lower {
            out.push('-');
        }
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
    }
    out.trim_end_matches('-').to_owned()
}

// ---------------------------------------------------------------------------------------------
// Entities.

/// Entities as a normalizer finds them, each once: a second mention of the same user, host,
/// address... fills in what the first left empty instead of adding a duplicate. A sign-in
/// that succeeded anywhere counts as succeeded.
///
/// Entities are indexed by kind and name, so a document listing many (a 4 MiB alert can
/// name a few hundred thousand addresses) costs linear time, not quadratic.
#[derive(Debug, Default)]
pub(crate) struct Entities {
    list: Vec<Entity>,
    index: HashMap<(&'static str, String), Vec<usize>>,
}

impl Entities {
    pub fn into_vec(self) -> Vec<Entity> {
        self.list
    }

    pub fn push(&mut self, entity: Entity) {
        let key = identity(&entity);
        let same = self.index.entry(key).or_default();
        for &at in same.iter() {
            if merge(&mut self.list[at], &entity) {
                return;
            }
        }
        same.push(self.list.len());
        self.list.push(entity);
    }

    pub fn user(&mut self, name: &str) -> UserBuilder<'_> {
        UserBuilder {
            entities: self,
            name: name.trim().to_owned(),
            domain: None,
            email: None,
            id: None,
            display_name: None,
            sign_in: None,
        }
    }

    /// A user by name with a sign-in result.
    pub fn user_signed(&mut self, name: &str, sign_in: Option<SignInResult>) {
        self.user(name).sign_in(sign_in).add();
    }

    /// An IP address; text that is not one is ignored.
    pub fn ip(&mut self, text: &str, direction: Option<Direction>) -> bool {
        match parse_ip(text) {
            Some(address) => {
                self.push(Entity::Ip { address, direction });
                true
            }
            None => false,
        }
    }

    /// An address if it is one, else a host name (Splunk's `src` and `dest` hold either).
    pub fn ip_or_host(&mut self, text: &str, direction: Option<Direction>) {
        if !self.ip(text, direction) {
            self.host(text, None, None, None, Vec::new());
        }
    }

    pub fn host(
        &mut self,
        hostname: &str,
        fqdn: Option<String>,
        id: Option<String>,
        os: Option<String>,
        ip_addresses: Vec<String>,
    ) {
        let hostname = hostname.trim();
        if hostname.is_empty() {
            return;
        }
        self.push(Entity::Host {
            hostname: hostname.to_owned(),
            fqdn,
            id,
            os,
            ip_addresses: ip_addresses
                .into_iter()
                .filter(|ip| parse_ip(ip).is_some())
                .collect(),
        });
    }

    pub fn domain(&mut self, name: &str) {
        let name = name.trim().trim_end_matches('.');
        if !name.is_empty() && parse_ip(name).is_none() {
            self.push(Entity::Domain {
                name: name.to_ascii_lowercase(),
            });
        }
    }

    pub fn url(&mut self, url: &str) {
        let url = url.trim();
        if !url.is_empty() {
            self.push(Entity::Url { url: url.to_owned() });
        }
    }

    /// A hash whose algorithm is named (`MD5`, `SHA-1`, `sha256`...) or, when `algorithm` is
    /// `None`, told by its length; anything else (other algorithms, not hexadecimal) is
    /// ignored.
    pub fn hash(&mut self, algorithm: Option<&str>, value: &str, file_name: Option<String>) {
        let value = value.trim().to_ascii_lowercase();
        if value.is_empty() || !value.chars().all(|c| c.is_ascii_hexdigit()) {
            return;
        }
        let by_length = match value.len() {
            32 => Some(HashAlgorithm::Md5),
            40 => Some(HashAlgorithm::Sha1),
            64 => Some(HashAlgorithm::Sha256),
            _ => None,
        };
        let named =
            algorithm.map(
                |name| match name.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
                    "md5" => Some(HashAlgorithm::Md5),
                    "sha1" => Some(HashAlgorithm::Sha1),
                    "sha256" => Some(HashAlgorithm::Sha256),
                    _ => None,
                },
            );
        let algorithm = match named {
            Some(named) => named.filter(|named| Some(*named) == by_length),
            None => by_length,
        };
        if let Some(algorithm) = algorithm {
            self.push(Entity::FileHash {
                algorithm,
                value,
                file_name,
            });
        }
    }

    pub fn email(&mut self, address: &str, display_name: Option<String>) {
        let address = address.trim();
        if address.contains('@') {
            self.push(Entity::EmailAddress {
                address: address.to_owned(),
                display_name,
            });
        }
    }

    pub fn process(
        &mut self,
        name: &str,
        pid: Option<u32>,
        command_line: Option<String>,
        host: Option<String>,
        parent_name: Option<String>,
    ) {
        let name = name.trim();
        if name.is_empty() {
            return;
        }
        self.push(Entity::Process {
            name: name.to_owned(),
            pid,
            command_line,
            host,
            parent_name,
        });
    }

    /// The accounts an aggregated detection lists by sign-in result, Palisade's convention
    /// for alerts that no vendor field can carry: `succeeded_users` and `failed_users`
    /// (also written `SucceededUsers`, `succeeded-users`...), each a list of names or one
    /// name, among the keys of `object`.
    pub fn sign_in_lists(&mut self, object: &Value) {
        let Some(object) = object.as_object() else {
            return;
        };
        // Successes first, so the accounts keep the order in which they matter.
        for (wanted, result) in [
            ("succeededusers", SignInResult::Success),
            ("failedusers", SignInResult::Failure),
        ] {
            for (key, value) in object {
                if key.to_ascii_lowercase().replace(['_', '-', ' '], "") == wanted {
                    for name in list(value) {
                        self.user_signed(&name, Some(result));
                    }
                }
            }
        }
    }
}

/// A value as a list of names: an array, a JSON array in a string (Sentinel writes custom
/// details that way), or text with one name per line (Splunk's multivalue fields).
pub(crate) fn list(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items.iter().filter_map(scalar_text).collect(),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
            _ => text
                .lines()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        },
        other => scalar_text(other).into_iter().collect(),
    }
}

pub(crate) struct UserBuilder<'a> {
    entities: &'a mut Entities,
    name: String,
    domain: Option<String>,
    email: Option<String>,
    id: Option<String>,
    display_name: Option<String>,
    sign_in: Option<SignInResult>,
}

impl UserBuilder<'_> {
    pub fn domain(mut self, domain: Option<String>) -> Self {
        self.domain = domain;
        self
    }
    pub fn email(mut self, email: Option<String>) -> Self {
        self.email = email;
        self
    }
    pub fn id(mut self, id: Option<String>) -> Self {
        self.id = id;
        self
    }
    pub fn display_name(mut self, display_name: Option<String>) -> Self {
        self.display_name = display_name;
        self
    }
    pub fn sign_in(mut self, sign_in: Option<SignInResult>) -> Self {
        self.sign_in = sign_in;
        self
    }
    pub fn add(self) {
        if self.name.is_empty() {
            return;
        }
        self.entities.push(Entity::User {
            name: self.name,
            domain: self.domain,
            email: self.email,
            id: self.id,
            display_name: self.display_name,
            sign_in: self.sign_in,
        });
    }
}

/// A sign-in result from the words vendors use: `success`/`failure` (ECS `event.outcome`,
/// Splunk CIM `action`), `Success`/`Failure` (OCSF `status`), and a few synonyms.
pub(crate) fn sign_in_word(word: &str) -> Option<SignInResult> {
    match word.trim().to_ascii_lowercase().as_str() {
        "success" | "succeeded" | "successful" | "allowed" | "allow" => Some(SignInResult::Success),
        "failure" | "failed" | "fail" | "blocked" | "denied" | "deny" => Some(SignInResult::Failure),
        _ => None,
    }
}

pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    text.trim().parse().ok()
}

/// What two entities must share to be the same thing: their kind and name, ignoring case.
fn identity(entity: &Entity) -> (&'static str, String) {
    match entity {
        Entity::User { name, .. } => ("user", name.to_lowercase()),
        Entity::Host { hostname, .. } => ("host", hostname.to_lowercase()),
        Entity::Ip { address, .. } => ("ip", address.to_string()),
        Entity::Domain { name } => ("domain", name.to_lowercase()),
        Entity::Url { url } => ("url", url.clone()),
        Entity::FileHash { value, .. } => ("file-hash", value.to_lowercase()),
        Entity::EmailAddress { address, .. } => ("email-address", address.to_lowercase()),
        Entity::Process { name, .. } => ("process", name.to_lowercase()),
    }
}

/// Whether `incoming` is the same thing as `existing`; if so, fills the gaps in `existing`.
fn merge(existing: &mut Entity, incoming: &Entity) -> bool {
    fn fill<T: Clone>(slot: &mut Option<T>, value: &Option<T>) {
        if slot.is_none() {
            slot.clone_from(value);
        }
    }
    match (existing, incoming) {
        (
            Entity::User {
                name,
                domain,
                email,
                id,
                display_name,
                sign_in,
            },
            Entity::User {
                name: other,
                domain: d,
                email: e,
                id: i,
                display_name: n,
                sign_in: s,
            },
        ) if name.eq_ignore_ascii_case(other) => {
            fill(domain, d);
            fill(email, e);
            fill(id, i);
            fill(display_name, n);
            *sign_in = match (*sign_in, *s) {
                (Some(SignInResult::Success), _) | (_, Some(SignInResult::Success)) => {
                    Some(SignInResult::Success)
                }
                (mine, theirs) => mine.or(theirs),
            };
            true
        }
        (
            Entity::Host {
                hostname,
                fqdn,
                id,
                os,
                ip_addresses,
            },
            Entity::Host {
                hostname: other,
                fqdn: f,
                id: i,
                os: o,
                ip_addresses: ips,
            },
        ) if hostname.eq_ignore_ascii_case(other) => {
            fill(fqdn, f);
            fill(id, i);
            fill(os, o);
            for ip in ips {
                if !ip_addresses.contains(ip) {
                    ip_addresses.push(ip.clone());
                }
            }
            true
        }
        (
            Entity::Ip { address, direction },
            Entity::Ip {
                address: other,
                direction: d,
            },
        ) if address == other => {
            fill(direction, d);
            true
        }
        (Entity::Domain { name }, Entity::Domain { name: other }) => name.eq_ignore_ascii_case(other),
        (Entity::Url { url }, Entity::Url { url: other }) => url == other,
        (
            Entity::FileHash { value, file_name, .. },
            Entity::FileHash {
                value: other,
                file_name: f,
                ..
            },
        ) if value.eq_ignore_ascii_case(other) => {
            fill(file_name, f);
            true
        }
        (
            Entity::EmailAddress {
                address,
                display_name,
            },
            Entity::EmailAddress {
                address: other,
                display_name: d,
            },
        ) if address.eq_ignore_ascii_case(other) => {
            fill(display_name, d);
            true
        }
        (
            Entity::Process {
                name,
                pid,
                command_line,
                host,
                parent_name,
            },
            Entity::Process {
                name: other,
                pid: p,
                command_line: c,
                host: h,
                parent_name: n,
            },
        ) if name.eq_ignore_ascii_case(other) && (pid.is_none() || p.is_none() || pid == p) => {
            fill(pid, p);
            fill(command_line, c);
            fill(host, h);
            fill(parent_name, n);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_path_reads_nested_flat_and_mixed_keys_and_walks_arrays() {
        let nested = json!({"kibana": {"alert": {"rule": {"name": "Spray"}}}});
        let flat = json!({"kibana.alert.rule.name": "Spray"});
        let mixed = json!({"kibana.alert": {"rule.name": "Spray"}});
        for document in [nested, flat, mixed] {
            assert_eq!(
                text(&document, "kibana.alert.rule.name").as_deref(),
                Some("Spray")
            );
        }
        let document = json!({"evidences": [{"user": {"name": "alice"}}, {"user": {"name": "bob"}}]});
        assert_eq!(texts(&document, "evidences.user.name"), ["alice", "bob"]);
        assert_eq!(texts(&document, "evidences[*].user.name"), ["alice", "bob"]);
        assert_eq!(texts(&document, "evidences[1].user.name"), ["bob"]);
        assert!(texts(&document, "evidences[2].user.name").is_empty());
    }

    #[test]
    fn malformed_paths_say_what_is_wrong() {
        for (bad, says) in [
            ("a..b", "empty key"),
            ("a[1", "without its `]`"),
            ("a[x]", "neither an index"),
            ("a[0]b", "a dot is missing"),
            ("", "not empty"),
        ] {
            let error = FieldPath::parse(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
        assert!(FieldPath::parse("a[0][1].b[*]").is_ok());
    }

    #[test]
    fn times_come_from_rfc3339_or_epoch_numbers() {
        let want = "2026-11-26T09:12:00Z";
        assert_eq!(timestamp(&json!("2026-11-26T10:12:00+01:00")).unwrap(), want);
        assert_eq!(timestamp(&json!(1_795_684_320_000u64)).unwrap(), want);
        assert_eq!(timestamp(&json!("1795684320.000")).unwrap(), want);
        assert!(timestamp(&json!("yesterday")).is_err());
        assert!(timestamp(&json!(true)).is_err());
        assert!(timestamp(&json!(-5)).is_err());
        assert!(timestamp(&json!("1e9")).is_err());
    }

    #[test]
    fn the_magnitude_decides_the_unit_whatever_the_format_documents() {
        let want = "2026-11-26T09:12:00Z";
        // Seconds where milliseconds are documented (OCSF producers do this).
        assert_eq!(timestamp(&json!(1_795_684_320u64)).unwrap(), want);
        assert_eq!(
            timestamp(&json!(1_795_684_320_000_000u64)).unwrap(),
            want,
            "microseconds"
        );
        assert_eq!(
            timestamp(&json!(1_795_684_320_000_000_000u64)).unwrap(),
            want,
            "nanoseconds"
        );
    }

    #[test]
    fn epoch_times_keep_exactly_the_precision_they_were_given() {
        // Through a float, this millisecond became .217999872.
        assert_eq!(
            timestamp(&json!(1_682_347_463_218u64)).unwrap(),
            "2023-04-24T14:44:23.218Z"
        );
        assert_eq!(
            timestamp(&json!(1_682_347_463.218)).unwrap(),
            "2023-04-24T14:44:23.218Z"
        );
        assert_eq!(
            timestamp(&json!("1682347463.123456789123")).unwrap(),
            "2023-04-24T14:44:23.123456789Z",
            "digits below a nanosecond are dropped, not rounded"
        );
    }

    #[test]
    fn entities_are_merged_not_repeated() {
        let mut entities = Entities::default();
        entities.user_signed("alice", Some(SignInResult::Failure));
        entities
            .user("Alice")
            .email(Some("alice@example.com".into()))
            .sign_in(Some(SignInResult::Success))
            .add();
        entities.ip("203.0.113.7", None);
        entities.ip("203.0.113.7", Some(Direction::Source));
        entities.ip("not an address", None);
        entities.hash(Some("SHA256"), &"AB".repeat(32), None);
        entities.hash(None, &"ab".repeat(32), Some("x.exe".into()));
        entities.hash(Some("SHA1"), &"ab".repeat(32), None);
        let all = entities.into_vec();
        assert_eq!(all.len(), 3, "{all:?}");
        assert!(matches!(
            &all[0],
            Entity::User {
                email: Some(_),
                sign_in: Some(SignInResult::Success),
                ..
            }
        ));
        assert!(matches!(
            &all[1],
            Entity::Ip {
                direction: Some(Direction::Source),
                ..
            }
        ));
        assert!(matches!(
            &all[2],
            Entity::FileHash {
                algorithm: HashAlgorithm::Sha256,
                file_name: Some(_),
                ..
            }
        ));
    }

    #[test]
    fn many_entities_are_merged_in_linear_time() {
        let mut entities = Entities::default();
        for round in 0..2 {
            for i in 0..200_000u32 {
                let [_, b, c, d] = i.to_be_bytes();
                let direction = (round == 1).then_some(Direction::Source);
                entities.ip(&format!("10.{b}.{c}.{d}"), direction);
            }
        }
        let all = entities.into_vec();
        assert_eq!(all.len(), 200_000);
        assert!(matches!(
            &all[7],
            Entity::Ip {
                direction: Some(Direction::Source),
                ..
            }
        ));
    }

    #[test]
    fn scales_and_names() {
        assert_eq!(percent(0.92), Some(92));
        assert_eq!(percent(92.0), Some(92));
        assert_eq!(percent(1.0), Some(1));
        assert_eq!(percent(250.0), Some(100));
        assert_eq!(kebab("Credential Access"), "credential-access");
        assert_eq!(kebab("CredentialAccess"), "credential-access");
        assert_eq!(kebab("credential_access"), "credential-access");
        assert_eq!(list(&json!("[\"alice\",\"bob\"]")), ["alice", "bob"]);
        assert_eq!(list(&json!("alice\nbob")), ["alice", "bob"]);
    }

    #[test]
    fn status_words_of_every_vendor_map_to_one_lifecycle() {
        use crate::Status;
        for (word, want) in [
            ("New", Status::New),
            ("open", Status::New),
            ("Unassigned", Status::New),
            ("InProgress", Status::InProgress),
            ("In Progress", Status::InProgress),
            ("acknowledged", Status::InProgress),
            ("Active", Status::InProgress),
            ("Resolved", Status::Resolved),
            ("Dismissed", Status::Closed),
            ("closed", Status::Closed),
            ("Suppressed", Status::Suppressed),
            ("Pass", Status::Passed),
            ("Fail", Status::Failed),
        ] {
            assert_eq!(status_word(word), Some(want), "{word}");
        }
        assert_eq!(status_word("later"), None);
        assert!(!Status::Closed.is_live() && Status::Failed.is_live());
    }
}
