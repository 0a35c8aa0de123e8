//! The plugin guides quote the example plugins the tests build. A fenced block right after a
//! `<!-- quote: PATH -->` line must appear, verbatim, in that file (PATH from the workspace
//! root), so a guide cannot drift from code that is known to build and pass.

use std::path::Path;

use palisade_e2e::workspace_root;

/// One quoted block: where it is in the guide, the file it quotes and its text.
struct Quote {
    guide: String,
    line: usize,
    source: String,
    text: String,
}

fn quotes(guide: &Path) -> Vec<Quote> {
    let text = std::fs::read_to_string(guide).unwrap_or_else(|e| panic!("read {}: {e}", guide.display()));
    let lines: Vec<&str> = text.lines().collect();
    let mut quotes = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let Some(source) = lines[index]
            .trim()
            .strip_prefix("<!-- quote:")
            .and_then(|rest| rest.strip_suffix("-->"))
        else {
            index += 1;
            continue;
        };
        let line = index + 1;
        let fence = lines.get(index + 1).copied().unwrap_or_default();
        assert!(
            fence.starts_with("```"),
            "{}:{line}: a quote marker must be followed by a fenced block",
            guide.display()
        );
        let body: Vec<&str> = lines[index + 2..]
            .iter()
            .take_while(|l| !l.starts_with("```"))
            .copied()
            .collect();
        index += 2 + body.len() + 1;
        quotes.push(Quote {
            guide: guide.display().to_string(),
            line,
            source: source.trim().to_owned(),
            text: body.join("\n"),
        });
    }
    quotes
}

#[test]
fn every_quoted_block_is_in_the_file_it_quotes() {
    let folder = workspace_root().join("docs/plugins");
    let mut guides: Vec<_> = std::fs::read_dir(&folder)
        .unwrap_or_else(|e| panic!("read {}: {e}", folder.display()))
        .map(|entry| entry.expect("a folder entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    guides.sort();
    let mut checked = 0;
    for guide in &guides {
        for quote in quotes(guide) {
            let source = workspace_root().join(&quote.source);
            let text = std::fs::read_to_string(&source).unwrap_or_else(|e| {
                panic!(
                    "{}:{}: cannot read {}: {e}",
                    quote.guide, quote.line, quote.source
                )
            });
            assert!(
                text.contains(&quote.text),
                "{}:{}: the block is not in {} as written; update the guide\n---\n{}",
                quote.guide,
                quote.line,
                quote.source,
                quote.text
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no quoted blocks found in {}", folder.display());
}
