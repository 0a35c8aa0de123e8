//! Replays every committed corpus file and crash reproducer through its target, on stable, as
//! part of `cargo test`: a regression of anything the fuzzers found fails the normal suite
//! without nightly or libFuzzer. Each target's body is run exactly as `fuzz/fuzz_targets/`
//! runs it.

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The slowest one input may be in a debug build (plugin inputs compile a component);
/// libFuzzer's `-timeout` in fuzz/run is the real bound.
const SLOW: Duration = Duration::from_secs(10);

fn inputs(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = match fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

fn fuzz_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

#[test]
fn every_corpus_file_and_reproducer_replays_without_a_panic() {
    let fuzz = fuzz_dir();
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, body) in palisade_fuzz_targets::TARGETS {
        let corpus = inputs(&fuzz.join("corpus").join(name));
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{name} has no seed: commit at least one"
        );
        for file in corpus.iter().chain(&inputs(&fuzz.join("artifacts").join(name))) {
            let data = fs::read(file).unwrap();
            let start = Instant::now();
            if panic::catch_unwind(|| body(&data)).is_err() {
                failures.push(format!("{name}: {} panicked", file.display()));
            } else if start.elapsed() > SLOW {
                failures.push(format!("{name}: {} took {:?}", file.display(), start.elapsed()));
            }
            replayed += 1;
        }
    }
    eprintln!("replayed {replayed} inputs");
    assert!(
        failures.is_empty(),
        "{} inputs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Every cargo-fuzz target is listed in TARGETS (else its corpus would never be replayed), and
/// every listed target has its shim and its `[[bin]]`.
#[test]
fn every_fuzz_target_is_replayed() {
    let fuzz = fuzz_dir();
    let manifest = fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
    let shims: Vec<String> = inputs(&fuzz.join("fuzz_targets"))
        .iter()
        .map(|path| path.file_stem().unwrap().to_str().unwrap().to_owned())
        .collect();
    for shim in &shims {
        assert!(
            palisade_fuzz_targets::TARGETS
                .iter()
                .any(|(name, _)| name == shim),
            "fuzz/fuzz_targets/{shim}.rs is not in TARGETS"
        );
    }
    for (name, _) in palisade_fuzz_targets::TARGETS {
        assert!(
            shims.iter().any(|shim| shim == name),
            "{name} has no fuzz/fuzz_targets/{name}.rs"
        );
        let shim = fs::read_to_string(fuzz.join("fuzz_targets").join(format!("{name}.rs"))).unwrap();
        assert!(
            shim.contains(&format!("palisade_fuzz_targets::{name}(data)")),
            "fuzz/fuzz_targets/{name}.rs calls another body"
        );
        assert!(
            manifest.contains(&format!("name = \"{name}\"")),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
    }
}
