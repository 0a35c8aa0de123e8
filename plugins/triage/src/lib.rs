//! `triage`: scores an alert's risk and sets its verdict (triage stage).
//!
//! The score, 0 to 100:
//! 1. base from severity: informational 5, low 20, medium 45, high 70, critical 90;
//! 2. scaled by confidence, which can halve it at most: `base * (100 + confidence) / 200`;
//! 3. raised by 15 for each that holds: a VIP user is involved (`vip_users`), a crown-jewel host is
//!    involved (`crown_jewels`), an earlier stage found an address malicious (an annotation from
//!    the `intel_plugin` whose value starts with `malicious`);
//! 4. capped at 100.
//!
//! Verdict: malicious from 70, suspicious from 40, benign below. The score is the alert's risk
//! score, which the host turns into its priority (one table, the host's: the plugin sets no
//! priority of its own).
//!
//! Settings (`[plugins.triage.settings]`, all optional):
//! - `vip_users`: comma-separated account names, matched case-insensitively against a user's name
//!   or email.
//! - `crown_jewels`: comma-separated hostnames, matched case-insensitively against a host's
//!   hostname, its FQDN, or their first label.
//! - `intel_plugin` (default `ip-reputation`): whose annotations count as threat intelligence.
//!
//! Notes: `risk` (the score), `risk:base` (`high=70`), `risk:confidence` (`90 -> 66`),
//! `risk:vip` / `risk:crown_jewel` / `risk:intel` (`+15 <who>`, only when they apply). The
//! plugin calls no host operation.

use palisade_sdk::prelude::*;

/// What each raising factor adds to the score.
pub const BONUS: u8 = 15;

/// The plugin's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Account names, lower case.
    pub vip_users: Vec<String>,
    /// Hostnames, lower case.
    pub crown_jewels: Vec<String>,
    /// The plugin whose `malicious` annotations raise the score.
    pub intel_plugin: String,
}

impl Settings {
    /// Reads the settings from the values the admin configured (`None`: not set).
    pub fn parse(vip_users: Option<&str>, crown_jewels: Option<&str>, intel_plugin: Option<&str>) -> Self {
        let list = |value: Option<&str>| {
            value
                .map(palisade_sdk::split_list)
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.to_lowercase())
                .collect()
        };
        Settings {
            vip_users: list(vip_users),
            crown_jewels: list(crown_jewels),
            intel_plugin: intel_plugin
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .unwrap_or("ip-reputation")
                .to_owned(),
        }
    }
}

/// The score's base for a severity.
pub fn base_score(severity: Severity) -> u8 {
    match severity {
        Severity::Informational => 5,
        Severity::Low => 20,
        Severity::Medium => 45,
        Severity::High => 70,
        Severity::Critical => 90,
    }
}

/// The verdict a score earns.
pub fn verdict(score: u8) -> Verdict {
    match score {
        70.. => Verdict::Malicious,
        40.. => Verdict::Suspicious,
        _ => Verdict::Benign,
    }
}

/// Scores `alert`: the whole decision.
pub fn triage(alert: &Alert, settings: &Settings) -> Outcome {
    let base = base_score(alert.severity);
    let confidence = alert.confidence.min(100);
    let scaled = (u16::from(base) * (100 + u16::from(confidence)) / 200) as u8;

    let mut outcome = Outcome::new()
        .note("risk:base", format!("{}={base}", alert.severity))
        .note("risk:confidence", format!("{confidence} -> {scaled}"));
    let mut score = scaled;
    let mut reasons = Vec::new();

    let vips: Vec<&str> = alert
        .users()
        .filter(|u| {
            let email = u.email.as_deref().map(str::to_lowercase);
            settings
                .vip_users
                .iter()
                .any(|vip| *vip == u.name.to_lowercase() || Some(vip.as_str()) == email.as_deref())
        })
        .map(|u| u.name.as_str())
        .collect();
    if !vips.is_empty() {
        score = score.saturating_add(BONUS);
        outcome.add_note("risk:vip", format!("+{BONUS} {}", vips.join(", ")));
        reasons.push(format!("VIP {}", vips.join(", ")));
    }

    let jewels: Vec<&str> = alert
        .hosts()
        .filter(|h| {
            let names = [Some(h.hostname.as_str()), h.fqdn.as_deref()];
            names.into_iter().flatten().any(|name| {
                let name = name.to_lowercase();
                let first_label = name.split('.').next().unwrap_or_default();
                settings
                    .crown_jewels
                    .iter()
                    .any(|jewel| *jewel == name || jewel == first_label)
            })
        })
        .map(|h| h.hostname.as_str())
        .collect();
    if !jewels.is_empty() {
        score = score.saturating_add(BONUS);
        outcome.add_note("risk:crown_jewel", format!("+{BONUS} {}", jewels.join(", ")));
        reasons.push(format!("crown jewel {}", jewels.join(", ")));
    }

    let malicious: Vec<&str> = alert
        .annotations_from(&settings.intel_plugin)
        .filter(|a| a.value.starts_with("malicious"))
        .map(|a| a.key.strip_prefix("intel:").unwrap_or(&a.key))
        .collect();
    if !malicious.is_empty() {
        score = score.saturating_add(BONUS);
        outcome.add_note("risk:intel", format!("+{BONUS} {}", malicious.join(", ")));
        reasons.push(format!("malicious {}", malicious.join(", ")));
    }

    let score = score.min(100);
    let verdict = verdict(score);
    let mut why = format!("{}, confidence {confidence}", alert.severity);
    for reason in reasons {
        why += &format!(", {reason}");
    }
    outcome
        .risk(score)
        .verdict(verdict)
        .note("risk", score.to_string())
        .summary(format!("Risk {score} ({why}): {verdict}."))
}

struct Triage;

impl Action for Triage {
    fn describe() -> PluginInfo {
        PluginInfo::new(
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION"),
            "Scores an alert's risk from its severity, confidence, VIP users, crown-jewel hosts \
             and threat intelligence, and sets its verdict",
            [] as [&str; 0],
        )
    }

    fn handle(alert: Alert) -> Result<Outcome, ActionError> {
        let settings = Settings::parse(
            setting("vip_users").as_deref(),
            setting("crown_jewels").as_deref(),
            setting("intel_plugin").as_deref(),
        );
        let outcome = triage(&alert, &settings);
        if let Some(summary) = &outcome.summary {
            palisade_sdk::info!("alert {}: {summary}", alert.id);
        }
        Ok(outcome)
    }
}

palisade_sdk::export!(Triage);

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(severity: Severity, confidence: u8) -> Alert {
        Alert {
            confidence,
            ..Alert::new("a-1", "t", severity)
        }
    }

    fn settings() -> Settings {
        Settings::parse(Some("CEO, cfo"), Some("DC01, payroll.corp.example"), None)
    }

    #[test]
    fn base_follows_severity_and_confidence_can_halve_it() {
        let outcome = triage(&alert(Severity::High, 100), &settings());
        assert_eq!(outcome.risk_score, Some(70));
        assert_eq!(outcome.verdict, Some(Verdict::Malicious));
        assert_eq!(outcome.note_value("risk:base"), Some("high=70"));
        assert_eq!(outcome.note_value("risk:confidence"), Some("100 -> 70"));

        let outcome = triage(&alert(Severity::High, 0), &settings());
        assert_eq!(outcome.risk_score, Some(35));
        assert_eq!(outcome.verdict, Some(Verdict::Benign));
        assert!(outcome.tags.is_empty(), "the host owns the priority tag");

        let outcome = triage(&alert(Severity::Medium, 80), &settings());
        assert_eq!(outcome.risk_score, Some(40));
        assert_eq!(outcome.verdict, Some(Verdict::Suspicious));
    }

    #[test]
    fn vip_crown_jewel_and_intel_raise_the_score() {
        let alert = Alert {
            entities: vec![
                User::new("ceo").into(),
                User {
                    email: Some("CFO".into()),
                    ..User::new("someone")
                }
                .into(),
                User::new("intern").into(),
                Device::new("dc01").into(),
                Device {
                    fqdn: Some("Payroll.corp.example".into()),
                    ..Device::new("pay-7")
                }
                .into(),
                Device::new("laptop-3").into(),
            ],
            annotations: vec![
                Annotation {
                    source: "ip-reputation".into(),
                    key: "intel:203.0.113.7".into(),
                    value: "malicious score=95 sources=abuse-feed".into(),
                },
                Annotation {
                    source: "ip-reputation".into(),
                    key: "intel:198.51.100.9".into(),
                    value: "suspicious score=50".into(),
                },
                Annotation {
                    source: "someone-else".into(),
                    key: "intel:192.0.2.1".into(),
                    value: "malicious".into(),
                },
            ],
            ..alert(Severity::Medium, 100)
        };
        let outcome = triage(&alert, &settings());
        assert_eq!(outcome.risk_score, Some(45 + 3 * BONUS));
        assert_eq!(outcome.note_value("risk:vip"), Some("+15 ceo, someone"));
        assert_eq!(outcome.note_value("risk:crown_jewel"), Some("+15 dc01, pay-7"));
        assert_eq!(outcome.note_value("risk:intel"), Some("+15 203.0.113.7"));
        assert_eq!(outcome.note_value("risk"), Some("90"));
        assert_eq!(outcome.verdict, Some(Verdict::Malicious));
        assert_eq!(
            outcome.summary.as_deref(),
            Some(
                "Risk 90 (medium, confidence 100, VIP ceo, someone, crown jewel dc01, pay-7, \
                 malicious 203.0.113.7): malicious."
            )
        );
    }

    #[test]
    fn score_is_capped_at_100() {
        let alert = Alert {
            entities: vec![User::new("CEO").into(), Device::new("dc01").into()],
            ..alert(Severity::Critical, 100)
        };
        assert_eq!(triage(&alert, &settings()).risk_score, Some(100));
    }

    #[test]
    fn no_factor_no_note() {
        let outcome = triage(&alert(Severity::Low, 50), &Settings::parse(None, None, None));
        assert_eq!(outcome.risk_score, Some(15));
        assert_eq!(outcome.note_value("risk:vip"), None);
        assert_eq!(outcome.note_value("risk:crown_jewel"), None);
        assert_eq!(outcome.note_value("risk:intel"), None);
    }

    #[test]
    fn thresholds() {
        assert_eq!(verdict(69), Verdict::Suspicious);
        assert_eq!(verdict(70), Verdict::Malicious);
        assert_eq!(verdict(39), Verdict::Benign);
    }

    #[test]
    fn settings_are_lower_cased_and_intel_plugin_defaults() {
        let s = settings();
        assert_eq!(s.vip_users, ["ceo", "cfo"]);
        assert_eq!(s.crown_jewels, ["dc01", "payroll.corp.example"]);
        assert_eq!(s.intel_plugin, "ip-reputation");
        assert_eq!(Settings::parse(None, None, Some(" intel ")).intel_plugin, "intel");
    }

    #[test]
    fn describe_asks_for_nothing() {
        let info = Triage::describe();
        assert_eq!(info.name, "triage");
        assert!(info.capabilities.is_empty());
    }
}
