"""Credentials found by where they stand rather than by their shape: a value assigned
to a password-like name, the password of a URL (``https://user:pass@host``), and a
random-looking string where a key would go.

The assignment patterns and the filters for false positives (templated values,
``$VARIABLES``, indirect references such as ``os.environ["X"]``, UUIDs, sequences)
are detect-secrets' own (its KeywordDetector, BasicAuthDetector and heuristic filters);
so is the Shannon entropy of a string and its thresholds. What is Ember's: the names
that make a position key-like, values that start with a symbol, references such as
``$NAME`` told from passwords that start with "$", filters that read the assignment
rather than its whole line, and that an unquoted value in prose must look like a
credential ("password: hunter2", not "password: forgot it").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from detect_secrets.filters import heuristic
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
)
from detect_secrets.plugins.keyword import (
    CONFIG_DENYLIST_REGEX_TO_GROUP,
    DENYLIST_REGEX,
    QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP,
)

from ember.privacy.findings import Finding

# Values that are code, not credentials: `password: str`, `secret = None`.
_NOT_SECRETS = frozenset(
    {"none", "null", "nil", "true", "false", "str", "string", "int", "bytes", "undefined",
     "required", "optional", "secret", "password", "passwd", "token", "key", "value",
     "empty", "redacted", "hidden"}
)  # fmt: skip
# Names and code rather than values, as met in real code and docs: an environment
# variable's name ("LAB_KEY"), an attribute (self.api_key_env), an index or a call
# begun (out[), a prefix or an elided value ("ember-", "sk-…").
_CODE = re.compile(
    r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+|\w+[\[(]|[A-Za-z]{1,8}[-_]|.*(?:…|\.\.\.)"
)
_QUOTES = "'\"`"
# `$DB_PASSWORD`, `${DB_PASSWORD}`, `%(password)s`: a reference, not the value.
# (detect-secrets drops every value that starts with "$", and "$CNl^$SnV8" is a password.)
_VARIABLE = re.compile(r"\$\{?[A-Za-z_]\w*\}?|%\(\w+\)s|\{\{\s*[\w.]+\s*\}\}")
_TRAILING = ".,;:!?)]}>'\"`"
_AWS_NEAR = re.compile(r"aws", re.IGNORECASE)

# detect-secrets' keyword patterns want a value that starts with a letter or digit;
# generated passwords often start with a symbol ("#s8$Kv3q6(7"). The same keywords,
# then any quoted value, or an unquoted one up to the next space.
_KEYWORD_ANY_VALUE = re.compile(
    rf"{DENYLIST_REGEX}[\"'\]]*\s*(?::=|=>|=|:)\s*(?:([\"'`])([^\"'`\n]+)\2|([^\s\"'`,;]+))",
    re.IGNORECASE,
)
# Passwords passed as arguments: `--password X`, `mysql -pX`, `docker login -p X`,
# requests' `auth=("user", "X")`.
_PASSWORD_ARGUMENTS = (
    re.compile(
        r"(?<!\S)--(?:password|passwd|pass|pwd)(?:=|\s+)(?:([\"'])([^\"'\n]+)\1|([^\s\"']+))"
    ),
    re.compile(
        r"\b(?:mysql|mysqldump|mariadb)\b[^\n]*?(?<!\S)-p(?:([\"'])([^\"'\n]+)\1|([^\s\"']+))"
    ),
    re.compile(r"\blogin\b[^\n]*?(?<!\S)-p\s+(?:([\"'])([^\"'\n]+)\1|([^\s\"']+))"),
    re.compile(r"\bauth\s*=\s*\(\s*[\"'][^\"'\n]*[\"']\s*,\s*([\"'])([^\"'\n]+)\1"),
)
# A key-like name, then an assignment (=, :, :=, =>, a CLI flag's space) or an
# Authorization header's scheme, then the value.
# The name starts a token and its parts are bounded: an unanchored `[\w.-]*key[\w.-]*`
# backtracks for minutes over a long run of letters.
_KEY_NAME = (
    r"(?<![\w.\-])[\w.\-]{0,40}?(?:key|token|secret|auth|credential|signature|session|"
    r"cookie|salt|bearer|access|private|passphrase)[\w.\-]{0,40}"
)
_KEY_VALUE = re.compile(
    rf"(?i:{_KEY_NAME})[\"'\]]*(?:\s*(?::=|=>|==?|:)\s*|\s+)[\"'`]?"
    r"(?:(?i:bearer|basic|token)\s+)?"
    r"([A-Za-z0-9+/_\-.~]{16,}={0,2})",  # "=" only as base64 padding: not `name=value`
)
_BASE64 = Base64HighEntropyString()
_HEX = HexHighEntropyString()
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _rest_of_line(text: str, start: int) -> str:
    end = text.find("\n", start)
    return text[start : end if end >= 0 else len(text)]


def _filtered(value: str, line: str, *, uuid_ok: bool = True) -> bool:
    """detect-secrets' heuristic filters: True when the value is not a secret. ``line``
    is the assignment from its name to the end of its line: the filters read a whole
    line, and on one that also holds ``AWS_ACCESS_KEY_ID=…`` every value would pass
    for an id. A UUID is dropped too, unless ``uuid_ok`` is False: where a key or
    password goes (``HEROKU_API_KEY=…``), a UUID is the key."""
    return (
        heuristic.is_sequential_string(value)
        or (uuid_ok and heuristic.is_potential_uuid(value))
        or heuristic.is_templated_secret(value)
        or _VARIABLE.fullmatch(value) is not None
        or heuristic.is_not_alphanumeric_string(value)
        or heuristic.is_likely_id_string(value, line)
        or heuristic.is_indirect_reference(line)
        or value.lower() in _NOT_SECRETS
        or _CODE.fullmatch(value) is not None
    )


def _looks_like_credential(value: str) -> bool:
    """An unquoted value is taken for a credential only when it is neither a word nor an
    identifier (``forgot``, ``key_env``, a type such as ``SettingsSource``): it has a
    digit or a symbol."""
    return any(c.isdigit() or not (c.isalpha() or c == "_") for c in value)


class AssignmentDetector:
    """``password = "…"``, ``DB_PASS: …``, ``secret := …`` and URL credentials."""

    name = "detect-secrets:keyword"
    kinds = frozenset({"secret.password", "secret.aws_key"})

    def __init__(self) -> None:
        tables = (QUOTES_REQUIRED_DENYLIST_REGEX_TO_GROUP, CONFIG_DENYLIST_REGEX_TO_GROUP)
        self._patterns = tuple({r: g for t in tables for r, g in t.items()}.items())
        self._url = BasicAuthDetector.denylist[0]

    def find(self, text: str) -> Iterator[Finding]:
        for regex, group in self._patterns:
            for m in regex.finditer(text):
                yield from self._finding(text, m, group)
        for m in _KEYWORD_ANY_VALUE.finditer(text):
            yield from self._finding(text, m, 3 if m.group(3) else 4)
        for regex in _PASSWORD_ARGUMENTS:
            for m in regex.finditer(text):
                yield from self._finding(text, m, m.lastindex or 0)
        for m in self._url.finditer(text):
            value = m.group(1)
            if not _filtered(value, _rest_of_line(text, m.start())):
                yield Finding(m.start(1), m.end(1), "secret.password", "detect-secrets:basic-auth")

    def _finding(self, text: str, m: re.Match[str], group: int) -> Iterator[Finding]:
        span = _value_span(text, m.start(group), m.end(group), m.start())
        if span is not None:
            near = text[max(0, m.start() - 30) : span[0]]
            kind = "secret.aws_key" if _AWS_NEAR.search(near) else "secret.password"
            yield Finding(span[0], span[1], kind, self.name)


def _value_span(text: str, start: int, end: int, name_start: int) -> tuple[int, int] | None:
    """The credential itself: a quoted value whole, an unquoted one up to the first space
    and without trailing punctuation, and None when the filters say it is no secret."""
    quoted = start > 0 and text[start - 1] in _QUOTES
    if not quoted:
        space = re.search(r"\s", text[start:end])
        if space is not None:
            end = start + space.start()
        while end > start and text[end - 1] in _TRAILING:
            end -= 1
    value = text[start:end]
    if not value or _filtered(value, _rest_of_line(text, name_start), uuid_ok=False):
        return None
    if not quoted and not _looks_like_credential(value):
        return None
    return start, end


class EntropyDetector:
    """A random-looking string where a key would go: after a key-like name
    (``client_secret``, ``X-Api-Key``, ``--token``) or an ``Authorization`` scheme."""

    name = "detect-secrets:entropy"
    kinds = frozenset({"secret.high_entropy", "secret.aws_key"})

    def find(self, text: str) -> Iterator[Finding]:
        for m in _KEY_VALUE.finditer(text):
            start, end = m.start(1), m.end(1)
            while end > start and text[end - 1] in _TRAILING:
                end -= 1
            value = text[start:end]
            if not value or _filtered(value, _rest_of_line(text, m.start()), uuid_ok=False):
                continue
            if not (_random_looking(value) or heuristic.is_potential_uuid(value)):
                continue
            name = text[m.start() : m.start(1)]
            kind = "secret.aws_key" if _AWS_NEAR.search(name) else "secret.high_entropy"
            yield Finding(start, end, kind, self.name)


def _random_looking(value: str) -> bool:
    """detect-secrets' entropy over the hex or base64 alphabet, above its thresholds
    (3.0 and 4.5 bits) scaled down for strings too short to reach them: a random string
    of n distinct-ish characters cannot have more than log2(n) bits per character."""
    if len(value) < 16 or not any(c.isdigit() for c in value):
        return False
    if set(value) <= _HEX_DIGITS:
        return _HEX.calculate_shannon_entropy(value) > min(3.0, 0.75 * math.log2(len(value)))
    return _BASE64.calculate_shannon_entropy(value) > min(4.5, 0.85 * math.log2(len(value)))
