// @NAME@: a Palisade response action for the triage stage.
//
// It scores an alert's risk from its severity and confidence and gives a verdict:
// - base from severity: informational 5, low 20, medium 45, high 70, critical 90;
// - risk = base * confidence / 100 (whole numbers, rounded down);
// - verdict: malicious from 60, suspicious from 30, benign below; benign, whatever the risk,
//   when the confidence is below the `min_confidence` setting (default 50).
//
// Notes: `risk` (how the score came about), `low_confidence` (only when below the setting).
// Tags: `triage:<verdict>`. It asks for no capability, so `describe` lists none.
//
// WIT names become camelCase fields (`riskScore`), enums are their WIT names as strings
// ("high"), an option is a value or undefined, and a thrown `{ tag, val }` is the `err` of
// `handle`'s result.

import { log } from "palisade:action/log@0.1.0";
import { get } from "palisade:action/config@0.1.0";

const NAME = "@NAME@";
const VERSION = "0.1.0";

// The confidence below which an alert is not acted on, unless the admin sets another.
const DEFAULT_MIN_CONFIDENCE = 50;

const BASE = { informational: 5, low: 20, medium: 45, high: 70, critical: 90 };

export function describe() {
  return {
    name: NAME,
    version: VERSION,
    description: "Risk score and verdict from an alert's severity and confidence",
    // Operations as `capability.operation`, e.g. "intel.lookup"; log and config need none.
    capabilities: [],
  };
}

export function handle(alert) {
  const outcome = triage(alert, minConfidence(get("min_confidence")));
  log("info", `alert ${alert.id}: risk ${outcome.riskScore}, ${outcome.verdict}`);
  return outcome;
}

// Reads the `min_confidence` setting: a whole number from 0 to 100.
function minConfidence(setting) {
  if (setting === undefined || setting === null) {
    return DEFAULT_MIN_CONFIDENCE;
  }
  const text = setting.trim();
  if (!/^[0-9]+$/.test(text) || Number(text) > 100) {
    throw {
      tag: "invalid-input",
      val: `setting min_confidence: ${JSON.stringify(setting)} is not a whole number from 0 to 100`,
    };
  }
  return Number(text);
}

// The whole decision, without host calls.
function triage(alert, minConfidence) {
  const severity = alert.severity;
  const base = BASE[severity];
  const confidence = Math.min(alert.confidence, 100);
  const risk = Math.floor((base * confidence) / 100);
  const notes = [{ key: "risk", value: `${severity}=${base} at ${confidence}% confidence -> ${risk}` }];
  let verdict;
  if (confidence < minConfidence) {
    notes.push({ key: "low_confidence", value: `${confidence} < ${minConfidence}` });
    verdict = "benign";
  } else if (risk >= 60) {
    verdict = "malicious";
  } else if (risk >= 30) {
    verdict = "suspicious";
  } else {
    verdict = "benign";
  }
  return {
    verdict,
    riskScore: risk,
    notes,
    tags: [`triage:${verdict}`],
    summary: `${verdict}: risk ${risk} (${severity} severity at ${confidence}% confidence)`,
  };
}
