//! Intake keeps `raw` exactly as received: whatever the spacing, escaping and key order of a
//! document, in whichever format, the alert's `raw` is the line byte for byte, and the
//! spelling of the JSON changes nothing else.

use palisade_alert::intake;
use proptest::prelude::*;
use serde_json::Value;

/// One kept sample per format shape, as documents.
fn samples() -> Vec<Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/alerts");
    let mut samples = Vec::new();
    for format in ["native", "ocsf", "ecs", "splunk", "sentinel"] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(format))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        paths.sort();
        for path in paths {
            samples.push(serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap());
        }
    }
    samples
}

/// How a document is spelled: the whitespace around its tokens, and which characters of its
/// strings are written as escapes.
#[derive(Debug, Clone)]
struct Spelling {
    spaces: Vec<&'static str>,
    escape_non_ascii: bool,
    escape_slash: bool,
    reverse_keys: bool,
}

fn spelling() -> impl Strategy<Value = Spelling> {
    (
        prop::collection::vec(
            prop::sample::select(vec!["", " ", "  ", "\t", "\r", " \t "]),
            1..8,
        ),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(spaces, escape_non_ascii, escape_slash, reverse_keys)| Spelling {
                spaces,
                escape_non_ascii,
                escape_slash,
                reverse_keys,
            },
        )
}

struct Writer<'a> {
    spelling: &'a Spelling,
    out: String,
    next: usize,
}

impl Writer<'_> {
    fn space(&mut self) {
        let space = self.spelling.spaces[self.next % self.spelling.spaces.len()];
        self.next += 1;
        self.out.push_str(space);
    }

    fn string(&mut self, text: &str) {
        self.out.push('"');
        for c in text.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '/' if self.spelling.escape_slash => self.out.push_str("\\/"),
                c if (c as u32) < 0x20 || (self.spelling.escape_non_ascii && !c.is_ascii()) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        self.out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }

    fn value(&mut self, value: &Value) {
        self.space();
        match value {
            Value::Object(map) => {
                self.out.push('{');
                let mut entries: Vec<_> = map.iter().collect();
                if self.spelling.reverse_keys {
                    entries.reverse();
                }
                for (index, (key, value)) in entries.into_iter().enumerate() {
                    if index > 0 {
                        self.out.push(',');
                    }
                    self.space();
                    self.string(key);
                    self.space();
                    self.out.push(':');
                    self.value(value);
                }
                self.space();
                self.out.push('}');
            }
            Value::Array(items) => {
                self.out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        self.out.push(',');
                    }
                    self.value(item);
                }
                self.space();
                self.out.push(']');
            }
            Value::String(text) => self.string(text),
            other => self.out.push_str(&other.to_string()),
        }
        self.space();
    }
}

fn spell(document: &Value, spelling: &Spelling) -> String {
    let mut writer = Writer {
        spelling,
        out: String::new(),
        next: 0,
    };
    writer.value(document);
    writer.out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn raw_is_the_line_as_received_and_the_spelling_changes_nothing_else(
        index in any::<prop::sample::Index>(),
        spelling in spelling(),
        note in any::<String>(),
    ) {
        let samples = samples();
        let mut document = samples[index.index(samples.len())].clone();
        let compact = document.to_string();
        let line = spell(&document, &spelling);
        let plain = intake::parse(&compact, None).unwrap();
        let alert = intake::parse(&line, None).unwrap_or_else(|e| panic!("{line}: {e}"));
        prop_assert_eq!(&alert.raw, &line);
        // Everything but raw is the same alert; the id too, unless it is derived from the line
        // (a native alert without one).
        let mut same = alert.clone();
        same.raw = plain.raw.clone();
        if document.get("id").is_none() {
            same.id = plain.id.clone();
        }
        prop_assert_eq!(&same, &plain);

        // With a field of any text added (which some formats refuse), raw stays exact.
        if let Value::Object(map) = &mut document {
            map.insert("x_note".into(), note.into());
        }
        let line = spell(&document, &spelling);
        if let Ok(alert) = intake::parse(&line, None) {
            prop_assert_eq!(alert.raw, line);
        }
    }
}
