//! The ticket: title, Markdown evidence, observables.

use std::fmt::Write as _;

use palisade_sdk::prelude::*;
use palisade_sdk::ticket::NewTicket;

use crate::{ActionTaken, Settings, Spray};

/// The ticket for `spray`, recording the containment `actions` as they turned out.
pub(crate) fn new_ticket(spray: &Spray, settings: &Settings, actions: &[ActionTaken]) -> NewTicket {
    let alert = spray.alert;
    let mut observables: Vec<Entity> = spray
        .targeted
        .iter()
        .map(|u| Entity::User((*u).clone()))
        .collect();
    observables.extend(spray.sources.iter().map(|ip| Entity::Ip((*ip).clone())));

    let mut tags = vec!["password-spray".to_owned()];
    if !alert.category.is_empty() && alert.category != "password-spray" {
        tags.push(alert.category.clone());
    }

    NewTicket {
        title: title(spray),
        description: description(spray, settings, actions),
        severity: alert.severity,
        tags,
        observables,
    }
}

/// "Password spray from 203.0.113.7: 2 of 14 accounts signed in".
fn title(spray: &Spray) -> String {
    let from = match spray.sources.as_slice() {
        [] => "an unknown source".to_owned(),
        [one] => one.address.clone(),
        [first, rest @ ..] => format!("{} and {} more", first.address, rest.len()),
    };
    format!(
        "Password spray from {from}: {} of {} accounts signed in",
        spray.signed_in.len(),
        spray.targeted.len()
    )
}

fn description(spray: &Spray, settings: &Settings, actions: &[ActionTaken]) -> String {
    let alert = spray.alert;
    let mut md = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(md, "## {}\n", text(&alert.title));
    let _ = writeln!(md, "| | |\n| --- | --- |");
    let mut row = |name: &str, value: String| {
        let _ = writeln!(md, "| {name} | {value} |");
    };
    row("Alert", code(&alert.id));
    row("Rule", text(alert.rule().unwrap_or("unknown")));
    row("Source product", text(&alert.source_product));
    row("Time", text(&alert.timestamp));
    row("Severity", alert.severity.to_string());
    row(
        "Confidence",
        format!("{} (acting from {})", alert.confidence, settings.min_confidence),
    );
    let sources: Vec<String> = spray.sources.iter().map(|ip| code(&ip.address)).collect();
    row(
        "Source IPs",
        if sources.is_empty() {
            "none in the alert".to_owned()
        } else {
            sources.join(", ")
        },
    );
    row("Accounts targeted", spray.targeted.len().to_string());
    row("Accounts signed in", spray.signed_in.len().to_string());

    let _ = writeln!(md, "\n### Accounts targeted\n");
    if spray.targeted.is_empty() {
        let _ = writeln!(md, "None named in the alert.");
    }
    for user in &spray.targeted {
        let result = match user.sign_in {
            Some(SignInResult::Success) => "**signed in**",
            Some(SignInResult::Failure) => "failed",
            None => "result unknown",
        };
        let _ = writeln!(md, "- {}: {result}", code(&user.name));
    }

    let _ = writeln!(md, "\n### Actions taken\n");
    if actions.is_empty() {
        let _ = writeln!(md, "None: no account signed in and no source address is known.");
    } else {
        let _ = writeln!(md, "| Operation | Target | Result |\n| --- | --- | --- |");
        for action in actions {
            let result = match &action.result {
                Ok(receipt) => format!("{} (action {})", receipt.status, receipt.action_id),
                Err(e) => format!("error: {e}"),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} |",
                action.operation,
                code(&action.target),
                text(&result)
            );
        }
        if let Some(hours) = settings.block_seconds().map(|s| s / 3600) {
            let _ = writeln!(md, "\nBlocks lapse after {hours} hours.");
        }
    }

    let _ = writeln!(md, "\n### Earlier findings\n");
    if alert.annotations.is_empty() {
        let _ = writeln!(md, "None.");
    }
    for a in &alert.annotations {
        let _ = writeln!(md, "- {}: {} = {}", text(&a.source), text(&a.key), text(&a.value));
    }
    md
}

/// Alert data is written by whoever raised the alert, attackers included (a sprayed account
/// name is the attacker's choice): keep it from forming Markdown or HTML.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    let mut plain = 0;
    // Runs of ordinary characters are copied whole; only the few that need it are looked at.
    for (at, c) in s.char_indices() {
        // What goes in its place, and whether the character itself follows (escaped).
        let (replacement, kept) = match c {
            '\r' | '\n' => (" ", false),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '#' | '~' => ("\\", true),
            c if c.is_control() => ("", false),
            _ => continue,
        };
        out.push_str(&s[plain..at]);
        out.push_str(replacement);
        plain = if kept { at } else { at + c.len_utf8() };
    }
    out.push_str(&s[plain..]);
    out
}

/// `s` as inline code; backticks and table pipes cannot be escaped inside it, so they go.
fn code(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .filter(|c| !matches!(c, '`' | '|') && !c.is_control())
        .collect();
    format!("`{cleaned}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_neutralizes_markdown() {
        assert_eq!(
            text("[click](http://x)|<b>\nnext"),
            "\\[click\\](http://x)\\|\\<b\\> next"
        );
    }

    #[test]
    fn text_keeps_plain_and_non_ascii_text_whole_and_drops_control_characters() {
        assert_eq!(text("plain"), "plain");
        assert_eq!(text(""), "");
        assert_eq!(text("é_ü\u{7}\r\n*"), "é\\_ü  \\*");
        assert_eq!(text("a\\b"), "a\\\\b");
    }

    #[test]
    fn code_drops_backticks_and_pipes() {
        assert_eq!(code("a`b|c"), "`abc`");
    }
}
