//! End to end: `palisade plugin new` writes a project, in each language, that builds with its
//! own `build` script and passes its own `test` script against the real binary; and it never
//! writes into a folder that has something in it.
//!
//! The builds use the pinned toolchains of `plugins/toolchains/setup` (the README's test
//! command runs it), put on PATH by `plugins/toolchains/env`, so no network is needed: the
//! JavaScript project's build takes componentize-js from PATH, and the Rust project's builds
//! share one target folder under target/, so wit-bindgen is compiled once.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use palisade_e2e::{artifacts, project_script, show_output};
use serde_json::Value;

/// Runs `palisade ARGS` in `dir`.
fn palisade(dir: &Path, args: &[&str]) -> Output {
    Command::new(&artifacts().palisade)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run palisade")
}

/// `plugin new` in a fresh folder, then the project's `build`, then its `test`; then `test`
/// again with a setting that changes the verdict, so the outcome is the plugin's own logic.
fn new_project_builds_and_passes_its_test(lang: &str) {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("starter-{lang}");
    let created = palisade(dir.path(), &["plugin", "new", &name, "--lang", lang]);
    assert!(created.status.success(), "plugin new: {}", show_output(&created));
    let stdout = String::from_utf8_lossy(&created.stdout);
    assert!(stdout.contains(&format!("cd {name} && ./build")), "{stdout}");
    assert!(stdout.contains("./test"), "{stdout}");
    let project = dir.path().join(&name);
    assert!(project.join("wit/world.wit").is_file());

    let build = project_script(&project, "./build").output().expect("run build");
    assert!(build.status.success(), "{lang} build: {}", show_output(&build));
    let wasm = project.join(format!("{name}.wasm"));
    assert!(wasm.is_file(), "{lang}: build did not produce {}", wasm.display());

    let test = project_script(&project, "./test").output().expect("run test");
    assert!(test.status.success(), "{lang} test: {}", show_output(&test));
    let stdout = String::from_utf8_lossy(&test.stdout);
    assert!(stdout.contains("expectations met"), "{lang}: {stdout}");
    assert!(stdout.contains(&format!("{name}: completed")), "{lang}: {stdout}");

    // Above the fixture's confidence (80), the verdict turns benign and the fixture's
    // expectations fail: exit 1, with the plugin's own reasons.
    let strict = project_script(&project, "./test --setting min_confidence=95 --json")
        .output()
        .expect("run test");
    assert_eq!(strict.status.code(), Some(1), "{lang}: {}", show_output(&strict));
    let report: Value =
        serde_json::from_slice(&strict.stdout).unwrap_or_else(|e| panic!("{e}: {}", show_output(&strict)));
    assert_eq!(report["status"], "completed", "{lang}: {report}");
    assert_eq!(report["verdict"], "benign", "{lang}: {report}");
    assert_eq!(report["risk_score"], 56, "{lang}: {report}");
    assert_eq!(
        report["tags"],
        serde_json::json!(["triage:benign"]),
        "{lang}: {report}"
    );
    let notes: BTreeMap<&str, &str> = report["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|note| (note["key"].as_str().unwrap(), note["value"].as_str().unwrap()))
        .collect();
    assert_eq!(notes.get("low_confidence"), Some(&"80 < 95"), "{lang}: {report}");
    assert_eq!(
        notes.get("risk"),
        Some(&"high=70 at 80% confidence -> 56"),
        "{lang}: {report}"
    );
    assert_eq!(report["calls"], serde_json::json!([]), "{lang}: {report}");
}

#[test]
fn a_new_rust_project_builds_and_passes_its_test() {
    new_project_builds_and_passes_its_test("rust");
}

#[test]
fn a_new_python_project_builds_and_passes_its_test() {
    new_project_builds_and_passes_its_test("python");
}

#[test]
fn a_new_js_project_builds_and_passes_its_test() {
    new_project_builds_and_passes_its_test("js");
}

#[test]
fn a_new_c_project_builds_and_passes_its_test() {
    new_project_builds_and_passes_its_test("c");
}

/// Every file under `dir` with its contents.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let contents = std::fs::read(&path).unwrap();
                files.insert(path.strip_prefix(dir).unwrap().to_owned(), contents);
            }
        }
    }
    files
}

#[test]
fn a_second_plugin_new_into_the_same_folder_fails_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let first = palisade(
        dir.path(),
        &["plugin", "new", "vip-triage", "--lang", "python", "--dir", "here"],
    );
    assert!(first.status.success(), "{}", show_output(&first));
    let project = dir.path().join("here");
    // The author's work so far.
    std::fs::write(project.join("app.py"), "# mine\n").unwrap();
    let before = snapshot(&project);
    assert!(before.contains_key(Path::new("fixtures/expect.toml")));

    for lang in ["python", "rust"] {
        let again = palisade(
            dir.path(),
            &["plugin", "new", "vip-triage", "--lang", lang, "--dir", "here"],
        );
        assert_eq!(again.status.code(), Some(2), "{}", show_output(&again));
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert!(stderr.contains("not an empty folder"), "{stderr}");
        assert_eq!(snapshot(&project), before, "{lang}: the project changed");
    }

    // The default folder is ./NAME: the same refusal when it holds anything.
    std::fs::create_dir(dir.path().join("vip-triage")).unwrap();
    std::fs::write(dir.path().join("vip-triage/notes.txt"), "keep").unwrap();
    let default = palisade(dir.path(), &["plugin", "new", "vip-triage", "--lang", "c"]);
    assert_eq!(default.status.code(), Some(2), "{}", show_output(&default));
    assert_eq!(
        snapshot(&dir.path().join("vip-triage")),
        BTreeMap::from([(PathBuf::from("notes.txt"), b"keep".to_vec())])
    );
}

#[test]
fn a_bad_name_is_refused_with_the_rule_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["VipTriage", "vip_triage", "9lives", "../escape", "vip-"] {
        let output = palisade(dir.path(), &["plugin", "new", name, "--lang", "rust"]);
        assert_eq!(output.status.code(), Some(2), "{name}: {}", show_output(&output));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("lower-case letters"), "{name}: {stderr}");
    }
    let unknown = palisade(dir.path(), &["plugin", "new", "vip", "--lang", "cobol"]);
    assert_eq!(unknown.status.code(), Some(2), "{}", show_output(&unknown));
    assert!(snapshot(dir.path()).is_empty());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
