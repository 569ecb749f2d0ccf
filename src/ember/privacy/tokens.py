"""Secrets recognised by their shape: cloud keys, VCS and chat tokens, payment keys,
JWTs, private key blocks — detect-secrets' own plugin patterns (Yelp), used in process.

detect-secrets answers "is there a secret on this line"; a guard needs *where*, so the
plugins' compiled ``denylist`` patterns are run here with ``finditer`` instead of its
``scan_line`` (which also goes through process-global settings and, when verification
is configured, would call the provider with the secret). Nothing here touches the
network, logs or keeps a value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import cast

from detect_secrets.plugins.artifactory import ArtifactoryDetector
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.cloudant import CloudantDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.ibm_cloud_iam import IbmCloudIamDetector
from detect_secrets.plugins.ibm_cos_hmac import IbmCosHmacDetector
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.softlayer import SoftlayerDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from ember.privacy.findings import Finding

# detect-secrets plugin -> kind. Left out: KeywordDetector and BasicAuthDetector (see
# credentials.py, they need the value's place in an assignment), the two entropy
# plugins (credentials.py, key-like positions only) and IPPublicDetector (an address
# is not a secret, and it flags version numbers such as 1.2.3.4).
PLUGIN_KINDS: dict[type[RegexBasedDetector], str] = {
    AWSKeyDetector: "secret.aws_key",
    AzureStorageKeyDetector: "secret.azure_key",
    IbmCloudIamDetector: "secret.ibm_key",
    IbmCosHmacDetector: "secret.ibm_key",
    SoftlayerDetector: "secret.softlayer_key",
    CloudantDetector: "secret.cloudant_key",
    GitHubTokenDetector: "secret.github_token",
    GitLabTokenDetector: "secret.gitlab_token",
    SlackDetector: "secret.slack_token",
    DiscordBotTokenDetector: "secret.discord_token",
    TelegramBotTokenDetector: "secret.telegram_token",
    StripeDetector: "secret.stripe_key",
    SquareOAuthDetector: "secret.square_key",
    OpenAIDetector: "secret.openai_key",
    SendGridDetector: "secret.sendgrid_key",
    MailchimpDetector: "secret.mailchimp_key",
    TwilioKeyDetector: "secret.twilio_key",
    ArtifactoryDetector: "secret.artifactory_token",
    NpmDetector: "secret.npm_token",
    PypiTokenDetector: "secret.pypi_token",
    JwtTokenDetector: "secret.jwt",
    PrivateKeyDetector: "secret.private_key",
}

# Formats detect-secrets 1.5 does not know, measured as missed in `ember bench privacy`:
# the last resort of a hand-written list, kept to documented prefixes.
EXTRA_FORMATS: tuple[tuple[str, str], ...] = (
    ("secret.github_token", r"github_pat_[A-Za-z0-9_]{22,255}"),  # fine-grained PAT
    ("secret.google_key", r"AIza[0-9A-Za-z_\-]{35}"),  # Google Cloud API key
    ("secret.anthropic_key", r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    ("secret.huggingface_token", r"hf_[A-Za-z0-9]{30,}"),
    ("secret.stripe_key", r"(?:sk|rk)_test_[0-9a-zA-Z]{24,}"),
)

# A token goes on as long as its alphabet does: detect-secrets' patterns match a fixed
# length (Stripe: 24 characters, while live keys are longer; JWT: the signature is
# optional), and half a key left in the clear is a key left in the clear.
_TOKEN_TAIL = re.compile(r"[A-Za-z0-9_\-]*")
_JWT_TAIL = re.compile(r"[A-Za-z0-9_\-.+/=]*")
_EDGE = " \t\r\n=:\"'"
_PEM_END = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|---- END SSH2 [A-Z ]+----")
_PEM_BODY = re.compile(r"(?:[ \t]*[A-Za-z0-9+/=:\\-]*[ \t]*(?:\\n|\r?\n))*")
# detect-secrets' IBM, SoftLayer and Cloudant patterns make the vendor's name optional,
# so any `api_key = <44 characters>` passes for an IBM key (a cloud key: blocked).
# Here the vendor must be named on the line. Their assignment part, `( *)(=|:| +)( *)`,
# also backtracks in cubic time over a run of spaces (800 spaces: 1.5-3 s, 2,000:
# 23 s), so they read only lines without a long run; the assignment and entropy
# detectors still see such a line's values.
_VENDOR = {
    "secret.ibm_key": re.compile(r"(?i)ibm|iam|cloud|cos"),
    "secret.softlayer_key": re.compile(r"(?i)softlayer|\bsl"),
    "secret.cloudant_key": re.compile(r"(?i)cloudant|\bcl"),
}
_LONG_SPACES = re.compile(r"[ \t]{16}")
_LINE = re.compile(r"[^\n]+")
_MIN_GROUP = 8  # a capture group shorter than this is a prefix (ghp, glpat), not the secret


@dataclass(frozen=True)
class _Pattern:
    kind: str
    regex: re.Pattern[str]
    detector: str


def _patterns() -> tuple[_Pattern, ...]:
    out = [
        _Pattern(kind, _at_token_start(regex) if kind == "secret.jwt" else regex,
                 f"detect-secrets:{plugin.__name__}")
        for plugin, kind in PLUGIN_KINDS.items()
        for regex in cast("Iterable[re.Pattern[str]]", plugin.denylist)  # a class attribute
    ]  # fmt: skip
    out += [_Pattern(kind, re.compile(p), "ember:token-format") for kind, p in EXTRA_FORMATS]
    return tuple(out)


class TokenDetector:
    """Secrets whose format gives them away, wherever they appear in the text."""

    name = "detect-secrets"

    def __init__(self) -> None:
        self._patterns = _patterns()
        self.kinds = frozenset(p.kind for p in self._patterns)

    def find(self, text: str) -> Iterator[Finding]:
        for p in self._patterns:
            vendor = _VENDOR.get(p.kind)
            matches = p.regex.finditer(text) if vendor is None else _vendor_lines(p, vendor, text)
            done = 0  # the end of the last finding: a match inside it is the same secret
            for m in matches:
                if m.start() < done:
                    continue
                if vendor is not None and vendor.search(m.group()) is None:
                    continue
                span = _secret_span(m, text, p.kind)
                if span is None:
                    continue
                done = span[1]
                yield Finding(span[0], span[1], p.kind, p.detector)


def _vendor_lines(p: _Pattern, vendor: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``p``'s matches on the lines that name its vendor and have no long run of spaces
    (matched in place: offsets are the text's)."""
    for line in _LINE.finditer(text):
        if vendor.search(line.group()) and not _LONG_SPACES.search(line.group()):
            yield from p.regex.finditer(text, line.start(), line.end())


def _at_token_start(regex: re.Pattern[str]) -> re.Pattern[str]:
    """``regex`` tried only where a token starts. detect-secrets' JWT pattern, tried at
    every ``eyJ`` of a long run ("eyJeyJeyJ…"), takes quadratic time: 2 s for 100 kB."""
    return re.compile(rf"(?<![A-Za-z0-9_\-.])(?:{regex.pattern})", regex.flags)


def _secret_span(m: re.Match[str], text: str, kind: str) -> tuple[int, int] | None:
    """Where the secret itself lies in a match: a capture group holding it (a password
    in a URL, a key after its name), else the whole match less delimiters, extended to
    the end of the token (or of the key block)."""
    groups = [i for i in range(1, (m.re.groups or 0) + 1) if m.group(i)]
    long_groups = [i for i in groups if m.end(i) - m.start(i) >= _MIN_GROUP]
    if long_groups:
        i = max(long_groups, key=lambda g: m.end(g) - m.start(g))
        start, end = m.start(i), m.end(i)
    else:
        start, end = m.start(), m.end()
        while start < end and text[start] in _EDGE:
            start += 1
        while end > start and text[end - 1] in _EDGE:
            end -= 1
        if kind == "secret.private_key":
            return _key_block(text, start, end)
        tail = _JWT_TAIL if kind == "secret.jwt" else _TOKEN_TAIL
        tail_match = tail.match(text, end)  # matches the empty string at worst
        end = tail_match.end() if tail_match else end
    if kind == "secret.jwt" and not JwtTokenDetector.is_formally_valid(text[start:end]):
        return None
    return (start, end) if end > start else None


def _key_block(text: str, start: int, end: int) -> tuple[int, int]:
    """A private key from its BEGIN line to its END line; a block pasted without its
    END line runs to the end of its base64 body."""
    line_start = text.rfind("\n", 0, start) + 1
    prefix = text[line_start:start]
    start = line_start + len(prefix.rstrip("-"))  # the "-----" before BEGIN too
    close = _PEM_END.search(text, end)
    if close is not None:
        return start, close.end()
    line_end = text.find("\n", end)
    if line_end < 0:
        return start, len(text)
    body = _PEM_BODY.match(text, line_end + 1)
    return start, body.end() if body else line_end
