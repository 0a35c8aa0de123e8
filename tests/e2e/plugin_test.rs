//! `palisade plugin test` as a plugin author meets it: the password-spray plugin on a spray
//! fixture, with connector answers from a file and no network; expectations that hold exit 0,
//! a wrong one exits 1 naming the difference, a malformed replies file exits 2 naming the line;
//! the ip-reputation plugin shows lookups listed with their answers.

use palisade_e2e::{Case, SPRAY_IP, artifacts, spray_alert};
use serde_json::Value;

const REPLIES: &str = r#"
[[intel]]
indicator = "203.0.113.7"
reputation = "malicious"
score = 95

[[users]]
name = "alice"
groups = ["finance"]

[[users]]
name = "bob"
"#;

/// A case with the spray fixture and the replies file; returns the plugin's path.
fn spray_case() -> (Case, String) {
    let case = Case::new();
    case.write("spray.json", spray_alert("spray-1", 92));
    case.write("replies.toml", REPLIES);
    (case, artifacts().password_spray.display().to_string())
}

fn expect(calls: &[&str]) -> String {
    let calls: Vec<String> = calls.iter().map(|call| format!("{call:?}")).collect();
    format!(
        "verdict = \"malicious\"\ntags = [\"password-spray\", \"contained\"]\nnotes = {{ ips_blocked = \"1 of 1\" }}\ncalls = [{}]\n",
        calls.join(", ")
    )
}

fn args<'a>(wasm: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "plugin",
        "test",
        wasm,
        "--alert",
        "spray.json",
        "--replies",
        "replies.toml",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn expectations_that_hold_exit_0_and_the_calls_show_their_decisions() {
    let (case, wasm) = spray_case();
    let block = format!("network.block-ip {SPRAY_IP}");
    case.write(
        "expect.toml",
        expect(&[
            "identity.revoke-sessions alice",
            "identity.revoke-sessions bob",
            &block,
            &format!("ticket.create Password spray from {SPRAY_IP}: 2 of 3 accounts signed in"),
        ]),
    );

    let text = case.palisade(&args(&wasm, &["--expect", "expect.toml"]));
    assert_eq!(text.code, Some(0), "{text}");
    assert!(text.stdout.contains(&format!("{block}: executed")), "{text}");
    assert!(text.stdout.contains("verdict:   malicious"), "{text}");
    assert!(text.stdout.contains("expectations met"), "{text}");

    let json = case.palisade(&args(&wasm, &["--json", "--grant", "network.block-ip"]));
    assert_eq!(json.code, Some(0), "{json}");
    let value: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}\n{json}"));
    let statuses: Vec<(String, String)> = value["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            (
                c["operation"].as_str().unwrap_or_default().to_owned(),
                c["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(
        statuses.contains(&("network.block-ip".into(), "executed".into())),
        "{json}"
    );
    assert!(
        statuses.contains(&("identity.revoke-sessions".into(), "denied".into())),
        "{json}"
    );
    assert_eq!(value["outbox"].as_array().map(Vec::len), Some(1), "{json}");
}

#[test]
fn a_wrong_expected_call_exits_1_naming_the_difference() {
    let (case, wasm) = spray_case();
    case.write(
        "expect.toml",
        expect(&[
            "identity.revoke-sessions alice",
            "identity.revoke-sessions carol",
            &format!("network.block-ip {SPRAY_IP}"),
            &format!("ticket.create Password spray from {SPRAY_IP}: 2 of 3 accounts signed in"),
        ]),
    );

    let run = case.palisade(&args(&wasm, &["--expect", "expect.toml"]));
    assert_eq!(run.code, Some(1), "{run}");
    assert!(
        run.stdout
            .contains("call expected but not made: identity.revoke-sessions carol"),
        "{run}"
    );
    assert!(
        run.stdout
            .contains("call made but not expected: identity.revoke-sessions bob (executed)"),
        "{run}"
    );
}

#[test]
fn a_malformed_replies_file_exits_2_naming_the_line() {
    let (case, wasm) = spray_case();
    case.write(
        "replies.toml",
        "[[users]]\nname = \"alice\"\n\n[[hosts]]\nhostname = \"laptop-7\"\ncolour = \"red\"\n",
    );

    let run = case.palisade(&args(&wasm, &[]));
    assert_eq!(run.code, Some(2), "{run}");
    assert!(run.stderr.contains("replies.toml:6:"), "{run}");
    assert!(run.stderr.contains("colour"), "{run}");
}

#[test]
fn lookups_are_listed_with_their_answers_and_can_be_expected() {
    let case = Case::new();
    case.write("spray.json", spray_alert("spray-1", 92));
    case.write("replies.toml", REPLIES);
    let wasm = artifacts().ip_reputation.display().to_string();

    let run = case.palisade(&args(&wasm, &["--json"]));
    assert_eq!(run.code, Some(0), "{run}");
    let report: Value = serde_json::from_str(run.stdout.trim()).expect("one JSON report");
    let reads: Vec<(String, String)> = report["reads"]
        .as_array()
        .expect("reads")
        .iter()
        .map(|read| {
            (
                format!(
                    "{} {}",
                    read["operation"].as_str().unwrap(),
                    read["target"].as_str().unwrap()
                ),
                read["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reads,
        [(format!("intel.lookup {SPRAY_IP}"), "answered".to_owned())],
        "{run}"
    );
    let text = case.palisade(&args(&wasm, &[]));
    assert!(
        text.stdout
            .contains(&format!("intel.lookup {SPRAY_IP}: answered")),
        "{text}"
    );

    // A lookup the author expected but the plugin did not make is a difference.
    case.write("expect.toml", "reads = [\"intel.lookup 198.51.100.1\"]\n");
    let wrong = case.palisade(&args(&wasm, &["--expect", "expect.toml"]));
    assert_eq!(wrong.code, Some(1), "{wrong}");
    assert!(
        wrong
            .stdout
            .contains("read expected but not made: intel.lookup 198.51.100.1"),
        "{wrong}"
    );
    case.write("expect.toml", format!("reads = [\"intel.lookup {SPRAY_IP}\"]\n"));
    let right = case.palisade(&args(&wasm, &["--expect", "expect.toml"]));
    assert_eq!(right.code, Some(0), "{right}");
}
