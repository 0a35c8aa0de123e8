//! `[policy]` and `[plugins.NAME.policy]` as written, and their checks into a [`Policy`].

use super::{Autonomy, BelowConfidence, BlastRadius, Mode, Policy, Protected, Unresolved, Unstated};
use indexmap::IndexMap;
use palisade_core::capability::Operation;
use palisade_core::located::Reporter;
use serde::Deserialize;
use std::time::Duration;
use toml::Spanned;

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    mode: Option<Mode>,
    min_confidence: Option<Spanned<u8>>,
    #[serde(default)]
    min_confidence_by_operation: IndexMap<String, Spanned<u8>>,
    below_confidence: Option<BelowConfidence>,
    /// `hold`, `refuse` or `assume:N`.
    unstated_confidence: Option<Spanned<String>>,
    unresolved: Option<Unresolved>,
    approval_ttl_hours: Option<Spanned<u32>>,
    #[serde(default)]
    protected: RawProtected,
    #[serde(default)]
    blast_radius: RawBlastRadius,
    autonomy: Option<RawAutonomy>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawAutonomy {
    min_precision: Option<Spanned<f64>>,
    min_labelled: Option<Spanned<u32>>,
    window_days: Option<Spanned<u32>>,
    window_alerts: Option<Spanned<u32>>,
    /// Minimum precision per destructive operation, e.g. `"identity.disable-user" = 0.99`.
    #[serde(default)]
    operations: IndexMap<String, Spanned<f64>>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawProtected {
    #[serde(default)]
    users: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    ip_ranges: Vec<Spanned<String>>,
    #[serde(default)]
    domains: Vec<String>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct RawBlastRadius {
    window_minutes: Option<Spanned<u32>>,
    per_plugin: Option<u32>,
    global: Option<u32>,
}

/// Default minimum confidence for destructive operations when the config sets none: an
/// alert the detection itself doubts does not get automatic containment.
const DEFAULT_MIN_CONFIDENCE: u8 = 50;

/// `[policy]` as written, with its autonomy table checked once: every plugin's policy starts
/// from it.
pub struct GlobalPolicy {
    raw: RawPolicy,
    pub autonomy: Option<Autonomy>,
}

impl GlobalPolicy {
    pub fn from_toml(raw: RawPolicy, report: &mut Reporter) -> GlobalPolicy {
        let autonomy = autonomy(None, raw.autonomy.as_ref(), "policy", report);
        GlobalPolicy { raw, autonomy }
    }
}

impl Policy {
    /// A plugin's effective policy: the global `[policy]` with its `[plugins.NAME.policy]`
    /// overrides, every mistake located.
    pub fn from_toml(
        global_policy: &GlobalPolicy,
        local: &RawPolicy,
        plugin_key: &str,
        report: &mut Reporter,
    ) -> Policy {
        let global = &global_policy.raw;
        let mut min_confidence = std::collections::BTreeMap::new();
        for (raw, key) in [
            (global, "policy".to_owned()),
            (local, format!("{plugin_key}.policy")),
        ] {
            for (operation, minimum) in &raw.min_confidence_by_operation {
                let entry = format!("{key}.min_confidence_by_operation.{operation}");
                match Operation::parse(operation) {
                    Ok(parsed) if parsed.destructive => {
                        min_confidence.insert(parsed, *minimum.get_ref());
                    }
                    Ok(parsed) => report.error(
                        Some(minimum.span()),
                        entry,
                        format!("{parsed} is not destructive; the policy gate does not see it"),
                    ),
                    Err(error) => report.error(Some(minimum.span()), entry, error.to_string()),
                }
                report.in_range(
                    minimum,
                    0..=100,
                    format!("{key}.min_confidence_by_operation.{operation}"),
                );
            }
            if let Some(minimum) = &raw.min_confidence {
                report.in_range(minimum, 0..=100, format!("{key}.min_confidence"));
            }
        }
        let mut ranges = Vec::new();
        let (mut users, mut groups, mut hosts, mut domains) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (raw, key) in [
            (global, "policy".to_owned()),
            (local, format!("{plugin_key}.policy")),
        ] {
            users.extend(raw.protected.users.iter().cloned());
            groups.extend(raw.protected.groups.iter().cloned());
            hosts.extend(raw.protected.hosts.iter().cloned());
            domains.extend(raw.protected.domains.iter().cloned());
            for (index, range) in raw.protected.ip_ranges.iter().enumerate() {
                let text = range.get_ref();
                let parsed = text
                    .parse::<ipnet::IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
                match parsed {
                    Ok(net) => ranges.push(net),
                    Err(_) => report.error(
                        Some(range.span()),
                        format!("{key}.protected.ip_ranges[{index}]"),
                        format!("{text:?} is not an IP address or CIDR range"),
                    ),
                }
            }
        }
        let protected = Protected::new(&users, &groups, &hosts, &ranges, &domains).unwrap_or_else(|error| {
            report.error(None, format!("{plugin_key}.policy.protected"), error);
            Protected::default()
        });
        let unstated = local
            .unstated_confidence
            .as_ref()
            .map(|text| (text, format!("{plugin_key}.policy.unstated_confidence")))
            .or_else(|| {
                global
                    .unstated_confidence
                    .as_ref()
                    .map(|text| (text, "policy.unstated_confidence".to_owned()))
            })
            .map_or(Unstated::default(), |(text, key)| {
                Unstated::parse(text.get_ref()).unwrap_or_else(|error| {
                    report.error(Some(text.span()), key, error);
                    Unstated::default()
                })
            });
        let window_minutes = local
            .blast_radius
            .window_minutes
            .as_ref()
            .or(global.blast_radius.window_minutes.as_ref());
        if let Some(minutes) = window_minutes {
            report.in_range(minutes, 1.., "policy.blast_radius.window_minutes");
        }
        let defaults = BlastRadius::default();
        let ttl = local
            .approval_ttl_hours
            .as_ref()
            .or(global.approval_ttl_hours.as_ref());
        if let Some(hours) = ttl {
            report.in_range(hours, 1.., "policy.approval_ttl_hours");
        }
        Policy {
            mode: local.mode.or(global.mode).unwrap_or_default(),
            min_confidence,
            default_min_confidence: local
                .min_confidence
                .as_ref()
                .or(global.min_confidence.as_ref())
                .map_or(DEFAULT_MIN_CONFIDENCE, |m| *m.get_ref()),
            below_confidence: local
                .below_confidence
                .or(global.below_confidence)
                .unwrap_or_default(),
            unstated_confidence: unstated,
            unresolved: local.unresolved.or(global.unresolved).unwrap_or_default(),
            protected,
            blast_radius: BlastRadius {
                window: window_minutes.map_or(defaults.window, |m| {
                    Duration::from_secs(u64::from(*m.get_ref()) * 60)
                }),
                per_plugin: local
                    .blast_radius
                    .per_plugin
                    .or(global.blast_radius.per_plugin)
                    .or(defaults.per_plugin),
                // The global limit is one for all plugins: a plugin cannot raise it.
                global: global.blast_radius.global.or(defaults.global),
            },
            approval_ttl: Duration::from_secs(u64::from(ttl.map_or(24, |h| *h.get_ref())) * 3600),
            autonomy: autonomy(
                global_policy.autonomy.clone(),
                local.autonomy.as_ref(),
                &format!("{plugin_key}.policy"),
                report,
            ),
        }
    }
}

/// `[policy.autonomy]` (`prefix` = `policy`), or a plugin's `[plugins.NAME.policy.autonomy]`
/// overriding the global one field by field (`base`); off when neither is given.
fn autonomy(
    base: Option<Autonomy>,
    raw: Option<&RawAutonomy>,
    prefix: &str,
    report: &mut Reporter,
) -> Option<Autonomy> {
    let Some(raw) = raw else {
        return base;
    };
    let key = |field: &str| format!("{prefix}.autonomy.{field}");
    let mut autonomy = base.unwrap_or_default();
    let precision = |value: &Spanned<f64>, key: String, report: &mut Reporter| {
        let precision = *value.get_ref();
        if precision > 0.0 && precision <= 1.0 {
            Some(precision)
        } else {
            report.error(
                Some(value.span()),
                key,
                "must be a fraction above 0 and at most 1",
            );
            None
        }
    };
    if let Some(value) = &raw.min_precision {
        autonomy.min_precision =
            precision(value, key("min_precision"), report).unwrap_or(autonomy.min_precision);
    }
    for (field, value, target) in [
        ("min_labelled", &raw.min_labelled, &mut autonomy.min_labelled),
        ("window_alerts", &raw.window_alerts, &mut autonomy.window.latest),
    ] {
        if let Some(value) = value
            .as_ref()
            .and_then(|v| report.in_range(v, 1..=100_000, key(field)))
        {
            *target = value;
        }
    }
    if let Some(days) = raw
        .window_days
        .as_ref()
        .and_then(|days| report.in_range(days, 1..=3650, key("window_days")))
    {
        autonomy.window.period = Duration::from_secs(u64::from(days) * 86_400);
    }
    for (operation, minimum) in &raw.operations {
        let entry = format!("{prefix}.autonomy.operations.{operation}");
        match Operation::parse(operation) {
            Ok(parsed) if parsed.destructive => {
                if let Some(minimum) = precision(minimum, entry, report) {
                    autonomy.min_precision_by_operation.insert(parsed, minimum);
                }
            }
            Ok(parsed) => report.error(
                Some(minimum.span()),
                entry,
                format!("{parsed} is not destructive; it needs no autonomy"),
            ),
            Err(error) => report.error(Some(minimum.span()), entry, error.to_string()),
        }
    }
    Some(autonomy)
}
