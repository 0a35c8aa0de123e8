"""phishing-triage: judges a reported or detected phishing mail (triage stage).

What it reads from the alert: email-address entities (the sender, with its display name, and
the recipients), url and domain entities, and any http(s) URL in the original document
(`alert.raw`), where mail gateways keep the links of the message.

What it does:
1. Heuristics, without asking anyone: a domain that imitates one of `protected_domains`
   (homoglyphs, typos, the brand inside another name), a display name that promises a sender
   the address does not deliver, URLs that hide their host (credentials, raw IP, punycode).
2. Threat intelligence (`intel.lookup`, the only operation it asks for): the sender domains,
   then the URLs, then the other domains, each once, at most `max_lookups` of them. Domains
   under `protected_domains` are never looked up: they are the organisation's own.
3. A risk score, 0 to 100: the highest score intel gave a malicious or suspicious indicator,
   plus a fixed weight for each heuristic that fired, capped at 100. The verdict is malicious
   from `malicious_at` or when intel calls any indicator malicious, suspicious from
   `suspicious_at` or when intel calls one suspicious, benign below.

A lookup that fails (not found, vendor down, denied) is noted and the verdict is made from
what is left; the alert fails only when the plugin's own settings are malformed.

Settings (`[plugins.phishing-triage.settings]`, all optional):
- `protected_domains`: comma-separated domains the organisation owns or its users trust.
- `max_lookups` (default 10), `suspicious_at` (default 30), `malicious_at` (default 70),
  `max_edit_distance` (default 1: how many typos make a lookalike).

Notes: `intel:<indicator>`, `intel:skipped` (how many were not looked up, and why),
`lookalike:<domain>`, `display-name:<address>`, `url:<url>`, `urls:ignored` (links past the
first 50), `risk` (how the score adds up). Tags: `phishing:lookalike-domain`,
`phishing:display-name-mismatch`, `phishing:new-domain`, `phishing:url-trick`,
`intel:malicious`, `intel:suspicious`, `intel:incomplete` (a lookup failed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import wit_world
from componentize_py_types import Err
from wit_world.imports import config, intel, log
from wit_world.imports.palisade_action_types import (
    ActionError,
    ActionError_Denied,
    ActionError_InvalidInput,
    ActionError_LimitExceeded,
    ActionError_NotFound,
    Alert,
    Entity_Domain,
    Entity_EmailAddress,
    Entity_Url,
    Note,
    Outcome,
    PluginInfo,
    Verdict,
)

import heuristics

NAME = "phishing-triage"
VERSION = "0.1.0"

# What each heuristic adds to the risk score. A lookalike sender is the strongest sign a
# human can miss; a shape trick in a URL alone is common in marketing mail, so it weighs least.
WEIGHT_LOOKALIKE = 40
WEIGHT_DISPLAY_NAME = 30
WEIGHT_NEW_DOMAIN = 20
WEIGHT_URL_TRICK = 15

# A mail can carry thousands of links (newsletters, a pasted log). Past this many the rest are
# counted, not examined: the outcome must stay within the host's output limit, and the first
# links of a phish are the ones it wants clicked.
MAX_URLS = 50
# Notes keyed by a URL keep this many characters of it; tracking links run to kilobytes.
MAX_KEY_URL = 200

# Intel tags that mean "registered or first seen recently": phishing domains rarely live long.
NEW_DOMAIN_TAGS = {"newly-registered", "newly-seen", "new-domain", "nrd"}


@dataclass(frozen=True)
class Settings:
    protected_domains: tuple[str, ...] = ()
    max_lookups: int = 10
    suspicious_at: int = 30
    malicious_at: int = 70
    max_edit_distance: int = 1

    @staticmethod
    def load(get: Callable[[str], Optional[str]]) -> "Settings":
        """Reads the settings; a malformed one is the admin's mistake, so it fails the alert
        with a message naming the key instead of judging with a threshold nobody chose."""

        def number(key: str, default: int, low: int, high: int) -> int:
            text = get(key)
            if text is None or not text.strip():
                return default
            try:
                value = int(text.strip())
            except ValueError:
                raise Err(ActionError_InvalidInput(f"setting {key}: {text!r} is not a whole number")) from None
            if not low <= value <= high:
                raise Err(ActionError_InvalidInput(f"setting {key}: {value} is not between {low} and {high}"))
            return value

        protected = []
        for item in (get("protected_domains") or "").split(","):
            if not item.strip():
                continue
            domain = heuristics.normalize_domain(item)
            if domain is None:
                raise Err(ActionError_InvalidInput(f"setting protected_domains: {item.strip()!r} is not a domain"))
            protected.append(heuristics.registrable(domain))
        settings = Settings(
            protected_domains=tuple(protected),
            max_lookups=number("max_lookups", Settings.max_lookups, 0, 100),
            suspicious_at=number("suspicious_at", Settings.suspicious_at, 1, 100),
            malicious_at=number("malicious_at", Settings.malicious_at, 1, 100),
            max_edit_distance=number("max_edit_distance", Settings.max_edit_distance, 0, 3),
        )
        if settings.suspicious_at > settings.malicious_at:
            raise Err(ActionError_InvalidInput(
                f"setting suspicious_at ({settings.suspicious_at}) is above malicious_at ({settings.malicious_at})"
            ))
        return settings


@dataclass
class Findings:
    """What the plugin found, in the order it found it; becomes the outcome."""

    notes: list[Note] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    # (what, points) for the risk note, so an analyst sees how the score adds up.
    weights: list[tuple[str, int]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    intel_score: int = 0
    malicious: list[str] = field(default_factory=list)
    suspicious: list[str] = field(default_factory=list)
    looked_up: int = 0
    failed: int = 0

    def note(self, key: str, value: str) -> None:
        self.notes.append(Note(key=key, value=value))

    def tag(self, tag: str) -> None:
        if tag not in self.tags:
            self.tags.append(tag)

    def weigh(self, what: str, points: int, tag: str, reason: str) -> None:
        """Adds a heuristic's points, and its reason for the summary, once per kind: five
        lookalike links are one trick, and the notes name each of them."""
        if all(name != what for name, _ in self.weights):
            self.tag(tag)
            self.reasons.append(reason)
            self.weights.append((what, points))


@dataclass
class Evidence:
    """The alert's mail-related entities, normalised and deduplicated."""

    # Every address with its display name. The sender is the one that matters; recipients are
    # usually under protected_domains, which keeps them out of the lookups.
    addresses: list[tuple[str, Optional[str]]] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)
    urls_ignored: int = 0

    @staticmethod
    def of(alert: Alert, findings: Findings) -> "Evidence":
        evidence = Evidence()
        for entity in alert.entities:
            if isinstance(entity, Entity_EmailAddress):
                address = entity.value.address.strip().lower()
                if heuristics.email_domain(address) is None:
                    findings.note(f"email:{entity.value.address}", "skipped: not an email address")
                elif all(address != known for known, _ in evidence.addresses):
                    evidence.addresses.append((address, entity.value.display_name))
            elif isinstance(entity, Entity_Url):
                evidence.add_url(entity.value)
            elif isinstance(entity, Entity_Domain):
                domain = heuristics.normalize_domain(entity.value)
                if domain is None:
                    findings.note(f"domain:{entity.value}", "skipped: not a domain name")
                elif domain not in evidence.domains:
                    evidence.domains.append(domain)
        for url in heuristics.urls_in_raw(alert.raw):
            evidence.add_url(url)
        if evidence.urls_ignored:
            findings.note("urls:ignored", f"{evidence.urls_ignored} more links not examined (over {MAX_URLS})")
        return evidence

    def add_url(self, url: str) -> None:
        url = url.strip()
        if not url or url in self.urls:
            return
        if len(self.urls) < MAX_URLS:
            self.urls.append(url)
        else:
            self.urls_ignored += 1

    def empty(self) -> bool:
        return not (self.addresses or self.urls or self.domains)


def judge_heuristics(evidence: Evidence, settings: Settings, findings: Findings) -> None:
    """The checks that need no host call."""
    protected = settings.protected_domains
    seen: set[str] = set()
    candidates = [heuristics.email_domain(address) for address, _ in evidence.addresses]
    candidates += [heuristics.url_host(url) for url in evidence.urls]
    candidates += evidence.domains
    for domain in candidates:
        if not domain or domain in seen or heuristics.is_ip(domain):
            continue
        seen.add(domain)
        found = heuristics.lookalike(domain, protected, settings.max_edit_distance)
        if found:
            findings.note(f"lookalike:{domain}", f"imitates {found.imitates} ({found.how})")
            findings.weigh("lookalike", WEIGHT_LOOKALIKE, "phishing:lookalike-domain",
                           f"{domain} imitates {found.imitates}")

    for address, display_name in evidence.addresses:
        if not display_name:
            continue
        why = heuristics.display_name_mismatch(display_name, address, protected)
        if why:
            findings.note(f"display-name:{address}", why)
            findings.weigh("display-name", WEIGHT_DISPLAY_NAME, "phishing:display-name-mismatch", why)

    for url in evidence.urls:
        flags = heuristics.url_red_flags(url)
        if flags:
            findings.note(f"url:{short(url)}", "; ".join(flags))
            findings.weigh("url-trick", WEIGHT_URL_TRICK, "phishing:url-trick", f"{short(url)}: {flags[0]}")


def indicators(evidence: Evidence, settings: Settings) -> list[intel.Indicator]:
    """What to ask intel about, most telling first, each once, the organisation's own
    domains left out (their reputation says nothing about this mail)."""
    wanted: list[intel.Indicator] = []
    seen: set[str] = set()

    def add(indicator: intel.Indicator) -> None:
        key = f"{type(indicator).__name__}:{indicator.value.lower()}"
        if key not in seen:
            seen.add(key)
            wanted.append(indicator)

    def trusted(domain: str) -> bool:
        return heuristics.within(domain, settings.protected_domains) is not None

    for address, _ in evidence.addresses:
        domain = heuristics.email_domain(address)
        if domain and not trusted(domain):
            add(intel.Indicator_Domain(domain))
    hosts: list[str] = []
    for url in evidence.urls:
        host = heuristics.url_host(url)
        if host is None or trusted(host):
            continue
        add(intel.Indicator_Url(url))
        hosts.append(host)
    for domain in evidence.domains + hosts:
        if trusted(domain):
            continue
        if heuristics.is_ip(domain):
            add(intel.Indicator_Ip(domain))
        elif heuristics.normalize_domain(domain):
            add(intel.Indicator_Domain(domain))
    return wanted


def short(indicator: str) -> str:
    """An indicator as a note key shows it: cut, visibly, when it is a kilobyte-long URL."""
    return indicator if len(indicator) <= MAX_KEY_URL else indicator[:MAX_KEY_URL] + "..."


def listing(indicators: list[str], most: int = 3) -> str:
    """`a, b, c and 4 more`: the summary is one sentence, however many indicators there are."""
    shown = ", ".join(short(indicator) for indicator in indicators[:most])
    return shown + (f" and {len(indicators) - most} more" if len(indicators) > most else "")


def describe_report(report: intel.Report) -> str:
    """`malicious score=95 sources=a,b tags=x`: the same shape ip-reputation writes, so triage
    and analysts read one format."""
    value = f"{report.reputation.name.lower()} score={min(report.score, 100)}"
    for name, items in (("sources", report.sources), ("tags", report.tags)):
        if items:
            value += f" {name}=" + ",".join(item.replace(" ", "-").replace(",", "-") for item in items)
    return value


def error_text(error: ActionError) -> str:
    kind = type(error).__name__.removeprefix("ActionError_")
    kebab = "".join("-" + c.lower() if c.isupper() else c for c in kind).lstrip("-")
    return f"{kebab}: {error.value}"


def ask_intel(wanted: list[intel.Indicator], settings: Settings, findings: Findings,
              lookup: Callable[[intel.Indicator], intel.Report]) -> None:
    stopped: Optional[str] = None
    for index, indicator in enumerate(wanted):
        # One note for all that are left, not one each: a long tail of "skipped" says nothing.
        if stopped or findings.looked_up >= settings.max_lookups:
            why = stopped or f"over max_lookups ({settings.max_lookups})"
            findings.note("intel:skipped", f"{len(wanted) - index} not looked up: {why}")
            break
        key = f"intel:{short(indicator.value)}"
        findings.looked_up += 1
        try:
            report = lookup(indicator)
        except Err as e:
            error: ActionError = e.value
            if isinstance(error, ActionError_NotFound):
                # No source knows it: common for a fresh phishing domain, not a failure.
                findings.note(key, "unknown")
                continue
            findings.failed += 1
            findings.tag("intel:incomplete")
            findings.note(key, f"error: {error_text(error)}")
            # Denied and limit-exceeded answer every later lookup the same way: stop asking.
            if isinstance(error, (ActionError_Denied, ActionError_LimitExceeded)):
                stopped = f"intel unavailable ({error_text(error)})"
            continue
        findings.note(key, describe_report(report))
        reputation = report.reputation
        if reputation == intel.Reputation.MALICIOUS:
            findings.malicious.append(indicator.value)
            findings.tag("intel:malicious")
        elif reputation == intel.Reputation.SUSPICIOUS:
            findings.suspicious.append(indicator.value)
            findings.tag("intel:suspicious")
        if reputation in (intel.Reputation.MALICIOUS, intel.Reputation.SUSPICIOUS):
            findings.intel_score = max(findings.intel_score, min(report.score, 100))
        if NEW_DOMAIN_TAGS & {tag.lower() for tag in report.tags}:
            findings.weigh("new-domain", WEIGHT_NEW_DOMAIN, "phishing:new-domain",
                           f"{short(indicator.value)} is newly seen")


def verdict(risk: int, findings: Findings, settings: Settings) -> Verdict:
    # One indicator a source calls malicious is enough: a known phishing URL in a mail is a
    # phish whatever the other signs say.
    if findings.malicious or risk >= settings.malicious_at:
        return Verdict.MALICIOUS
    if findings.suspicious or risk >= settings.suspicious_at:
        return Verdict.SUSPICIOUS
    return Verdict.BENIGN


def triage(alert: Alert, settings: Settings,
           lookup: Callable[[intel.Indicator], intel.Report]) -> Outcome:
    """The whole decision; `lookup` is the host's `intel.lookup` in the component."""
    findings = Findings()
    evidence = Evidence.of(alert, findings)
    if evidence.empty():
        # Routed here by a broad match rule: nothing mail-like to judge is an answer, not an error.
        return Outcome(verdict=None, risk_score=None, notes=findings.notes, tags=[],
                       summary="No email address, URL or domain to judge.")

    judge_heuristics(evidence, settings, findings)
    ask_intel(indicators(evidence, settings), settings, findings, lookup)

    parts = [("intel", findings.intel_score)] if findings.intel_score else []
    parts += findings.weights
    risk = min(100, sum(points for _, points in parts))
    judged = verdict(risk, findings, settings)
    breakdown = " + ".join(f"{what} {points}" for what, points in parts) or "no finding"
    findings.note("risk", f"{risk} ({breakdown})")

    why = [f"malicious {listing(findings.malicious)}"] if findings.malicious else []
    why += [f"suspicious {listing(findings.suspicious)}"] if findings.suspicious else []
    why += findings.reasons
    summary = f"{judged.name.capitalize()} mail, risk {risk}"
    summary += f": {'; '.join(why)}." if why else "."
    summary += f" Intel: {findings.looked_up} looked up"
    summary += f", {findings.failed} failed." if findings.failed else "."
    return Outcome(verdict=judged, risk_score=risk, notes=findings.notes,
                   tags=findings.tags, summary=summary)


class WitWorld(wit_world.WitWorld):
    def describe(self) -> PluginInfo:
        # The host grants from this list; it must not call any import, so it is a constant.
        return PluginInfo(
            name=NAME,
            version=VERSION,
            description="Judges a phishing mail from its sender, display name, links and "
            "domains: lookalike domains, display-name spoofing and threat intelligence",
            capabilities=["intel.lookup"],
        )

    def handle(self, alert: Alert) -> Outcome:
        settings = Settings.load(config.get)
        outcome = triage(alert, settings, intel.lookup)
        log.log(log.Level.INFO, f"alert {alert.id}: {outcome.summary}")
        return outcome
