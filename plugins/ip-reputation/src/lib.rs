//! `ip-reputation`: looks up the alert's IP addresses in threat intelligence (enrich stage).
//!
//! Every public address is looked up with `intel.lookup`; private, loopback, link-local and other
//! non-routable addresses are skipped, and so are values that are not addresses. The plugin
//! judges nothing (no verdict, no risk score): it only reports, for triage to weigh.
//!
//! Settings (`[plugins.ip-reputation.settings]`, optional):
//! - `max_lookups` (default 25): at most this many lookups per alert; the other addresses are
//!   noted as skipped.
//!
//! Notes: one `intel:<address>` per distinct IP entity, valued
//! - `<reputation> score=<0-100>[ sources=<a,b>][ tags=<x,y>]`, e.g.
//!   `malicious score=95 sources=abuse-feed,tor-exits tags=tor`, where reputation is `malicious`,
//!   `suspicious`, `benign` or `unknown`;
//! - `unknown` when no source knows the address (`not-found`);
//! - `skipped: <why>` (`private address`, `loopback address`, `not an IP address`, ...);
//! - `error: <kind>: <message>` when the lookup failed; the plugin carries on.
//!
//! Tags: `intel:malicious`, `intel:suspicious` when any address is.

use std::net::IpAddr;

use palisade_sdk::intel::{Indicator, Report, Reputation};
use palisade_sdk::prelude::*;

/// The operations this plugin asks for.
pub const CAPABILITIES: [&str; 1] = ["intel.lookup"];

/// Default for the `max_lookups` setting.
pub const DEFAULT_MAX_LOOKUPS: usize = 25;

/// Looks up the alert's addresses with `lookup` (the host's `intel.lookup` in the component).
pub fn enrich(
    alert: &Alert,
    max_lookups: usize,
    mut lookup: impl FnMut(&Indicator) -> Result<Report, ActionError>,
) -> Outcome {
    let mut outcome = Outcome::new();
    let mut seen: Vec<&str> = Vec::new();
    let (mut looked_up, mut malicious, mut suspicious, mut skipped, mut failed) = (0, 0, 0, 0, 0);
    for ip in alert.ips() {
        let address = ip.address.trim();
        if seen.contains(&address) {
            continue;
        }
        seen.push(address);
        let key = format!("intel:{address}");

        let parsed = match address.parse::<IpAddr>() {
            Ok(parsed) => parsed,
            Err(_) => {
                skipped += 1;
                outcome.add_note(key, "skipped: not an IP address");
                continue;
            }
        };
        if let Some(why) = not_routable(parsed) {
            skipped += 1;
            outcome.add_note(key, format!("skipped: {why} address"));
            continue;
        }
        if looked_up == max_lookups {
            skipped += 1;
            outcome.add_note(key, format!("skipped: over max_lookups ({max_lookups})"));
            continue;
        }

        looked_up += 1;
        let value = match lookup(&Indicator::Ip(parsed.to_string())) {
            Ok(report) => {
                match report.reputation {
                    Reputation::Malicious => malicious += 1,
                    Reputation::Suspicious => suspicious += 1,
                    Reputation::Benign | Reputation::Unknown => {}
                }
                describe_report(&report)
            }
            Err(ActionError::NotFound(_)) => "unknown".to_owned(),
            Err(e) => {
                failed += 1;
                format!("error: {e}")
            }
        };
        outcome.add_note(key, value);
    }

    if malicious > 0 {
        outcome.add_tag("intel:malicious");
    }
    if suspicious > 0 {
        outcome.add_tag("intel:suspicious");
    }
    let mut summary = format!(
        "Looked up {looked_up} address{}: {malicious} malicious, {suspicious} suspicious",
        if looked_up == 1 { "" } else { "es" }
    );
    if failed > 0 {
        summary += &format!(", {failed} failed");
    }
    if skipped > 0 {
        summary += &format!("; skipped {skipped}");
    }
    summary.push('.');
    outcome.summary(summary)
}

/// `malicious score=95 sources=abuse-feed,tor-exits tags=tor`.
pub fn describe_report(report: &Report) -> String {
    let mut value = format!("{} score={}", report.reputation, report.score.min(100));
    for (name, list) in [("sources", &report.sources), ("tags", &report.tags)] {
        if !list.is_empty() {
            // The value is space- and comma-separated: keep list items from breaking it.
            let items: Vec<String> = list.iter().map(|item| item.replace([' ', ','], "-")).collect();
            value += &format!(" {name}={}", items.join(","));
        }
    }
    value
}

/// Why an address is not worth looking up, if it is not.
pub fn not_routable(ip: IpAddr) -> Option<&'static str> {
    let ip = match ip {
        // ::ffff:10.0.0.1 is 10.0.0.1.
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            if v4.is_private() {
                Some("private")
            } else if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if a == 100 && (64..128).contains(&b) {
                Some("shared (carrier-grade NAT)")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() || a == 0 {
                Some("non-unicast")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unicast_link_local() {
                Some("link-local")
            } else if v6.is_unique_local() {
                Some("private")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("non-unicast")
            } else {
                None
            }
        }
    }
}

/// Reads `max_lookups` from the value the admin configured (`None`: not set).
pub fn max_lookups(value: Option<&str>) -> Result<usize, ActionError> {
    Ok(palisade_sdk::parse_setting("max_lookups", value)?.unwrap_or(DEFAULT_MAX_LOOKUPS))
}

struct IpReputation;

impl Action for IpReputation {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Looks up the alert's public IP addresses in threat intelligence and notes their \
             reputation",
            CAPABILITIES,
        )
    }

    fn handle(alert: Alert) -> Result<Outcome, ActionError> {
        let max_lookups = max_lookups(setting("max_lookups").as_deref())?;
        let outcome = enrich(&alert, max_lookups, intel::lookup);
        if let Some(summary) = &outcome.summary {
            palisade_sdk::info!("alert {}: {summary}", alert.id);
        }
        Ok(outcome)
    }
}

palisade_sdk::export!(IpReputation);

#[cfg(test)]
mod tests {
    use super::*;

    fn report(ip: &str, reputation: Reputation, score: u8) -> Report {
        Report {
            indicator: ip.into(),
            reputation,
            score,
            sources: vec!["abuse-feed".into(), "tor-exits".into()],
            tags: vec!["tor".into(), "brute force".into()],
            description: None,
        }
    }

    /// 203.0.113.7 malicious, 198.51.100.9 suspicious, 192.0.2.1 unknown, 192.0.2.2 fails.
    fn intel(indicator: &Indicator) -> Result<Report, ActionError> {
        let Indicator::Ip(ip) = indicator else {
            panic!("looked up {indicator:?}");
        };
        match ip.as_str() {
            "203.0.113.7" => Ok(report(ip, Reputation::Malicious, 95)),
            "198.51.100.9" => Ok(report(ip, Reputation::Suspicious, 50)),
            "192.0.2.1" => Err(ActionError::NotFound(ip.clone())),
            "192.0.2.2" => Err(ActionError::ConnectorFailed("feed timed out".into())),
            other => Ok(Report {
                sources: vec![],
                tags: vec![],
                ..report(other, Reputation::Benign, 0)
            }),
        }
    }

    fn alert(addresses: &[&str]) -> Alert {
        Alert {
            entities: addresses.iter().map(|a| Ip::new(*a, None).into()).collect(),
            ..Alert::new("a-1", "t", Severity::Medium)
        }
    }

    #[test]
    fn notes_each_public_address() {
        let alert = alert(&[
            "203.0.113.7",
            "198.51.100.9",
            "192.0.2.1",
            "192.0.2.2",
            "8.8.8.8",
            "203.0.113.7",
        ]);
        let mut calls = Vec::new();
        let outcome = enrich(&alert, DEFAULT_MAX_LOOKUPS, |i| {
            calls.push(i.clone());
            intel(i)
        });
        assert_eq!(calls.len(), 5, "each address once");
        assert_eq!(
            outcome.note_value("intel:203.0.113.7"),
            Some("malicious score=95 sources=abuse-feed,tor-exits tags=tor,brute-force")
        );
        assert!(
            outcome
                .note_value("intel:198.51.100.9")
                .unwrap()
                .starts_with("suspicious score=50")
        );
        assert_eq!(outcome.note_value("intel:192.0.2.1"), Some("unknown"));
        assert_eq!(
            outcome.note_value("intel:192.0.2.2"),
            Some("error: connector-failed: feed timed out")
        );
        assert_eq!(outcome.note_value("intel:8.8.8.8"), Some("benign score=0"));
        assert_eq!(outcome.tags, ["intel:malicious", "intel:suspicious"]);
        assert_eq!(outcome.verdict, None, "enrich does not judge");
        assert_eq!(outcome.risk_score, None);
        assert_eq!(
            outcome.summary.as_deref(),
            Some("Looked up 5 addresses: 1 malicious, 1 suspicious, 1 failed.")
        );
    }

    #[test]
    fn skips_addresses_not_worth_looking_up() {
        let alert = alert(&[
            "10.1.2.3",
            "127.0.0.1",
            "169.254.1.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:192.168.1.1",
            "100.64.0.1",
            "not-an-ip",
        ]);
        let outcome = enrich(&alert, DEFAULT_MAX_LOOKUPS, |i| panic!("looked up {i:?}"));
        assert_eq!(
            outcome.note_value("intel:10.1.2.3"),
            Some("skipped: private address")
        );
        assert_eq!(
            outcome.note_value("intel:127.0.0.1"),
            Some("skipped: loopback address")
        );
        assert_eq!(
            outcome.note_value("intel:169.254.1.1"),
            Some("skipped: link-local address")
        );
        assert_eq!(outcome.note_value("intel:::1"), Some("skipped: loopback address"));
        assert_eq!(
            outcome.note_value("intel:fe80::1"),
            Some("skipped: link-local address")
        );
        assert_eq!(
            outcome.note_value("intel:fd00::1"),
            Some("skipped: private address")
        );
        assert_eq!(
            outcome.note_value("intel:::ffff:192.168.1.1"),
            Some("skipped: private address")
        );
        assert!(
            outcome
                .note_value("intel:100.64.0.1")
                .unwrap()
                .starts_with("skipped: shared")
        );
        assert_eq!(
            outcome.note_value("intel:not-an-ip"),
            Some("skipped: not an IP address")
        );
        assert!(outcome.tags.is_empty());
    }

    #[test]
    fn stops_at_max_lookups() {
        let alert = alert(&["203.0.113.7", "203.0.113.8", "203.0.113.9"]);
        let mut calls = 0;
        let outcome = enrich(&alert, 2, |i| {
            calls += 1;
            intel(i)
        });
        assert_eq!(calls, 2);
        assert_eq!(
            outcome.note_value("intel:203.0.113.9"),
            Some("skipped: over max_lookups (2)")
        );
    }

    #[test]
    fn a_denied_lookup_is_noted_not_fatal() {
        let alert = alert(&["203.0.113.7", "203.0.113.8"]);
        let outcome = enrich(&alert, DEFAULT_MAX_LOOKUPS, |_| {
            Err(ActionError::Denied("intel.lookup".into()))
        });
        assert_eq!(
            outcome.note_value("intel:203.0.113.8"),
            Some("error: denied: intel.lookup")
        );
    }

    #[test]
    fn max_lookups_setting() {
        assert_eq!(max_lookups(None), Ok(DEFAULT_MAX_LOOKUPS));
        assert_eq!(max_lookups(Some("3")), Ok(3));
        assert!(matches!(
            max_lookups(Some("-1")),
            Err(ActionError::InvalidInput(_))
        ));
    }

    #[test]
    fn describe_asks_for_intel_lookup() {
        let info = IpReputation::describe();
        assert_eq!(info.name, "ip-reputation");
        assert_eq!(info.capabilities, ["intel.lookup"]);
    }
}
