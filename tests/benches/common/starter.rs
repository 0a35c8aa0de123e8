//! The starter plugin `palisade plugin new` writes, in each language it offers: the same triage
//! logic (a risk score from severity and confidence, a verdict, two notes, a tag, one
//! `config.get` and one `log`) in Rust, Python, JavaScript and C, so timing them side by side
//! compares the languages' runtimes and nothing else.
//!
//! Each is scaffolded by the real binary in a temporary folder and built with the project's own
//! `build` script and the pinned toolchains (`palisade_e2e::project_script`), as the e2e test
//! `scaffold` does. The component is kept under `target/bench-starters/`, keyed by every file
//! of the generated project and the toolchain pins (`plugins/toolchains/env`), so a change to
//! a template or a pin builds it again and anything else reuses it: a Python or JavaScript
//! build takes tens of seconds.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The languages, as `palisade plugin new --lang` names them.
pub const LANGUAGES: [&str; 4] = ["rust", "python", "js", "c"];

/// A built starter plugin.
#[derive(Debug, Clone)]
pub struct Starter {
    pub lang: String,
    /// The component.
    pub wasm: PathBuf,
    /// The project's fixture alert (`fixtures/alert.json`), the native format.
    pub alert: String,
}

/// Every file under `dir`, by path relative to it, with its contents.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).expect("read the project") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let contents = std::fs::read(&path).expect("read a project file");
                files.insert(path.strip_prefix(dir).expect("under dir").to_owned(), contents);
            }
        }
    }
    files
}

/// Scaffolds `starter-LANG` and returns its component, built now or by an earlier run.
pub fn starter(lang: &str) -> Starter {
    let palisade = &palisade_e2e::artifacts().palisade;
    let dir = tempfile::tempdir().expect("a temporary folder");
    let name = format!("starter-{lang}");
    let created = Command::new(palisade)
        .args(["plugin", "new", &name, "--lang", lang])
        .current_dir(dir.path())
        .output()
        .expect("run palisade plugin new");
    assert!(
        created.status.success(),
        "plugin new --lang {lang}: {}",
        palisade_e2e::show_output(&created)
    );
    let project = dir.path().join(&name);

    let mut hasher = DefaultHasher::new();
    files(&project).hash(&mut hasher);
    std::fs::read(palisade_e2e::workspace_root().join("plugins/toolchains/env"))
        .expect("read plugins/toolchains/env")
        .hash(&mut hasher);
    let built = palisade_e2e::target_dir()
        .join("bench-starters")
        .join(format!("{name}-{:016x}.wasm", hasher.finish()));
    if !built.is_file() {
        let build = palisade_e2e::project_script(&project, "./build")
            .output()
            .expect("run the project's build");
        assert!(
            build.status.success(),
            "{lang} build: {}",
            palisade_e2e::show_output(&build)
        );
        std::fs::create_dir_all(built.parent().expect("a file in a folder"))
            .expect("create target/bench-starters");
        // Copied aside and renamed into place: another process may be reading the last one.
        let partial = built.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::copy(project.join(format!("{name}.wasm")), &partial)
            .unwrap_or_else(|e| panic!("{lang}: the build produced no {name}.wasm: {e}"));
        std::fs::rename(&partial, &built).expect("rename the component into place");
    }
    let alert = std::fs::read_to_string(project.join("fixtures/alert.json")).expect("the fixture alert");
    Starter {
        lang: lang.to_owned(),
        wasm: built,
        alert,
    }
}
