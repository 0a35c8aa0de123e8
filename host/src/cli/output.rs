//! How a run is shown: text for people, JSON lines for scripts.

use super::run::Batched;
use palisade_alert::Alert;
use palisade_alert::priority::Priority;
use palisade_pipeline::{AlertLine, AlertReport, Tally};
use palisade_runtime::capability::ActionResult;
use palisade_runtime::{InvocationStatus, Plugin};
use serde_json::json;
use std::io::Write;

pub struct Output {
    json: bool,
    out: std::io::Stdout,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output {
            json,
            out: std::io::stdout(),
        }
    }

    /// One line: in JSON mode a JSON document, else text for a person; either way nothing in
    /// it can drive the terminal it may be shown on.
    fn emit(&mut self, text: &str) {
        let shown = if self.json {
            json_safe(text)
        } else {
            terminal_safe(text)
        };
        // A closed pipe (`palisade run | head`) is not worth a panic.
        let _ = writeln!(self.out.lock(), "{shown}");
    }

    pub fn plugin_error(&mut self, plugin: &str, error: &str) {
        if self.json {
            self.emit(&json!({"type": "plugin-error", "plugin": plugin, "error": error}).to_string());
        } else {
            self.emit(&format!("plugin {plugin} not loaded: {error}"));
        }
    }

    /// A plugin ready to run, in JSON only: where its machine code came from and what loading
    /// cost, so a script can see the compiled-code cache at work.
    pub fn plugin_loaded(&mut self, plugin: &Plugin) {
        if self.json {
            self.emit(
                &json!({
                    "type": "plugin-loaded",
                    "plugin": plugin.name,
                    "sha256": plugin.sha256,
                    "size": plugin.size,
                    "compiled_from": plugin.compiled_from,
                    "load_ms": round_ms(plugin.load_time.as_secs_f64() * 1000.0),
                })
                .to_string(),
            );
        }
    }

    pub fn rejected(&mut self, line: usize, error: &str) {
        if self.json {
            self.emit(&json!({"type": "rejected", "line": line, "error": error}).to_string());
        } else {
            self.emit(&format!("line {line}: rejected: {error}"));
        }
    }

    pub fn alert(&mut self, line: usize, report: &AlertReport, batched: &Batched) {
        if self.json {
            let alert_line = AlertLine::new(
                report,
                line,
                batched.priority,
                batched.time_to_respond_ms.map(round_ms),
                &batched.duplicates,
                batched.incident.as_deref(),
            );
            let text = serde_json::to_string(&alert_line).unwrap_or_else(|error| {
                json!({"type": "alert", "line": line, "error": format!("cannot encode the report: {error}")})
                    .to_string()
            });
            self.emit(&text);
            return;
        }
        let alert = &report.alert;
        let mark = if report.succeeded() { "ok " } else { "ERR" };
        let mut head = format!(
            "{mark} {}  {}  [{}, confidence {}, {} ({})]",
            alert.id,
            alert.title,
            alert.severity,
            alert.confidence_label(),
            batched.priority.label,
            batched.priority.score
        );
        if let Some(verdict) = alert.verdict {
            head.push_str(&format!("  verdict {verdict}"));
        }
        if let Some(risk) = alert.risk_score {
            head.push_str(&format!(", risk {risk}"));
        }
        if let Some(ms) = batched.time_to_respond_ms {
            head.push_str(&format!("  responded in {ms:.1} ms"));
        }
        self.emit(&head);
        if let Some(incident) = batched.incident.as_deref().filter(|i| *i != alert.id) {
            self.emit(&format!("      incident: {incident}"));
        }
        if !batched.duplicates.is_empty() {
            self.emit(&format!("      duplicates: {}", batched.duplicates.join(", ")));
        }
        if report.plugins.is_empty() && report.skipped.is_empty() {
            self.emit("      no plugin matched");
        }
        for skipped in &report.skipped {
            self.emit(&format!(
                "      {:<8} {:<18} skipped: {}",
                skipped.stage.as_str(),
                skipped.plugin,
                skipped.reason
            ));
        }
        for run in &report.plugins {
            let invocation = &run.invocation;
            let status = match &invocation.status {
                InvocationStatus::Completed => "completed".to_owned(),
                InvocationStatus::Failed(detail) => format!("FAILED: {detail}"),
                InvocationStatus::LimitExceeded(detail) => format!("STOPPED: {detail}"),
                InvocationStatus::Trapped(detail) => format!("TRAPPED: {detail}"),
            };
            self.emit(&format!(
                "      {:<8} {:<18} {:>7.1} ms  {status}",
                run.stage.as_str(),
                run.plugin,
                invocation.duration.as_secs_f64() * 1000.0
            ));
            if let Some(summary) = invocation.outcome.as_ref().and_then(|o| o.summary.as_deref()) {
                self.emit(&format!("          {summary}"));
            }
            for action in &invocation.calls.actions {
                let result = match &action.result {
                    ActionResult::Executed {
                        reference: Some(reference),
                    } => format!("executed ({reference})"),
                    ActionResult::Executed { reference: None } => "executed".to_owned(),
                    ActionResult::Failed { error } => format!("failed: {error}"),
                    ActionResult::Simulated { would } => format!("simulated (would {would})"),
                    ActionResult::Held { approval_id, reason } => {
                        format!("HELD for approval {approval_id}: {reason}")
                    }
                    ActionResult::Refused { reason } => format!("REFUSED: {reason}"),
                };
                self.emit(&format!(
                    "          {} {}: {result}",
                    action.operation, action.target
                ));
            }
            for operation in &invocation.calls.denied {
                self.emit(&format!("          {operation}: DENIED (not granted)"));
            }
        }
    }

    /// An alert recognized as a repeat of the alert `of`, not run through the plugins.
    pub fn duplicate(
        &mut self,
        line: usize,
        alert: &Alert,
        priority: Priority,
        of: &str,
        incident: Option<&str>,
    ) {
        if self.json {
            self.emit(
                &json!({"type": "alert", "line": line, "alert": alert, "plugins": [],
                        "priority": priority, "time_to_respond_ms": null, "duplicate_of": of,
                        "incident": incident})
                .to_string(),
            );
        } else {
            self.emit(&format!(
                "dup {}  {}  [{}, confidence {}, {} ({})]  duplicate of {of}",
                alert.id,
                alert.title,
                alert.severity,
                alert.confidence_label(),
                priority.label,
                priority.score
            ));
        }
    }

    pub fn simulation(&mut self, simulation: &super::run::Simulation) {
        if self.json {
            let operations: Vec<_> = simulation
                .operations
                .iter()
                .map(|((plugin, operation), counts)| {
                    json!({"plugin": plugin, "operation": operation, "would_execute": counts.executed,
                           "would_hold": counts.held, "would_refuse": counts.refused})
                })
                .collect();
            let alone: Vec<_> = simulation
                .alone
                .iter()
                .map(|((rule, operation), count)| json!({"rule": rule, "operation": operation, "would_execute": count}))
                .collect();
            self.emit(
                &json!({"type": "simulation", "operations": operations, "acting_alone": alone}).to_string(),
            );
            return;
        }
        self.emit("");
        self.emit("simulation: what the destructive operations would have done (nothing was changed)");
        if simulation.operations.is_empty() {
            self.emit("  no destructive operation was attempted");
            return;
        }
        self.emit(&format!(
            "  {:<20} {:<28} {:>8} {:>6} {:>8}",
            "plugin", "operation", "execute", "hold", "refuse"
        ));
        for ((plugin, operation), counts) in &simulation.operations {
            self.emit(&format!(
                "  {plugin:<20} {operation:<28} {:>8} {:>6} {:>8}",
                counts.executed, counts.held, counts.refused
            ));
        }
        self.emit("  rules that would have acted without a person:");
        if simulation.alone.is_empty() {
            self.emit("    none");
        }
        for ((rule, operation), count) in &simulation.alone {
            self.emit(&format!("    {}: {operation} x{count}", terminal_safe(rule)));
        }
    }

    pub fn summary(&mut self, tally: &Tally) {
        if self.json {
            let mut value = serde_json::to_value(tally).unwrap_or_default();
            if let Some(object) = value.as_object_mut() {
                object.insert("type".into(), "summary".into());
                let time_to_respond = tally
                    .time_to_respond()
                    .map(|p| json!({"median": round_ms(p.median), "p95": round_ms(p.p95)}));
                object.insert("time_to_respond_ms".into(), json!(time_to_respond));
            }
            self.emit(&value.to_string());
            return;
        }
        let mut problems = Vec::new();
        for (count, what) in [
            (tally.failed, "failed"),
            (tally.limit_exceeded, "stopped at a limit"),
            (tally.trapped, "trapped"),
        ] {
            if count > 0 {
                problems.push(format!("{count} {what}"));
            }
        }
        let runs = if problems.is_empty() {
            format!("{} plugin runs, all completed", tally.invocations)
        } else {
            format!(
                "{} plugin runs: {} completed, {}",
                tally.invocations,
                tally.completed,
                problems.join(", ")
            )
        };
        self.emit("");
        self.emit(&format!(
            "{} alerts processed, {} lines rejected, {} plugins not loaded; {runs}; {} actions executed, {} failed, {} held, {} refused, {} simulated, {} denied",
            tally.alerts,
            tally.rejected,
            tally.plugins_not_loaded,
            tally.actions_executed,
            tally.actions_failed,
            tally.actions_held,
            tally.actions_refused,
            tally.actions_simulated,
            tally.denied
        ));
        if tally.records_lost > 0 {
            self.emit(&format!(
                "{} audit and action records could not be written (logged above): this run's audit has gaps",
                tally.records_lost
            ));
        }
        let mut after = Vec::new();
        if tally.duplicates > 0 {
            let noun = if tally.duplicates == 1 {
                "duplicate"
            } else {
                "duplicates"
            };
            after.push(format!("{} {noun} not run again", tally.duplicates));
        }
        if let Some(incidents) = tally.incidents {
            let noun = if incidents == 1 { "incident" } else { "incidents" };
            after.push(format!("{incidents} {noun}"));
        }
        if let Some(time) = tally.time_to_respond() {
            after.push(format!(
                "time to respond: median {:.1} ms, p95 {:.1} ms",
                time.median, time.p95
            ));
        }
        if !after.is_empty() {
            self.emit(&after.join("; "));
        }
    }
}

/// Milliseconds to two decimals, as the plugin durations are shown.
fn round_ms(ms: f64) -> f64 {
    (ms * 100.0).round() / 100.0
}

/// Text for a person's terminal: every control character (ANSI escapes, carriage returns,
/// newlines) and bidirectional override shown escaped, so a plugin's or an alert's strings
/// cannot move the cursor, recolour the screen or forge a line of their own. JSON lines go
/// through [`json_safe`] instead, which keeps them JSON.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(drives_terminal) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if drives_terminal(c) {
            shown.extend(c.escape_default());
        } else {
            shown.push(c);
        }
    }
    std::borrow::Cow::Owned(shown)
}

/// Controls (a terminal obeys them) and the bidirectional overrides and isolates (they make
/// text read differently from what it is).
fn drives_terminal(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// A JSON line as [`terminal_safe`] would show text, but still JSON: serde_json escapes the C0
/// controls and leaves DEL, the C1 controls and the bidirectional characters as they are, so
/// those are written as `\uXXXX` escapes, which read back as the same string. They can only
/// stand inside strings, since everything else in JSON is ASCII. Most lines are ASCII with
/// no DEL and are passed through after one scan of their bytes.
pub fn json_safe(json: &str) -> std::borrow::Cow<'_, str> {
    if json.bytes().all(|b| b < 0x7f) {
        return std::borrow::Cow::Borrowed(json);
    }
    let mut shown = String::with_capacity(json.len() + 12);
    for c in json.chars() {
        if drives_terminal(c) {
            // Every such character is in the Basic Multilingual Plane: one escape each.
            shown.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            shown.push(c);
        }
    }
    std::borrow::Cow::Owned(shown)
}

#[cfg(test)]
mod tests {
    use super::{json_safe, terminal_safe};

    #[test]
    fn json_lines_stay_json_and_keep_the_same_strings() {
        let title = "a\u{202e}gnp.exe \u{9b}31m \u{7f} ünïcode\nline";
        let line = serde_json::json!({"title": title}).to_string();
        let shown = json_safe(&line);
        assert!(
            !shown.chars().any(super::drives_terminal),
            "nothing left to drive a terminal: {shown}"
        );
        let read: serde_json::Value = serde_json::from_str(&shown).expect("still JSON");
        assert_eq!(read["title"], title);
        let plain = r#"{"title":"plain"}"#;
        assert!(matches!(json_safe(plain), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_and_line_breaks_are_shown_not_obeyed() {
        assert_eq!(terminal_safe("plain text · ünïcode"), "plain text · ünïcode");
        assert_eq!(
            terminal_safe("ok\u{1b}[2K\rap-1  pending  approved\n"),
            "ok\\u{1b}[2K\\rap-1  pending  approved\\n"
        );
        assert_eq!(terminal_safe("a\u{202e}gnp.exe"), "a\\u{202e}gnp.exe");
    }
}
