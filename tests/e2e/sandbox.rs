//! A hostile plugin cannot escape its sandbox, and when it misbehaves only its own invocation
//! ends: the other plugins, and the other alerts, carry on.
//!
//! Every attack of the hostile plugin is its own plugin entry in one config, all in the enrich
//! stage and matching only the hostile alert; triage runs after them on that alert and alone on
//! a plain one. The run happens once, and each test asserts one behaviour on it.

use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use palisade_e2e::{Case, Run, note, notes, plain_alert, strings};
use serde_json::Value;

const HOSTILE_ALERT: &str = "hostile-1";
const PLAIN_ALERT: &str = "plain-1";

/// The value planted in palisade's environment, which no plugin may read.
const SECRET: &str = "e2e-secret-value-do-not-leak-7d1f";

/// (plugin name, attack, extra TOML for the plugin's table).
const ATTACKS: &[(&str, &str, &str)] = &[
    ("hostile-spin", "spin", "limits = { timeout_ms = 500 }"),
    (
        "hostile-memory-bomb",
        "memory-bomb",
        "limits = { memory_mib = 16 }",
    ),
    ("hostile-read-file", "read-file", ""),
    ("hostile-env", "env", ""),
    ("hostile-socket", "socket", ""),
    ("hostile-trap", "trap", ""),
    (
        "hostile-host-call-flood",
        "host-call-flood",
        "limits = { host_calls = 100 }",
    ),
    (
        "hostile-output-flood",
        "output-flood",
        "limits = { output_kib = 64 }",
    ),
    ("hostile-stdout", "stdout", ""),
    (
        "hostile-huge-error",
        "huge-error",
        "limits = { output_kib = 64, memory_mib = 64 }",
    ),
    (
        "hostile-empty-notes",
        "empty-notes",
        "limits = { output_kib = 64, memory_mib = 64 }",
    ),
];

struct SandboxRun {
    run: Run,
    /// Where the socket attack tried to connect; it must have accepted nothing.
    listener: TcpListener,
    dir: std::path::PathBuf,
    _case: Case,
}

fn sandbox_run() -> &'static SandboxRun {
    static RUN: OnceLock<SandboxRun> = OnceLock::new();
    RUN.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();

        let mut config = String::from("[defaults]\nconcurrency = 2\n");
        for (name, attack, extra) in ATTACKS {
            let settings = if *attack == "socket" {
                format!("settings = {{ attack = \"socket\", port = {port} }}")
            } else {
                format!("settings = {{ attack = \"{attack}\" }}")
            };
            config += &format!(
                "\n[plugins.{name}]\npath = \"${{HOSTILE}}\"\nstage = \"enrich\"\n{settings}\n{extra}\n\
                 match = {{ rules = [\"hostile-*\"] }}\n"
            );
        }
        config += "\n[plugins.triage]\npath = \"${TRIAGE}\"\nstage = \"triage\"\n";

        let case = Case::new().env("PALISADE_E2E_SECRET", SECRET);
        case.config(&config);
        case.alerts(&[
            plain_alert(HOSTILE_ALERT, "hostile-01"),
            plain_alert(PLAIN_ALERT, "edr-powershell-01"),
        ]);
        let run = case.run();
        SandboxRun {
            run,
            listener,
            dir: case.dir().to_owned(),
            _case: case,
        }
    })
}

fn attack(name: &str) -> (Value, &'static Run) {
    let sandbox = sandbox_run();
    (sandbox.run.plugin(HOSTILE_ALERT, name), &sandbox.run)
}

fn assert_not_escaped(plugin_run: &Value, run: &Run) {
    assert_eq!(plugin_run["status"], "completed", "{run}");
    let tags = strings(&plugin_run["outcome"]["tags"]);
    assert!(!tags.contains(&"escaped".to_owned()), "{tags:?}\n{run}");
    assert_ne!(plugin_run["outcome"]["verdict"], "malicious", "{run}");
}

fn assert_all_failed(plugin_run: &Value, keys: &[&str], run: &Run) {
    for key in keys {
        let value = note(plugin_run, key).unwrap_or_else(|| panic!("no note {key}\n{run}"));
        assert!(
            value.starts_with("err"),
            "{key} = {value:?}: it got through\n{run}"
        );
    }
}

#[test]
fn the_other_alerts_and_plugins_complete_and_the_run_reports_the_failures() {
    let run = &sandbox_run().run;
    assert_eq!(run.code, Some(3), "plugins failed, trapped or hit limits\n{run}");

    // The plain alert went through triage alone.
    assert_eq!(run.plugins_run(PLAIN_ALERT), ["triage"], "{run}");
    let triage = run.plugin(PLAIN_ALERT, "triage");
    assert_eq!(triage["status"], "completed", "{run}");
    assert_eq!(run.alert(PLAIN_ALERT)["alert"]["risk_score"], 38, "{run}");

    // The hostile alert went through every attack, then triage, which completed.
    let mut expected: Vec<&str> = ATTACKS.iter().map(|(name, _, _)| *name).collect();
    expected.push("triage");
    assert_eq!(run.plugins_run(HOSTILE_ALERT), expected, "{run}");
    let triage = run.plugin(HOSTILE_ALERT, "triage");
    assert_eq!(triage["status"], "completed", "{run}");
    assert_eq!(triage["outcome"]["risk_score"], 38, "{run}");

    // spin, memory-bomb, host-call-flood, output-flood and empty-notes hit limits; trap
    // trapped; huge-error failed; read-file, env, socket, stdout and both triage runs
    // completed.
    let summary = run.summary();
    assert_eq!(summary["alerts"], 2, "{summary}");
    assert_eq!(summary["invocations"], 13, "{summary}");
    assert_eq!(summary["limit_exceeded"], 5, "{summary}");
    assert_eq!(summary["failed"], 1, "{summary}");
    assert_eq!(summary["trapped"], 1, "{summary}");
    assert_eq!(summary["completed"], 6, "{summary}");
    assert_eq!(summary["plugins_not_loaded"], 0, "{summary}");
}

#[test]
fn a_spinning_plugin_stops_at_its_deadline() {
    let (spin, run) = attack("hostile-spin");
    assert_eq!(spin["status"], "limit-exceeded", "{run}");
    let detail = spin["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("deadline") && detail.contains("500"),
        "{detail:?}"
    );
    let ms = spin["duration"].as_f64().unwrap_or(f64::MAX);
    assert!((500.0..5_000.0).contains(&ms), "stopped after {ms} ms\n{run}");
    assert!(
        run.elapsed < Duration::from_secs(60),
        "the whole run took {:?}",
        run.elapsed
    );
}

#[test]
fn a_memory_bomb_stops_at_the_memory_limit() {
    let (bomb, run) = attack("hostile-memory-bomb");
    assert_eq!(bomb["status"], "limit-exceeded", "{run}");
    let detail = bomb["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("memory") && detail.contains("16"),
        "{detail:?}\n{run}"
    );
}

#[test]
fn files_cannot_be_read_listed_or_created() {
    let (read, run) = attack("hostile-read-file");
    assert_not_escaped(&read, run);
    assert_all_failed(
        &read,
        &["read_file", "read_dir_root", "read_dir_cwd", "create_file"],
        run,
    );
    let dir = &sandbox_run().dir;
    assert!(
        !dir.join("pwned.txt").exists(),
        "created in palisade's working folder"
    );
    assert!(!palisade_e2e::workspace_root().join("pwned.txt").exists());
}

#[test]
fn the_environment_and_arguments_are_empty_and_secrets_do_not_leak() {
    let (env, run) = attack("hostile-env");
    assert_not_escaped(&env, run);
    assert_eq!(note(&env, "env_count").as_deref(), Some("0"), "{run}");
    assert_eq!(note(&env, "args_count").as_deref(), Some("0"), "{run}");
    assert_eq!(note(&env, "secret").as_deref(), Some("err"), "{run}");
    assert!(!run.stdout.contains(SECRET), "the secret is in stdout");
    assert!(!run.stderr.contains(SECRET), "the secret is in stderr");
}

#[test]
fn sockets_and_name_lookup_are_refused() {
    let (socket, run) = attack("hostile-socket");
    assert_not_escaped(&socket, run);
    assert_all_failed(&socket, &["tcp_connect", "dns_lookup", "udp_bind"], run);
    match sandbox_run().listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the loopback listener was reached: {other:?}"),
    }
}

#[test]
fn a_panic_is_reported_as_a_trap_with_its_message() {
    let (trap, run) = attack("hostile-trap");
    assert_eq!(trap["status"], "trapped", "{run}");
    assert!(trap["outcome"].is_null(), "{run}");
    let detail = trap["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("hostile plugin trapped on purpose"),
        "the detail gives the panic message: {detail:?}"
    );
}

#[test]
fn a_host_call_flood_stops_at_the_host_call_limit() {
    let (flood, run) = attack("hostile-host-call-flood");
    assert_eq!(flood["status"], "limit-exceeded", "{run}");
    let detail = flood["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("host calls"), "{detail:?}");
    let calls = flood["host_calls"].as_u64().unwrap_or(u64::MAX);
    assert!(
        (100..=101).contains(&calls),
        "{calls} host calls were let through\n{run}"
    );
    assert!(
        run.stderr.matches("flood").count() < 1_000,
        "the flood was not stopped in the log"
    );
}

#[test]
fn an_output_flood_is_cut_at_the_output_limit() {
    const FLOOD: usize = 4 << 20;
    let (flood, run) = attack("hostile-output-flood");
    // The 4 MiB summary is over the 64 KiB limit: the host refuses the outcome.
    assert_eq!(flood["status"], "limit-exceeded", "{run}");
    let detail = flood["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("output"), "{detail:?}");
    assert!(flood["outcome"].is_null(), "{run}");
    // The 4 MiB of stdout are kept up to the limit only.
    let stdout = flood["stdout"].as_str().unwrap_or_default();
    assert!(stdout.len() <= 64 << 10, "{} bytes of stdout kept", stdout.len());
    assert!(
        run.stdout.len() < FLOOD / 8,
        "palisade printed {} bytes",
        run.stdout.len()
    );
    assert!(
        run.stderr.len() < FLOOD / 8,
        "palisade logged {} bytes",
        run.stderr.len()
    );
}

#[test]
fn a_plugins_stdout_goes_to_the_log_attributed_to_it() {
    let (printer, run) = attack("hostile-stdout");
    assert_eq!(printer["status"], "completed", "{run}");
    assert_eq!(note(&printer, "printed").as_deref(), Some("yes"));
    let log = run.stderr_plain();
    for line in ["hello from the hostile plugin", "to stderr"] {
        assert!(
            log.lines()
                .any(|l| l.contains(line) && l.contains("hostile-stdout") && l.contains(HOSTILE_ALERT)),
            "no log line with {line:?}, the plugin and the alert\n{run}"
        );
    }
    // And it is not mistaken for palisade's own output.
    assert!(!run.stdout.lines().any(|l| l.starts_with("hello from")), "{run}");
}

#[test]
fn a_component_importing_a_foreign_interface_is_refused_at_load() {
    let evil = wat::parse_str(
        r#"
(component
  (import "evil:backdoor/shell@1.0.0" (instance
    (export "run" (func))
  ))
)
"#,
    )
    .expect("the WAT is a valid component");
    let case = Case::new();
    case.write("evil.wasm", evil);
    case.config(
        r#"
[plugins.evil]
path = "evil.wasm"
stage = "enrich"

[plugins.triage]
path = "${TRIAGE}"
stage = "triage"
"#,
    );
    case.alerts(&[
        plain_alert("plain-a", "edr-powershell-01"),
        plain_alert("plain-b", "edr-powershell-02"),
    ]);

    let run = case.run();
    assert_eq!(run.code, Some(3), "{run}");
    let errors = run.records("plugin-error");
    assert_eq!(errors.len(), 1, "{run}");
    assert_eq!(errors[0]["plugin"], "evil");
    let error = errors[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("evil:backdoor/shell"), "{error:?}");
    for id in ["plain-a", "plain-b"] {
        assert_eq!(run.plugins_run(id), ["triage"], "{run}");
        assert_eq!(run.plugin(id, "triage")["status"], "completed", "{run}");
        assert!(!notes(&run.plugin(id, "triage")).is_empty());
    }
    let summary = run.summary();
    assert_eq!(summary["plugins_not_loaded"], 1, "{summary}");
    assert_eq!(summary["alerts"], 2, "{summary}");
}

/// Every alert gets a fresh instance: nothing a plugin keeps from one alert (in a global, on
/// its heap, in pages it grew or freed) is there for the next, even when the pool hands the
/// same memory back, one alert after another.
#[test]
fn a_plugin_cannot_carry_data_from_one_alert_to_the_next() {
    let case = Case::new();
    case.config(
        "[defaults]\nconcurrency = 1\n\n[plugins.hostile-remember]\npath = \"${HOSTILE}\"\n\
         stage = \"enrich\"\nsettings = { attack = \"remember\" }\n",
    );
    let ids = ["remember-1", "remember-2", "remember-3", "remember-4"];
    let alerts: Vec<String> = ids.iter().map(|id| plain_alert(id, "hostile-remember")).collect();
    case.alerts(&alerts);
    let run = case.run();
    assert_eq!(run.code, Some(0), "{run}");

    for id in ids {
        let remember = run.plugin(id, "hostile-remember");
        assert_eq!(remember["status"], "completed", "{run}");
        let note = |key: &str| note(&remember, key).unwrap_or_else(|| panic!("no note {key}\n{run}"));
        assert_eq!(
            note("earlier_calls"),
            "0",
            "the instance outlived an alert\n{run}"
        );
        assert_eq!(note("found"), "", "{id} found what earlier alerts left\n{run}");
        // The search works: it finds every mark this alert just left.
        assert_eq!(note("planted"), "5", "{run}");
        assert_eq!(note("missed"), "0", "{run}");
    }
}

#[test]
fn an_error_is_cut_at_the_output_limit_and_empty_notes_still_count() {
    let (error, run) = attack("hostile-huge-error");
    assert_eq!(error["status"], "failed", "{run}");
    let detail = error["detail"].as_str().unwrap_or_default();
    assert!(
        detail.len() <= (64 << 10) + 200,
        "{} bytes of error kept",
        detail.len()
    );
    assert!(
        detail.contains("cut"),
        "the cut is said: {}",
        &detail[detail.len().saturating_sub(200)..]
    );
    assert!(
        run.stdout.len() < 4 << 20 && run.stderr.len() < 4 << 20,
        "the 8 MiB error was printed"
    );

    let (notes, run) = attack("hostile-empty-notes");
    assert_eq!(notes["status"], "limit-exceeded", "{run}");
    assert!(notes["outcome"].is_null(), "{run}");
}

#[test]
fn a_plugins_strings_cannot_drive_the_operators_terminal() {
    let case = Case::new();
    case.config(
        "[plugins.hostile-terminal]\npath = \"${HOSTILE}\"\nstage = \"enrich\"\n\
         settings = { attack = \"terminal\" }\n",
    );
    case.alerts(&[plain_alert(HOSTILE_ALERT, "hostile-01")]);
    let run = case.palisade(&["run", "--config", "palisade.toml", "alerts.jsonl"]);
    assert_eq!(run.code, Some(0), "{run}");
    assert!(
        !run.stdout.contains('\u{1b}') && !run.stdout.contains('\r'),
        "{run}"
    );
    assert!(
        run.stdout.contains("\\u{1b}[31m"),
        "the escape is shown, not obeyed: {run}"
    );
    assert!(
        !run.stdout.lines().any(|line| line.starts_with("ok  fake-1")),
        "a plugin forged a line of the report: {run}"
    );
}

#[test]
fn a_ticket_with_a_million_tags_is_refused_before_any_vendor_sees_it() {
    let case = Case::new();
    case.config(
        "[defaults.connectors]\nticket = \"local\"\n\n[connectors.local]\nkind = \"embedded\"\n\
         outbox = \"outbox.jsonl\"\n\n[plugins.hostile-ticket-tags]\npath = \"${HOSTILE}\"\n\
         stage = \"notify\"\ngrants = [\"ticket.create\"]\nsettings = { attack = \"ticket-tags\" }\n\
         limits = { memory_mib = 128, timeout_ms = 20000, arguments_kib = 65536 }\n",
    );
    case.alerts(&[plain_alert(HOSTILE_ALERT, "hostile-01")]);
    let run = case.run();
    let plugin = run.plugin(HOSTILE_ALERT, "hostile-ticket-tags");
    assert_eq!(plugin["status"], "completed", "{run}");
    let ticket = note(&plugin, "ticket").unwrap_or_default();
    assert!(
        ticket.starts_with("err:") && ticket.contains("at most 100 tags"),
        "{ticket}"
    );
    let outbox = std::fs::read_to_string(case.dir().join("outbox.jsonl")).unwrap_or_default();
    assert!(outbox.is_empty(), "{} bytes reached the outbox", outbox.len());
}

#[test]
fn a_plugins_state_stops_at_its_quota_across_alerts() {
    let case = Case::new();
    case.config(
        "[plugins.hostile-kv-flood]\npath = \"${HOSTILE}\"\nstage = \"enrich\"\n\
         grants = [\"kv.set\"]\nsettings = { attack = \"kv-flood\" }\n\
         limits = { kv_mib = 1, host_calls = 1000 }\n",
    );
    case.alerts(&[
        plain_alert(HOSTILE_ALERT, "hostile-01"),
        plain_alert("hostile-2", "hostile-01"),
    ]);
    let run = case.run();
    let first = run.plugin(HOSTILE_ALERT, "hostile-kv-flood");
    let second = run.plugin("hostile-2", "hostile-kv-flood");
    let stored = |plugin: &Value| {
        note(plugin, "stored")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(u32::MAX)
    };
    // 1 MiB holds 15 values of 64 KiB and their keys, for both alerts together.
    assert!(stored(&first) + stored(&second) <= 16, "{run}");
    for plugin in [&first, &second] {
        let refusal = note(plugin, "refusal").unwrap_or_default();
        assert!(refusal.contains("kv quota reached"), "{refusal}\n{run}");
    }
}

#[test]
fn notifications_past_the_hourly_limit_are_refused_across_alerts_and_runs() {
    let case = Case::new();
    case.config(
        "[defaults.connectors]\nnotify = \"local\"\n\n[connectors.local]\nkind = \"embedded\"\n\
         outbox = \"outbox.jsonl\"\n\n[plugins.hostile-notify-flood]\npath = \"${HOSTILE}\"\n\
         stage = \"notify\"\ngrants = [\"notify.send\"]\n\
         settings = { attack = \"notify-flood\", count = 50 }\n\
         limits = { notifications_per_hour = 5 }\n",
    );
    case.alerts(&[
        plain_alert(HOSTILE_ALERT, "hostile-01"),
        plain_alert("hostile-2", "hostile-01"),
    ]);
    let sent = |run: &Run| -> u32 {
        [HOSTILE_ALERT, "hostile-2"]
            .iter()
            .map(|id| {
                let plugin = run.plugin(id, "hostile-notify-flood");
                note(&plugin, "sent")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(u32::MAX)
            })
            .sum()
    };
    let first = case.run();
    assert_eq!(sent(&first), 5, "{first}");
    let refused = first.plugin("hostile-2", "hostile-notify-flood");
    let refusal = note(&refused, "refusal").unwrap_or_default();
    assert!(refusal.contains("5 notifications per hour"), "{refusal}\n{first}");
    // Refused for both alerts, for the same reason: one warning, not one per alert, and the
    // count of the others when the run ends.
    let stderr = first.stderr_plain();
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("refused") && line.contains("notify.send"))
        .collect();
    assert_eq!(warnings.len(), 2, "{first}");
    assert!(
        warnings[1].contains("also_refused_since_last_logged=1"),
        "{first}"
    );

    let again = case.run();
    assert_eq!(sent(&again), 0, "the hour's count outlives the run\n{again}");
    let outbox = std::fs::read_to_string(case.dir().join("outbox.jsonl")).unwrap_or_default();
    assert_eq!(outbox.lines().count(), 5, "{outbox}");

    let audit = case.palisade(&[
        "audit",
        "--config",
        "palisade.toml",
        "--json",
        "--plugin",
        "hostile-notify-flood",
    ]);
    let refusals = audit
        .json()
        .into_iter()
        .filter(|record| record["decision"] == "refused" && record["operation"] == "notify.send")
        .count();
    assert_eq!(refusals, 4, "one per alert and run\n{audit}");
}

/// The hostile plugin comments on `SEC-1`, then on a ticket it opens itself.
fn comment_case(grants: &str) -> (Case, Run) {
    let case = Case::new();
    case.config(&format!(
        "[defaults.connectors]\nticket = \"local\"\n\n[connectors.local]\nkind = \"embedded\"\n\
         outbox = \"outbox.jsonl\"\n\n[plugins.hostile-comment]\npath = \"${{HOSTILE}}\"\n\
         stage = \"notify\"\ngrants = [{grants}]\n\
         settings = {{ attack = \"comment-foreign\", ticket = \"SEC-1\" }}\n"
    ));
    case.alerts(&[plain_alert(HOSTILE_ALERT, "hostile-01")]);
    let run = case.run();
    (case, run)
}

#[test]
fn a_plugin_comments_only_on_tickets_opened_for_its_alert() {
    let (case, run) = comment_case("\"ticket.create\", \"ticket.comment\"");
    let plugin = run.plugin(HOSTILE_ALERT, "hostile-comment");
    let foreign = note(&plugin, "foreign").unwrap_or_default();
    assert!(
        foreign.contains("not opened for this alert") && foreign.contains("ticket.comment-any"),
        "{foreign}\n{run}"
    );
    assert_eq!(note(&plugin, "own").as_deref(), Some("ok"), "{run}");
    let outbox = std::fs::read_to_string(case.dir().join("outbox.jsonl")).unwrap_or_default();
    assert!(
        !outbox.contains("SEC-1"),
        "the foreign comment reached the ticketing system:\n{outbox}"
    );
    assert!(outbox.contains("More evidence."), "{outbox}");

    let audit = case.palisade(&["audit", "--config", "palisade.toml", "--json"]);
    let refused: Vec<Value> = audit
        .json()
        .into_iter()
        .filter(|record| record["decision"] == "refused")
        .collect();
    assert_eq!(refused.len(), 1, "{audit}");
    assert_eq!(refused[0]["operation"], "ticket.comment", "{audit}");
    assert_eq!(refused[0]["target"], "SEC-1", "{audit}");
}

#[test]
fn commenting_on_any_ticket_is_a_grant_of_its_own() {
    let (case, run) = comment_case("\"ticket.create\", \"ticket.comment-any\"");
    let plugin = run.plugin(HOSTILE_ALERT, "hostile-comment");
    assert_eq!(note(&plugin, "foreign").as_deref(), Some("ok"), "{run}");
    assert_eq!(note(&plugin, "own").as_deref(), Some("ok"), "{run}");
    let outbox = std::fs::read_to_string(case.dir().join("outbox.jsonl")).unwrap_or_default();
    assert!(outbox.contains("SEC-1"), "{outbox}");
}

#[test]
fn wasi_http_resources_in_the_host_count_against_the_memory_limit() {
    let case = Case::new();
    case.config(
        "[plugins.hostile-http-hoard]\npath = \"${HOSTILE}\"\nstage = \"enrich\"\n\
         settings = { attack = \"http-hoard\" }\nlimits = { memory_mib = 32 }\n\n\
         [plugins.hostile-http-body]\npath = \"${HOSTILE}\"\nstage = \"enrich\"\n\
         settings = { attack = \"http-body-buffer\" }\n",
    );
    case.alerts(&[plain_alert(HOSTILE_ALERT, "hostile-01")]);
    let run = case.run();

    // 4096 header maps of 64 KiB would hold 256 MiB of the host's memory.
    let hoard = run.plugin(HOSTILE_ALERT, "hostile-http-hoard");
    assert_eq!(hoard["status"], "limit-exceeded", "{run}");
    let detail = hoard["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("memory limit of 32 MiB"), "{detail:?}\n{run}");

    // A body never sent holds at most two chunks of 64 KiB.
    let body = run.plugin(HOSTILE_ALERT, "hostile-http-body");
    assert_eq!(body["status"], "completed", "{run}");
    let accepted: u64 = note(&body, "accepted")
        .and_then(|n| n.parse().ok())
        .unwrap_or(u64::MAX);
    assert!(accepted <= 128 << 10, "{accepted} bytes buffered\n{run}");
}

#[test]
fn what_a_plugin_hands_the_host_is_counted_against_its_budget() {
    let case = Case::new();
    case.config(
        "[plugins.hostile-argument-flood]\npath = \"${HOSTILE}\"\nstage = \"enrich\"\n\
         grants = [\"kv.set\"]\nsettings = { attack = \"argument-flood\" }\n\
         limits = { arguments_kib = 256, host_calls = 1000 }\n",
    );
    case.alerts(&[plain_alert(HOSTILE_ALERT, "hostile-01")]);
    let run = case.run();
    let plugin = run.plugin(HOSTILE_ALERT, "hostile-argument-flood");
    // Three values of 64 KiB and their key fit in 256 KiB; the fourth does not.
    assert_eq!(note(&plugin, "accepted").as_deref(), Some("3"), "{run}");
    let refusal = note(&plugin, "refusal").unwrap_or_default();
    assert!(refusal.contains("256 KiB of arguments"), "{refusal}\n{run}");
}
