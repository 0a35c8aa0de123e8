//! Elastic Security alert documents: ECS fields and `kibana.alert.*`, nested or with dotted
//! keys (as the `.alerts-security.alerts-*` index returns them), alone or as an
//! Elasticsearch hit (`{"_id": ..., "_source": {...}}`).
//!
//! | alert field | Elastic |
//! | --- | --- |
//! | id | `kibana.alert.uuid`, else the hit's `_id`; required |
//! | title | `kibana.alert.rule.name`; required |
//! | source | `Elastic Security` |
//! | rule | `kibana.alert.rule.rule_id` (the id that stays across exports), else `kibana.alert.rule.uuid`; `kibana.alert.rule.name` |
//! | category | the first `kibana.alert.rule.threat[].tactic.name`, else the first `event.category`, else `uncategorized` |
//! | time | `kibana.alert.original_time` (when the source event happened), else `@timestamp`; required |
//! | tags | `kibana.alert.rule.tags[]` |
//!
//! Severity (`kibana.alert.severity`; when absent, from `kibana.alert.risk_score` by Elastic's
//! own default bands):
//!
//! | Elastic | Palisade |
//! | --- | --- |
//! | low (risk 0-21) | low |
//! | medium (risk 22-47) | medium |
//! | high (risk 48-73) | high |
//! | critical (risk 74-100) | critical |
//!
//! Confidence: Elastic alerts state none. Palisade takes `kibana.alert.risk_score` (0-100),
//! which the rule author sets, or maps from the source event with a risk score override,
//! for how much the alert should be acted upon; else `threat.indicator.confidence` of an
//! indicator-match alert (Low 30, Medium 60, High 90); else 50 (unstated).
//!
//! Entities: `user.*` (with `event.outcome` as the sign-in result when `event.category`
//! includes `authentication`), `user.target.name`, `related.user[]`, `source.ip` (source),
//! `destination.ip` (destination), `related.ip[]`, `host.*`, `process.*` (with its parent),
//! `file.hash.*` (named by `file.name`, else its `file.path`) and `process.hash.*` (named by
//! `process.name`, else its `process.executable`), `dll.hash.*` only of a library not marked
//! `dll.code_signature.trusted` (a trusted-signed DLL loaded by the process, such as the
//! security agent's own, is not what the alert is about, and a hash response to it would
//! block the security product), `related.hash[]` less those trusted libraries' hashes,
//! `url.full` (or `url.original`),
//! `url.domain`, `destination.domain`, `dns.question.name`, `email.from.address`,
//! `email.to.address`, `email.sender.address`. An aggregating rule (ES|QL, threshold) that
//! lists accounts by result puts them in `succeeded_users` and `failed_users`.

use super::fields::{self, Entities, number, text, texts};
use super::intake::IntakeError;
use super::{Alert, Direction, Severity};
use serde_json::Value;

const FORMAT: &str = "ecs";

pub(crate) fn looks_like(document: &Value) -> bool {
    let document = fields::unwrap_hit(document);
    text(document, "kibana.alert.rule.name").is_some()
        || text(document, "kibana.alert.uuid").is_some()
        || text(document, "kibana.alert.rule.uuid").is_some()
}

pub(crate) fn normalize(outer: &Value, raw: &str) -> Result<Alert, IntakeError> {
    let document = fields::unwrap_hit(outer);
    let id = text(document, "kibana.alert.uuid")
        .or_else(|| text(outer, "_id"))
        .ok_or_else(|| IntakeError::missing(FORMAT, "kibana.alert.uuid"))?;
    let rule_name = text(document, "kibana.alert.rule.name")
        .ok_or_else(|| IntakeError::missing(FORMAT, "kibana.alert.rule.name"))?;
    let (field, time) = ["kibana.alert.original_time", "@timestamp"]
        .into_iter()
        .find_map(|field| fields::path(field).first(document).map(|value| (field, value)))
        .ok_or_else(|| IntakeError::missing(FORMAT, "@timestamp"))?;
    let timestamp =
        fields::timestamp(time).map_err(|message| IntakeError::invalid(FORMAT, field, message))?;
    let category = texts(document, "kibana.alert.rule.threat.tactic.name")
        .first()
        .or(texts(document, "event.category").first())
        .map(|c| fields::kebab(c))
        .unwrap_or_else(|| "uncategorized".into());
    Ok(Alert {
        id,
        title: rule_name.clone(),
        source_product: "Elastic Security".into(),
        rule_id: text(document, "kibana.alert.rule.rule_id")
            .or_else(|| text(document, "kibana.alert.rule.uuid")),
        rule_name: Some(rule_name),
        category,
        severity: severity(document),
        confidence: confidence(document),
        timestamp,
        entities: entities(document),
        tags: texts(document, "kibana.alert.rule.tags"),
        annotations: Vec::new(),
        verdict: None,
        risk_score: None,
        status: text(document, "kibana.alert.workflow_status").and_then(|w| fields::status_word(&w)),
        raw: raw.to_owned(),
    })
}

fn severity(document: &Value) -> Severity {
    match text(document, "kibana.alert.severity")
        .map(|s| s.to_ascii_lowercase())
        .as_deref()
    {
        Some("low") => Severity::Low,
        Some("medium") => Severity::Medium,
        Some("high") => Severity::High,
        Some("critical") => Severity::Critical,
        _ => match number(document, "kibana.alert.risk_score") {
            Some(risk) if risk <= 21.0 => Severity::Low,
            Some(risk) if risk <= 47.0 => Severity::Medium,
            Some(risk) if risk <= 73.0 => Severity::High,
            Some(_) => Severity::Critical,
            None => Severity::Medium,
        },
    }
}

fn confidence(document: &Value) -> Option<u8> {
    if let Some(risk) = number(document, "kibana.alert.risk_score") {
        return Some(risk.clamp(0.0, 100.0).round() as u8);
    }
    text(document, "threat.indicator.confidence").and_then(|word| fields::confidence_word(&word))
}

fn entities(document: &Value) -> Vec<super::Entity> {
    let mut entities = Entities::default();
    let authentication = texts(document, "event.category")
        .iter()
        .any(|c| c.eq_ignore_ascii_case("authentication"));
    let sign_in = authentication
        .then(|| text(document, "event.outcome"))
        .flatten()
        .and_then(|outcome| fields::sign_in_word(&outcome));
    if let Some(name) = text(document, "user.name") {
        entities
            .user(&name)
            .domain(text(document, "user.domain"))
            .email(text(document, "user.email"))
            .id(text(document, "user.id"))
            .display_name(text(document, "user.full_name"))
            .sign_in(sign_in)
            .add();
    }
    entities.sign_in_lists(document);
    for name in texts(document, "user.target.name")
        .into_iter()
        .chain(texts(document, "related.user"))
    {
        entities.user(&name).add();
    }
    for ip in texts(document, "source.ip") {
        entities.ip(&ip, Some(Direction::Source));
    }
    for ip in texts(document, "destination.ip") {
        entities.ip(&ip, Some(Direction::Destination));
    }
    for ip in texts(document, "related.ip") {
        entities.ip(&ip, None);
    }
    let hostname = text(document, "host.hostname").or_else(|| text(document, "host.name"));
    if let Some(hostname) = &hostname {
        let fqdn = text(document, "host.name").filter(|name| name.contains('.') && name != hostname);
        entities.host(
            hostname,
            fqdn,
            text(document, "host.id"),
            text(document, "host.os.name").or_else(|| text(document, "host.os.family")),
            texts(document, "host.ip"),
        );
    }
    if let Some(name) = text(document, "process.name") {
        entities.process(
            &name,
            number(document, "process.pid").map(|pid| pid as u32),
            text(document, "process.command_line"),
            hostname.clone(),
            text(document, "process.parent.name"),
        );
    }
    let named = |name: &str, path: &str| {
        text(document, name).or_else(|| {
            text(document, path).map(|path| path.rsplit(['\\', '/']).next().unwrap_or(&path).to_owned())
        })
    };
    let trusted_library = fields::path("dll.code_signature.trusted")
        .first(document)
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let hashes_of = |prefix: &str| {
        ["md5", "sha1", "sha256"]
            .into_iter()
            .filter_map(|algorithm| Some((algorithm, text(document, &format!("{prefix}.{algorithm}"))?)))
            .collect::<Vec<_>>()
    };
    let mut sources = vec![
        (hashes_of("file.hash"), named("file.name", "file.path")),
        (
            hashes_of("process.hash"),
            named("process.name", "process.executable"),
        ),
    ];
    let library = hashes_of("dll.hash");
    if !trusted_library {
        sources.push((library.clone(), named("dll.name", "dll.path")));
    }
    for (hashes, name) in sources {
        for (algorithm, value) in hashes {
            entities.hash(Some(algorithm), &value, name.clone());
        }
    }
    for value in texts(document, "related.hash") {
        let of_trusted_library = trusted_library
            && library
                .iter()
                .any(|(_, hash)| hash.eq_ignore_ascii_case(value.trim()));
        if !of_trusted_library {
            entities.hash(None, &value, None);
        }
    }
    if let Some(url) = text(document, "url.full").or_else(|| text(document, "url.original")) {
        entities.url(&url);
    }
    for domain in ["url.domain", "destination.domain", "dns.question.name"]
        .into_iter()
        .flat_map(|field| texts(document, field))
    {
        entities.domain(&domain);
    }
    for address in ["email.from.address", "email.sender.address", "email.to.address"]
        .into_iter()
        .flat_map(|field| texts(document, field))
    {
        entities.email(&address, None);
    }
    entities.into_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entity, SignInResult};

    const SPRAY: &str = include_str!("../../../tests/fixtures/alerts/ecs/password-spray.json");
    const FLAT: &str = include_str!("../../../tests/fixtures/alerts/ecs/malware-flat-hit.json");

    fn parse(text: &str) -> Result<Alert, IntakeError> {
        normalize(&serde_json::from_str(text).unwrap(), text)
    }

    #[test]
    fn a_nested_spray_alert_reads_rule_scales_and_sign_ins() {
        let alert = parse(SPRAY).unwrap();
        assert_eq!(
            alert.id,
            "b1f0c2d4e6a8f0b2c4d6e8f0a2b4c6d8e0f2a4b6c8d0e2f4a6b8c0d2e4f6a8b0"
        );
        assert_eq!(alert.title, "Password spray");
        assert_eq!(alert.source_product, "Elastic Security");
        assert_eq!(alert.rule_id.as_deref(), Some("okta-spray-01"));
        assert_eq!(alert.category, "credential-access");
        assert_eq!(alert.severity, Severity::High);
        assert_eq!(alert.confidence, Some(92), "the risk score");
        assert_eq!(alert.timestamp, "2026-11-26T09:12:00Z", "the source event's time");
        assert_eq!(alert.tags, ["Okta", "Identity"]);
        let users: Vec<(&str, Option<SignInResult>)> = alert
            .entities
            .iter()
            .filter_map(|e| match e {
                Entity::User { name, sign_in, .. } => Some((name.as_str(), *sign_in)),
                _ => None,
            })
            .collect();
        assert_eq!(
            users,
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
    fn a_flat_hit_reads_dotted_keys_and_endpoint_entities() {
        let alert = parse(FLAT).unwrap();
        assert_eq!(alert.id, "0f1e2d3c4b5a69788796a5b4c3d2e1f0");
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.confidence, Some(99));
        assert_eq!(alert.category, "process", "no tactic: the event category");
        let has = |f: &dyn Fn(&Entity) -> bool| alert.entities.iter().any(f);
        assert!(has(
            &|e| matches!(e, Entity::Host { hostname, fqdn: Some(fqdn), .. } if hostname == "laptop-7" && fqdn == "laptop-7.corp.example.com")
        ));
        assert!(has(
            &|e| matches!(e, Entity::Process { name, pid: Some(4242), parent_name: Some(parent), host: Some(_), .. } if name == "invoice.exe" && parent == "outlook.exe")
        ));
        assert!(has(
            &|e| matches!(e, Entity::FileHash { file_name: Some(file), .. } if file == "invoice.exe")
        ));
        assert!(has(
            &|e| matches!(e, Entity::Url { url } if url == "https://files.example.net/invoice.exe")
        ));
        assert!(has(
            &|e| matches!(e, Entity::Domain { name } if name == "files.example.net")
        ));
        assert!(has(
            &|e| matches!(e, Entity::EmailAddress { address, .. } if address == "billing@invoices.example.org")
        ));
        assert!(has(
            &|e| matches!(e, Entity::User { name, sign_in: None, .. } if name == "dave")
        ));
        assert!(has(&|e| matches!(
            e,
            Entity::Ip {
                direction: Some(Direction::Destination),
                ..
            }
        )));
    }

    #[test]
    fn without_a_severity_the_risk_score_decides_by_elastics_bands() {
        for (risk, want) in [
            (21, Severity::Low),
            (47, Severity::Medium),
            (73, Severity::High),
            (99, Severity::Critical),
        ] {
            let text = SPRAY
                .replace("\"severity\": \"high\"", "\"severity_x\": \"high\"")
                .replace("\"risk_score\": 92", &format!("\"risk_score\": {risk}"));
            let alert = parse(&text).unwrap();
            assert_eq!(alert.severity, want, "{risk}");
            assert_eq!(alert.confidence, Some(risk as u8));
        }
    }

    #[test]
    fn a_missing_rule_name_is_named() {
        let text = SPRAY.replace("\"name\": \"Password spray\"", "\"nom\": \"x\"");
        let error = parse(&text).unwrap_err().to_string();
        assert!(error.contains("`kibana.alert.rule.name`"), "{error}");
    }

    #[test]
    fn hashes_come_from_what_the_alert_is_about_never_a_trusted_library() {
        let sample = include_str!("../../../tests/fixtures/alerts/ecs/endpoint-malware-trusted-dll.json");
        let alert = parse(sample).unwrap();
        let hashes: Vec<(&str, Option<&str>)> = alert
            .entities
            .iter()
            .filter_map(|e| match e {
                Entity::FileHash { value, file_name, .. } => Some((value.as_str(), file_name.as_deref())),
                _ => None,
            })
            .collect();
        assert_eq!(
            hashes,
            [(
                "0f5b58f27f2e9f3d3b8a1c2e4d6f8a0b1c3e5f7a9b0d2c4e6f8a1b3c5d7e9f0a",
                Some("invoice.exe")
            )],
            "the process's hash, named from its executable; none of the signed agent DLL's"
        );
        // An untrusted library is what the alert is about: its hash counts, named by its path.
        let untrusted = sample.replace(
            "\"dll.code_signature.trusted\": true",
            "\"dll.code_signature.trusted\": false",
        );
        let alert = parse(&untrusted).unwrap();
        assert!(
            alert.entities.iter().any(|e| matches!(e, Entity::FileHash { file_name: Some(f), .. } if f == "elastic-endpoint-hook.dll")),
            "{:?}",
            alert.entities
        );
    }
}
