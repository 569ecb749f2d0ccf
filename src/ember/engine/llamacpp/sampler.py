"""Build one llama.cpp sampler chain per sequence from :class:`SamplingParams`.

Order follows llama.cpp's common defaults: logit bias, penalties, grammar, then either
greedy (temperature <= 0) or top-k -> top-p -> min-p -> temperature -> seeded draw.

A chain that is greedy alone is an argmax over the row's logits: read in place with
numpy instead of copying the whole vocabulary into llama.cpp's candidate array first
(Qwen's 152k tokens: 0.68 ms a token, 0.14 ms read in place), the same token —
both take the first of equal maxima.
"""

from __future__ import annotations

import random
from typing import Any

import llama_cpp as ll
import numpy as np

from ember.engine.base import SamplingParams
from ember.errors import EmberError


class InvalidGrammarError(EmberError):
    status = 400
    code = "invalid_grammar"


class SamplerChain:
    """Owns a llama_sampler chain; ``sample`` picks and accepts a token from a batch row."""

    def __init__(self, params: SamplingParams, vocab: Any, n_vocab: int) -> None:
        chain_params = ll.llama_sampler_chain_default_params()
        chain_params.no_perf = True
        self.ptr = ll.llama_sampler_chain_init(chain_params)
        self.seed = params.seed if params.seed is not None else random.randint(0, 2**31 - 1)
        self.n_vocab = n_vocab
        self.argmax_only = False  # set by _build: greedy with nothing before it
        try:
            self._build(params, vocab, n_vocab)
        except BaseException:
            self.close()
            raise

    def _add(self, sampler: Any) -> None:
        ll.llama_sampler_chain_add(self.ptr, sampler)

    def _build(self, p: SamplingParams, vocab: Any, n_vocab: int) -> None:
        if p.logit_bias:
            items = [(tok, bias) for tok, bias in p.logit_bias.items() if 0 <= tok < n_vocab]
            arr = (ll.llama_logit_bias * len(items))()
            for i, (tok, bias) in enumerate(items):
                arr[i] = ll.llama_logit_bias(tok, bias)
            self._add(ll.llama_sampler_init_logit_bias(n_vocab, len(items), arr))
        if p.repeat_penalty != 1.0 or p.presence_penalty or p.frequency_penalty:
            self._add(
                ll.llama_sampler_init_penalties(
                    n_vocab,
                    p.repeat_last_n,
                    p.repeat_penalty,
                    p.frequency_penalty,
                    p.presence_penalty,
                )
            )
        if p.grammar:
            grammar = ll.llama_sampler_init_grammar(vocab, p.grammar.encode(), b"root")
            if not grammar:
                raise InvalidGrammarError("the grammar could not be parsed (GBNF syntax error)")
            self._add(grammar)
        if p.temperature <= 0:
            self.argmax_only = ll.llama_sampler_chain_n(self.ptr) == 0
            self._add(ll.llama_sampler_init_greedy())
            return
        if p.top_k > 0:
            self._add(ll.llama_sampler_init_top_k(p.top_k))
        if p.top_p < 1.0:
            self._add(ll.llama_sampler_init_top_p(p.top_p, 1))
        if p.min_p > 0:
            self._add(ll.llama_sampler_init_min_p(p.min_p, 1))
        self._add(ll.llama_sampler_init_temp(p.temperature))
        self._add(ll.llama_sampler_init_dist(self.seed & 0xFFFFFFFF))

    def sample(self, ctx: Any, row: int) -> int:
        if self.argmax_only:
            logits = ll.llama_get_logits_ith(ctx, row)
            return int(np.ctypeslib.as_array(logits, shape=(self.n_vocab,)).argmax())
        return int(ll.llama_sampler_sample(self.ptr, ctx, row))

    def close(self) -> None:
        if self.ptr:
            ll.llama_sampler_free(self.ptr)
            self.ptr = None
