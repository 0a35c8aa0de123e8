//! Splunk: Enterprise Security notable events (a row of the `notable` index, or of the ES
//! REST API), and the payload of Splunk's webhook alert action
//! (`{"sid", "search_name", "app", "owner", "results_link", "result": {...}}`), whose
//! `result` is the first row of the triggering search. Field names are the Common
//! Information Model's (`src`, `dest`, `user`, `action`...).
//!
//! | alert field | Splunk |
//! | --- | --- |
//! | id | `event_id` (the notable's), else the webhook's `sid`, else (rows read from the `notable` index often have none) `splunk-` and a digest of the row's `orig_sid`, `_time`, rule and `_raw`, marked by an `id_source` annotation |
//! | title | `rule_title`, else `rule_name`, else `search_name`, else `signature`, else the notable's `source` without its ` - Rule` suffix, with `$field$` tokens expanded from the row as ES displays them; else (Splunk's own webhook example has `search_name: null`) `Splunk alert` and the search id |
//! | source | `Splunk Enterprise Security` for a notable (it has `event_id` or `security_domain`, or came from the ES app), else `Splunk` |
//! | rule | id: `search_name` (the correlation search, unique in Splunk); name: `rule_name`, else `search_name` |
//! | category | the first `annotations.mitre_attack.mitre_tactic`, else `category`, else `security_domain`, else `uncategorized` |
//! | time | `_time` (seconds since 1970, or ISO 8601), else `info_max_time`, else the scheduled trigger time in the webhook's `sid` (`..._at_<epoch>_...`), else the time of receipt; the last two are marked by a `time_source` annotation |
//! | tags | `tag` |
//!
//! Severity: `severity` (the correlation search's), else `urgency` (ES's mix of severity
//! and asset priority; Palisade weighs entity criticality itself):
//!
//! | Splunk | Palisade |
//! | --- | --- |
//! | informational, info | informational |
//! | low | low |
//! | medium, unknown, absent | medium |
//! | high | high |
//! | critical | critical |
//!
//! Confidence: notables have none. Palisade reads `confidence` (0-100), which Splunk's
//! security content sets per detection and a correlation search can `eval`, else the
//! risk-based alerting `risk_score` (capped at 100), else 50 (unstated).
//!
//! Entities: `user` (with `action` success/failure as the sign-in result), `src_user`,
//! `src`/`src_ip`/`src_host` (source), `dest`/`dest_ip`/`dest_host` (destination; an address
//! or else a host), `dvc`, the event's origin `orig_host` (and a search result's `host`; a
//! notable's own `host` is the search head), `url`, `file_hash` with `file_name`, `process`/`process_name`
//! with `process_id` and `parent_process_name`, `sender`/`recipient`, `query` (DNS).
//! Multivalue fields come as arrays or as one value per line. An aggregating search that
//! lists accounts by result puts them in `succeeded_users` and `failed_users`.

use super::fields::{self, Entities, number, text, texts};
use super::intake::IntakeError;
use super::{Alert, Direction, Severity};
use serde_json::Value;

const FORMAT: &str = "splunk";

pub(crate) fn looks_like(document: &Value) -> bool {
    let webhook = document.get("result").is_some_and(Value::is_object)
        && (document.get("sid").is_some() || document.get("search_name").is_some());
    let notable = ["event_id", "rule_name", "rule_title", "search_name"]
        .iter()
        .any(|field| document.get(*field).is_some_and(|value| !value.is_null()))
        && (document.get("urgency").is_some()
            || document.get("security_domain").is_some()
            || document.get("orig_sid").is_some());
    webhook || notable
}

pub(crate) fn normalize(document: &Value, raw: &str) -> Result<Alert, IntakeError> {
    // The webhook wraps the row; a notable is the row.
    static NO_ENVELOPE: Value = Value::Null;
    let (envelope, row) = match document.get("result") {
        Some(result @ Value::Object(_)) => (document, result),
        _ => (&NO_ENVELOPE, document),
    };
    let field = |name: &str| text(row, name).or_else(|| text(envelope, name));
    let mut annotations = Vec::new();
    let mark = |annotations: &mut Vec<super::Annotation>, key: &str, value: String| {
        annotations.push(super::Annotation {
            source: "palisade".into(),
            key: key.into(),
            value,
        });
    };
    let search_name = field("search_name");
    let rule_name = field("rule_name").or_else(|| search_name.clone());
    let stated_id = field("event_id").or_else(|| text(envelope, "sid"));
    let id = match stated_id {
        Some(id) => id,
        None => {
            let id = derived_id(row, rule_name.as_deref()).ok_or_else(|| {
                IntakeError::missing(
                    FORMAT,
                    "event_id (or the webhook's sid, or the row's _time or _raw)",
                )
            })?;
            mark(
                &mut annotations,
                "id_source",
                "no event_id: derived from the row".into(),
            );
            id
        }
    };
    let title = match field("rule_title")
        .or_else(|| rule_name.clone())
        .or_else(|| field("signature"))
        .or_else(|| notable_source(row))
    {
        Some(title) => title,
        None => {
            mark(&mut annotations, "title_source", "no rule or search name".into());
            format!("Splunk alert {id}")
        }
    };
    // A search ending in `stats` drops `_time`, and most correlation searches do: the
    // trigger time stands in, else the time of receipt, and the alert says which.
    let stated = ["_time", "info_max_time"]
        .into_iter()
        .find_map(|name| row.get(name).filter(|v| !v.is_null()).map(|v| (name, v)));
    let timestamp = match stated {
        Some((time_field, time)) => {
            fields::timestamp(time).map_err(|message| IntakeError::invalid(FORMAT, time_field, message))?
        }
        None => {
            let (source, epoch) = match text(envelope, "sid").as_deref().and_then(trigger_time) {
                Some(epoch) => ("the search's trigger time (sid)", epoch),
                None => ("the time of receipt", palisade_core::clock::now()),
            };
            mark(
                &mut annotations,
                "time_source",
                format!("no _time in the result: {source}"),
            );
            fields::timestamp(&Value::from(epoch))
                .map_err(|message| IntakeError::invalid(FORMAT, "sid", message))?
        }
    };
    let title = expand_tokens(&title, row);
    let enterprise_security = row.get("event_id").is_some()
        || row.get("security_domain").is_some()
        || text(envelope, "app").is_some_and(|app| app == "SplunkEnterpriseSecuritySuite");
    let category = texts(row, "annotations.mitre_attack.mitre_tactic")
        .first()
        .cloned()
        .or_else(|| text(row, "category"))
        .or_else(|| text(row, "security_domain"))
        .map(|c| fields::kebab(&c))
        .unwrap_or_else(|| "uncategorized".into());
    Ok(Alert {
        id,
        title,
        source_product: if enterprise_security {
            "Splunk Enterprise Security".into()
        } else {
            "Splunk".into()
        },
        rule_id: search_name,
        rule_name,
        category,
        severity: severity(row),
        confidence: confidence(row),
        timestamp,
        entities: entities(row),
        tags: fields::list(row.get("tag").unwrap_or(&Value::Null)),
        annotations,
        verdict: None,
        risk_score: None,
        status: status(row),
        raw: raw.to_owned(),
    })
}

/// An id for a notable read without its `event_id`: the same row read twice (by two
/// integrations, or a re-fetch) gets the same id, so dedup still sees one alert.
fn derived_id(row: &Value, rule: Option<&str>) -> Option<String> {
    use sha2::{Digest, Sha256};
    let parts = [
        text(row, "orig_sid"),
        text(row, "_time"),
        rule.map(str::to_owned),
        text(row, "_raw"),
    ];
    if parts[1].is_none() && parts[3].is_none() {
        return None;
    }
    let mut digest = Sha256::new();
    for part in &parts {
        // Each part length-prefixed, so no two different rows run together the same.
        let part = part.as_deref().unwrap_or("");
        digest.update((part.len() as u64).to_le_bytes());
        digest.update(part.as_bytes());
    }
    let hex: String = digest.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Some(format!("splunk-{hex}"))
}

/// A notable's review status: `status_label`, else ES's numbered `status` (0 unassigned,
/// 1 new, 2 in progress, 3 pending, 4 resolved, 5 closed).
fn status(row: &Value) -> Option<super::Status> {
    use super::Status;
    text(row, "status_label")
        .and_then(|w| fields::status_word(&w))
        .or_else(|| match text(row, "status")?.trim() {
            "0" | "1" => Some(Status::New),
            "2" | "3" => Some(Status::InProgress),
            "4" => Some(Status::Resolved),
            "5" => Some(Status::Closed),
            word => fields::status_word(word),
        })
}

/// A notable's `source` names the correlation search that made it: `<app> - <name> - Rule`.
fn notable_source(row: &Value) -> Option<String> {
    let source = text(row, "source")?;
    source
        .strip_suffix(" - Rule")
        .map(|name| name.split_once(" - ").map_or(name, |(_, name)| name).to_owned())
}

/// The scheduled time in a scheduler's search id,
/// `scheduler__<owner>__<app>__<search>_at_<epoch>_<n>`: when the search was triggered.
fn trigger_time(sid: &str) -> Option<i64> {
    let (_, after) = sid.rsplit_once("_at_")?;
    let epoch = after.split('_').next()?;
    epoch.parse().ok().filter(|epoch| *epoch > 0)
}

/// The longest title an expansion may make: a token's field can hold a whole event.
const MAX_TITLE_BYTES: usize = 1024;

/// `$field$` tokens replaced by the row's values (several joined by `, `), as Splunk ES shows
/// a notable's title; an unknown token stays as it is, and a value is never expanded again.
fn expand_tokens(template: &str, row: &Value) -> String {
    if !template.contains('$') {
        return template.to_owned();
    }
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let token = after.find('$').map(|end| &after[..end]).filter(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
        });
        let values = token.map(|name| texts(row, name)).unwrap_or_default();
        match token {
            Some(name) if !values.is_empty() => {
                out.push_str(&values.join(", "));
                rest = &after[name.len() + 1..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
        if out.len() > MAX_TITLE_BYTES {
            break;
        }
    }
    if out.len() <= MAX_TITLE_BYTES {
        out.push_str(rest);
    }
    if out.len() > MAX_TITLE_BYTES {
        let mut cut = MAX_TITLE_BYTES;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("...");
    }
    out
}

fn severity(row: &Value) -> Severity {
    ["severity", "urgency"]
        .into_iter()
        .find_map(|field| {
            Some(match text(row, field)?.to_ascii_lowercase().as_str() {
                "informational" | "info" => Severity::Informational,
                "low" => Severity::Low,
                "medium" => Severity::Medium,
                "high" => Severity::High,
                "critical" => Severity::Critical,
                _ => return None,
            })
        })
        .unwrap_or(Severity::Medium)
}

fn confidence(row: &Value) -> Option<u8> {
    number(row, "confidence")
        .or_else(|| number(row, "risk_score"))
        .and_then(fields::percent)
}

fn values(row: &Value, field: &str) -> Vec<String> {
    row.get(field).map(fields::list).unwrap_or_default()
}

fn entities(row: &Value) -> Vec<super::Entity> {
    let mut entities = Entities::default();
    let sign_in = text(row, "action").and_then(|action| fields::sign_in_word(&action));
    for user in values(row, "user") {
        entities.user_signed(&user, sign_in);
    }
    entities.sign_in_lists(row);
    for user in values(row, "src_user") {
        entities.user(&user).add();
    }
    for field in ["src", "src_ip", "src_host"] {
        for value in values(row, field) {
            entities.ip_or_host(&value, Some(Direction::Source));
        }
    }
    for field in ["dest", "dest_ip", "dest_host", "dvc"] {
        for value in values(row, field) {
            entities.ip_or_host(&value, Some(Direction::Destination));
        }
    }
    // The host the event came from: a notable keeps it as `orig_host` (its own `host` is the
    // search head that wrote it); a search result's `host` is the event's.
    let notable = ["orig_sid", "security_domain", "event_id"]
        .iter()
        .any(|field| row.get(*field).is_some());
    let origin: &[&str] = if notable {
        &["orig_host"]
    } else {
        &["orig_host", "host"]
    };
    for field in origin {
        for value in values(row, field) {
            entities.ip_or_host(&value, None);
        }
    }
    for url in values(row, "url") {
        entities.url(&url);
    }
    let file_name = text(row, "file_name");
    for hash in values(row, "file_hash") {
        entities.hash(None, &hash, file_name.clone());
    }
    let host = values(row, "dest")
        .into_iter()
        .find(|d| fields::parse_ip(d).is_none());
    if let Some(process) = text(row, "process_name").or_else(|| text(row, "process")) {
        entities.process(
            &process,
            number(row, "process_id").map(|pid| pid as u32),
            text(row, "process").filter(|p| p.contains(' ')),
            host,
            text(row, "parent_process_name"),
        );
    }
    for field in ["sender", "recipient"] {
        for address in values(row, field) {
            entities.email(&address, None);
        }
    }
    for query in values(row, "query") {
        entities.domain(&query);
    }
    entities.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entity, SignInResult};

    const WEBHOOK: &str = include_str!("../../../tests/fixtures/alerts/splunk/webhook-password-spray.json");
    const NOTABLE: &str = include_str!("../../../tests/fixtures/alerts/splunk/notable-brute-force.json");

    fn parse(text: &str) -> Result<Alert, IntakeError> {
        normalize(&serde_json::from_str(text).unwrap(), text)
    }

    fn users(alert: &Alert) -> Vec<(&str, Option<SignInResult>)> {
        alert
            .entities
            .iter()
            .filter_map(|e| match e {
                Entity::User { name, sign_in, .. } => Some((name.as_str(), *sign_in)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn the_webhook_payload_of_a_spray_search() {
        let document: Value = serde_json::from_str(WEBHOOK).unwrap();
        assert!(looks_like(&document));
        let alert = parse(WEBHOOK).unwrap();
        assert_eq!(
            alert.id,
            "scheduler__admin__SplunkEnterpriseSecuritySuite__RMD5a1b2c3d4e5f60718_at_1795684320_4711"
        );
        assert_eq!(alert.title, "Password spray from 203.0.113.7 against 3 accounts");
        assert_eq!(alert.source_product, "Splunk Enterprise Security");
        assert_eq!(alert.rule_id.as_deref(), Some("Access - Password Spray - Rule"));
        assert_eq!(alert.category, "credential-access");
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.confidence, Some(92));
        assert_eq!(alert.timestamp, "2026-11-26T09:12:00Z");
        assert_eq!(
            users(&alert),
            [
                ("alice", Some(SignInResult::Success)),
                ("bob", Some(SignInResult::Success)),
                ("carol", Some(SignInResult::Failure)),
            ]
        );
        assert!(alert.entities.contains(&Entity::Ip {
            address: "203.0.113.7".parse().unwrap(),
            direction: Some(Direction::Source)
        }));
    }

    #[test]
    fn a_notable_with_multivalue_lines_and_urgency() {
        let document: Value = serde_json::from_str(NOTABLE).unwrap();
        assert!(looks_like(&document));
        let alert = parse(NOTABLE).unwrap();
        assert_eq!(
            alert.id,
            "F3A0B1C2-D3E4-4F56-8A7B-9C0D1E2F3A4B@@notable@@4c1f0c8e2b7d4a91a6f3e5d2c1b0a987"
        );
        assert_eq!(alert.title, "Brute force from 198.51.100.9 against vpn-gw-1");
        assert_eq!(alert.source_product, "Splunk Enterprise Security");
        assert_eq!(alert.severity, Severity::Low, "severity, not urgency");
        assert_eq!(alert.confidence, None, "unstated");
        assert_eq!(alert.category, "access");
        assert_eq!(alert.tags, ["authentication", "vpn"]);
        assert_eq!(
            users(&alert),
            [
                ("erin", Some(SignInResult::Failure)),
                ("frank", Some(SignInResult::Failure))
            ]
        );
        assert!(
            alert
                .entities
                .iter()
                .any(|e| matches!(e, Entity::Host { hostname, .. } if hostname == "vpn-gw-1"))
        );
    }

    #[test]
    fn severity_words_map_and_missing_fields_are_named() {
        for (word, want) in [
            ("informational", Severity::Informational),
            ("low", Severity::Low),
            ("medium", Severity::Medium),
            ("high", Severity::High),
            ("critical", Severity::Critical),
            ("unknown", Severity::Medium),
        ] {
            let text = WEBHOOK.replace("\"severity\": \"high\"", &format!("\"severity\": \"{word}\""));
            assert_eq!(parse(&text).unwrap().severity, want, "{word}");
        }
        let error = parse(&WEBHOOK.replace("\"_time\": ", "\"_time\": \"yesterday\", \"x\": "))
            .unwrap_err()
            .to_string();
        assert!(error.contains("`_time`"), "{error}");
    }

    /// A webhook from a search ending in `stats`, as Splunk sends it: the result row has no
    /// `_time` (https://docs.splunk.com/Documentation/Splunk/latest/Alert/Webhooks).
    const STATS_WEBHOOK: &str = r#"{"sid":"scheduler__admin__search__RMD5spray_at_1795684320_4711",
        "search_name":"Password spray","app":"search","owner":"admin",
        "results_link":"https://splunk.example.com:8000/app/search/@go?sid=scheduler__admin__search__RMD5spray_at_1795684320_4711",
        "result":{"src":"203.0.113.7","unique_accounts":"3","user":["alice","bob","carol"],"count":"41"}}"#;

    #[test]
    fn a_stats_search_without_time_takes_its_trigger_time_and_says_so() {
        let alert = parse(STATS_WEBHOOK).unwrap();
        assert_eq!(alert.timestamp, "2026-11-26T09:12:00Z");
        assert_eq!(alert.annotations.len(), 1, "{:?}", alert.annotations);
        assert_eq!(alert.annotations[0].key, "time_source");
        assert!(
            alert.annotations[0].value.contains("trigger time"),
            "{:?}",
            alert.annotations
        );

        // An ad hoc search's sid has no trigger time: the time of receipt, marked as such.
        let before = palisade_core::clock::now();
        let adhoc = parse(&STATS_WEBHOOK.replace(
            "scheduler__admin__search__RMD5spray_at_1795684320_4711",
            "1795684320.4711",
        ))
        .unwrap();
        let received =
            time::OffsetDateTime::parse(&adhoc.timestamp, &time::format_description::well_known::Rfc3339)
                .unwrap()
                .unix_timestamp();
        assert!(
            received >= before && received <= palisade_core::clock::now() + 1,
            "{}",
            adhoc.timestamp
        );
        assert!(
            adhoc.annotations[0].value.contains("receipt"),
            "{:?}",
            adhoc.annotations
        );
    }

    #[test]
    fn title_tokens_are_expanded_from_the_row_as_es_shows_them() {
        let notable = STATS_WEBHOOK.replace(
            "\"search_name\":\"Password spray\"",
            "\"search_name\":\"Password spray\",\"rule_title\":\"Password spray from $src$ against $unique_accounts$ accounts ($user$, $missing$, $$, $ 5 $)\"",
        );
        let alert = parse(&notable).unwrap();
        assert_eq!(
            alert.title,
            "Password spray from 203.0.113.7 against 3 accounts (alice, bob, carol, $missing$, $$, $ 5 $)"
        );
        // A value is text: it is never expanded again, and a huge one is cut.
        let row = serde_json::json!({"src": "$src$", "big": "x".repeat(10_000)});
        assert_eq!(expand_tokens("from $src$", &row), "from $src$");
        let big = expand_tokens("$big$ $big$ $big$", &row);
        assert!(
            big.len() <= MAX_TITLE_BYTES + 3 && big.ends_with("..."),
            "{}",
            big.len()
        );
    }

    const INDEX_ROW: &str =
        include_str!("../../../tests/fixtures/alerts/splunk/notable-index-row-without-event-id.json");

    #[test]
    fn a_notable_read_from_the_index_without_an_event_id_gets_a_stable_id() {
        let document: Value = serde_json::from_str(INDEX_ROW).unwrap();
        assert!(looks_like(&document));
        let alert = parse(INDEX_ROW).unwrap();
        assert!(alert.id.starts_with("splunk-"), "{}", alert.id);
        assert_eq!(
            parse(INDEX_ROW).unwrap().id,
            alert.id,
            "the same row, the same id"
        );
        let other = INDEX_ROW.replace("1795684320.000", "1795684380.000");
        assert_ne!(parse(&other).unwrap().id, alert.id, "another notable, another id");
        assert!(
            alert
                .annotations
                .iter()
                .any(|a| a.key == "id_source" && a.value.contains("no event_id")),
            "{:?}",
            alert.annotations
        );
        assert_eq!(alert.title, "Brute force from 203.0.113.7");
        assert_eq!(alert.timestamp, "2026-11-26T09:12:00Z");
        assert_eq!(alert.source_product, "Splunk Enterprise Security");
    }

    #[test]
    fn splunks_documented_webhook_example_with_a_null_search_name_is_accepted() {
        let example = include_str!("../../../tests/fixtures/alerts/splunk/webhook-documented-example.json");
        let alert = parse(example).unwrap();
        assert_eq!(alert.id, "scheduler_admin_search_W2_at_14232356_132");
        assert_eq!(
            alert.title,
            "Splunk alert scheduler_admin_search_W2_at_14232356_132"
        );
        assert!(
            alert.annotations.iter().any(|a| a.key == "title_source"),
            "{:?}",
            alert.annotations
        );
        // A notable's source names its correlation search.
        let row = INDEX_ROW
            .replace("\"rule_name\": \"Brute Force Access Behavior Detected\",", "")
            .replace("\"rule_title\": \"Brute force from $src$\",", "");
        assert_eq!(parse(&row).unwrap().title, "Brute Force Access Behavior Detected");
    }

    #[test]
    fn the_events_host_is_an_entity_and_a_notables_search_head_is_not() {
        let webhook =
            STATS_WEBHOOK.replace("\"count\":\"41\"", "\"count\":\"41\",\"host\":\"okta-proxy-01\"");
        let alert = parse(&webhook).unwrap();
        assert!(
            alert
                .entities
                .iter()
                .any(|e| matches!(e, Entity::Host { hostname, .. } if hostname == "okta-proxy-01")),
            "{:?}",
            alert.entities
        );
        let notable = INDEX_ROW.replace(
            "\"index\": \"notable\",",
            "\"index\": \"notable\", \"host\": \"es-search-head\", \"orig_host\": \"fin-ws-07\",",
        );
        let alert = parse(&notable).unwrap();
        let hosts: Vec<&str> = alert
            .entities
            .iter()
            .filter_map(|e| match e {
                Entity::Host { hostname, .. } => Some(hostname.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(hosts, ["fin-ws-07"]);
    }
}
