"""Unit tests of the decision in app.py, on CPython, with the generated bindings and a fake
`intel.lookup`. The bindings are not checked in; generate them first:

    componentize-py -d ../../wit/v0.1.0 -w action bindings /tmp/palisade-bindings
    PYTHONPATH=/tmp/palisade-bindings python3 -m unittest -v

Without them on the path these tests are skipped (test_heuristics.py still runs).
"""

import unittest

try:
    import app
    from componentize_py_types import Err
    from wit_world.imports import intel
    from wit_world.imports.palisade_action_types import (
        ActionError_ConnectorFailed,
        ActionError_InvalidInput,
        ActionError_LimitExceeded,
        ActionError_NotFound,
        Alert,
        EmailAddress,
        Entity_EmailAddress,
        Entity_Ip,
        Entity_Url,
        Ip,
        Severity,
        Verdict,
    )
except ImportError:  # no bindings on the path
    app = None


def alert(*entities, raw: str = "{}") -> "Alert":
    return Alert(id="a-1", title="t", source_product="p", rule_id=None, rule_name=None,
                 category="phishing", severity=Severity.MEDIUM, confidence=50,
                 timestamp="2026-11-26T08:30:00Z", entities=list(entities), tags=[],
                 annotations=[], verdict=None, risk_score=None, raw=raw)


def sender(address: str, name: str | None = None) -> "Entity_EmailAddress":
    return Entity_EmailAddress(EmailAddress(address=address, display_name=name))


def settings(**values: str) -> "app.Settings":
    return app.Settings.load(values.get)


class Recorder:
    """A fake intel.lookup: answers from a table, raises an error value, records each call."""

    def __init__(self, answers=None, error=None):
        self.answers = answers or {}
        self.error = error
        self.calls: list[str] = []

    def __call__(self, indicator):
        self.calls.append(f"{type(indicator).__name__.removeprefix('Indicator_').lower()} {indicator.value}")
        if self.error is not None:
            raise Err(self.error)
        if indicator.value in self.answers:
            reputation, score = self.answers[indicator.value]
            return intel.Report(indicator=indicator.value, reputation=reputation, score=score,
                                sources=["feed"], tags=[], description=None)
        raise Err(ActionError_NotFound(indicator.value))


def notes(outcome) -> dict[str, str]:
    return {note.key: note.value for note in outcome.notes}


@unittest.skipIf(app is None, "the generated bindings are not on PYTHONPATH")
class Triage(unittest.TestCase):
    def test_a_known_malicious_link_is_enough(self) -> None:
        lookup = Recorder({"https://kit.test/login": (intel.Reputation.MALICIOUS, 85)})
        outcome = app.triage(alert(Entity_Url("https://kit.test/login")), settings(), lookup)
        self.assertEqual(outcome.verdict, Verdict.MALICIOUS)
        self.assertEqual(outcome.risk_score, 85)
        self.assertEqual(lookup.calls, ["url https://kit.test/login", "domain kit.test"])
        self.assertEqual(notes(outcome)["intel:kit.test"], "unknown")

    def test_limit_exceeded_stops_the_lookups(self) -> None:
        lookup = Recorder(error=ActionError_LimitExceeded("host calls"))
        outcome = app.triage(alert(sender("a@one.test"), Entity_Url("https://two.test/")), settings(), lookup)
        self.assertEqual(len(lookup.calls), 1)
        self.assertEqual(notes(outcome)["intel:skipped"],
                         "2 not looked up: intel unavailable (limit-exceeded: host calls)")
        self.assertIn("intel:incomplete", outcome.tags)
        self.assertEqual(outcome.verdict, Verdict.BENIGN)

    def test_a_failed_lookup_is_noted_and_the_next_one_made(self) -> None:
        lookup = Recorder(error=ActionError_ConnectorFailed("timeout"))
        outcome = app.triage(alert(sender("a@one.test"), Entity_Url("https://two.test/")), settings(), lookup)
        self.assertEqual(len(lookup.calls), 3)
        self.assertEqual(notes(outcome)["intel:one.test"], "error: connector-failed: timeout")
        self.assertTrue(outcome.summary.endswith("Intel: 3 looked up, 3 failed."), outcome.summary)

    def test_protected_domains_are_not_looked_up(self) -> None:
        lookup = Recorder()
        outcome = app.triage(alert(sender("alice@mail.example.com"), Entity_Url("https://www.example.com/")),
                             settings(protected_domains="example.com"), lookup)
        self.assertEqual(lookup.calls, [])
        self.assertEqual(outcome.verdict, Verdict.BENIGN)

    def test_max_lookups_zero_asks_nothing(self) -> None:
        lookup = Recorder()
        outcome = app.triage(alert(sender("a@one.test")), settings(max_lookups="0"), lookup)
        self.assertEqual(lookup.calls, [])
        self.assertEqual(notes(outcome)["intel:skipped"], "1 not looked up: over max_lookups (0)")

    def test_nothing_mail_like_is_no_verdict(self) -> None:
        outcome = app.triage(alert(Entity_Ip(Ip(address="203.0.113.7", direction=None)), raw="not json"),
                             settings(), Recorder())
        self.assertIsNone(outcome.verdict)
        self.assertIsNone(outcome.risk_score)
        self.assertEqual(outcome.summary, "No email address, URL or domain to judge.")

    def test_the_summary_names_three_indicators_and_counts_the_rest(self) -> None:
        urls = [f"https://kit{n}.test/" for n in range(6)]
        lookup = Recorder({url: (intel.Reputation.MALICIOUS, 90) for url in urls})
        outcome = app.triage(alert(*[Entity_Url(url) for url in urls]), settings(), lookup)
        self.assertIn("malicious https://kit0.test/, https://kit1.test/, https://kit2.test/ and 3 more",
                      outcome.summary)

    def test_malformed_settings_are_invalid_input_naming_the_key(self) -> None:
        for values, message in [
            ({"max_lookups": "ten"}, "setting max_lookups: 'ten' is not a whole number"),
            ({"malicious_at": "101"}, "setting malicious_at: 101 is not between 1 and 100"),
            ({"suspicious_at": "80"}, "setting suspicious_at (80) is above malicious_at (70)"),
            ({"protected_domains": "example.com, not a domain"},
             "setting protected_domains: 'not a domain' is not a domain"),
        ]:
            with self.assertRaises(Err) as raised:
                settings(**values)
            self.assertEqual(raised.exception.value, ActionError_InvalidInput(message))

    def test_defaults(self) -> None:
        self.assertEqual(settings(), app.Settings(protected_domains=(), max_lookups=10, suspicious_at=30,
                                                  malicious_at=70, max_edit_distance=1))


if __name__ == "__main__":
    unittest.main()
