//! `palisade plugin new`: writes a plugin project that builds as it is, in Rust, Python,
//! JavaScript or C. Every project has the WIT of `palisade:action@0.1.0` (the copy this binary
//! was built with), a fixture alert with the outcome the starter logic gives it, a `build`
//! script that produces `NAME.wasm` and a `test` script that runs `palisade plugin test` on it.
//!
//! The templates are files under `scaffold/`, embedded in the binary; `@NAME@` in them is the
//! plugin's name. Nothing is ever overwritten: the target folder must not exist or be empty,
//! and each file is created only if it is not there.

use super::exit;
use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct NewArgs {
    /// The plugin's name: lower-case letters and digits in words joined by single `-`,
    /// starting with a letter, at most 64 characters (e.g. `vip-triage`).
    #[arg(value_parser = PluginName::parse)]
    name: PluginName,
    /// The language to write it in.
    #[arg(long, value_enum)]
    lang: Lang,
    /// The folder to create it in (default: ./NAME). It must not exist or be empty.
    #[arg(long, value_name = "PATH")]
    dir: Option<PathBuf>,
}

/// The languages a project can be written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    Rust,
    Python,
    Js,
    C,
}

impl Lang {
    fn title(self) -> &'static str {
        match self {
            Lang::Rust => "Rust",
            Lang::Python => "Python",
            Lang::Js => "JavaScript",
            Lang::C => "C",
        }
    }

    /// The language's guide in the Palisade repository.
    fn guide(self) -> &'static str {
        match self {
            Lang::Rust => "docs/plugins/rust.md",
            Lang::Python => "docs/plugins/python.md",
            Lang::Js => "docs/plugins/javascript.md",
            Lang::C => "docs/plugins/c.md",
        }
    }
}

/// A plugin name as `plugin new` accepts it: also a valid name in `palisade.toml`, an npm
/// package name and a Cargo package name, and safe inside any string literal of the templates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginName(String);

/// The longest name accepted.
pub const MAX_NAME_LEN: usize = 64;

impl PluginName {
    pub fn parse(text: &str) -> Result<Self, String> {
        const RULE: &str = "a plugin name is lower-case letters and digits in words joined by single `-`, \
                            starting with a letter, e.g. `vip-triage`";
        let first = text.chars().next();
        if text.is_empty() {
            return Err(format!("the name is empty; {RULE}"));
        }
        if text.len() > MAX_NAME_LEN {
            return Err(format!(
                "the name is {} characters long, at most {MAX_NAME_LEN} are allowed",
                text.chars().count()
            ));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
        {
            return Err(format!("{text:?} contains {bad:?}; {RULE}"));
        }
        if !first.is_some_and(|c| c.is_ascii_lowercase()) {
            return Err(format!("{text:?} does not start with a letter; {RULE}"));
        }
        if text.ends_with('-') || text.contains("--") {
            return Err(format!("{text:?} has an empty word between `-`; {RULE}"));
        }
        Ok(PluginName(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PluginName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a project was not created.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    /// The target is a file, or a folder with something in it.
    #[error("{} already exists and is not an empty folder; nothing was written (choose another --dir)", .0.display())]
    NotEmpty(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The WIT of `palisade:action@0.1.0`, as this binary was built with it (`wit/v0.1.0`).
pub const WIT: [(&str, &str); 10] = [
    (
        "host-interfaces.wit",
        include_str!("../../../wit/v0.1.0/host-interfaces.wit"),
    ),
    ("types.wit", include_str!("../../../wit/v0.1.0/types.wit")),
    ("world.wit", include_str!("../../../wit/v0.1.0/world.wit")),
    ("deps/cli.wit", include_str!("../../../wit/v0.1.0/deps/cli.wit")),
    (
        "deps/clocks.wit",
        include_str!("../../../wit/v0.1.0/deps/clocks.wit"),
    ),
    (
        "deps/filesystem.wit",
        include_str!("../../../wit/v0.1.0/deps/filesystem.wit"),
    ),
    ("deps/http.wit", include_str!("../../../wit/v0.1.0/deps/http.wit")),
    ("deps/io.wit", include_str!("../../../wit/v0.1.0/deps/io.wit")),
    (
        "deps/random.wit",
        include_str!("../../../wit/v0.1.0/deps/random.wit"),
    ),
    (
        "deps/sockets.wit",
        include_str!("../../../wit/v0.1.0/deps/sockets.wit"),
    ),
];

/// A file of a project: where it goes, what it holds, what it is for (README and output).
struct File {
    path: String,
    contents: Vec<u8>,
    executable: bool,
    about: &'static str,
}

/// One template file of a language: its path in the project, its text and what it is for.
type Template = (&'static str, &'static str, &'static str);

const RUST: &[Template] = &[
    (
        "Cargo.toml",
        include_str!("scaffold/rust/Cargo.toml.in"),
        "the crate: a `cdylib` depending on `wit-bindgen`, in a workspace of its own",
    ),
    (
        ".cargo/config.toml",
        include_str!("scaffold/rust/cargo-config.toml"),
        "builds for `wasm32-wasip2` and links with a 64 KiB stack",
    ),
    (
        "rust-toolchain.toml",
        include_str!("scaffold/rust/rust-toolchain.toml"),
        "the Rust release and target it is built with",
    ),
    (
        "src/lib.rs",
        include_str!("scaffold/rust/src/lib.rs"),
        "the plugin",
    ),
];

const PYTHON: &[Template] = &[
    ("app.py", include_str!("scaffold/python/app.py"), "the plugin"),
    (
        "requirements.txt",
        include_str!("scaffold/python/requirements.txt"),
        "componentize-py, pinned",
    ),
];

const JS: &[Template] = &[
    (
        "app.js",
        include_str!("scaffold/js/app.js"),
        "the plugin, an ES module",
    ),
    (
        "package.json",
        include_str!("scaffold/js/package.json"),
        "componentize-js, pinned, and `npm run build`",
    ),
];

const C: &[Template] = &[("plugin.c", include_str!("scaffold/c/plugin.c"), "the plugin")];

/// The C project's WASI preview1 adapter: from the wasmtime release this host runs plugins with.
const C_ADAPTER: &str = "wasi_snapshot_preview1.reactor.wasm";

fn language_files(lang: Lang) -> (&'static [Template], &'static str, &'static str, &'static str) {
    match lang {
        Lang::Rust => (
            RUST,
            include_str!("scaffold/rust/build.sh"),
            include_str!("scaffold/rust/README.md"),
            include_str!("scaffold/rust/gitignore"),
        ),
        Lang::Python => (
            PYTHON,
            include_str!("scaffold/python/build.sh"),
            include_str!("scaffold/python/README.md"),
            include_str!("scaffold/python/gitignore"),
        ),
        Lang::Js => (
            JS,
            include_str!("scaffold/js/build.sh"),
            include_str!("scaffold/js/README.md"),
            include_str!("scaffold/js/gitignore"),
        ),
        Lang::C => (
            C,
            include_str!("scaffold/c/build.sh"),
            include_str!("scaffold/c/README.md"),
            include_str!("scaffold/c/gitignore"),
        ),
    }
}

/// Every file of a `lang` project named `name`, in the order they are written.
fn project(name: &PluginName, lang: Lang) -> Vec<File> {
    let render = |text: &str| text.replace("@NAME@", name.as_str());
    let (sources, build, readme, gitignore) = language_files(lang);
    let mut files: Vec<File> = sources
        .iter()
        .map(|(path, text, about)| File {
            path: (*path).to_owned(),
            contents: render(text).into_bytes(),
            executable: false,
            about,
        })
        .collect();
    if lang == Lang::C {
        files.push(File {
            path: C_ADAPTER.to_owned(),
            contents: wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER
                .to_vec(),
            executable: false,
            about: "the WASI preview1 adapter of the wasmtime release `palisade` runs plugins with",
        });
    }
    files.extend([
        File {
            path: "build".into(),
            contents: render(build).into_bytes(),
            executable: true,
            about: "builds the component `NAME.wasm`",
        },
        File {
            path: "test".into(),
            contents: render(include_str!("scaffold/common/test.sh")).into_bytes(),
            executable: true,
            about: "runs `palisade plugin test` on the fixture",
        },
        File {
            path: "fixtures/alert.json".into(),
            contents: include_str!("scaffold/common/alert.json").as_bytes().to_vec(),
            executable: false,
            about: "the fixture alert",
        },
        File {
            path: "fixtures/expect.toml".into(),
            contents: include_str!("scaffold/common/expect.toml").as_bytes().to_vec(),
            executable: false,
            about: "what the test expects",
        },
    ]);
    files.extend(WIT.iter().map(|(path, text)| File {
        path: format!("wit/{path}"),
        contents: text.as_bytes().to_vec(),
        executable: false,
        about: "",
    }));
    // The README's table of the language's own files.
    let rows: String = files
        .iter()
        .filter(|file| sources.iter().any(|(path, _, _)| *path == file.path) || file.path == C_ADAPTER)
        .map(|file| format!("| `{}` | {} |\n", file.path, file.about))
        .collect();
    let readme = format!("{readme}{}", include_str!("scaffold/common/README-tail.md"))
        .replace("@FILES@", &rows)
        .replace("@GUIDE@", lang.guide());
    files.push(File {
        path: "README.md".into(),
        contents: render(&readme).into_bytes(),
        executable: false,
        about: "toolchain, build, test, next steps",
    });
    files.push(File {
        path: ".gitignore".into(),
        contents: render(gitignore).into_bytes(),
        executable: false,
        about: "build output",
    });
    files
}

/// Writes a `lang` project named `name` into `dir`, which must not exist or be empty. Returns
/// the files written, relative to `dir`. On an error, what was written is removed again.
pub fn create(dir: &Path, name: &PluginName, lang: Lang) -> Result<Vec<PathBuf>, ScaffoldError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ScaffoldError::Io { path, source }
    };
    let mut written = Written::default();
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {
            if fs::read_dir(dir).map_err(io(dir))?.next().is_some() {
                return Err(ScaffoldError::NotEmpty(dir.to_owned()));
            }
        }
        Ok(_) => return Err(ScaffoldError::NotEmpty(dir.to_owned())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            written.create_dir_all(dir).map_err(io(dir))?;
        }
        Err(error) => return Err(io(dir)(error)),
    }
    let mut created = Vec::new();
    for file in project(name, lang) {
        let path = dir.join(&file.path);
        if let Err(error) = written.write(&path, &file) {
            written.undo();
            return Err(io(&path)(error));
        }
        created.push(PathBuf::from(file.path));
    }
    Ok(created)
}

/// What `create` made, so that a failure part-way leaves nothing of it behind.
#[derive(Default)]
struct Written {
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
}

impl Written {
    /// Creates `dir` and any missing parents, remembering the ones it created.
    fn create_dir_all(&mut self, dir: &Path) -> std::io::Result<()> {
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(path) = at {
            if path.as_os_str().is_empty() || path.exists() {
                break;
            }
            missing.push(path.to_owned());
            at = path.parent();
        }
        for path in missing.into_iter().rev() {
            fs::create_dir(&path)?;
            self.dirs.push(path);
        }
        Ok(())
    }

    /// Writes a new file; an existing one is an error, never overwritten.
    fn write(&mut self, path: &Path, file: &File) -> std::io::Result<()> {
        if let Some(parent) = path.parent() {
            self.create_dir_all(parent)?;
        }
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if file.executable { 0o755 } else { 0o644 });
        }
        let mut out = options.open(path)?;
        self.files.push(path.to_owned());
        out.write_all(&file.contents)?;
        out.sync_all()
    }

    /// Removes what was written, newest first; folders only when empty.
    fn undo(&mut self) {
        for file in self.files.drain(..).rev() {
            let _ = fs::remove_file(file);
        }
        for dir in self.dirs.drain(..).rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// `palisade plugin new`.
pub fn new(args: NewArgs) -> u8 {
    let dir = args
        .dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(args.name.as_str()));
    match create(&dir, &args.name, args.lang) {
        Ok(files) => {
            println!(
                "Created {}, a {} plugin, in {}:",
                args.name,
                args.lang.title(),
                dir.display()
            );
            for file in files.iter().filter(|file| !file.starts_with("wit")) {
                println!("  {}", file.display());
            }
            println!("  wit/ (palisade:action@0.1.0 and the WASI 0.2 WIT it uses)");
            println!();
            println!("Next (the toolchain is in README.md):");
            println!("  cd {} && ./build", shell_quote(&dir));
            println!("  ./test      # PALISADE=/path/to/palisade when it is not on PATH");
            exit::OK
        }
        Err(error @ ScaffoldError::NotEmpty(_)) => {
            eprintln!("error: {error}");
            exit::USAGE
        }
        Err(error) => {
            eprintln!("error: cannot create the project: {error}");
            exit::FATAL
        }
    }
}

/// `path` as a shell word.
fn shell_quote(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%".contains(c));
    if plain {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::plugin_test::{Expect, parse_toml};
    use std::collections::BTreeSet;

    fn name(text: &str) -> PluginName {
        PluginName::parse(text).unwrap()
    }

    /// Every file under `dir`, relative to it, `/`-separated.
    fn tree(dir: &Path) -> BTreeSet<String> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<String>) {
            for entry in fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    let relative = path.strip_prefix(root).unwrap();
                    out.insert(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(dir, dir, &mut out);
        out
    }

    #[test]
    fn names_are_lower_case_kebab_case_starting_with_a_letter() {
        for good in [
            "a",
            "vip-triage",
            "x1-2b",
            "block-ip-v2",
            &"a".repeat(MAX_NAME_LEN),
        ] {
            assert_eq!(PluginName::parse(good).unwrap().as_str(), good);
        }
        for (bad, why) in [
            ("", "empty"),
            ("Triage", "contains 'T'"),
            ("1triage", "does not start with a letter"),
            ("-triage", "does not start with a letter"),
            ("triage-", "empty word"),
            ("vip--triage", "empty word"),
            ("vip_triage", "contains '_'"),
            ("vip.triage", "contains '.'"),
            ("../triage", "contains '.'"),
            ("vip triage", "contains ' '"),
            ("tri\u{e4}ge", "contains '\u{e4}'"),
            (&"a".repeat(MAX_NAME_LEN + 1), "at most 64"),
        ] {
            let error = PluginName::parse(bad).unwrap_err();
            assert!(error.contains(why), "{bad:?}: {error}");
        }
    }

    #[test]
    fn the_embedded_wit_is_the_repository_wit() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../wit/v0.1.0");
        let embedded: BTreeSet<String> = WIT.iter().map(|(path, _)| (*path).to_owned()).collect();
        assert_eq!(
            tree(&root),
            embedded,
            "wit/v0.1.0 and scaffold::WIT list different files: add the new one to WIT"
        );
        for (path, text) in WIT {
            assert_eq!(fs::read_to_string(root.join(path)).unwrap(), text, "{path}");
        }
    }

    #[test]
    fn each_language_gets_its_own_files_and_the_common_ones() {
        let common = [
            "build",
            "test",
            "README.md",
            ".gitignore",
            "fixtures/alert.json",
            "fixtures/expect.toml",
        ];
        let own: [(Lang, &[&str]); 4] = [
            (
                Lang::Rust,
                &[
                    "Cargo.toml",
                    ".cargo/config.toml",
                    "rust-toolchain.toml",
                    "src/lib.rs",
                ],
            ),
            (Lang::Python, &["app.py", "requirements.txt"]),
            (Lang::Js, &["app.js", "package.json"]),
            (Lang::C, &["plugin.c", C_ADAPTER]),
        ];
        for (lang, files) in own {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("vip-triage");
            let created = create(&target, &name("vip-triage"), lang).unwrap();
            let mut expected: BTreeSet<String> = common
                .iter()
                .chain(files.iter())
                .map(|f| (*f).to_owned())
                .collect();
            expected.extend(WIT.iter().map(|(path, _)| format!("wit/{path}")));
            assert_eq!(tree(&target), expected, "{lang:?}");
            let reported: BTreeSet<String> = created
                .iter()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect();
            assert_eq!(reported, expected, "{lang:?}: what create() reports");

            for file in &expected {
                let bytes = fs::read(target.join(file)).unwrap();
                let text = String::from_utf8_lossy(&bytes);
                for placeholder in ["@NAME@", "@FILES@", "@GUIDE@"] {
                    assert!(!text.contains(placeholder), "{lang:?} {file}: {placeholder} left");
                }
            }
            #[cfg(unix)]
            for (file, executable) in [("build", true), ("test", true), ("README.md", false)] {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(target.join(file)).unwrap().permissions().mode();
                assert_eq!(mode & 0o111 != 0, executable, "{lang:?} {file}: mode {mode:o}");
            }
            let read = |file: &str| fs::read_to_string(target.join(file)).unwrap();
            assert!(read("build").contains("vip-triage.wasm"), "{lang:?}");
            assert!(
                read("test").contains(
                    "plugin test vip-triage.wasm --alert fixtures/alert.json --expect fixtures/expect.toml"
                ),
                "{lang:?}"
            );
            let readme = read("README.md");
            assert!(readme.contains(lang.guide()), "{lang:?}");
            for (file, _, _) in language_files(lang).0 {
                assert!(
                    readme.contains(&format!("| `{file}` |")),
                    "{lang:?}: {file} not in README"
                );
            }
            assert!(read(".gitignore").contains("/vip-triage.wasm"), "{lang:?}");
        }
    }

    #[test]
    fn the_fixtures_are_what_the_host_reads() {
        let dir = tempfile::tempdir().unwrap();
        create(dir.path(), &name("p"), Lang::Python).unwrap();
        let alert_path = dir.path().join("fixtures/alert.json");
        let alert =
            palisade_alert::intake::parse(fs::read_to_string(&alert_path).unwrap().trim(), None).unwrap();
        assert_eq!(
            (alert.severity.to_string().as_str(), alert.confidence),
            ("high", Some(80))
        );
        let expect_path = dir.path().join("fixtures/expect.toml");
        let expect: Expect = parse_toml(&expect_path, &fs::read_to_string(&expect_path).unwrap()).unwrap();
        // What the starter logic gives the fixture: high is 70, 70 * 80 / 100 = 56.
        assert_eq!(expect.risk_score, Some(56));
        assert_eq!(
            expect.verdict.map(|v| v.to_string()).as_deref(),
            Some("suspicious")
        );
        assert_eq!(expect.calls, Some(Vec::new()));
    }

    #[test]
    fn manifests_carry_the_name_and_the_pinned_toolchains() {
        let dir = tempfile::tempdir().unwrap();
        let rust = dir.path().join("rust");
        create(&rust, &name("vip-triage"), Lang::Rust).unwrap();
        let cargo: toml::Table =
            toml::from_str(&fs::read_to_string(rust.join("Cargo.toml")).unwrap()).unwrap();
        assert_eq!(cargo["package"]["name"].as_str(), Some("vip-triage"));
        assert!(cargo["workspace"].as_table().is_some_and(toml::Table::is_empty));
        assert_eq!(cargo["lib"]["crate-type"][0].as_str(), Some("cdylib"));
        assert_eq!(cargo["dependencies"]["wit-bindgen"].as_str(), Some("0.63"));
        let config: toml::Table =
            toml::from_str(&fs::read_to_string(rust.join(".cargo/config.toml")).unwrap()).unwrap();
        assert_eq!(config["build"]["target"].as_str(), Some("wasm32-wasip2"));
        assert!(
            config["target"]["wasm32-wasip2"]["rustflags"]
                .to_string()
                .contains("-zstack-size=65536")
        );
        assert!(
            fs::read_to_string(rust.join("src/lib.rs"))
                .unwrap()
                .contains("name: \"vip-triage\"")
        );

        let js = dir.path().join("js");
        create(&js, &name("vip-triage"), Lang::Js).unwrap();
        let package: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(js.join("package.json")).unwrap()).unwrap();
        assert_eq!(package["name"], "vip-triage");
        assert_eq!(
            package["devDependencies"]["@bytecodealliance/componentize-js"],
            "0.23.0"
        );

        let python = dir.path().join("python");
        create(&python, &name("vip-triage"), Lang::Python).unwrap();
        assert!(
            fs::read_to_string(python.join("requirements.txt"))
                .unwrap()
                .lines()
                .any(|line| line == "componentize-py==0.25.1")
        );
        assert!(
            fs::read_to_string(python.join("app.py"))
                .unwrap()
                .contains("NAME = \"vip-triage\"")
        );

        let c = dir.path().join("c");
        create(&c, &name("vip-triage"), Lang::C).unwrap();
        assert_eq!(
            fs::read(c.join(C_ADAPTER)).unwrap(),
            wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER
        );
        assert!(
            fs::read_to_string(c.join("build"))
                .unwrap()
                .contains("-Wl,-z,stack-size=65536")
        );
    }

    #[test]
    fn an_existing_folder_with_anything_in_it_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("vip-triage");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("build"), "mine").unwrap();
        let error = create(&target, &name("vip-triage"), Lang::Rust).unwrap_err();
        assert!(
            matches!(&error, ScaffoldError::NotEmpty(path) if *path == target),
            "{error}"
        );
        assert!(error.to_string().contains("nothing was written"), "{error}");
        assert_eq!(tree(&target), BTreeSet::from(["build".to_owned()]));
        assert_eq!(fs::read_to_string(target.join("build")).unwrap(), "mine");

        // A file where the folder would go.
        let file = dir.path().join("file");
        fs::write(&file, "x").unwrap();
        assert!(matches!(
            create(&file, &name("p"), Lang::C),
            Err(ScaffoldError::NotEmpty(_))
        ));
        assert_eq!(fs::read_to_string(&file).unwrap(), "x");

        // An empty folder is fine, and so are missing parents.
        let empty = dir.path().join("empty");
        fs::create_dir(&empty).unwrap();
        create(&empty, &name("p"), Lang::Js).unwrap();
        create(&dir.path().join("a/b/c"), &name("p"), Lang::Js).unwrap();
        assert!(dir.path().join("a/b/c/app.js").is_file());
    }

    #[test]
    fn a_failed_write_removes_what_it_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("new/p");
        let mut written = Written::default();
        written.create_dir_all(&target).unwrap();
        let file = File {
            path: "x".into(),
            contents: b"x".to_vec(),
            executable: false,
            about: "",
        };
        written.write(&target.join("src/lib.rs"), &file).unwrap();
        // The same file again: refused, never overwritten.
        let error = written.write(&target.join("src/lib.rs"), &file).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::AlreadyExists);
        written.undo();
        assert!(!dir.path().join("new").exists());
        assert!(dir.path().is_dir());
    }

    #[test]
    fn paths_are_quoted_for_the_shell_when_they_need_it() {
        assert_eq!(shell_quote(Path::new("plugins/vip-triage")), "plugins/vip-triage");
        assert_eq!(shell_quote(Path::new("my plugins/it's")), r"'my plugins/it'\''s'");
    }
}
