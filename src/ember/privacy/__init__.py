"""The privacy guard: what in a request must not leave the machine, and the request
made safe — redacted to placeholders, or refused — before any byte is sent.

Pure and in process: no network, no logging, no storage of values. ``scan`` finds,
``redact`` applies a `Policy` to all texts of a request at once, ``restore`` and
`StreamRestorer` put the values back into the reply (docs/privacy.md).
"""

from ember.privacy.findings import Finding
from ember.privacy.placeholders import Placeholders
from ember.privacy.policy import DEFAULT_ACTIONS, Action, Policy
from ember.privacy.redact import Block, Redaction, redact
from ember.privacy.restore import StreamRestorer, restore
from ember.privacy.scanner import Detector, default_detectors, scan

__all__ = [
    "DEFAULT_ACTIONS",
    "Action",
    "Block",
    "Detector",
    "Finding",
    "Placeholders",
    "Policy",
    "Redaction",
    "StreamRestorer",
    "default_detectors",
    "redact",
    "restore",
    "scan",
]
