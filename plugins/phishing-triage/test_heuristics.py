"""Unit tests of the heuristics, on plain CPython: `python3 -m unittest` in this folder.

They need neither the component nor the bindings; tests/e2e/python.rs runs them with the
toolchain's Python and drives the built component through the real host.
"""

import unittest

import heuristics as h

PROTECTED = ["paypal.com", "example.com"]


class Lookalikes(unittest.TestCase):
    def check(self, domain: str, imitates: str | None, how: str | None = None) -> None:
        found = h.lookalike(domain, PROTECTED, 1)
        if imitates is None:
            self.assertIsNone(found, domain)
        else:
            self.assertIsNotNone(found, domain)
            self.assertEqual(found.imitates, imitates, domain)
            if how:
                self.assertEqual(found.how, how, domain)

    def test_tricks(self) -> None:
        self.check("paypa1-secure.net", "paypal.com", "homoglyphs")
        self.check("rnypaypal.test", None)
        self.check("exarnple.com", "example.com", "homoglyphs")
        self.check("exmaple.com", "example.com", "1 edit from it")
        self.check("examples.com", "example.com", "1 edit from it")
        self.check("example.org", "example.com", "same name under another suffix")
        self.check("paypal.com.account-check.net", "paypal.com", "contains its name")
        self.check("paypal-login.com", "paypal.com", "contains its name")
        self.check("examp1e.co.uk", "example.com", "homoglyphs")

    def test_the_real_ones_and_honest_others_are_not_lookalikes(self) -> None:
        for domain in ["paypal.com", "www.paypal.com", "login.example.com", "partner.test",
                       "sample.com", "google.com", "mail.benign-news.org"]:
            self.check(domain, None)

    def test_typo_distance_is_a_setting(self) -> None:
        self.assertIsNone(h.lookalike("exmapel.com", PROTECTED, 1))
        self.assertIsNotNone(h.lookalike("exmapel.com", PROTECTED, 2))
        self.assertIsNone(h.lookalike("exmaple.com", PROTECTED, 0))

    def test_nothing_protected_nothing_imitated(self) -> None:
        self.assertIsNone(h.lookalike("paypa1.com", [], 1))


class DisplayNames(unittest.TestCase):
    def test_brand_in_the_name_from_another_domain(self) -> None:
        self.assertEqual(
            h.display_name_mismatch("PayPal Service", "billing@paypa1-secure.net", PROTECTED),
            "display name says paypal but the mail came from paypa1-secure.net",
        )

    def test_address_in_the_name_from_another_domain(self) -> None:
        self.assertEqual(
            h.display_name_mismatch("ceo@example.com", "ceo.example@freemail.test", PROTECTED),
            "display name shows example.com but the mail came from freemail.test",
        )

    def test_honest_names(self) -> None:
        self.assertIsNone(h.display_name_mismatch("PayPal", "service@mail.paypal.com", PROTECTED))
        self.assertIsNone(h.display_name_mismatch("Alice Liddell", "alice@example.com", PROTECTED))
        self.assertIsNone(h.display_name_mismatch("bob@partner.test", "bob@mx.partner.test", PROTECTED))
        self.assertIsNone(h.display_name_mismatch("PayPal", "not an address", PROTECTED))


class Urls(unittest.TestCase):
    def test_urls_in_json_strings_are_found_once_and_refanged(self) -> None:
        raw = '{"a": "go to hxxps://evil[.]test/x?y=1.", "b": ["https://evil.test/x?y=1", "(http://z.test/)"]}'
        self.assertEqual(h.urls_in_raw(raw), ["https://evil.test/x?y=1", "http://z.test/"])

    def test_a_document_that_is_not_json_is_searched_as_text(self) -> None:
        self.assertEqual(h.urls_in_raw("see <https://a.test/p> now"), ["https://a.test/p"])

    def test_red_flags(self) -> None:
        self.assertEqual(
            h.url_red_flags("http://paypal.com@203.0.113.9/login"),
            ["credentials in URL hide the real host", "raw IP address instead of a name"],
        )
        self.assertEqual(h.url_red_flags("https://xn--pypal-4ve.com/"),
                         ["internationalized (punycode) host name"])
        self.assertEqual(h.url_red_flags("https://www.example.com/a@b"), [])


class Names(unittest.TestCase):
    def test_registrable(self) -> None:
        self.assertEqual(h.registrable("login.paypal.com"), "paypal.com")
        self.assertEqual(h.registrable("a.b.example.co.uk"), "example.co.uk")

    def test_email_domain(self) -> None:
        self.assertEqual(h.email_domain("Bob@Partner.Test"), "partner.test")
        self.assertIsNone(h.email_domain("bob"))
        self.assertIsNone(h.email_domain("@partner.test"))
        self.assertIsNone(h.email_domain("bob@localhost"))

    def test_edit_distance_counts_a_swap_once(self) -> None:
        self.assertEqual(h.edit_distance("exmaple", "example"), 1)
        self.assertEqual(h.edit_distance("", "abc"), 3)
        self.assertEqual(h.edit_distance("paypal", "paypal"), 0)


if __name__ == "__main__":
    unittest.main()
