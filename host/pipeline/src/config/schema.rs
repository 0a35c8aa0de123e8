//! The TOML as written, and its validation into [`Config`].

use super::error::{ConfigErrors, Reporter};
use super::{Config, ConnectorConfig, PluginConfig};
use crate::route::RawMatch;
use crate::{AlertMatch, Stage};
use indexmap::IndexMap;
use palisade_policy::Policy;
use palisade_policy::config::{GlobalPolicy, RawPolicy};
use palisade_runtime::Limits;
use palisade_runtime::capability::http::HttpPolicy;
use palisade_runtime::capability::http::config::RawHttp;
use palisade_runtime::capability::{Capability, Grants, Operation};
use palisade_runtime::limits::RawLimits;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;
use toml::de::DeValue;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    defaults: RawDefaults,
    /// Read table by table once the kinds are known (see [`palisade_connectors::config::tables`]).
    #[serde(default, rename = "connectors")]
    _connectors: IndexMap<String, serde::de::IgnoredAny>,
    #[serde(default)]
    plugins: IndexMap<String, RawPlugin>,
    #[serde(default)]
    policy: RawPolicy,
    #[serde(default)]
    intake: palisade_alert::config::RawIntake,
    /// `palisade serve`'s own table, read and checked by the service (`palisade_service::config`).
    #[serde(default, rename = "serve")]
    _serve: Option<serde::de::IgnoredAny>,
}

/// `[policy]`, and a plugin's `[plugins.NAME.policy]` overrides (protected entities add up).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    state_dir: Option<String>,
    compiled_dir: Option<String>,
    concurrency: Option<Spanned<usize>>,
    #[serde(default)]
    limits: RawLimits,
    /// The connector serving each capability unless a plugin names another.
    #[serde(default)]
    connectors: IndexMap<Spanned<String>, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlugin {
    path: Spanned<String>,
    stage: Stage,
    #[serde(default)]
    grants: Vec<Spanned<String>>,
    #[serde(default, rename = "match")]
    filter: RawMatch,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    connectors: IndexMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    settings: IndexMap<String, Spanned<toml::Value>>,
    #[serde(default)]
    policy: RawPolicy,
    http: Option<Spanned<RawHttp>>,
}

pub(super) fn parse(path: &Path, text: &str) -> Result<Config, ConfigErrors> {
    let mut report = Reporter::new(path, text);
    let root = match toml::de::DeTable::parse(text) {
        Ok(root) => root,
        Err(error) => {
            report.error(error.span(), "", error.message());
            return Err(ConfigErrors(report.errors));
        }
    };
    let tables = palisade_connectors::config::tables(&root);
    let raw: RawConfig = match serde_path_to_error::deserialize(toml::de::Deserializer::from(root)) {
        Ok(raw) => raw,
        Err(error) => {
            let key = error.path().to_string();
            let inner = error.into_inner();
            report.error(
                inner.span(),
                if key == "." { String::new() } else { key },
                inner.message(),
            );
            return Err(ConfigErrors(report.errors));
        }
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    let config = validate(raw, tables, dir, path, &mut report);
    if report.errors.is_empty() {
        Ok(config)
    } else {
        Err(ConfigErrors(report.errors))
    }
}

/// Alerts in flight when the config does not say. A run waits on vendors far more than on the
/// CPU: at 100 ms a vendor reply the chain handles 13 alerts a second with 4 in flight, 51 with
/// 16 and 181 with 64 (BENCHMARKS.md, "slow vendor"). Each alert in flight holds at most one
/// instance, so plugins can take at most 16 times a plugin's memory limit, plus the pages the
/// pool keeps resident between alerts (up to 1 MiB a linear memory, engine.rs).
pub const DEFAULT_CONCURRENCY: usize = 16;

fn validate(
    raw: RawConfig,
    connector_tables: Vec<(String, Spanned<DeValue<'_>>)>,
    dir: &Path,
    file: &Path,
    report: &mut Reporter,
) -> Config {
    let defaults = Limits::from_toml(Limits::default(), &raw.defaults.limits, "defaults.limits", report);
    let concurrency = match &raw.defaults.concurrency {
        Some(value) => report
            .in_range(value, 1..=256, "defaults.concurrency")
            .unwrap_or(1),
        None => DEFAULT_CONCURRENCY,
    };

    let mut connectors = BTreeMap::new();
    for (name, table) in connector_tables {
        let key = format!("connectors.{name}");
        if let Some(connector) = ConnectorConfig::from_toml(table, dir, &key, report) {
            connectors.insert(name, connector);
        }
    }

    let default_connectors = bindings(
        &raw.defaults.connectors,
        &connectors,
        "defaults.connectors",
        report,
    );
    let global_policy = GlobalPolicy::from_toml(raw.policy, report);

    let mut plugins = Vec::new();
    for (name, raw) in raw.plugins {
        let key = format!("plugins.{name}");
        if !valid_plugin_name(&name) {
            report.error(
                Some(raw.path.span()),
                &key,
                "a plugin name is lower-case letters, digits and `-`, starting with a letter",
            );
        }
        plugins.push(plugin(
            name,
            raw,
            &global_policy,
            &key,
            dir,
            &defaults,
            &default_connectors,
            &connectors,
            report,
        ));
    }

    let intake = palisade_alert::config::IntakeConfig::from_toml(raw.intake, report);
    let state_dir = dir.join(raw.defaults.state_dir.as_deref().unwrap_or(".palisade"));
    Config {
        autonomy: global_policy.autonomy,
        intake,
        file: file.to_owned(),
        compiled_dir: match raw.defaults.compiled_dir.as_deref() {
            Some(compiled) => dir.join(compiled),
            None => state_dir.join("compiled"),
        },
        state_dir,
        concurrency,
        connectors,
        plugins,
    }
}

#[allow(clippy::too_many_arguments)]
fn plugin(
    name: String,
    raw: RawPlugin,
    global_policy: &GlobalPolicy,
    key: &str,
    dir: &Path,
    default_limits: &Limits,
    default_connectors: &BTreeMap<Capability, String>,
    connectors: &BTreeMap<String, ConnectorConfig>,
    report: &mut Reporter,
) -> PluginConfig {
    let path = dir.join(raw.path.get_ref());

    let mut granted = Vec::new();
    for (index, grant) in raw.grants.iter().enumerate() {
        match Operation::parse(grant.get_ref()) {
            Ok(operation) => granted.push(operation),
            Err(error) => report.error(
                Some(grant.span()),
                format!("{key}.grants[{index}]"),
                error.to_string(),
            ),
        }
    }
    let grants = Grants::new(granted);

    let mut plugin_connectors = default_connectors.clone();
    plugin_connectors.extend(bindings(
        &raw.connectors,
        connectors,
        &format!("{key}.connectors"),
        report,
    ));
    for capability in grants.capabilities() {
        if capability.uses_connector() && !plugin_connectors.contains_key(&capability) {
            let span = raw
                .grants
                .iter()
                .find(|g| g.get_ref().starts_with(capability.as_str()))
                .map(|g| g.span());
            report.error(
                span,
                format!("{key}.grants"),
                format!(
                    "grants {capability} operations but no connector serves {capability}: set defaults.connectors.{capability} or {key}.connectors.{capability}"
                ),
            );
        }
    }

    let matcher = AlertMatch::from_toml(raw.filter, &format!("{key}.match"), report);

    let mut settings = BTreeMap::new();
    for (setting, value) in raw.settings {
        let span = value.span();
        match setting_text(value.into_inner()) {
            Some(text) => {
                settings.insert(setting, text);
            }
            None => report.error(
                Some(span),
                format!("{key}.settings.{setting}"),
                "a setting is a string, number, boolean, or a list of those",
            ),
        }
    }

    let http = HttpPolicy::from_toml(raw.http, &raw.grants, &grants, key, report);

    PluginConfig {
        name,
        path,
        stage: raw.stage,
        grants,
        connectors: plugin_connectors,
        matcher,
        limits: Limits::from_toml(*default_limits, &raw.limits, &format!("{key}.limits"), report),
        settings,
        policy: Policy::from_toml(global_policy, &raw.policy, key, report),
        http,
    }
}

/// Capability -> connector name tables, checked against the declared connectors.
fn bindings(
    raw: &IndexMap<Spanned<String>, Spanned<String>>,
    connectors: &BTreeMap<String, ConnectorConfig>,
    key: &str,
    report: &mut Reporter,
) -> BTreeMap<Capability, String> {
    let mut out = BTreeMap::new();
    for (capability_name, connector) in raw {
        let entry = format!("{key}.{}", capability_name.get_ref());
        let Some(capability) = Capability::parse(capability_name.get_ref()).filter(|c| c.uses_connector())
        else {
            report.error(
                Some(capability_name.span()),
                &entry,
                "unknown capability; connectors serve intel, siem, ticket, identity, endpoint, network, notify",
            );
            continue;
        };
        let Some(config) = connectors.get(connector.get_ref()) else {
            let known = connectors.keys().cloned().collect::<Vec<_>>().join(", ");
            report.error(
                Some(connector.span()),
                &entry,
                format!("no connector named {:?} (declared: {known})", connector.get_ref()),
            );
            continue;
        };
        if !config.serves(capability) {
            report.error(
                Some(connector.span()),
                &entry,
                format!(
                    "connector {:?} (kind {}) does not serve {capability}",
                    connector.get_ref(),
                    config.kind()
                ),
            );
            continue;
        }
        out.insert(capability, connector.get_ref().clone());
    }
    out
}

fn setting_text(value: toml::Value) -> Option<String> {
    match value {
        toml::Value::String(text) => Some(text),
        toml::Value::Integer(number) => Some(number.to_string()),
        toml::Value::Float(number) => Some(number.to_string()),
        toml::Value::Boolean(flag) => Some(flag.to_string()),
        toml::Value::Array(items) => items
            .into_iter()
            .map(|item| match item {
                toml::Value::Array(_) | toml::Value::Table(_) => None,
                scalar => setting_text(scalar),
            })
            .collect::<Option<Vec<_>>>()
            .map(|items| items.join(",")),
        toml::Value::Datetime(datetime) => Some(datetime.to_string()),
        toml::Value::Table(_) => None,
    }
}

fn valid_plugin_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && name.len() <= 64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        super::parse(Path::new("/etc/palisade/palisade.toml"), text)
    }

    const GOOD: &str = r#"
[defaults]
state_dir = "state"
[defaults.limits]
timeout_ms = 2000
[defaults.connectors]
identity = "local"
network = "local"
ticket = "local"

[connectors.local]
kind = "embedded"
outbox = "outbox.jsonl"

[plugins.password-spray]
path = "plugins/password_spray.wasm"
stage = "respond"
grants = ["identity.revoke-sessions", "network.block-ip", "ticket.create"]
settings = { min_confidence = 85, vip_users = ["ceo", "cfo"] }
limits = { memory_mib = 32 }
[plugins.password-spray.match]
rules = ["*spray*"]
min_severity = "medium"

[plugins.triage]
path = "plugins/triage.wasm"
stage = "triage"
"#;

    #[test]
    fn a_complete_config_validates_with_paths_from_its_folder() {
        let config = parse(GOOD).unwrap();
        assert_eq!(config.state_dir, Path::new("/etc/palisade/state"));
        assert_eq!(config.compiled_dir, Path::new("/etc/palisade/state/compiled"));
        let shared = parse(&GOOD.replace(
            "state_dir = \"state\"",
            "state_dir = \"state\"\ncompiled_dir = \"/var/cache/palisade\"",
        ))
        .unwrap();
        assert_eq!(shared.compiled_dir, Path::new("/var/cache/palisade"));
        assert_eq!(config.plugins.len(), 2);
        let spray = &config.plugins[0];
        assert_eq!(spray.name, "password-spray");
        assert_eq!(spray.path, Path::new("/etc/palisade/plugins/password_spray.wasm"));
        assert_eq!(spray.limits.memory_bytes, 32 << 20);
        assert_eq!(spray.limits.timeout, Duration::from_millis(2000));
        assert_eq!(spray.settings["min_confidence"], "85");
        assert_eq!(spray.settings["vip_users"], "ceo,cfo");
        assert_eq!(spray.connectors[&Capability::Identity], "local");
        assert!(spray.grants.allows(Operation::parse("network.block-ip").unwrap()));
        assert_eq!(config.plugins[1].name, "triage", "file order is kept");
    }

    #[test]
    fn richer_match_rules_are_read_and_their_mistakes_located() {
        let head = "[plugins.p]\npath = \"p.wasm\"\nstage = \"triage\"\n[plugins.p.match]\n";
        let good = format!(
            "{head}tags = [\"okta\"]\nmin_confidence = 60\nmax_confidence = 100\nmin_severity = \"low\"\nmax_severity = \"high\"\nentity_kinds = [\"user\", \"ip\"]\n"
        );
        parse(&good).unwrap();
        let bad = format!(
            "{head}rules = [\"spray-[0-9\"]\nmin_confidence = 80\nmax_confidence = 120\nmin_severity = \"high\"\nmax_severity = \"low\"\nentity_kinds = [\"user\", \"printer\"]\n"
        );
        let errors = parse(&bad).unwrap_err();
        let found: Vec<(usize, usize, &str)> = errors
            .0
            .iter()
            .map(|e| (e.line, e.column, e.key.as_str()))
            .collect();
        for expected in [
            (5, 10, "plugins.p.match.rules[0]"),
            (7, 18, "plugins.p.match.max_confidence"),
            (9, 16, "plugins.p.match.max_severity"),
            (10, 25, "plugins.p.match.entity_kinds[1]"),
        ] {
            assert!(found.contains(&expected), "{expected:?} in {errors}");
        }
        assert_eq!(found.len(), 4, "{errors}");
        let below = format!("{head}min_confidence = 80\nmax_confidence = 70\n");
        let errors = parse(&below).unwrap_err().to_string();
        assert!(
            errors.contains("6:18: plugins.p.match.max_confidence: 70 is below min_confidence 80"),
            "{errors}"
        );
    }

    #[test]
    fn a_misspelt_grant_is_reported_at_its_line_with_its_key() {
        let text = GOOD.replace("\"network.block-ip\"", "\"network.blok-ip\"");
        let errors = parse(&text).unwrap_err();
        let error = &errors.0[0];
        assert_eq!(error.line, 18, "{errors}");
        assert_eq!(error.key, "plugins.password-spray.grants[1]");
        assert!(error.message.contains("network.block-ip"), "{}", error.message);
        assert!(
            errors.to_string().starts_with("/etc/palisade/palisade.toml:18:"),
            "{errors}"
        );
    }

    #[test]
    fn an_unknown_key_and_a_bad_stage_are_located() {
        let errors = parse(&GOOD.replace("stage = \"triage\"", "stage = \"triag\"")).unwrap_err();
        assert_eq!(errors.0[0].key, "plugins.triage.stage", "{errors}");
        assert_eq!(errors.0[0].line, 27, "{errors}");

        let errors = parse(&GOOD.replace("state_dir", "statedir")).unwrap_err();
        assert!(
            errors.0[0].message.contains("unknown field `statedir`"),
            "{errors}"
        );
        assert_eq!(errors.0[0].line, 3, "{errors}");
    }

    #[test]
    fn syntax_errors_are_located() {
        let errors = parse("[defaults\nstate_dir = 1").unwrap_err();
        assert_eq!(errors.0[0].line, 1, "{errors}");
    }

    #[test]
    fn a_grant_without_a_connector_and_an_unknown_connector_are_refused_together() {
        let text = GOOD.replace("ticket = \"local\"", "ticket = \"jira\"");
        let errors = parse(&text).unwrap_err();
        let messages = errors.to_string();
        assert!(messages.contains("no connector named \"jira\""), "{messages}");
        assert!(messages.contains("no connector serves ticket"), "{messages}");
    }

    #[test]
    fn limits_cannot_be_switched_off_by_a_typo() {
        let errors = parse(&GOOD.replace("memory_mib = 32", "memory_mib = 0")).unwrap_err();
        assert_eq!(errors.0[0].key, "plugins.password-spray.limits.memory_mib");
        assert!(parse(&GOOD.replace("timeout_ms = 2000", "timeout_ms = 99999999")).is_err());
    }

    #[test]
    fn hourly_limits_and_the_argument_budget_are_set_per_plugin() {
        let limits =
            "memory_mib = 32, notifications_per_hour = 0, tickets_per_hour = 10, arguments_kib = 512";
        let config = parse(&GOOD.replace("memory_mib = 32", limits)).unwrap();
        let spray = &config.plugins[0].limits;
        assert_eq!(spray.per_hour.notifications, 0, "zero forbids");
        assert_eq!(spray.per_hour.tickets, 10);
        assert_eq!(
            spray.per_hour.comments,
            palisade_store::PerHour::default().comments
        );
        assert_eq!(spray.argument_bytes, 512 << 10);
        let errors =
            parse(&GOOD.replace("memory_mib = 32", "memory_mib = 32, arguments_kib = 0")).unwrap_err();
        assert_eq!(errors.0[0].key, "plugins.password-spray.limits.arguments_kib");
        assert!(
            parse(&GOOD.replace("memory_mib = 32", "memory_mib = 32, comments_per_hour = 2000000")).is_err()
        );
    }

    const HTTP: &str = r#"
[plugins.enrich-whois]
path = "whois.wasm"
stage = "enrich"
grants = ["http"]
[plugins.enrich-whois.http]
allow = ["https://rdap.example.net", "http://intel.internal:8080"]
allow_private = true
timeout_ms = 3000
max_response_kib = 64
"#;

    #[test]
    fn an_http_grant_takes_its_allow_list_and_limits() {
        let config = parse(HTTP).unwrap();
        let plugin = &config.plugins[0];
        assert!(plugin.grants.allows(palisade_runtime::capability::HTTP));
        let http = plugin.http.as_ref().unwrap();
        let allow: Vec<String> = http.allow.iter().map(ToString::to_string).collect();
        assert_eq!(allow, ["https://rdap.example.net", "http://intel.internal:8080"]);
        assert!(http.allow_private);
        assert_eq!(http.timeout, Duration::from_millis(3000));
        assert_eq!(http.max_response_bytes, 64 * 1024);

        let defaults = parse(&HTTP.replace(
            "allow_private = true\ntimeout_ms = 3000\nmax_response_kib = 64\n",
            "",
        ))
        .unwrap();
        let http = defaults.plugins[0].http.as_ref().unwrap();
        assert!(!http.allow_private, "private addresses are closed unless opened");
        assert_eq!(http.timeout, HttpPolicy::DEFAULT_TIMEOUT);
        assert_eq!(http.max_response_bytes, 1 << 20);
    }

    #[test]
    fn granting_http_without_an_allow_list_is_an_error_at_the_grant() {
        let text = HTTP.split("[plugins.enrich-whois.http]").next().unwrap();
        let errors = parse(text).unwrap_err();
        assert_eq!(errors.0[0].key, "plugins.enrich-whois.grants", "{errors}");
        assert_eq!(errors.0[0].line, 5, "{errors}");
        assert!(errors.0[0].message.contains("no allow list"), "{errors}");

        let errors = parse(&HTTP.replace(
            "allow = [\"https://rdap.example.net\", \"http://intel.internal:8080\"]",
            "allow = []",
        ))
        .unwrap_err();
        assert_eq!(errors.0[0].key, "plugins.enrich-whois.http.allow", "{errors}");
    }

    #[test]
    fn an_allow_list_without_the_grant_is_an_error() {
        let errors = parse(&HTTP.replace("grants = [\"http\"]", "")).unwrap_err();
        assert_eq!(errors.0[0].key, "plugins.enrich-whois.http", "{errors}");
        assert!(
            errors.0[0].message.contains("without the `http` grant"),
            "{errors}"
        );
    }

    #[test]
    fn a_bad_origin_is_located_and_says_why() {
        let errors =
            parse(&HTTP.replace("http://intel.internal:8080", "https://rdap.example.net/ip")).unwrap_err();
        let error = &errors.0[0];
        assert_eq!(error.key, "plugins.enrich-whois.http.allow[1]", "{errors}");
        assert_eq!((error.line, error.column), (7, 38), "{errors}");
        assert!(error.message.contains("path"), "{errors}");
        assert!(
            errors
                .to_string()
                .starts_with("/etc/palisade/palisade.toml:7:38: plugins.enrich-whois.http.allow[1]: "),
            "{errors}"
        );

        let errors = parse(&HTTP.replace("max_response_kib = 64", "max_response_kib = 0")).unwrap_err();
        assert_eq!(
            errors.0[0].key, "plugins.enrich-whois.http.max_response_kib",
            "{errors}"
        );
        let errors = parse(&HTTP.replace("timeout_ms = 3000", "timeout_ms = 0")).unwrap_err();
        assert_eq!(
            errors.0[0].key, "plugins.enrich-whois.http.timeout_ms",
            "{errors}"
        );
        let errors =
            parse(&HTTP.replace("allow_private = true", "allow_private = true\nproxy = 1")).unwrap_err();
        assert!(errors.0[0].message.contains("unknown field `proxy`"), "{errors}");
    }

    #[test]
    fn a_webhook_token_comes_from_the_environment_and_a_missing_one_is_an_error() {
        let text = r#"
[connectors.hook]
kind = "webhook"
url = "http://127.0.0.1:9/hook"
token = { env = "PALISADE_TEST_TOKEN_THAT_IS_NOT_SET" }
"#;
        let errors = parse(text).unwrap_err();
        assert_eq!(errors.0[0].key, "connectors.hook.token");
        assert!(
            errors.0[0]
                .message
                .contains("PALISADE_TEST_TOKEN_THAT_IS_NOT_SET is not set")
        );

        let with_user = text
            .replace("http://", "http://user:pw@")
            .replace("token = { env = \"PALISADE_TEST_TOKEN_THAT_IS_NOT_SET\" }\n", "");
        let errors = parse(&with_user).unwrap_err();
        assert!(errors.0[0].message.contains("credentials in the URL"), "{errors}");
        assert!(!errors.to_string().contains("pw"), "the password is not repeated");
    }

    #[test]
    fn a_vendor_connector_takes_its_own_keys_and_serves_only_its_capability() {
        let text = r#"
[connectors.okta]
kind = "okta"
url = "https://acme.okta.com"
token = { env = "PATH" }
retries = 2
timeout_ms = 3000

[plugins.spray]
path = "spray.wasm"
stage = "respond"
grants = ["identity.disable-user", "ticket.create"]
connectors = { identity = "okta", ticket = "okta" }
"#;
        let errors = parse(text).unwrap_err();
        assert_eq!(errors.0.len(), 2, "{errors}");
        assert_eq!(errors.0[0].key, "plugins.spray.connectors.ticket");
        assert!(
            errors.0[0]
                .message
                .contains("\"okta\" (kind okta) does not serve ticket"),
            "{errors}"
        );

        let config = parse(
            &text
                .replace(", ticket = \"okta\"", "")
                .replace(", \"ticket.create\"", ""),
        )
        .unwrap();
        let ConnectorConfig::Vendor(okta) = &config.connectors["okta"] else {
            panic!("not a vendor connector")
        };
        let http = okta.http.as_ref().unwrap();
        assert_eq!(http.base_url.as_str(), "https://acme.okta.com/");
        assert_eq!((http.retries, http.timeout), (2, Duration::from_millis(3000)));
        assert!(okta.cache_ttl.is_zero(), "only intel caches");
    }

    #[test]
    fn vendor_connector_mistakes_are_located() {
        let text = r#"
[connectors.okta]
kind = "okta"
url = "https://acme.okta.com"
token = { env = "PALISADE_TEST_OKTA_TOKEN_NOT_SET" }
revoke_oauth_token = true
cache_ttl_seconds = 60

[connectors.other]
kind = "oktaa"

[connectors.nourl]
kind = "okta"
token = { env = "PATH" }
"#;
        let errors = parse(text).unwrap_err();
        let found: Vec<(usize, &str)> = errors.0.iter().map(|e| (e.line, e.key.as_str())).collect();
        assert_eq!(
            found,
            vec![
                (6, "connectors.okta.revoke_oauth_token"),
                (7, "connectors.okta.cache_ttl_seconds"),
                (10, "connectors.other.kind"),
                (12, "connectors.nourl.url"),
            ],
            "{errors}"
        );
        assert!(
            errors.0[0]
                .message
                .contains("expected `token` or `revoke_oauth_tokens`"),
            "{errors}"
        );
        assert!(
            errors.0[2].message.contains("kinds are: embedded, webhook, okta"),
            "{errors}"
        );

        let unset =
            parse(&text.replace("revoke_oauth_token = true\ncache_ttl_seconds = 60\n", "")).unwrap_err();
        assert_eq!(unset.0[0].key, "connectors.okta.token");
        assert_eq!(unset.0[0].line, 5);
        assert!(
            unset.0[0]
                .message
                .contains("PALISADE_TEST_OKTA_TOKEN_NOT_SET is not set")
        );
    }

    #[test]
    fn intel_and_siem_vendor_kinds_take_their_own_keys_and_build() {
        let text = r#"
[connectors.abuseipdb]
kind = "abuseipdb"
url = "https://api.abuseipdb.com"
api_key = { env = "PATH" }
max_age_days = 30

[connectors.vt]
kind = "virustotal"
url = "https://www.virustotal.com"
api_key = { env = "PATH" }
cache_ttl_seconds = 600

[connectors.misp]
kind = "misp"
url = "https://misp.acme.example"
api_key = { env = "PATH" }
only_to_ids = true

[connectors.elastic]
kind = "elasticsearch"
url = "https://elastic.acme.example:9200"
index = "logs-*"
api_key = { env = "PATH" }

[connectors.opensearch]
kind = "opensearch"
url = "https://opensearch.acme.example:9200"
index = "security-auditlog-*"
user = "palisade"
password = { env = "PATH" }

[connectors.splunk]
kind = "splunk"
url = "https://splunk.acme.example:8089"
token = { env = "PATH" }
app = "search"
"#;
        let config = parse(text).unwrap();
        let ttl = |name: &str| match &config.connectors[name] {
            ConnectorConfig::Vendor(vendor) => vendor.cache_ttl,
            _ => panic!("not a vendor connector"),
        };
        assert_eq!(
            ttl("abuseipdb"),
            Duration::from_secs(3600),
            "intel caches by default"
        );
        assert_eq!(ttl("vt"), Duration::from_secs(600));
        assert!(ttl("splunk").is_zero(), "only intel caches");
        let registry = palisade_connectors::Registry::build(&config.connectors).unwrap();
        for (name, capability) in [
            ("abuseipdb", Capability::Intel),
            ("vt", Capability::Intel),
            ("misp", Capability::Intel),
            ("elastic", Capability::Siem),
            ("opensearch", Capability::Siem),
            ("splunk", Capability::Siem),
        ] {
            let set = registry.for_plugin(&BTreeMap::from([(capability, name.to_owned())]));
            assert!(
                set.intel.is_some() || set.siem.is_some(),
                "{name} serves no {capability:?}"
            );
        }

        let mistakes = text
            .replace("index = \"logs-*\"", "indexes = \"logs-*\"")
            .replace("app = \"search\"", "app = \"search\"\ncache_ttl_seconds = 60");
        let errors = parse(&mistakes).unwrap_err();
        let keys: Vec<&str> = errors.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "connectors.elastic.indexes",
                "connectors.splunk.cache_ttl_seconds"
            ],
            "{errors}"
        );

        let both = parse(&text.replace(
            "index = \"logs-*\"\napi_key = { env = \"PATH\" }",
            "index = \"logs-*\"\napi_key = { env = \"PATH\" }\nuser = \"palisade\"",
        ))
        .unwrap();
        let error = palisade_connectors::Registry::build(&both.connectors)
            .err()
            .expect("two ways to authenticate");
        assert!(
            format!("{error:#}").contains("set either `api_key`, or `user` and `password`"),
            "{error:#}"
        );
    }

    #[test]
    fn a_webhook_kind_takes_its_url_as_a_secret_and_never_from_url() {
        let dir = std::env::temp_dir().join(format!("palisade-secret-url-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("slack-hook");
        std::fs::write(&good, "https://hooks.slack.com/services/T0/B0/XXXX\n").unwrap();
        let bad = dir.join("not-a-url");
        std::fs::write(&bad, "xoxb-not-a-url").unwrap();
        let text = format!(
            r#"
[connectors.slack]
kind = "slack-webhook"
webhook_url = {{ file = "{good}" }}
timeout_ms = 4000

[connectors.teams]
kind = "teams"
url = "https://acme.webhook.office.com"
webhook_url = {{ file = "{bad}" }}
"#,
            good = good.display(),
            bad = bad.display()
        );
        let errors = parse(&text).unwrap_err();
        let found: Vec<(usize, &str)> = errors.0.iter().map(|e| (e.line, e.key.as_str())).collect();
        assert_eq!(
            found,
            vec![(9, "connectors.teams.url"), (10, "connectors.teams.webhook_url")],
            "{errors}"
        );
        assert!(
            errors.0[0]
                .message
                .contains("takes its URL from the secret `webhook_url`")
        );
        assert!(
            errors.0[1].message.contains("must be an http or https URL")
                || errors.0[1].message.contains("not a URL")
        );
        assert!(!errors.to_string().contains("xoxb-not-a-url"), "{errors}");

        let slack_only = text.split("[connectors.teams]").next().unwrap();
        let config = parse(slack_only).unwrap();
        let ConnectorConfig::Vendor(slack) = &config.connectors["slack"] else {
            panic!("not a vendor connector")
        };
        let http = slack.http.as_ref().unwrap();
        assert_eq!(http.timeout, Duration::from_millis(4000));
        assert!(
            !http.base_url.as_str().contains("hooks.slack.com"),
            "the secret stays out of the config"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn servicenow_takes_a_password_or_a_token_not_both() {
        let text = r#"
[connectors.snow]
kind = "servicenow"
url = "https://acme.service-now.com"
user = "palisade"
password = { env = "PATH" }
token = { env = "PATH" }
"#;
        let errors = parse(text).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert!(
            errors.0[0].message.contains("either `user` and `password`"),
            "{errors}"
        );
        parse(&text.replace("token = { env = \"PATH\" }\n", "")).unwrap();
        parse(&text.replace("user = \"palisade\"\npassword = { env = \"PATH\" }\n", "")).unwrap();
    }

    #[test]
    fn endpoint_identity_and_network_vendor_kinds_read_their_own_keys() {
        let text = r#"
[connectors.entra]
kind = "entra"
url = "https://graph.microsoft.com"
tenant_id = "contoso.onmicrosoft.com"
client_id = "app-id"
client_secret = { env = "PATH" }

[connectors.falcon]
kind = "crowdstrike"
url = "https://api.us-2.crowdstrike.com"
client_id = "falcon-client"
client_secret = { env = "PATH" }

[connectors.defender]
kind = "defender"
url = "https://api.securitycenter.microsoft.com"
tenant_id = "contoso.onmicrosoft.com"
client_id = "app-id"
client_secret = { env = "PATH" }
isolation_type = "Selective"

[connectors.cloudflare]
kind = "cloudflare"
url = "https://api.cloudflare.com/client/v4"
token = { env = "PATH" }
zone_id = "023e105f4ecef8ad9ca31a8372d0c353"

[connectors.edl]
kind = "edl"
ip_path = "block-ip.txt"
default_ttl_hours = 24
"#;
        let config = parse(text).unwrap();
        for name in ["entra", "falcon", "defender", "cloudflare"] {
            let ConnectorConfig::Vendor(vendor) = &config.connectors[name] else {
                panic!("{name} is not a vendor connector")
            };
            assert!(vendor.http.is_some(), "{name} talks HTTP");
        }
        let ConnectorConfig::Vendor(edl) = &config.connectors["edl"] else {
            panic!("edl is not a vendor connector")
        };
        assert!(edl.http.is_none(), "an EDL writes files");

        let mistakes = text
            .replace("isolation_type = \"Selective\"", "isolation_type = \"Partial\"")
            .replace(
                "ip_path = \"block-ip.txt\"",
                "ip_path = \"block-ip.txt\"\nurl = \"https://fw.example\"",
            );
        let errors = parse(&mistakes).unwrap_err();
        let found: Vec<(usize, &str)> = errors.0.iter().map(|e| (e.line, e.key.as_str())).collect();
        assert_eq!(
            found,
            vec![
                (21, "connectors.defender.isolation_type"),
                (32, "connectors.edl.url"),
            ],
            "{errors}"
        );
        assert!(errors.0[1].message.contains("does not talk HTTP"), "{errors}");
    }
}
