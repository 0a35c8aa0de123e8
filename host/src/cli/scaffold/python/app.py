"""@NAME@: a Palisade response action for the triage stage.

It scores an alert's risk from its severity and confidence and gives a verdict:
- base from severity: informational 5, low 20, medium 45, high 70, critical 90;
- risk = base * confidence / 100 (whole numbers, rounded down);
- verdict: malicious from 60, suspicious from 30, benign below; benign, whatever the risk,
  when the confidence is below the `min_confidence` setting (default 50).

Notes: `risk` (how the score came about), `low_confidence` (only when below the setting).
Tags: `triage:<verdict>`. It asks for no capability, so `describe` lists none.

componentize-py generates the `wit_world` bindings from wit/ when it builds the component.
"""

import json
from typing import Optional

import wit_world
from componentize_py_types import Err
from wit_world.imports import config, log
from wit_world.imports.palisade_action_types import (
    ActionError_InvalidInput,
    Alert,
    Note,
    Outcome,
    PluginInfo,
    Severity,
    Verdict,
)

NAME = "@NAME@"
VERSION = "0.1.0"

# The confidence below which an alert is not acted on, unless the admin sets another.
DEFAULT_MIN_CONFIDENCE = 50

BASE = {
    Severity.INFORMATIONAL: 5,
    Severity.LOW: 20,
    Severity.MEDIUM: 45,
    Severity.HIGH: 70,
    Severity.CRITICAL: 90,
}


class WitWorld(wit_world.WitWorld):
    def describe(self) -> PluginInfo:
        return PluginInfo(
            name=NAME,
            version=VERSION,
            description="Risk score and verdict from an alert's severity and confidence",
            # Operations as `capability.operation`, e.g. "intel.lookup"; log and config need none.
            capabilities=[],
        )

    def handle(self, alert: Alert) -> Outcome:
        outcome = triage(alert, min_confidence(config.get("min_confidence")))
        log.log(log.Level.INFO, f"alert {alert.id}: risk {outcome.risk_score}, {verdict_name(outcome.verdict)}")
        return outcome


def min_confidence(setting: Optional[str]) -> int:
    """Reads the `min_confidence` setting: a whole number from 0 to 100."""
    if setting is None:
        return DEFAULT_MIN_CONFIDENCE
    text = setting.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > 100:
        raise Err(ActionError_InvalidInput(
            f"setting min_confidence: {json.dumps(setting)} is not a whole number from 0 to 100"
        ))
    return int(text)


def triage(alert: Alert, min_confidence: int) -> Outcome:
    """The whole decision, without host calls."""
    severity = alert.severity.name.lower()
    base = BASE[alert.severity]
    confidence = min(alert.confidence, 100)
    risk = base * confidence // 100
    notes = [Note(key="risk", value=f"{severity}={base} at {confidence}% confidence -> {risk}")]
    if confidence < min_confidence:
        notes.append(Note(key="low_confidence", value=f"{confidence} < {min_confidence}"))
        verdict = Verdict.BENIGN
    elif risk >= 60:
        verdict = Verdict.MALICIOUS
    elif risk >= 30:
        verdict = Verdict.SUSPICIOUS
    else:
        verdict = Verdict.BENIGN
    return Outcome(
        verdict=verdict,
        risk_score=risk,
        notes=notes,
        tags=[f"triage:{verdict_name(verdict)}"],
        summary=f"{verdict_name(verdict)}: risk {risk} ({severity} severity at {confidence}% confidence)",
    )


def verdict_name(verdict: Optional[Verdict]) -> str:
    return verdict.name.lower() if verdict is not None else "no verdict"
