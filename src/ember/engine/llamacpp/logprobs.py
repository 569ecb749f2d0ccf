"""Log-probabilities of a batch row, as the OpenAI API reports them.

Read from the row's raw logits (before any sampling filter), and only when a request
asks for them: a log-softmax over the whole vocabulary (Qwen's is 152k tokens) for every
token is work a plain answer does not pay for.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import llama_cpp as ll
import numpy as np
import numpy.typing as npt

from ember.engine.base import TokenLogprob


def row_logprobs(ctx: Any, row: int, n_vocab: int) -> npt.NDArray[np.float32]:
    """Log-softmax of ``row``'s logits in ``ctx``."""
    logits = ll.llama_get_logits_ith(ctx, row)
    values = np.ctypeslib.as_array(logits, shape=(n_vocab,)).astype(np.float64)
    peak = values.max()
    result: npt.NDArray[np.float32] = (
        values - (peak + np.log(np.exp(values - peak).sum()))
    ).astype(np.float32)
    return result


def token_logprob(
    token: int,
    piece: bytes,
    logprobs: npt.NDArray[np.float32],
    top: int,
    piece_of: Callable[[int], bytes],
) -> TokenLogprob:
    """The chosen token's entry, with the ``top`` most likely tokens as alternatives."""
    alternatives: list[tuple[str, float]] = []
    if top > 0:
        best = np.argpartition(-logprobs, top)[:top]
        best = best[np.argsort(-logprobs[best])]
        alternatives = [
            (piece_of(int(t)).decode("utf-8", "replace"), float(logprobs[t])) for t in best
        ]
    return TokenLogprob(
        token=piece.decode("utf-8", "replace"),
        logprob=float(logprobs[token]),
        bytes=list(piece),
        top=alternatives,
    )
