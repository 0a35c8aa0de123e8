"""What can be judged about a phishing mail without asking anyone: pure functions over strings.

Nothing here imports the generated bindings, so `python3 -m unittest` runs the tests in
`test_heuristics.py` on the build machine's CPython, without building the component.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Iterable, Iterator
from urllib.parse import urlsplit

# Second-level labels under which registrars sell names (example.co.uk). Without the full
# Public Suffix List, which would add a data file to every build, these cover the common
# country-code cases; anywhere else the registrable domain is the last two labels.
_SECOND_LEVEL = {"co", "com", "net", "org", "ac", "gov", "edu", "ne", "or"}

# Characters a lookalike domain swaps in for the letters they resemble.
_HOMOGLYPHS = str.maketrans({"0": "o", "1": "l", "3": "e", "5": "s", "7": "t"})
_DIGRAPHS = (("rn", "m"), ("vv", "w"), ("cl", "d"))

# A URL in free text. Defanged forms (hxxp://, [.]) are refanged before matching, since
# analysts and mail gateways write them that way on purpose.
_URL = re.compile(r"https?://[^\s\"'<>\\{}|^`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}'\""
_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


def normalize_domain(text: str) -> str | None:
    """A host name in lower case without the trailing dot; None when it is not one."""
    name = text.strip().rstrip(".").lower()
    if not name or len(name) > 253 or "." not in name:
        return None
    labels = name.split(".")
    if any(not label or len(label) > 63 or not re.fullmatch(r"[a-z0-9_-]+", label) for label in labels):
        return None
    return name


def registrable(domain: str) -> str:
    """The part of a name its owner registered: login.paypal.com -> paypal.com."""
    labels = domain.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def within(domain: str, parents: Iterable[str]) -> str | None:
    """The parent `domain` is, or is a subdomain of, if any."""
    for parent in parents:
        if domain == parent or domain.endswith("." + parent):
            return parent
    return None


def email_domain(address: str) -> str | None:
    """The domain of `local@domain`; None when the address has no valid domain."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local:
        return None
    return normalize_domain(domain)


def refang(text: str) -> str:
    return re.sub(r"hxxp", "http", text, flags=re.IGNORECASE).replace("[.]", ".").replace("[:]", ":")


def urls_in_text(text: str) -> list[str]:
    """The http(s) URLs in `text`, in order, each once."""
    found: list[str] = []
    for match in _URL.finditer(refang(text)):
        url = match.group(0).rstrip(_TRAILING)
        if url not in found:
            found.append(url)
    return found


def urls_in_raw(raw: str) -> list[str]:
    """The URLs in the alert's original document.

    Mail gateways put the links of a message in fields Palisade does not map to entities
    (`email.urls`, a body excerpt), so the document is searched too. A JSON document is walked
    string by string so that escaped characters cannot glue two URLs together.
    """
    try:
        document = json.loads(raw)
    except ValueError:
        return urls_in_text(raw)
    found: list[str] = []
    for text in _strings(document):
        for url in urls_in_text(text):
            if url not in found:
                found.append(url)
    return found


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def url_host(url: str) -> str | None:
    """The host of an http(s) URL, lower case; None when the URL has none."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.lower() if host else None


def url_red_flags(url: str) -> list[str]:
    """What about a URL's shape alone is a phisher's trick."""
    flags: list[str] = []
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ["unparsable URL"]
    host = parts.hostname or ""
    # http://paypal.com@evil.example/ shows a trusted name but goes to evil.example.
    if "@" in parts.netloc:
        flags.append("credentials in URL hide the real host")
    if is_ip(host):
        flags.append("raw IP address instead of a name")
    if any(label.startswith("xn--") for label in host.split(".")):
        flags.append("internationalized (punycode) host name")
    return flags


def _skeleton(label: str) -> str:
    """A label with homoglyphs replaced by the letters they imitate: paypa1 -> paypal."""
    label = label.translate(_HOMOGLYPHS)
    for fake, real in _DIGRAPHS:
        label = label.replace(fake, real)
    return label


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps of
    two neighbours each cost 1, the typos a typosquatter registers."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (ca != cb),
            )
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


@dataclass(frozen=True)
class Lookalike:
    domain: str
    imitates: str
    how: str


def lookalike(domain: str, protected: Iterable[str], max_distance: int) -> Lookalike | None:
    """Whether `domain` imitates one of the `protected` registrable domains without being it.

    Three tricks are recognised, in the registered name, in each of its hyphenated words and
    in the labels in front of it (where paypal.com.account-check.net hides the brand):
    homoglyphs (paypa1), typos within `max_distance` edits (exmaple), and the protected name
    itself inside another registration (paypal-secure.net, paypal.example.org).
    """
    own = registrable(domain)
    protected = list(protected)
    if own in protected:
        return None
    own_name = own.split(".")[0]
    subdomain_labels = domain.split(".")[: -len(own.split("."))]
    parts = list(dict.fromkeys([own_name, *own_name.split("-"), *subdomain_labels]))
    for real in protected:
        real_name = real.split(".")[0]
        for part in parts:
            if part == real_name:
                how = "same name under another suffix" if part == own_name else "contains its name"
                return Lookalike(domain, real, how)
            if _skeleton(part) == _skeleton(real_name):
                return Lookalike(domain, real, "homoglyphs")
            distance = edit_distance(part, real_name)
            # Short names are one edit away from many honest ones (ibm, ibn), so only names
            # of five letters or more count as typo-squats.
            if 0 < distance <= max_distance and len(real_name) >= 5:
                return Lookalike(domain, real, f"{distance} edit{'s' if distance > 1 else ''} from it")
    return None


def display_name_mismatch(display_name: str, address: str, protected: Iterable[str]) -> str | None:
    """Why the display name promises a sender the address does not deliver, if it does.

    "PayPal Service <billing@paypa1-support.net>" and "ceo@example.com <x@freemail.test>" are the
    classic forms: the name is what a mail client shows, the address is who really sent it.
    """
    domain = email_domain(address)
    if domain is None:
        return None
    shown = display_name.lower()
    for match in _EMAIL_IN_TEXT.finditer(shown):
        claimed = normalize_domain(match.group(1))
        if claimed and registrable(claimed) != registrable(domain):
            return f"display name shows {claimed} but the mail came from {domain}"
    words = set(re.findall(r"[a-z0-9]+", shown))
    for real in protected:
        name = real.split(".")[0]
        if name in words and within(domain, [real]) is None:
            return f"display name says {name} but the mail came from {domain}"
    return None
