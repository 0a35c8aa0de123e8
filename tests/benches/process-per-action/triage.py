"""Process-per-action baseline: the triage plugin's scoring in Python, run as one process per
alert, the way StackStorm's and Cortex's runners run an action.

Reads {"alert": <alert as Palisade normalizes it>, "settings": {...}} on stdin and writes the
outcome as JSON on stdout. The scoring is plugins/triage/src/lib.rs, line for line.
"""

import json
import sys

BASES = {"informational": 5, "low": 20, "medium": 45, "high": 70, "critical": 90}
BONUS = 15


def split_list(value):
    return [item.strip().lower() for item in (value or "").split(",") if item.strip()]


def verdict(score):
    return "malicious" if score >= 70 else "suspicious" if score >= 40 else "benign"


def priority(score):
    return 1 if score >= 80 else 2 if score >= 60 else 3 if score >= 40 else 4


def triage(alert, settings):
    vip_users = split_list(settings.get("vip_users"))
    crown_jewels = split_list(settings.get("crown_jewels"))
    intel_plugin = (settings.get("intel_plugin") or "").strip() or "ip-reputation"

    severity = alert["severity"]
    base = BASES[severity]
    confidence = min(alert["confidence"], 100)
    scaled = base * (100 + confidence) // 200
    notes = [["risk:base", f"{severity}={base}"], ["risk:confidence", f"{confidence} -> {scaled}"]]
    score = scaled
    reasons = []

    entities = alert.get("entities", [])
    vips = [
        e["name"]
        for e in entities
        if e["type"] == "user"
        and any(
            vip == e["name"].lower() or (e.get("email") is not None and vip == e["email"].lower())
            for vip in vip_users
        )
    ]
    if vips:
        score += BONUS
        notes.append(["risk:vip", f"+{BONUS} {', '.join(vips)}"])
        reasons.append(f"VIP {', '.join(vips)}")

    def is_jewel(host):
        for name in (host.get("hostname"), host.get("fqdn")):
            if name is None:
                continue
            name = name.lower()
            first_label = name.split(".")[0]
            if any(jewel == name or jewel == first_label for jewel in crown_jewels):
                return True
        return False

    jewels = [e["hostname"] for e in entities if e["type"] == "host" and is_jewel(e)]
    if jewels:
        score += BONUS
        notes.append(["risk:crown_jewel", f"+{BONUS} {', '.join(jewels)}"])
        reasons.append(f"crown jewel {', '.join(jewels)}")

    malicious = [
        a["key"][len("intel:"):] if a["key"].startswith("intel:") else a["key"]
        for a in alert.get("annotations", [])
        if a["source"] == intel_plugin and a["value"].startswith("malicious")
    ]
    if malicious:
        score += BONUS
        notes.append(["risk:intel", f"+{BONUS} {', '.join(malicious)}"])
        reasons.append(f"malicious {', '.join(malicious)}")

    score = min(score, 100)
    why = f"{severity}, confidence {confidence}" + "".join(f", {r}" for r in reasons)
    p = priority(score)
    notes += [["risk", str(score)], ["priority", f"p{p}"]]
    return {
        "verdict": verdict(score),
        "risk_score": score,
        "notes": notes,
        "tags": [f"priority:p{p}"],
        "summary": f"Risk {score} ({why}): {verdict(score)}, priority p{p}.",
    }


def main():
    request = json.load(sys.stdin)
    json.dump(triage(request["alert"], request.get("settings", {})), sys.stdout)


if __name__ == "__main__":
    main()
