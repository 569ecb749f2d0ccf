"""What happens to each kind of protected value before a request leaves the machine.

Defaults, and why:

- **block** private key blocks and cloud-provider keys (AWS, Azure, Google, IBM,
  SoftLayer, Cloudant). Finding one means more is likely there that no pattern sees:
  an AWS access key id travels with its secret key, which in prose or an unusual
  variable has no shape to find; a pasted key block may have lost its markers. Such a
  key opens a whole account, and no answer needs it, so nothing is sent.
- **redact** everything else. A token, a password or a card number is recognised by
  its whole extent, so a placeholder removes it entirely and the question around it
  still makes sense to the cloud model ("why does `[GITHUB_TOKEN_1]` get a 401?");
  the reply gets the value back on its way to the user.

``allow`` lets a kind through unchanged (a user who is content to send e-mail
addresses). A policy names kinds (``secret.aws_key``) or whole categories (``pii``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType


class Action(str, Enum):
    BLOCK = "block"
    REDACT = "redact"
    ALLOW = "allow"


CLOUD_KEYS = frozenset(
    {
        "secret.aws_key",
        "secret.azure_key",
        "secret.google_key",
        "secret.ibm_key",
        "secret.softlayer_key",
        "secret.cloudant_key",
    }
)
DEFAULT_ACTIONS: Mapping[str, Action] = MappingProxyType(
    {
        "secret": Action.REDACT,
        "pii": Action.REDACT,
        "secret.private_key": Action.BLOCK,
        **dict.fromkeys(CLOUD_KEYS, Action.BLOCK),
    }
)

# Why a kind is blocked, in words for the user (kinds not listed: the policy says so).
BLOCK_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "secret.private_key": "a private key is never sent: it may not have been found whole",
        **dict.fromkeys(
            CLOUD_KEYS,
            "a cloud-provider key is never sent: its companion secret may be beside it unseen",
        ),
    }
)


@dataclass(frozen=True)
class Policy:
    """Actions by kind or category; a kind neither names falls back to ``default``."""

    actions: Mapping[str, Action] = field(default_factory=lambda: DEFAULT_ACTIONS)
    default: Action = Action.REDACT

    def action(self, kind: str) -> Action:
        """The action for ``kind``: its own entry, else its category's, else the default."""
        if kind in self.actions:
            return self.actions[kind]
        return self.actions.get(kind.split(".", 1)[0], self.default)

    def with_actions(self, changes: Mapping[str, Action]) -> Policy:
        """This policy with some kinds' (or categories') actions changed."""
        return Policy(MappingProxyType({**self.actions, **changes}), self.default)

    def reason(self, kind: str) -> str:
        """Why ``kind`` is blocked, for the user."""
        return BLOCK_REASONS.get(kind, f"the privacy policy blocks {kind}")
