//! A batch as a SOC has one: handled highest priority first (a critical alert on a crown-jewel
//! host before the low one read ahead of it), repeats of an alert attached to the first instead
//! of being acted on again, and the time from reading an alert to its first response reported
//! per alert and as a median and 95th percentile; related alerts grouped into one incident
//! with one ticket.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use palisade_e2e::{Case, Receiver, Reply, plain_alert, spray_alert, strings};
use serde_json::Value;

/// The spray plugin on a webhook; `extra` adds `[intake...]` sections.
fn config(extra: &str) -> String {
    format!(
        r#"
[defaults.connectors]
identity = "hook"
network = "hook"
ticket = "hook"

[connectors.hook]
kind = "webhook"
url = "${{RECEIVER}}"
timeout_ms = 5000

[plugins.password-spray]
path = "${{PASSWORD_SPRAY}}"
stage = "respond"
grants = ["identity.revoke-sessions", "network.block-ip", "ticket.create"]
{extra}"#
    )
}

/// A spray alert with another id, severity, time, or an extra host entity.
fn spray(id: &str, severity: &str, timestamp: &str, host: Option<&str>) -> String {
    let mut alert: Value = serde_json::from_str(&spray_alert(id, 92)).unwrap();
    alert["severity"] = severity.into();
    alert["timestamp"] = timestamp.into();
    if let Some(host) = host {
        alert["entities"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({"type": "host", "hostname": host}));
    }
    alert.to_string()
}

/// `palisade run --json`, `concurrency` alerts at a time.
fn run_json(case: &Case, concurrency: u32) -> palisade_e2e::Run {
    let concurrency = concurrency.to_string();
    case.palisade(&[
        "run",
        "--config",
        "palisade.toml",
        "--json",
        "--concurrency",
        &concurrency,
        "alerts.jsonl",
    ])
}

/// The alert ids of the `alert` records, in output order.
fn output_order(run: &palisade_e2e::Run) -> Vec<String> {
    run.records("alert")
        .iter()
        .map(|r| r["alert"]["id"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The alert ids in the order the receiver first heard of them.
fn response_order(receiver: &Receiver) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for request in receiver.requests() {
        let id = request.body["alert_id"].as_str().unwrap_or_default().to_owned();
        if !order.contains(&id) {
            order.push(id);
        }
    }
    order
}

#[test]
fn a_critical_alert_on_a_crown_jewel_is_handled_before_a_low_one_read_first() {
    let receiver = Receiver::start();
    let case = Case::new().receiver(&receiver);
    case.config(&config(
        r#"
[intake.priority]
crown_jewels = ["dc-*", "payroll-db"]
vip_users = ["ceo@acme.example"]
"#,
    ));
    case.alerts(&[
        spray("low-first", "low", "2026-11-26T09:00:00Z", Some("laptop-7")),
        plain_alert("medium-second", "edr-01"),
        spray("critical-dc", "critical", "2026-11-26T09:05:00Z", Some("DC-01")),
    ]);

    let run = run_json(&case, 1);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        output_order(&run),
        ["critical-dc", "medium-second", "low-first"],
        "{run}"
    );
    assert_eq!(
        response_order(&receiver),
        ["critical-dc", "low-first"],
        "the critical alert's containment went out first"
    );
    // critical 90 * (100 + 92) / 200 = 86, + 15 for the crown jewel, capped at 100.
    assert_eq!(
        run.alert("critical-dc")["priority"],
        serde_json::json!({"score": 100, "label": "p1"})
    );
    // medium 50 * 170 / 200 = 42; low 25 * 192 / 200 = 24.
    assert_eq!(
        run.alert("medium-second")["priority"],
        serde_json::json!({"score": 42, "label": "p3"})
    );
    assert_eq!(
        run.alert("low-first")["priority"],
        serde_json::json!({"score": 24, "label": "p4"})
    );
    // Line numbers are the input's, whatever the order.
    assert_eq!(run.alert("critical-dc")["line"], 3, "{run}");
    assert_eq!(run.alert("low-first")["line"], 1, "{run}");
}

/// One vendor call that takes seconds (an EDR busy isolating, an IdP rate-limiting) holds up
/// only its own alert: the alerts behind it are contained meanwhile, not after it.
#[test]
fn a_slow_vendor_call_does_not_hold_up_the_alerts_behind_it() {
    // Well inside the webhook's 5 s timeout, so only waiting, not failing, is tested.
    const SLOW: Duration = Duration::from_secs(3);
    let delayed = AtomicBool::new(false);
    let receiver = Receiver::with_rule(move |request| {
        let slow = request.body["alert_id"] == "slow" && !delayed.swap(true, Ordering::SeqCst);
        slow.then(|| Reply::json(200, &serde_json::json!({})).after(SLOW))
    });
    let case = Case::new().receiver(&receiver);
    case.config(&config("limits = { timeout_ms = 20000 }\n"));
    // The critical one is handed out first; the rest queue behind it.
    let mut alerts = vec![spray("slow", "critical", "2026-11-26T09:00:00Z", None)];
    let fast: Vec<String> = (1..=5).map(|n| format!("fast-{n}")).collect();
    for id in &fast {
        alerts.push(spray(id, "medium", "2026-11-26T09:01:00Z", None));
    }
    case.alerts(&alerts);

    let run = run_json(&case, 2);
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.plugin("slow", "password-spray")["status"],
        "completed",
        "{run}"
    );

    let requests = receiver.requests();
    let slow_began = requests
        .iter()
        .find(|r| r.body["alert_id"] == "slow")
        .map(|r| r.at)
        .expect("the slow alert reached the vendor");
    for id in &fast {
        assert_eq!(run.plugin(id, "password-spray")["status"], "completed", "{run}");
        let last = requests
            .iter()
            .filter(|r| r.body["alert_id"] == id.as_str())
            .map(|r| r.at)
            .max()
            .unwrap_or_else(|| panic!("{id} reached no vendor\n{run}"));
        assert!(
            last < slow_began + SLOW,
            "{id} waited for the slow call: its last request came {:?} after the slow one began\n{run}",
            last - slow_began
        );
    }
}

/// `--concurrency` above the config's value gets an instance for every alert in flight: the
/// pool is sized for the run, not for the config's number.
#[test]
fn the_concurrency_flag_above_the_configs_runs_every_alert() {
    // Every reply held, so all six alerts are in flight, each with its instance, at once.
    let receiver = Receiver::slow(Duration::from_millis(500));
    let case = Case::new().receiver(&receiver);
    case.config(&format!(
        "[defaults]\nconcurrency = 1\n{}",
        config("limits = { timeout_ms = 20000 }\n")
    ));
    let ids: Vec<String> = (1..=6).map(|n| format!("spray-{n}")).collect();
    let alerts: Vec<String> = ids
        .iter()
        .map(|id| spray(id, "high", "2026-11-26T09:00:00Z", None))
        .collect();
    case.alerts(&alerts);

    let run = run_json(&case, 6);
    assert_eq!(run.code, Some(0), "{run}");
    for id in &ids {
        assert_eq!(run.plugin(id, "password-spray")["status"], "completed", "{run}");
    }
}

#[test]
fn duplicates_of_a_spray_are_attached_to_the_first_and_not_acted_on_again() {
    let receiver = Receiver::start();
    let case = Case::new().receiver(&receiver);
    case.config(&config(
        r#"
[intake.dedup]
fields = ["rule", "entities"]
window_minutes = 60
"#,
    ));
    case.alerts(&[
        spray("spray-1", "high", "2026-11-26T09:12:00Z", None),
        spray("spray-2", "high", "2026-11-26T09:20:00Z", None),
        plain_alert("quiet", "edr-01"),
        spray("spray-3", "high", "2026-11-26T10:02:00Z", None),
        // Three hours later: the same attack again, acted on again.
        spray("spray-later", "high", "2026-11-26T12:30:00Z", None),
    ]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");

    let first = run.alert("spray-1");
    assert_eq!(strings(&first["duplicates"]), ["spray-2", "spray-3"], "{run}");
    for duplicate in ["spray-2", "spray-3"] {
        let record = run.alert(duplicate);
        assert_eq!(record["duplicate_of"], "spray-1", "{run}");
        assert_eq!(record["plugins"], serde_json::json!([]), "{run}");
        assert!(record["time_to_respond_ms"].is_null(), "{run}");
    }
    assert!(run.alert("spray-later")["duplicate_of"].is_null(), "{run}");

    // One set of responses per first alert: two revocations, a block and a ticket each (the
    // lookups that resolve each account before the gate decides are not responses).
    let responded: Vec<String> = receiver
        .requests()
        .iter()
        .filter(|r| r.operation() != "lookup-user")
        .map(|r| r.body["alert_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        responded.iter().filter(|id| *id == "spray-1").count(),
        4,
        "{responded:?}"
    );
    assert_eq!(
        responded.iter().filter(|id| *id == "spray-later").count(),
        4,
        "{responded:?}"
    );
    assert_eq!(responded.len(), 8, "{responded:?}");
    assert_eq!(receiver.calls("ticket", "create").len(), 2);

    let summary = run.summary();
    assert_eq!(summary["duplicates"], 2, "{run}");
    assert_eq!(summary["alerts"], 3, "{run}");
    assert_eq!(summary["lines"], 5, "{run}");

    // The audit trail of the first alert shows what was attached to it.
    let audit = case.palisade(&[
        "audit",
        "--config",
        "palisade.toml",
        "--json",
        "--alert",
        "spray-1",
    ]);
    assert_eq!(audit.code, Some(0), "{audit}");
    let mut attached: Vec<String> = audit
        .json()
        .iter()
        .filter(|record| record["kind"] == "duplicate")
        .map(|record| {
            record["detail"]["duplicate"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    // Alerts are reported as they finish, so the two may be recorded in either order.
    attached.sort();
    assert_eq!(attached, ["spray-2", "spray-3"], "{audit}");
}

#[test]
fn time_to_respond_is_reported_per_alert_and_as_median_and_p95() {
    let receiver = Receiver::start();
    let case = Case::new().receiver(&receiver);
    case.config(&config(""));
    case.alerts(&[
        spray("spray-1", "high", "2026-11-26T09:12:00Z", None),
        plain_alert("quiet", "edr-01"),
        spray("spray-2", "high", "2026-11-26T09:13:00Z", None),
    ]);

    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    let mut times = Vec::new();
    for id in ["spray-1", "spray-2"] {
        let ttr = run.alert(id)["time_to_respond_ms"].as_f64();
        assert!(ttr.is_some_and(|ms| ms > 0.0), "{id} was responded to\n{run}");
        times.push(ttr.unwrap());
    }
    assert!(
        run.alert("quiet")["time_to_respond_ms"].is_null(),
        "no response, no time\n{run}"
    );
    let summary = run.summary();
    let median = summary["time_to_respond_ms"]["median"].as_f64();
    let p95 = summary["time_to_respond_ms"]["p95"].as_f64();
    times.sort_by(f64::total_cmp);
    // Nearest rank over two: the median is the smaller, the 95th percentile the larger.
    assert_eq!(median, Some(times[0]), "{run}");
    assert_eq!(p95, Some(times[1]), "{run}");

    let human = Case::new().receiver(&receiver);
    human.config(&config(""));
    human.alerts(&[spray("spray-h", "high", "2026-11-26T09:12:00Z", None)]);
    let run = human.palisade(&["run", "--config", "palisade.toml", "alerts.jsonl"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        run.stdout.contains("time to respond: median ") && run.stdout.contains(" ms, p95 "),
        "{run}"
    );
    assert!(run.stdout.contains("[high, confidence 92, p2 (72)]"), "{run}");
}

/// A spray from `ip` against `users` (the first signed in), at `timestamp`.
fn spray_from(id: &str, ip: &str, users: &[&str], timestamp: &str) -> String {
    let mut alert: Value = serde_json::from_str(&spray_alert(id, 92)).unwrap();
    alert["timestamp"] = timestamp.into();
    let mut entities: Vec<Value> = users
        .iter()
        .enumerate()
        .map(|(index, user)| {
            let sign_in = if index == 0 { "success" } else { "failure" };
            serde_json::json!({"type": "user", "name": user, "sign_in": sign_in})
        })
        .collect();
    entities.push(serde_json::json!({"type": "ip", "address": ip, "direction": "source"}));
    alert["entities"] = entities.into();
    alert.to_string()
}

#[test]
fn a_burst_of_related_sprays_is_one_incident_with_one_ticket_and_comments() {
    let receiver = Receiver::start();
    let case = Case::new().receiver(&receiver);
    case.config(&config(
        r#"
[intake.grouping]
by = ["user", "host", "ip"]
window_minutes = 30
"#,
    ));
    let burst = ["spray-a", "spray-b", "spray-c", "spray-d", "spray-e"];
    let mut alerts: Vec<String> = burst
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let users = [format!("user{n}a"), format!("user{n}b")];
            let users: Vec<&str> = users.iter().map(String::as_str).collect();
            spray_from(
                id,
                "203.0.113.7",
                &users,
                &format!("2026-11-26T09:{:02}:00Z", 10 + 5 * n),
            )
        })
        .collect();
    alerts.insert(
        2,
        spray_from(
            "elsewhere",
            "198.51.100.9",
            &["zoe", "yann"],
            "2026-11-26T09:15:00Z",
        ),
    );
    case.alerts(&alerts);

    // Alerts run concurrently (the default concurrency of 16): the incident's ticket is opened once.
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");

    let creates = receiver.calls("ticket", "create");
    let comments = receiver.calls("ticket", "comment");
    assert_eq!(creates.len(), 2, "one ticket per incident\n{run}");
    assert_eq!(comments.len(), 4, "{run}");
    let incident = run.alert("spray-a")["incident"].clone();
    assert!(incident.is_string(), "{run}");
    let first = incident.as_str().unwrap_or_default();
    let burst_ticket = palisade_e2e::note(&run.plugin(first, "password-spray"), "ticket").unwrap_or_default();
    assert!(burst_ticket.starts_with("T-"), "{run}");
    assert_ne!(
        palisade_e2e::note(&run.plugin("elsewhere", "password-spray"), "ticket"),
        Some(burst_ticket.clone()),
        "{run}"
    );
    let mut commented: Vec<String> = Vec::new();
    for comment in &comments {
        assert_eq!(
            comment.request()["ticket_id"],
            burst_ticket.as_str(),
            "{comment:?}"
        );
        assert!(
            comment.request()["body"]
                .as_str()
                .is_some_and(|body| body.contains("203.0.113.7") || body.contains("Password spray")),
            "the new alert's ticket title and description are the comment: {comment:?}"
        );
        commented.push(comment.body["alert_id"].as_str().unwrap_or_default().to_owned());
    }
    // Whichever alert of the burst asked first opened the ticket (they run concurrently);
    // every other one commented.
    let second = commented[0].clone();
    let openers: Vec<String> = creates
        .iter()
        .map(|r| r.body["alert_id"].as_str().unwrap_or_default().to_owned())
        .filter(|id| id != "elsewhere")
        .collect();
    assert_eq!(openers.len(), 1, "{run}");
    commented.extend(openers);
    commented.sort();
    assert_eq!(commented, burst, "{run}");

    for id in burst {
        let record = run.alert(id);
        assert_eq!(record["incident"], incident, "{id}\n{run}");
        // The plugin was handed the incident's ticket either way.
        let spray = run.plugin(id, "password-spray");
        assert_eq!(
            palisade_e2e::note(&spray, "ticket"),
            Some(burst_ticket.clone()),
            "{id}\n{run}"
        );
    }
    let elsewhere = run.alert("elsewhere");
    assert_eq!(elsewhere["incident"], "elsewhere", "{run}");
    assert_eq!(run.summary()["incidents"], 2, "{run}");
    // Containment is per alert: every alert's sessions revoked and address blocked.
    assert_eq!(receiver.calls("network", "block-ip").len(), 6);

    // The audit says what happened: the create was grouped into the incident's ticket.
    let audit = case.palisade(&["audit", "--config", "palisade.toml", "--json", "--alert", &second]);
    assert_eq!(audit.code, Some(0), "{audit}");
    let grouped: Vec<Value> = audit
        .json()
        .into_iter()
        .filter(|record| record["decision"] == "grouped")
        .collect();
    assert_eq!(grouped.len(), 1, "{audit}");
    assert_eq!(grouped[0]["operation"], "ticket.comment", "{audit}");
    assert_eq!(grouped[0]["detail"]["ticket"], burst_ticket.as_str(), "{audit}");
    assert_eq!(grouped[0]["detail"]["incident"], incident, "{audit}");
}

#[test]
fn without_grouping_every_alert_opens_its_own_ticket() {
    let receiver = Receiver::start();
    let case = Case::new().receiver(&receiver);
    case.config(&config(""));
    case.alerts(&[
        spray_from("spray-a", "203.0.113.7", &["ann"], "2026-11-26T09:10:00Z"),
        spray_from("spray-b", "203.0.113.7", &["ben"], "2026-11-26T09:15:00Z"),
    ]);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(receiver.calls("ticket", "create").len(), 2);
    assert!(receiver.calls("ticket", "comment").is_empty());
    assert!(run.alert("spray-a")["incident"].is_null(), "{run}");
    assert!(run.summary()["incidents"].is_null(), "{run}");
}
