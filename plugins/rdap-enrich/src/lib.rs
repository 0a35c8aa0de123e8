//! `rdap-enrich`: looks up who holds the alert's public IP addresses and domains over RDAP
//! (enrich stage), through the host's outbound HTTP.
//!
//! RDAP (RFC 9082/9083) is the JSON successor of whois, served by every regional internet
//! registry and most domain registries. For each public IP entity the plugin asks
//! `BASE/ip/ADDRESS`, for each domain entity `BASE/domain/NAME`, and notes the answer. A
//! domain registered recently is tagged: new domains are a classic phishing signal.
//!
//! Grant: `http`, with the RDAP server on the allow list:
//!
//! ```toml
//! [plugins.rdap-enrich]
//! path = "rdap_enrich.wasm"
//! stage = "enrich"
//! grants = ["http"]
//! settings = { base_url = "https://rdap.example.net" }
//! [plugins.rdap-enrich.http]
//! allow = ["https://rdap.example.net"]
//! ```
//!
//! Settings (`[plugins.rdap-enrich.settings]`):
//! - `base_url` (required): the RDAP server, e.g. `https://rdap.arin.net/registry` or a
//!   bootstrap redirector such as `https://rdap.org` (its redirects must also be allowed);
//! - `max_lookups` (default 10): lookups per alert; the other entities are noted as skipped;
//! - `new_domain_days` (default 30): a domain registered fewer days ago is tagged
//!   `rdap:new-domain`.
//!
//! Notes: one `rdap:<address or domain>` per distinct entity, valued
//! - for an address, `network=<name> country=<cc> org=<holder> range=<start>-<end>`;
//! - for a domain, `registered=<date> registrar=<name> status=<a,b>` (and `age_days=<n>`);
//! - `unknown` when the server has no record (404);
//! - `skipped: <why>` for private, loopback and other non-routable addresses;
//! - `error: <error>` when the lookup failed (denied, timeout, ...); the plugin carries on.

use std::net::IpAddr;

use palisade_sdk::http::HttpError;
use palisade_sdk::prelude::*;
use serde_json::Value;

/// The operations this plugin asks for.
pub const CAPABILITIES: [&str; 1] = ["http"];

pub const DEFAULT_MAX_LOOKUPS: usize = 10;
pub const DEFAULT_NEW_DOMAIN_DAYS: i64 = 30;

/// What the plugin was configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    pub base_url: String,
    pub max_lookups: usize,
    pub new_domain_days: i64,
}

/// What a lookup may answer: a record, no record, or a failure.
pub type Lookup = Result<Option<Value>, HttpError>;

/// Looks up the alert's addresses and domains with `fetch` (an HTTP GET of the URL in the
/// component); `today` is days since 1970-01-01.
pub fn enrich(
    alert: &Alert,
    settings: &Settings,
    today: i64,
    mut fetch: impl FnMut(&str) -> Lookup,
) -> Outcome {
    let mut outcome = Outcome::new();
    let base = settings.base_url.trim_end_matches('/');
    let mut seen: Vec<String> = Vec::new();
    let (mut looked_up, mut failed, mut new_domains) = (0, 0, 0);

    let mut targets: Vec<(String, String)> = Vec::new();
    for ip in alert.ips() {
        let address = ip.address.trim().to_owned();
        match address.parse::<IpAddr>() {
            Ok(parsed) => match not_routable(parsed) {
                Some(why) => targets.push((address, format!("skip:{why}"))),
                None => targets.push((address.clone(), format!("{base}/ip/{parsed}"))),
            },
            Err(_) => targets.push((address, "skip:not an IP address".into())),
        }
    }
    for domain in alert.domains() {
        let name = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        if valid_domain(&name) {
            targets.push((name.clone(), format!("{base}/domain/{name}")));
        } else {
            targets.push((name, "skip:not a domain name".into()));
        }
    }

    for (entity, url) in targets {
        if seen.contains(&entity) {
            continue;
        }
        seen.push(entity.clone());
        let key = format!("rdap:{entity}");
        if let Some(why) = url.strip_prefix("skip:") {
            outcome.add_note(key, format!("skipped: {why}"));
            continue;
        }
        if looked_up == settings.max_lookups {
            outcome.add_note(
                key,
                format!("skipped: over max_lookups ({})", settings.max_lookups),
            );
            continue;
        }
        looked_up += 1;
        let is_domain = url.contains("/domain/");
        let value = match fetch(&url) {
            Ok(Some(record)) if is_domain => {
                let (value, age) = describe_domain(&record, today);
                if age.is_some_and(|days| days < settings.new_domain_days) {
                    new_domains += 1;
                }
                value
            }
            Ok(Some(record)) => describe_network(&record),
            Ok(None) => "unknown".into(),
            Err(error) => {
                failed += 1;
                format!("error: {error}")
            }
        };
        outcome.add_note(key, value);
    }
    if new_domains > 0 {
        outcome.add_tag("rdap:new-domain");
    }
    let mut summary = format!("RDAP: looked up {looked_up}");
    if failed > 0 {
        summary += &format!(", {failed} failed");
    }
    if new_domains > 0 {
        summary += &format!(", {new_domains} newly registered domain(s)");
    }
    summary.push('.');
    outcome.summary(summary)
}

/// `network=<name> country=<cc> org=<holder> range=<start>-<end>`, the parts the record has.
pub fn describe_network(record: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(name) = text(record, "name") {
        parts.push(format!("network={name}"));
    }
    if let Some(country) = text(record, "country") {
        parts.push(format!("country={country}"));
    }
    if let Some(org) = entity_name(record, &["registrant", "administrative"]) {
        parts.push(format!("org={org}"));
    }
    if let (Some(start), Some(end)) = (text(record, "startAddress"), text(record, "endAddress")) {
        parts.push(format!("range={start}-{end}"));
    }
    if parts.is_empty() {
        "found (no details)".into()
    } else {
        parts.join(" ")
    }
}

/// `registered=<date> age_days=<n> registrar=<name> status=<a,b>`, and the age in days.
pub fn describe_domain(record: &Value, today: i64) -> (String, Option<i64>) {
    let mut parts = Vec::new();
    let registered = record["events"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|event| event["eventAction"] == "registration")
        .and_then(|event| event["eventDate"].as_str());
    let mut age = None;
    if let Some(date) = registered {
        let day = date.get(..10).unwrap_or(date);
        parts.push(format!("registered={day}"));
        if let Some(days) = days_since_epoch(day) {
            age = Some(today - days);
            parts.push(format!("age_days={}", today - days));
        }
    }
    if let Some(registrar) = entity_name(record, &["registrar"]) {
        parts.push(format!("registrar={registrar}"));
    }
    let status: Vec<String> = record["status"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str())
        .map(|s| s.replace([' ', ','], "-"))
        .collect();
    if !status.is_empty() {
        parts.push(format!("status={}", status.join(",")));
    }
    let value = if parts.is_empty() {
        "found (no details)".into()
    } else {
        parts.join(" ")
    };
    (value, age)
}

/// A short string field, with spaces kept out of the note's `key=value` shape.
fn text(record: &Value, field: &str) -> Option<String> {
    let value = record[field].as_str()?.trim();
    (!value.is_empty()).then(|| value.chars().take(80).collect::<String>().replace(' ', "_"))
}

/// The `fn` (full name) of the first entity with one of `roles`, from its jCard.
fn entity_name(record: &Value, roles: &[&str]) -> Option<String> {
    record["entities"].as_array()?.iter().find_map(|entity| {
        let has_role = entity["roles"].as_array().is_some_and(|r| {
            r.iter()
                .any(|role| role.as_str().is_some_and(|role| roles.contains(&role)))
        });
        if !has_role {
            return None;
        }
        entity["vcardArray"][1].as_array()?.iter().find_map(|property| {
            (property[0] == "fn")
                .then(|| property[3].as_str())
                .flatten()
                .map(|name| name.trim().chars().take(80).collect::<String>().replace(' ', "_"))
        })
    })
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date.
pub fn days_since_epoch(date: &str) -> Option<i64> {
    let mut parts = date.splitn(3, '-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: i64 = parts.next()?.parse().ok()?;
    let day: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

fn valid_domain(name: &str) -> bool {
    name.contains('.')
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// Why an address is not worth looking up, if it is not.
pub fn not_routable(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_private() || (a == 100 && (64..128).contains(&b)) {
                Some("private address")
            } else if v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
            {
                Some("non-routable address")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_unique_local() {
                Some("private address")
            } else if v6.is_loopback()
                || v6.is_unicast_link_local()
                || v6.is_unspecified()
                || v6.is_multicast()
            {
                Some("non-routable address")
            } else {
                None
            }
        }
    }
}

/// Reads the settings from what the admin configured.
pub fn settings(
    base_url: Option<&str>,
    max_lookups: Option<&str>,
    new_domain_days: Option<&str>,
) -> Result<Settings, ActionError> {
    let base_url = base_url
        .map(str::trim)
        .filter(|url| url.starts_with("https://") || url.starts_with("http://"))
        .ok_or_else(|| {
            ActionError::InvalidInput("the setting `base_url` must be the RDAP server's http(s) URL".into())
        })?;
    Ok(Settings {
        base_url: base_url.to_owned(),
        max_lookups: palisade_sdk::parse_setting("max_lookups", max_lookups)?.unwrap_or(DEFAULT_MAX_LOOKUPS),
        new_domain_days: palisade_sdk::parse_setting("new_domain_days", new_domain_days)?
            .unwrap_or(DEFAULT_NEW_DOMAIN_DAYS),
    })
}

/// GET `url` as RDAP JSON: a record, `None` on 404, an error otherwise.
fn fetch(url: &str) -> Lookup {
    let response = palisade_sdk::http::Request::get(url)
        .header("accept", "application/rdap+json, application/json")
        .send()?;
    if response.status() == 404 {
        return Ok(None);
    }
    response.error_for_status()?.json().map(Some)
}

fn today() -> i64 {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    (seconds / 86_400) as i64
}

struct RdapEnrich;

impl Action for RdapEnrich {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Looks up who holds the alert's public addresses and domains over RDAP, and tags new domains",
            CAPABILITIES,
        )
    }

    fn handle(alert: Alert) -> Result<Outcome, ActionError> {
        let settings = settings(
            setting("base_url").as_deref(),
            setting("max_lookups").as_deref(),
            setting("new_domain_days").as_deref(),
        )?;
        let outcome = enrich(&alert, &settings, today(), fetch);
        if let Some(summary) = &outcome.summary {
            palisade_sdk::info!("alert {}: {summary}", alert.id);
        }
        Ok(outcome)
    }
}

palisade_sdk::export!(RdapEnrich);

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_sdk::Entity;
    use serde_json::json;

    fn settings() -> Settings {
        Settings {
            base_url: "https://rdap.example.net/".into(),
            max_lookups: DEFAULT_MAX_LOOKUPS,
            new_domain_days: DEFAULT_NEW_DOMAIN_DAYS,
        }
    }

    fn alert(entities: Vec<Entity>) -> Alert {
        Alert {
            entities,
            ..Alert::new("a-1", "Phishing", Severity::High)
        }
    }

    fn network() -> Value {
        json!({
            "objectClassName": "ip network",
            "handle": "NET-203-0-113-0-1",
            "startAddress": "203.0.113.0",
            "endAddress": "203.0.113.255",
            "name": "EXAMPLE-NET",
            "country": "NL",
            "entities": [{"roles": ["registrant"], "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Example Hosting BV"]]]}]
        })
    }

    #[test]
    fn an_address_is_noted_with_its_network_and_holder() {
        assert_eq!(
            describe_network(&network()),
            "network=EXAMPLE-NET country=NL org=Example_Hosting_BV range=203.0.113.0-203.0.113.255"
        );
    }

    #[test]
    fn a_recent_domain_is_tagged_new() {
        let today = days_since_epoch("2026-11-26").unwrap();
        let record = json!({
            "ldhName": "login-examp1e.com",
            "status": ["client transfer prohibited"],
            "events": [{"eventAction": "registration", "eventDate": "2026-11-20T08:00:00Z"}],
            "entities": [{"roles": ["registrar"], "vcardArray": ["vcard", [["fn", {}, "text", "Cheap Names Inc"]]]}]
        });
        let (value, age) = describe_domain(&record, today);
        assert_eq!(
            value,
            "registered=2026-11-20 age_days=6 registrar=Cheap_Names_Inc status=client-transfer-prohibited"
        );
        assert_eq!(age, Some(6));

        let mut urls = Vec::new();
        let outcome = enrich(
            &alert(vec![Entity::Domain("Login-Examp1e.com.".into())]),
            &settings(),
            today,
            |url| {
                urls.push(url.to_owned());
                Ok(Some(record.clone()))
            },
        );
        assert_eq!(urls, ["https://rdap.example.net/domain/login-examp1e.com"]);
        assert!(outcome.tags.contains(&"rdap:new-domain".to_owned()));
    }

    #[test]
    fn private_addresses_are_skipped_and_failures_noted() {
        let entities = vec![
            Ip::new("10.1.2.3", None).into(),
            Ip::new("203.0.113.7", None).into(),
            Ip::new("198.51.100.9", None).into(),
            Ip::new("203.0.113.7", None).into(),
        ];
        let mut calls = 0;
        let outcome = enrich(&alert(entities), &settings(), 0, |url| {
            calls += 1;
            if url.ends_with("203.0.113.7") {
                Ok(Some(network()))
            } else {
                Err(HttpError::Denied("not on the allow list".into()))
            }
        });
        assert_eq!(calls, 2, "one lookup per distinct public address");
        assert_eq!(
            outcome.note_value("rdap:10.1.2.3"),
            Some("skipped: private address")
        );
        assert!(
            outcome
                .note_value("rdap:203.0.113.7")
                .unwrap()
                .starts_with("network=EXAMPLE-NET")
        );
        assert_eq!(
            outcome.note_value("rdap:198.51.100.9"),
            Some("error: denied: not on the allow list")
        );
        assert_eq!(outcome.summary.as_deref(), Some("RDAP: looked up 2, 1 failed."));
    }

    #[test]
    fn settings_need_a_base_url() {
        assert!(super::settings(None, None, None).is_err());
        assert!(super::settings(Some("rdap.example.net"), None, None).is_err());
        let s = super::settings(Some("https://rdap.example.net"), Some("3"), None).unwrap();
        assert_eq!((s.max_lookups, s.new_domain_days), (3, 30));
        assert_eq!(days_since_epoch("1970-01-02"), Some(1));
        assert_eq!(days_since_epoch("2000-03-01"), Some(11_017));
    }
}
