//! @NAME@: a Palisade response action for the triage stage.
//!
//! It scores an alert's risk from its severity and confidence and gives a verdict:
//! - base from severity: informational 5, low 20, medium 45, high 70, critical 90;
//! - risk = base * confidence / 100 (whole numbers, rounded down);
//! - verdict: malicious from 60, suspicious from 30, benign below; benign, whatever the
//!   risk, when the confidence is below the `min_confidence` setting (default 50).
//!
//! Notes: `risk` (how the score came about), `low_confidence` (only when below the
//! setting). Tags: `triage:<verdict>`. It asks for no capability, so `describe` lists none.

wit_bindgen::generate!({
    path: "wit",
    world: "action",
    // The world also imports wasi:http; generate its bindings too (unused ones cost nothing).
    generate_all,
});

use palisade::action::config;
use palisade::action::log::{Level, log};
// `Alert`, `Outcome`, `ActionError` and `PluginInfo` are in the world, so at the crate root.
use palisade::action::types::{Note, Severity, Verdict};

/// The confidence below which an alert is not acted on, unless the admin sets another.
const DEFAULT_MIN_CONFIDENCE: u8 = 50;

struct Plugin;

impl Guest for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "@NAME@".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Risk score and verdict from an alert's severity and confidence".into(),
            // Operations as `capability.operation`, e.g. "intel.lookup"; log and config need none.
            capabilities: Vec::new(),
        }
    }

    fn handle(alert: Alert) -> Result<Outcome, ActionError> {
        let min_confidence = min_confidence(config::get("min_confidence"))?;
        let outcome = triage(&alert, min_confidence);
        log(
            Level::Info,
            &format!(
                "alert {}: risk {}, {}",
                alert.id,
                outcome.risk_score.unwrap_or(0),
                outcome.verdict.map_or("no verdict", verdict_name)
            ),
        );
        Ok(outcome)
    }
}

export!(Plugin);

/// Reads the `min_confidence` setting: a whole number from 0 to 100.
fn min_confidence(setting: Option<String>) -> Result<u8, ActionError> {
    let Some(text) = setting else {
        return Ok(DEFAULT_MIN_CONFIDENCE);
    };
    let digits = text.trim();
    match digits.parse::<u8>() {
        Ok(value) if value <= 100 && digits.bytes().all(|b| b.is_ascii_digit()) => Ok(value),
        _ => Err(ActionError::InvalidInput(format!(
            "setting min_confidence: {text:?} is not a whole number from 0 to 100"
        ))),
    }
}

/// The whole decision, without host calls.
fn triage(alert: &Alert, min_confidence: u8) -> Outcome {
    let (severity, base) = match alert.severity {
        Severity::Informational => ("informational", 5u32),
        Severity::Low => ("low", 20),
        Severity::Medium => ("medium", 45),
        Severity::High => ("high", 70),
        Severity::Critical => ("critical", 90),
    };
    let confidence = alert.confidence.min(100);
    let risk = (base * u32::from(confidence) / 100) as u8;
    let mut notes = vec![Note {
        key: "risk".into(),
        value: format!("{severity}={base} at {confidence}% confidence -> {risk}"),
    }];
    let verdict = if confidence < min_confidence {
        notes.push(Note {
            key: "low_confidence".into(),
            value: format!("{confidence} < {min_confidence}"),
        });
        Verdict::Benign
    } else if risk >= 60 {
        Verdict::Malicious
    } else if risk >= 30 {
        Verdict::Suspicious
    } else {
        Verdict::Benign
    };
    Outcome {
        verdict: Some(verdict),
        risk_score: Some(risk),
        notes,
        tags: vec![format!("triage:{}", verdict_name(verdict))],
        summary: Some(format!(
            "{}: risk {risk} ({severity} severity at {confidence}% confidence)",
            verdict_name(verdict)
        )),
    }
}

fn verdict_name(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Benign => "benign",
        Verdict::Suspicious => "suspicious",
        Verdict::Malicious => "malicious",
    }
}
