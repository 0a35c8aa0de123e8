//! The command line as an admin meets it: bad input lines, config mistakes located, plugin
//! inspection, the grant report, exit codes.

use palisade_e2e::{Case, artifacts, plain_alert, spray_alert};
use serde_json::Value;

const TRIAGE_ONLY: &str = r#"
[plugins.triage]
path = "${TRIAGE}"
stage = "triage"
"#;

/// password-spray with embedded connectors, `GRANTS` replaced by the test.
const SPRAY_EMBEDDED: &str = r#"
[defaults.connectors]
identity = "local"
network = "local"
ticket = "local"

[connectors.local]
kind = "embedded"
outbox = "outbox.jsonl"

[plugins.password-spray]
path = "${PASSWORD_SPRAY}"
stage = "respond"
grants = GRANTS
"#;

#[test]
fn a_malformed_line_is_rejected_by_number_and_the_others_are_processed() {
    let case = Case::new();
    case.config(TRIAGE_ONLY);
    let truncated = plain_alert("bad-4", "edr-01");
    let truncated = truncated[..truncated.len() / 2].to_owned();
    case.alerts(&[
        plain_alert("ok-1", "edr-01"),
        plain_alert("ok-2", "edr-01"),
        spray_alert("ok-3", 92),
        truncated,
        plain_alert("ok-5", "edr-01"),
    ]);

    let run = case.run();
    assert_eq!(run.code, Some(3), "{run}");
    let rejected = run.records("rejected");
    assert_eq!(rejected.len(), 1, "{run}");
    assert_eq!(rejected[0]["line"], 4, "{run}");
    assert!(
        rejected[0]["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{run}"
    );
    let mut processed: Vec<(u64, String)> = run
        .records("alert")
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap_or_default(),
                r["alert"]["id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    processed.sort();
    assert_eq!(
        processed,
        [
            (1, "ok-1".to_owned()),
            (2, "ok-2".to_owned()),
            (3, "ok-3".to_owned()),
            (5, "ok-5".to_owned()),
        ],
        "{run}"
    );
    for id in ["ok-1", "ok-2", "ok-3", "ok-5"] {
        assert_eq!(run.plugin(id, "triage")["status"], "completed", "{run}");
    }
    let summary = run.summary();
    assert_eq!(summary["lines"], 5, "{summary}");
    assert_eq!(summary["alerts"], 4, "{summary}");
    assert_eq!(summary["rejected"], 1, "{summary}");
}

#[test]
fn alerts_are_read_from_stdin_with_a_dash() {
    let case = Case::new();
    case.config(TRIAGE_ONLY);
    let input = format!("{}\n", plain_alert("stdin-1", "edr-01"));
    let run = case.palisade_with_stdin(&["run", "--config", "palisade.toml", "--json", "-"], Some(&input));
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(run.plugins_run("stdin-1"), ["triage"], "{run}");
    assert_eq!(run.records("alert").len(), 1, "{run}");
}

/// A feed piped in (`tail -f siem.jsonl | palisade run -`): each alert is handled as it
/// arrives, while the feed stays open, not when it ends.
#[test]
fn an_alert_on_stdin_is_handled_while_the_feed_stays_open() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let case = Case::new();
    case.config(TRIAGE_ONLY);
    let mut child = Command::new(&artifacts().palisade)
        .args(["run", "--config", "palisade.toml", "--json", "-"])
        .current_dir(case.dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start palisade");
    let mut feed = child.stdin.take().expect("stdin is piped");
    let (lines, reported) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let started = Instant::now();
    let handled = |id: &str| loop {
        let left = Duration::from_secs(30).saturating_sub(started.elapsed());
        match reported.recv_timeout(left) {
            Ok(line) if line.contains(&format!("\"id\":\"{id}\"")) => break true,
            Ok(_) => continue,
            Err(_) => break false,
        }
    };
    for id in ["feed-1", "feed-2"] {
        writeln!(feed, "{}", plain_alert(id, "edr-01")).expect("write to the feed");
        feed.flush().expect("flush the feed");
        assert!(handled(id), "{id} was not reported while the feed was open");
    }
    drop(feed);
    let status = child.wait().expect("wait for palisade");
    assert_eq!(status.code(), Some(0));
}

/// The 1-based line and column where `needle` starts in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).expect("the needle is in the text");
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

#[test]
fn a_misspelt_grant_stops_run_and_check_at_its_location() {
    let case = Case::new();
    case.config(&SPRAY_EMBEDDED.replace(
        "GRANTS",
        r#"["identity.revoke-sessions", "network.blok-ip", "ticket.create"]"#,
    ));
    case.alerts(&[spray_alert("never-run", 92)]);
    let (line, column) = position(&case.config_text(), "\"network.blok-ip\"");
    let location = format!("palisade.toml:{line}:{column}");

    for args in [
        &["run", "--config", "palisade.toml", "--json", "alerts.jsonl"][..],
        &["check", "--config", "palisade.toml"][..],
    ] {
        let run = case.palisade(args);
        assert_eq!(run.code, Some(1), "{run}");
        let stderr = run.stderr_plain();
        assert!(stderr.contains(&location), "expected {location}\n{run}");
        assert!(
            stderr.contains("plugins.password-spray.grants[1]"),
            "the key is named\n{run}"
        );
        assert!(
            stderr.contains("network.block-ip"),
            "the right spelling is suggested\n{run}"
        );
        assert!(!run.stdout.contains("never-run"), "nothing ran\n{run}");
    }
    assert!(!case.dir().join("outbox.jsonl").exists(), "no action was taken");
}

#[test]
fn plugin_inspect_shows_the_name_the_capabilities_asked_for_and_the_imports() {
    let case = Case::new();
    let wasm = artifacts().password_spray.display().to_string();

    let text = case.palisade(&["plugin", "inspect", &wasm]);
    assert_eq!(text.code, Some(0), "{text}");
    assert!(text.stdout.starts_with("password-spray 0.1.0"), "{text}");
    assert!(
        text.stdout.lines().any(|l| l.starts_with("asks for:")
            && l.ends_with("identity.revoke-sessions, network.block-ip, ticket.create")),
        "{text}"
    );
    for import in [
        "palisade:action/identity@0.1.0 (revoke-sessions)",
        "palisade:action/network@0.1.0 (block-ip)",
        "palisade:action/ticket@0.1.0 (create)",
    ] {
        assert!(text.stdout.contains(import), "{import} is listed\n{text}");
    }

    let json = case.palisade(&["plugin", "inspect", &wasm, "--json"]);
    assert_eq!(json.code, Some(0), "{json}");
    let value: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}\n{json}"));
    assert_eq!(value["info"]["name"], "password-spray", "{json}");
    assert_eq!(
        value["info"]["capabilities"],
        serde_json::json!(["identity.revoke-sessions", "network.block-ip", "ticket.create"]),
        "{json}"
    );
    let imports: Vec<(String, Value)> = value["imports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| {
            (
                i["name"].as_str().unwrap_or_default().to_owned(),
                i["functions"].clone(),
            )
        })
        .collect();
    for (name, functions) in [
        (
            "palisade:action/identity@0.1.0",
            serde_json::json!(["revoke-sessions"]),
        ),
        ("palisade:action/network@0.1.0", serde_json::json!(["block-ip"])),
        ("palisade:action/ticket@0.1.0", serde_json::json!(["create"])),
    ] {
        assert!(
            imports.contains(&(name.to_owned(), functions.clone())),
            "{name} {functions} in {imports:?}"
        );
    }
    assert!(
        imports
            .iter()
            .all(|(name, _)| name.starts_with("palisade:action/") || name.starts_with("wasi:")),
        "{imports:?}"
    );
}

#[test]
fn check_reports_capabilities_asked_for_but_not_granted_and_granted_but_never_asked_for() {
    let case = Case::new();
    case.config(&SPRAY_EMBEDDED.replace(
        "GRANTS",
        r#"["identity.revoke-sessions", "identity.disable-user", "ticket.create"]"#,
    ));
    let run = case.palisade(&["check", "--config", "palisade.toml"]);
    assert_eq!(
        run.code,
        Some(0),
        "a grant mismatch is reported, not an error\n{run}"
    );
    let report = format!("{}\n{}", run.stdout, run.stderr_plain());
    let line_with = |needle: &str| {
        report
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
    };
    let block = line_with("network.block-ip");
    assert!(
        block.iter().any(|l| l.contains("not granted")),
        "network.block-ip is asked for but not granted\n{run}"
    );
    let disable = line_with("identity.disable-user");
    assert!(
        disable
            .iter()
            .any(|l| l.contains("never asked") || l.contains("unused")),
        "identity.disable-user is granted but never asked for\n{run}"
    );
    assert!(
        !line_with("identity.revoke-sessions")
            .iter()
            .any(|l| l.contains("not granted") || l.contains("unused") || l.contains("never asked")),
        "revoke-sessions is granted and used\n{run}"
    );
}

#[test]
fn usage_mistakes_and_unreadable_input_have_their_exit_codes() {
    let case = Case::new();
    case.config(TRIAGE_ONLY);
    let usage = case.palisade(&["run", "--config", "palisade.toml", "--no-such-option"]);
    assert_eq!(usage.code, Some(2), "{usage}");
    assert!(usage.stdout.is_empty(), "{usage}");

    let missing = case.palisade(&["run", "--config", "palisade.toml", "--json", "missing.jsonl"]);
    assert_eq!(missing.code, Some(1), "{missing}");
    assert!(
        missing.stderr_plain().contains("missing.jsonl"),
        "the file is named\n{missing}"
    );

    let no_config = case.palisade(&["check", "--config", "nowhere.toml"]);
    assert_eq!(no_config.code, Some(1), "{no_config}");
}

/// Every file and folder under `dir`, relative to it, with its size.
fn tree(dir: &std::path::Path) -> Vec<(std::path::PathBuf, u64)> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).unwrap().flatten() {
            let path = entry.path();
            let size = entry.metadata().map_or(0, |m| m.len());
            if path.is_dir() {
                folders.push(path.clone());
            }
            found.push((path.strip_prefix(dir).unwrap().to_owned(), size));
        }
    }
    found.sort();
    found
}

#[test]
fn check_validates_and_compiles_but_creates_and_changes_nothing() {
    let case = Case::new();
    case.config(&SPRAY_EMBEDDED.replace("GRANTS", r#"["ticket.create"]"#));
    let before = tree(case.dir());
    let run = case.palisade(&["check", "--config", "palisade.toml"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(run.stdout.contains("plugin password-spray"), "{run}");
    assert_eq!(
        tree(case.dir()),
        before,
        "no state folder, database, outbox or compiled code\n{run}"
    );
}

/// A spray the source has already closed, and one still open.
fn closed_and_open_sprays() -> Vec<String> {
    let mut closed: Value = serde_json::from_str(&spray_alert("closed-1", 95)).unwrap();
    closed["status"] = "closed".into();
    vec![closed.to_string(), spray_alert("open-1", 95)]
}

#[test]
fn a_spray_closed_at_its_source_is_reported_but_not_responded_to() {
    let case = Case::new();
    case.config(&SPRAY_EMBEDDED.replace(
        "GRANTS",
        r#"["identity.revoke-sessions", "network.block-ip", "ticket.create"]"#,
    ));
    case.alerts(&closed_and_open_sprays());
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    let closed = run.alert("closed-1");
    assert_eq!(closed["alert"]["status"], "closed", "{run}");
    assert!(
        closed["alert"]["tags"]
            .as_array()
            .unwrap()
            .contains(&"status:closed".into()),
        "plugins see the status as a tag\n{run}"
    );
    assert_eq!(closed["plugins"], serde_json::json!([]), "{run}");
    let skipped = &closed["skipped"][0];
    assert_eq!(skipped["plugin"], "password-spray", "{run}");
    assert!(
        skipped["reason"]
            .as_str()
            .unwrap()
            .contains("closed at its source"),
        "{run}"
    );
    let open = run.alert("open-1");
    assert_eq!(open["plugins"][0]["plugin"], "password-spray", "{run}");

    let outbox = std::fs::read_to_string(case.dir().join("outbox.jsonl")).unwrap_or_default();
    assert!(
        !outbox.contains("closed-1"),
        "no response to the closed alert:\n{outbox}"
    );
    assert!(outbox.contains("open-1"), "{outbox}");
}

#[test]
fn a_plugin_that_names_a_closed_status_in_its_match_runs_on_it() {
    let case = Case::new();
    case.config(&format!(
        "{}\n[plugins.password-spray.match]\nstatuses = [\"closed\"]\n",
        SPRAY_EMBEDDED.replace("GRANTS", r#"["ticket.create"]"#)
    ));
    case.alerts(&closed_and_open_sprays());
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");
    assert_eq!(
        run.alert("closed-1")["plugins"][0]["plugin"],
        "password-spray",
        "{run}"
    );
    assert_eq!(
        run.alert("open-1")["plugins"],
        serde_json::json!([]),
        "an open alert is not closed\n{run}"
    );
}

#[test]
fn a_record_the_store_cannot_write_is_counted_and_the_run_does_not_exit_clean() {
    let case = Case::new();
    case.config(TRIAGE_ONLY);
    case.alerts(&[plain_alert("before", "edr-01")]);
    assert_eq!(case.run().code, Some(0), "the store is made by a first run");

    // The database refuses one alert's audit records, as a full or damaged one would.
    let db = rusqlite::Connection::open(case.dir().join("state/palisade.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER refuse_gap BEFORE INSERT ON audit WHEN NEW.alert_id = 'gap'
         BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;",
    )
    .unwrap();
    drop(db);
    case.alerts(&[
        plain_alert("ok-1", "edr-01"),
        plain_alert("gap", "edr-01"),
        plain_alert("ok-3", "edr-01"),
    ]);

    let run = case.run();
    assert_eq!(run.code, Some(3), "an audit with gaps is not a clean run\n{run}");
    let summary = run.summary();
    // The alert's own record and its invocation's.
    assert_eq!(summary["records_lost"], 2, "{summary}");
    assert_eq!(summary["alerts"], 3, "the others are handled: {summary}");
    assert!(
        run.stderr_plain().contains("cannot write an audit record"),
        "{run}"
    );
    for id in ["ok-1", "gap", "ok-3"] {
        assert_eq!(run.plugin(id, "triage")["status"], "completed", "{run}");
    }
}
