//! The compiled-code cache with the big components: a Python or JavaScript plugin is 12-18 MB
//! and takes seconds to compile, so the second run must load it from the cache, and a changed
//! file must be compiled again, never answered with the old code.

use palisade_e2e::{Case, Run, foreign_plugin};
use serde_json::Value;

/// `compiled_from` of each plugin-loaded record, by plugin name.
fn compiled_from(run: &Run) -> Vec<(String, String)> {
    let mut loaded: Vec<(String, String)> = run
        .records("plugin-loaded")
        .iter()
        .map(|record| {
            (
                record["plugin"].as_str().unwrap_or_default().to_owned(),
                record["compiled_from"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    loaded.sort();
    loaded
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(p, f)| (p.to_string(), f.to_string()))
        .collect()
}

#[test]
fn python_and_javascript_plugins_compile_once_and_again_only_when_the_file_changes() {
    let python = foreign_plugin("phishing-triage");
    let javascript = foreign_plugin("impossible-travel");
    let case = Case::new();
    // Copies: this test changes one, and other test processes may rebuild the originals.
    let copy = case.write(
        "phishing-triage.wasm",
        std::fs::read(&python).expect("read the Python plugin"),
    );
    let javascript = case.write(
        "impossible-travel.wasm",
        std::fs::read(&javascript).expect("read the JavaScript plugin"),
    );
    // A cache of its own, empty at first, unlike the one the other cases share.
    case.config(&format!(
        r#"
[defaults]
compiled_dir = "compiled"

[plugins.phishing-triage]
path = "{}"
stage = "triage"

[plugins.impossible-travel]
path = "{}"
stage = "triage"
"#,
        copy.display(),
        javascript.display()
    ));
    case.alerts(&[]);

    let first = case.run();
    assert_eq!(first.code, Some(0), "{first}");
    assert_eq!(
        compiled_from(&first),
        pairs(&[("impossible-travel", "source"), ("phishing-triage", "source")]),
        "{first}"
    );

    let second = case.run();
    assert_eq!(second.code, Some(0), "{second}");
    assert_eq!(
        compiled_from(&second),
        pairs(&[("impossible-travel", "cache"), ("phishing-triage", "cache")]),
        "{second}"
    );
    assert!(
        second
            .stderr_plain()
            .lines()
            .any(|line| line.contains("plugin loaded") && line.contains("compiled_from=cache")),
        "the log says where the code came from:\n{}",
        second.stderr
    );
    let load_ms = |run: &Run| -> Vec<f64> {
        run.records("plugin-loaded")
            .iter()
            .map(|r| r["load_ms"].as_f64().expect("load_ms is a number"))
            .collect()
    };
    // Not a timing assertion: both runs report a cost, so a script can compare them.
    assert!(
        load_ms(&first)
            .iter()
            .chain(&load_ms(&second))
            .all(|ms| *ms > 0.0)
    );

    // Another build of the plugin: here the same code with a custom section appended, which
    // changes the bytes and nothing else.
    let mut changed = std::fs::read(&copy).expect("read the copy");
    changed.extend_from_slice(&[0, 8, 7]);
    changed.extend_from_slice(b"rebuilt");
    std::fs::write(&copy, changed).expect("change the copy");
    let third = case.run();
    assert_eq!(third.code, Some(0), "{third}");
    assert_eq!(
        compiled_from(&third),
        pairs(&[("impossible-travel", "cache"), ("phishing-triage", "source")]),
        "{third}"
    );
    let sha = |run: &Run| -> Value {
        run.records("plugin-loaded")
            .into_iter()
            .find(|r| r["plugin"] == "phishing-triage")
            .map(|r| r["sha256"].clone())
            .unwrap_or_default()
    };
    assert_ne!(
        sha(&second),
        sha(&third),
        "the changed file is a different plugin"
    );
}
