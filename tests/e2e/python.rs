//! End to end: the python plugin `phishing-triage`, built from source with its pinned toolchain, through the real binary.
//!
//! The plugin is built once per test process by `plugins/phishing-triage/build`
//! (componentize-py); the harness's shared compiled-code cache spares each case the seconds an
//! 18 MB Python component takes to compile. Everything runs within the default sandbox limits:
//! the configs here set none.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::OnceLock;

use palisade_e2e::{Case, Receiver, Recorded, Reply, foreign_plugin, note, notes, strings, workspace_root};
use serde_json::{Value, json};

/// The organisation's own domains, as an admin would list them.
const PROTECTED: &str = "paypal.com,example.com";

/// The phishing domain intel knows, and its landing page.
const PHISH_DOMAIN: &str = "paypa1-secure.net";
const PHISH_URL: &str = "https://paypa1-secure.net/signin?session=alice";

/// Intel served by the receiver, as a webhook connector: the plugin's lookups are what it
/// records.
const HOOK_CONFIG: &str = r#"
[defaults.connectors]
intel = "hook"

[connectors.hook]
kind = "webhook"
url = "${RECEIVER}"

[plugins.phishing-triage]
path = "${PHISHING_TRIAGE}"
stage = "triage"
grants = ["intel.lookup"]
settings = { protected_domains = "${PROTECTED}" }
"#;

/// A mail from a lookalike of paypal.com, with its display name, to alice.
fn phish_alert(id: &str) -> String {
    json!({
        "id": id,
        "title": "User-reported phish: Your account has been limited",
        "source": "Mail gateway",
        "category": "phishing",
        "severity": "medium",
        "confidence": 60,
        "timestamp": "2026-11-26T08:30:00Z",
        "entities": [
            {"type": "email-address", "address": "billing@paypa1-secure.net", "display_name": "PayPal Service"},
            {"type": "email-address", "address": "alice@example.com", "display_name": "Alice Liddell"},
            {"type": "url", "url": PHISH_URL},
            {"type": "url", "url": "https://www.paypal.com/help"},
        ],
    })
    .to_string()
}

/// An ordinary mail from a partner, reported by a cautious user.
fn partner_alert(id: &str) -> String {
    json!({
        "id": id,
        "title": "User-reported message: Q3 report",
        "source": "Mail gateway",
        "category": "phishing",
        "severity": "low",
        "confidence": 30,
        "timestamp": "2026-11-26T09:00:00Z",
        "entities": [
            {"type": "email-address", "address": "bob@partner.test", "display_name": "Bob Builder"},
            {"type": "email-address", "address": "alice@example.com"},
            {"type": "url", "url": "https://docs.partner.test/q3-report"},
        ],
    })
    .to_string()
}

/// Answers intel lookups like a feed that knows the phishing domain and its page; anything
/// else is not found.
fn intel_rule(request: &Recorded) -> Option<Reply> {
    if !request.is("intel", "lookup") {
        return None;
    }
    match request.request()["value"].as_str()? {
        PHISH_DOMAIN => Some(Reply::json(
            200,
            &json!({
                "indicator": PHISH_DOMAIN,
                "reputation": "malicious",
                "score": 95,
                "sources": ["phish-feed"],
                "tags": ["newly-registered"],
            }),
        )),
        PHISH_URL => Some(Reply::intel(PHISH_URL, "malicious", 90, &["url-scanner"])),
        _ => None,
    }
}

/// The component, built once per test process.
fn plugin() -> PathBuf {
    foreign_plugin("phishing-triage")
}

/// A case with `${PHISHING_TRIAGE}` and `${PROTECTED}` set, once the plugin is compiled.
fn case() -> Case {
    compile_once();
    Case::new()
        .var("PHISHING_TRIAGE", &plugin().display().to_string())
        .var("PROTECTED", PROTECTED)
}

/// Loads the plugin once into the shared compiled-code cache before any case runs. Without it
/// the cases, which start together, would each find the cache empty and compile the 18 MB
/// component at once: tens of seconds each on two cores, against the harness's run timeout.
fn compile_once() {
    static COMPILED: OnceLock<()> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let case = Case::new().var("PHISHING_TRIAGE", &plugin().display().to_string());
        case.config("[plugins.phishing-triage]\npath = \"${PHISHING_TRIAGE}\"\nstage = \"triage\"\n");
        let run = case.palisade(&["check", "--config", "palisade.toml"]);
        assert_eq!(run.code, Some(0), "{run}");
    });
}

/// The intel lookups the receiver got for one alert, as `type value`, in arrival order.
fn lookups(receiver: &Receiver, alert: &str) -> Vec<String> {
    receiver
        .calls("intel", "lookup")
        .iter()
        .filter(|r| r.body["alert_id"] == alert)
        .map(|r| {
            format!(
                "{} {}",
                r.request()["type"].as_str().unwrap_or_default(),
                r.request()["value"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn a_lookalike_phish_is_malicious_and_a_partners_mail_is_benign() {
    let receiver = Receiver::with_rule(intel_rule);
    let case = case().receiver(&receiver);
    case.config(HOOK_CONFIG);
    case.alerts(&[phish_alert("phish-1"), partner_alert("partner-1")]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    // The config sets no limits: the plugin runs within the defaults (64 MiB, 5 s).

    let phish = run.plugin("phish-1", "phishing-triage");
    assert_eq!(phish["status"], "completed", "{run}");
    assert_eq!(phish["outcome"]["verdict"], "malicious", "{run}");
    assert_eq!(phish["outcome"]["risk_score"], 100, "{run}");
    assert_eq!(
        strings(&phish["outcome"]["tags"])
            .into_iter()
            .collect::<BTreeSet<_>>(),
        set(&[
            "phishing:lookalike-domain",
            "phishing:display-name-mismatch",
            "phishing:new-domain",
            "intel:malicious",
        ]),
        "{run}"
    );
    assert_eq!(
        note(&phish, "lookalike:paypa1-secure.net").as_deref(),
        Some("imitates paypal.com (homoglyphs)"),
        "{run}"
    );
    assert_eq!(
        note(&phish, "display-name:billing@paypa1-secure.net").as_deref(),
        Some("display name says paypal but the mail came from paypa1-secure.net"),
        "{run}"
    );
    assert_eq!(
        note(&phish, "intel:paypa1-secure.net").as_deref(),
        Some("malicious score=95 sources=phish-feed tags=newly-registered"),
        "{run}"
    );
    assert_eq!(
        note(&phish, "risk").as_deref(),
        Some("100 (intel 95 + lookalike 40 + display-name 30 + new-domain 20)"),
        "{run}"
    );
    // The alert as the next stage and the report see it.
    let alert = &run.alert("phish-1")["alert"];
    assert_eq!(alert["verdict"], "malicious", "{run}");
    assert_eq!(alert["risk_score"], 100, "{run}");

    // Exactly the sender domain and the link reached intel, once each: the link's host is the
    // sender domain again, and paypal.com and example.com are the organisation's own.
    assert_eq!(
        lookups(&receiver, "phish-1"),
        [format!("domain {PHISH_DOMAIN}"), format!("url {PHISH_URL}")],
        "{run}"
    );

    let partner = run.plugin("partner-1", "phishing-triage");
    assert_eq!(partner["status"], "completed", "{run}");
    assert_eq!(partner["outcome"]["verdict"], "benign", "{run}");
    assert_eq!(partner["outcome"]["risk_score"], 0, "{run}");
    assert!(strings(&partner["outcome"]["tags"]).is_empty(), "{run}");
    assert_eq!(
        note(&partner, "intel:partner.test").as_deref(),
        Some("unknown"),
        "{run}"
    );
    assert_eq!(note(&partner, "risk").as_deref(), Some("0 (no finding)"), "{run}");
    assert_eq!(
        lookups(&receiver, "partner-1"),
        [
            "domain partner.test",
            "url https://docs.partner.test/q3-report",
            "domain docs.partner.test",
        ],
        "{run}"
    );
    assert_eq!(
        receiver.requests().len(),
        5,
        "nothing but the lookups: {:#?}",
        receiver.requests()
    );
}

#[test]
fn links_in_the_original_document_are_judged_and_looked_up_too() {
    // An Elastic alert: the gateway's message text is not an entity, only in `alert.raw`, and
    // it carries a defanged link, as analysts and gateways write them.
    let receiver = Receiver::start();
    let case = case().receiver(&receiver);
    case.config(HOOK_CONFIG);
    let alert = json!({
        "_id": "es-phish-1",
        "_source": {
            "@timestamp": "2026-11-26T10:00:00Z",
            "kibana.alert.uuid": "es-phish-1",
            "kibana.alert.rule.name": "Inbound mail with credential lure",
            "kibana.alert.severity": "high",
            "kibana.alert.risk_score": 73,
            "event.category": ["email"],
            "email.from.address": "accounts@example-billing.test",
            "email.to.address": "alice@example.com",
            "email.subject": "Invoice overdue",
            "message": "Pay now at hxxps://pay.example-billing[.]test/invoice?id=7 or your account closes.",
        },
    });
    case.alerts(&[alert.to_string()]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    let outcome = run.plugin("es-phish-1", "phishing-triage");
    assert_eq!(outcome["status"], "completed", "{run}");
    assert_eq!(
        lookups(&receiver, "es-phish-1"),
        [
            "domain example-billing.test",
            "url https://pay.example-billing.test/invoice?id=7",
            "domain pay.example-billing.test",
        ],
        "{run}"
    );
    assert_eq!(
        note(&outcome, "lookalike:example-billing.test").as_deref(),
        Some("imitates example.com (contains its name)"),
        "{run}"
    );
    // A lookalike alone, unknown to intel: suspicious, not malicious.
    assert_eq!(outcome["outcome"]["verdict"], "suspicious", "{run}");
    assert_eq!(outcome["outcome"]["risk_score"], 40, "{run}");
}

#[test]
fn intel_failures_degrade_to_a_verdict_from_what_is_left() {
    // The feed fails on the sender domain; the link is still looked up and still counts.
    let receiver = Receiver::with_rule(|request| {
        if request.is("intel", "lookup") && request.request()["value"] == PHISH_DOMAIN {
            return Some(Reply::json(503, &json!({"error": "feed unavailable"})));
        }
        intel_rule(request)
    });
    let case = case().receiver(&receiver);
    case.config(HOOK_CONFIG);
    case.alerts(&[phish_alert("phish-503")]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    let failed = run.plugin("phish-503", "phishing-triage");
    assert_eq!(failed["status"], "completed", "{run}");
    assert_eq!(failed["outcome"]["verdict"], "malicious", "{run}");
    let domain = note(&failed, "intel:paypa1-secure.net").unwrap_or_default();
    assert!(domain.starts_with("error: connector-failed"), "{domain:?}\n{run}");
    assert_eq!(
        note(&failed, "intel:https://paypa1-secure.net/signin?session=alice").as_deref(),
        Some("malicious score=90 sources=url-scanner"),
        "{run}"
    );
    assert!(
        strings(&failed["outcome"]["tags"]).contains(&"intel:incomplete".to_owned()),
        "{run}"
    );
    assert_eq!(
        lookups(&receiver, "phish-503").len(),
        2,
        "a failed lookup does not stop the next one\n{run}"
    );
}

#[test]
fn without_the_intel_grant_the_heuristics_still_judge_and_nothing_reaches_the_feed() {
    let receiver = Receiver::with_rule(intel_rule);
    let case = case().receiver(&receiver);
    case.config(&HOOK_CONFIG.replace("grants = [\"intel.lookup\"]", "grants = []"));
    case.alerts(&[phish_alert("phish-denied")]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "a denial is the plugin's business\n{run}");
    assert!(receiver.requests().is_empty(), "{:#?}", receiver.requests());

    let denied = run.plugin("phish-denied", "phishing-triage");
    assert_eq!(denied["status"], "completed", "{run}");
    // The first denial stops the lookups: every other would be denied the same way.
    assert_eq!(strings(&denied["denied"]), ["intel.lookup"], "{run}");
    assert!(
        note(&denied, "intel:paypa1-secure.net")
            .unwrap_or_default()
            .starts_with("error: denied"),
        "{run}"
    );
    assert!(
        note(&denied, "intel:skipped")
            .unwrap_or_default()
            .starts_with("1 not looked up: intel unavailable (denied"),
        "{run}"
    );
    // Lookalike 40 + display name 30 reach the malicious threshold without intel.
    assert_eq!(denied["outcome"]["verdict"], "malicious", "{run}");
    assert_eq!(denied["outcome"]["risk_score"], 70, "{run}");
    assert!(
        strings(&denied["outcome"]["tags"]).contains(&"intel:incomplete".to_owned()),
        "{run}"
    );
}

#[test]
fn max_lookups_bounds_the_calls_and_thresholds_come_from_settings() {
    let receiver = Receiver::start();
    let case = case().receiver(&receiver);
    case.config(&HOOK_CONFIG.replace(
        "settings = { protected_domains = \"${PROTECTED}\" }",
        "settings = { protected_domains = \"${PROTECTED}\", max_lookups = 3, suspicious_at = 15 }",
    ));
    let urls: Vec<String> = (1..=6).map(|n| format!("http://198.51.100.{n}/kit")).collect();
    let mut entities: Vec<Value> = urls
        .iter()
        .map(|url| json!({"type": "url", "url": url}))
        .collect();
    entities.push(json!({"type": "email-address", "address": "x@mailer.test"}));
    let alert = json!({
        "id": "many-links",
        "title": "Mail with many links",
        "source": "Mail gateway",
        "category": "phishing",
        "severity": "low",
        "confidence": 50,
        "timestamp": "2026-11-26T11:00:00Z",
        "entities": entities,
    });
    case.alerts(&[alert.to_string()]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    let outcome = run.plugin("many-links", "phishing-triage");
    assert_eq!(
        lookups(&receiver, "many-links"),
        [
            "domain mailer.test",
            "url http://198.51.100.1/kit",
            "url http://198.51.100.2/kit"
        ],
        "the sender first, then links, three in all\n{run}"
    );
    // The other 5 links and the 6 addresses behind them.
    assert_eq!(
        note(&outcome, "intel:skipped").as_deref(),
        Some("10 not looked up: over max_lookups (3)"),
        "{run}"
    );
    assert_eq!(
        note(&outcome, "url:http://198.51.100.1/kit").as_deref(),
        Some("raw IP address instead of a name"),
        "{run}"
    );
    // A URL trick alone (15) is below the default suspicious_at of 30, not below the 15 set here.
    assert_eq!(outcome["outcome"]["risk_score"], 15, "{run}");
    assert_eq!(outcome["outcome"]["verdict"], "suspicious", "{run}");
}

#[test]
fn a_mail_with_thousands_of_links_stays_within_the_default_limits() {
    // 2000 tracking links of a kilobyte each in the message text: the outcome must stay under
    // the 256 KiB output limit and the plugin under 64 MiB, and intel sees max_lookups calls.
    let receiver = Receiver::start();
    let case = case().receiver(&receiver);
    case.config(HOOK_CONFIG);
    let padding = "x".repeat(900);
    let message: Vec<String> = (0..2000)
        .map(|n| format!("see https://t{n}.news.test/c/{n}?q={padding}"))
        .collect();
    let alert = json!({
        "_id": "newsletter-1",
        "_source": {
            "@timestamp": "2026-11-26T12:00:00Z",
            "kibana.alert.uuid": "newsletter-1",
            "kibana.alert.rule.name": "Bulk mail",
            "kibana.alert.severity": "low",
            "email.from.address": "news@news.test",
            "message": message.join(" "),
        },
    });
    case.alerts(&[alert.to_string()]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    let outcome = run.plugin("newsletter-1", "phishing-triage");
    assert_eq!(outcome["status"], "completed", "{run}");
    assert_eq!(
        note(&outcome, "urls:ignored").as_deref(),
        Some("1950 more links not examined (over 50)"),
        "{run}"
    );
    assert_eq!(
        lookups(&receiver, "newsletter-1").len(),
        10,
        "the default max_lookups\n{run}"
    );
    assert!(
        notes(&outcome).iter().all(|(key, _)| key.len() < 220),
        "note keys are cut: {:?}",
        notes(&outcome).iter().map(|(k, _)| k.len()).max()
    );
    assert_eq!(outcome["outcome"]["verdict"], "benign", "{run}");
}

#[test]
fn a_malformed_setting_fails_the_alert_naming_the_key() {
    let case = case();
    case.config(
        r#"
[plugins.phishing-triage]
path = "${PHISHING_TRIAGE}"
stage = "triage"
settings = { malicious_at = "high" }
"#,
    );
    case.alerts(&[phish_alert("bad-setting")]);
    let run = case.run();
    let failed = run.plugin("bad-setting", "phishing-triage");
    assert_eq!(failed["status"], "failed", "{run}");
    let detail = failed["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("invalid input: setting malicious_at"),
        "the error names the setting: {detail:?}\n{run}"
    );
    assert!(failed["outcome"].is_null(), "{run}");
}

#[test]
fn plugin_test_with_the_shipped_fixtures_exits_0() {
    let case = Case::new();
    let fixtures = workspace_root().join("plugins/phishing-triage/fixtures");
    let file = |name: &str| fixtures.join(name).display().to_string();
    let wasm = plugin().display().to_string();
    let setting = format!("protected_domains={PROTECTED}");
    let (alert, replies, expect) = (file("alert.json"), file("replies.toml"), file("expect.toml"));
    let run = case.palisade(&[
        "plugin",
        "test",
        &wasm,
        "--alert",
        &alert,
        "--replies",
        &replies,
        "--expect",
        &expect,
        "--setting",
        &setting,
    ]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("expectations met"), "{run}");
    assert!(run.stdout.contains("verdict:   malicious"), "{run}");
    eprintln!(
        "phishing-triage: plugin test took {:.1} s",
        run.elapsed.as_secs_f64()
    );
}

#[test]
fn the_python_unit_tests_pass_on_the_toolchains_python_with_generated_bindings() {
    // The same interpreter that runs componentize-py, with the bindings it generates from the
    // WIT on the path, so test_app.py runs too instead of skipping.
    let bindings = tempfile::tempdir().expect("a scratch folder");
    let output = std::process::Command::new("bash")
        .args([
            "-c",
            "source ../toolchains/env \
             && componentize-py -d ../../wit/v0.1.0 -w action bindings \"$BINDINGS\" >/dev/null \
             && PYTHONPATH=\"$BINDINGS\" exec \"$PALISADE_PYTHON_ENV/bin/python\" -m unittest -v",
        ])
        .current_dir(workspace_root().join("plugins/phishing-triage"))
        .env("BINDINGS", bindings.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("run bash");
    let report = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{report}");
    for test in [
        "test_tricks",
        "test_limit_exceeded_stops_the_lookups",
        "test_defaults",
    ] {
        assert!(
            report.contains(&format!("{test} ")),
            "{test} did not run:\n{report}"
        );
    }
    assert!(
        report.trim_end().ends_with("OK") && !report.contains("skipped"),
        "{report}"
    );
}
