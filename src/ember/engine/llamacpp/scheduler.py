"""Continuous batching over one llama.cpp context with N sequences (slots).

The process's compute thread (compute.py) owns the context and calls :meth:`tick`,
between the other models' ticks. Each step it:
1. takes new requests and cancellations;
2. admits queued requests into free slots, choosing the slot whose cached tokens share
   the longest prefix with the prompt (or a saved state on disk) and dropping only the
   diverging suffix of that slot's KV;
3. builds one batch: one token for every decoding sequence, then prompt tokens of
   prefilling sequences up to a chunk size, so running streams never wait for a long
   prompt to be read;
4. runs one ``llama_decode`` and samples every sequence that produced logits.
Tokens go to the asyncio side through the ``emit`` callback of each job.
"""

from __future__ import annotations

import ctypes
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import llama_cpp as ll

from ember.engine.base import Chunk, FinishReason, GenerateRequest, TokenLogprob, Usage
from ember.engine.draft_odds import DraftOdds, StepCosts, drafts_can_pay
from ember.engine.llamacpp.compute import driver
from ember.engine.llamacpp.kv_store import KVStore, common_prefix
from ember.engine.llamacpp.logprobs import row_logprobs, token_logprob
from ember.engine.llamacpp.native import Batch, NativeModel
from ember.engine.llamacpp.sampler import SamplerChain
from ember.engine.llamacpp.step_costs import measure_step_costs
from ember.engine.outbox import Outbox
from ember.engine.repetition import RepetitionGuard
from ember.engine.respelling import respelled_prompt
from ember.engine.speculation import NgramDrafter
from ember.engine.text import TextStream

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One request inside the scheduler. ``cancelled`` may be set from any thread."""

    request: GenerateRequest
    tokens: list[int]
    emit: Callable[[Chunk], None]
    submitted: float = field(default_factory=time.perf_counter)
    cancelled: bool = False


@dataclass
class _ClearCache:
    done: threading.Event


@dataclass
class Slot:
    id: int
    cached: list[int] = field(default_factory=list)  # tokens whose KV this sequence holds
    job: Job | None = None
    prefilled: int = 0  # how many of job.tokens are in the KV
    pending: int | None = None  # sampled, not yet decoded
    sampler: SamplerChain | None = None
    stream: TextStream | None = None
    guard: RepetitionGuard | None = None  # when the request asks to stop loops
    drafter: NgramDrafter | None = None  # speculative decoding: guesses from its tokens
    draft: list[int] = field(default_factory=list)  # guessed tokens in this step's batch
    draft_rows: list[int] = field(default_factory=list)
    unverified: int = 0  # cells at the end of the KV holding guesses not yet confirmed
    generated: int = 0
    unsent: list[int] = field(default_factory=list)  # token ids not yet in a chunk
    cached_at_admit: int = 0
    t_admit: float = 0.0
    t_first: float = 0.0
    last_used: float = 0.0

    @property
    def busy(self) -> bool:
        return self.job is not None


@dataclass
class SchedulerStats:
    steps: int = 0
    decoded_tokens: int = 0
    prompt_tokens: int = 0
    cached_tokens: int = 0
    restored_from_disk: int = 0
    saved_to_disk: int = 0
    drafted_tokens: int = 0  # guesses put into batches (speculative decoding)
    accepted_tokens: int = 0  # guesses the model confirmed


class Scheduler:
    def __init__(
        self,
        model: NativeModel,
        ctx: Any,
        *,
        n_slots: int,
        n_ctx: int,
        n_ctx_total: int,
        n_batch: int,
        prefill_chunk: int,
        kv_store: KVStore | None = None,
        draft_tokens: int = 0,
    ) -> None:
        self.model = model
        self.ctx = ctx
        self.mem = ll.llama_get_memory(ctx)
        self.n_ctx = n_ctx
        self.n_ctx_total = n_ctx_total
        self.n_batch = n_batch
        self.prefill_chunk = prefill_chunk
        self.draft_tokens = draft_tokens  # most guessed tokens per step and sequence (0: off)
        # What steps with guessed rows cost here: timed once, before the first draft,
        # then fixed, so the same request gets the same drafts each time.
        self.step_costs: StepCosts | None = None
        self.kv_store = kv_store
        self.slots = [Slot(i) for i in range(n_slots)]
        self.stats = SchedulerStats()
        self._batch = Batch(n_batch)
        self._incoming: queue.Queue[Job | _ClearCache | None] = queue.Queue()
        self._waiting: deque[Job] = deque()
        self._outbox = Outbox()  # chunks of admitted jobs, handed over before each decode
        self._stopping = False
        self._stopped = threading.Event()
        # Stepped by the process's one compute thread (compute.py), with every other model.
        self._driver = driver()
        if draft_tokens:  # timed at load, not in the middle of someone's first answer
            self._driver.call(lambda: self._time_rows(self.slots[0]))
        self._driver.add(self)

    # ------------------------------------------------------------ public, any thread

    def submit(self, job: Job) -> None:
        self._incoming.put(job)
        self._driver.wake()

    def clear_cache(self) -> None:
        """Forget every idle slot's cached tokens (benchmarks' no-reuse baseline)."""
        done = threading.Event()
        self._incoming.put(_ClearCache(done))
        self._driver.wake()
        done.wait(timeout=30)

    def stop(self) -> None:
        """End every job (cancelled) and leave the compute loop."""
        self._incoming.put(None)
        if threading.current_thread() is self._driver.thread:
            self.tick()
        else:
            self._driver.wake()
            self._stopped.wait(timeout=30)
        self._driver.remove(self)
        self._batch.close()

    @property
    def queue_depth(self) -> int:
        return len(self._waiting) + self._incoming.qsize()

    @property
    def busy_slots(self) -> int:
        return sum(1 for s in self.slots if s.busy)

    # ------------------------------------------------------------ the loop

    def tick(self) -> bool:
        """One round on the compute thread: new requests and cancellations, admission,
        one batch. True while there is work left that needs no new input."""
        if self._stopped.is_set():
            return False
        try:
            self._take_incoming()
            if self._stopping:
                self._shut_down()
                return False
            self._reap_cancelled()
            self._admit()
            if any(s.busy for s in self.slots):
                self._step()
        except Exception as exc:
            log.exception("scheduler step failed")
            for slot in self.slots:
                if slot.job is not None:
                    self._finish(slot, "error", error=str(exc))
                    self._drop_cache(slot)
        finally:
            self._outbox.flush()
        return any(s.busy for s in self.slots) or bool(self._waiting)

    def _shut_down(self) -> None:
        for slot in self.slots:
            if slot.job is not None:
                self._finish(slot, "cancelled")
        self._outbox.flush()
        while self._waiting:
            self._waiting.popleft().emit(Chunk(finish_reason="cancelled"))
        self._stopped.set()

    def _take_incoming(self) -> None:
        try:
            item = self._incoming.get_nowait()
            while True:
                if item is None:
                    self._stopping = True
                    return
                if isinstance(item, _ClearCache):
                    for slot in self.slots:
                        if not slot.busy:
                            self._drop_cache(slot)
                    item.done.set()
                else:
                    self._waiting.append(item)
                item = self._incoming.get_nowait()
        except queue.Empty:
            return

    def _reap_cancelled(self) -> None:
        for slot in self.slots:
            if slot.job is not None and slot.job.cancelled:
                self._finish(slot, "cancelled")
        if any(j.cancelled for j in self._waiting):
            for job in [j for j in self._waiting if j.cancelled]:
                job.emit(Chunk(finish_reason="cancelled"))
            self._waiting = deque(j for j in self._waiting if not j.cancelled)

    # ------------------------------------------------------------ admission

    def _admit(self) -> None:
        while self._waiting:
            free = [s for s in self.slots if not s.busy]
            if not free:
                return
            job = self._waiting.popleft()
            slot = free[pick_slot([(s.cached, s.last_used) for s in free], job.tokens)]
            try:
                self._place(slot, job)
            except Exception as exc:  # noqa: BLE001 - a bad request must not stop the others
                job.emit(Chunk(finish_reason="error", error=str(exc)))
                slot.job = None

    def _place(self, slot: Slot, job: Job) -> None:
        tokens = job.tokens
        keep = min(common_prefix(slot.cached, tokens), len(tokens) - 1)
        if self.kv_store is not None:
            keep = self._maybe_restore(slot, tokens, keep)
        if keep < len(slot.cached):
            tokens, keep = self._respell(slot, job, keep)
        if keep < len(slot.cached):
            ll.llama_memory_seq_rm(self.mem, slot.id, keep, -1)
            del slot.cached[keep:]
        slot.job = job
        slot.prefilled = keep
        slot.cached_at_admit = keep
        slot.pending = None
        slot.generated = 0
        slot.unsent = []
        slot.sampler = SamplerChain(job.request.sampling, self.model.vocab, self.model.n_vocab)
        slot.stream = TextStream(job.request.stop)
        slot.guard = RepetitionGuard() if job.request.stop_repeating else None
        slot.drafter = self._drafter(slot, tokens)
        slot.draft, slot.draft_rows, slot.unverified = [], [], 0
        slot.t_admit = time.perf_counter()
        slot.t_first = 0.0
        self.stats.cached_tokens += keep

    def _respell(self, slot: Slot, job: Job, keep: int) -> tuple[list[int], int]:
        """The prompt spelled with the slot's cached tokens where they write the same
        text (the model's last answer, tokenized afresh by the client's round trip), and
        how much of it is then cached; the job's own tokens when nothing more is gained."""
        respelled = respelled_prompt(slot.cached, job.tokens, keep, self.model.spelling)
        if respelled is None or len(respelled) >= self.n_ctx:
            return job.tokens, keep
        job.tokens = respelled
        return respelled, min(common_prefix(slot.cached, respelled), len(respelled) - 1)

    def _maybe_restore(self, slot: Slot, tokens: list[int], keep: int) -> int:
        """Load a saved state that shares more of the prompt than the slot's memory does."""
        assert self.kv_store is not None
        found = self.kv_store.find(tokens, min_tokens=keep + 16)
        if found is None:
            return keep
        entry, shared = found
        data = self.kv_store.load(entry)
        if data is None:
            return keep
        ll.llama_memory_seq_rm(self.mem, slot.id, -1, -1)
        slot.cached = []
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if ll.llama_state_seq_set_data(self.ctx, buf, len(data), slot.id) == 0:
            log.warning("llama.cpp refused saved state %s", entry.path.name)
            ll.llama_memory_seq_rm(self.mem, slot.id, -1, -1)
            return 0
        slot.cached = list(entry.tokens)
        self.stats.restored_from_disk += 1
        return min(shared, len(tokens) - 1)  # _place drops the cached tokens past this point

    # ------------------------------------------------------------ one step

    def _step(self) -> None:
        batch = self._batch
        batch.clear()
        rows: list[tuple[Slot, int]] = []
        decoding = [s for s in self.slots if s.busy and s.pending is not None]
        self._make_room(len(decoding))
        for slot in decoding:
            assert slot.pending is not None
            rows.append((slot, batch.add(slot.pending, len(slot.cached), slot.id, True)))
            slot.cached.append(slot.pending)
            slot.pending = None
        if len(decoding) == 1:
            # Guesses only for a sequence decoding alone: beside others the batch is
            # already as wide as two cores compute in one pass, and a guessed row costs
            # nearly a whole step.
            self._add_draft(decoding[0], batch)
        room = self.n_ctx_total - self._used()
        budget = min(self.n_batch - batch.n, self.prefill_chunk if decoding else self.n_batch, room)
        for slot in sorted((s for s in self.slots if self._prefilling(s)), key=lambda s: s.t_admit):
            if budget <= 0:
                break
            assert slot.job is not None
            prompt = slot.job.tokens
            take = min(budget, len(prompt) - slot.prefilled)
            for i in range(slot.prefilled, slot.prefilled + take):
                last = i == len(prompt) - 1
                row = batch.add(prompt[i], len(slot.cached), slot.id, last)
                slot.cached.append(prompt[i])
                if last:
                    rows.append((slot, row))
            slot.prefilled += take
            self.stats.prompt_tokens += take
            budget -= take
        if batch.n == 0:
            self._starved()
            return
        batch.raw.n_tokens = batch.n
        self._outbox.flush()  # the event loop writes them while the model computes
        rc = ll.llama_decode(self.ctx, batch.raw)  # on the compute thread: tick()
        if rc != 0:
            raise RuntimeError(f"llama_decode failed with status {rc}")
        self.stats.steps += 1
        for slot, row in rows:
            if slot.draft:
                self._verify(slot, row)
            else:
                self._after_logits(slot, row)
        for slot in self.slots:
            if self._prefilling(slot):
                self._report_progress(slot)

    # ------------------------------------------------------------ speculation

    def _drafter(self, slot: Slot, tokens: list[int]) -> NgramDrafter | None:
        """The answer's drafter, with odds of its own from the priors on; none when
        drafting is off or cannot pay on this machine."""
        if not self.draft_tokens:
            return None
        costs = self.step_costs
        if costs is None or costs.limit < self._draft_limit():  # turned on or up after load
            self._time_rows(slot)
            costs = self.step_costs
        if costs is None or not drafts_can_pay(costs, self.draft_tokens):
            return None
        return NgramDrafter(tokens, max_draft=self.draft_tokens, odds=DraftOdds(costs))

    def _draft_limit(self) -> int:
        return min(self.draft_tokens, self.n_batch - 1)

    def _time_rows(self, slot: Slot) -> None:
        """Time steps with guessed rows on ``slot``'s free positions (step_costs.py), if
        the context has room for a draft's rows there."""
        rows = 1 + self._draft_limit()
        position = len(slot.cached)
        if self.n_ctx_total - self._used() <= rows or position + rows >= self.n_ctx:
            return
        token = slot.cached[-1] if slot.cached else 0
        costs = measure_step_costs(
            self.ctx,
            self.mem,
            self._batch,
            seq=slot.id,
            position=position,
            limit=rows - 1,
            token=token,
        )
        self.step_costs = costs
        log.info(
            "speculative decoding: a step with guessed rows costs (in steps) %s here; drafts %s",
            costs,
            "where they pay" if drafts_can_pay(costs, self.draft_tokens) else "never pay",
        )

    def _add_draft(self, slot: Slot, batch: Batch) -> None:
        """Guessed next tokens (engine/speculation.py) after the slot's real one, each
        with its logits, within the batch, the context and the answer's token limit."""
        if slot.drafter is None or slot.job is None:
            return
        limit = min(
            self.n_batch - batch.n - 1,
            self.n_ctx - len(slot.cached) - 2,
            (slot.job.request.max_tokens or self.n_ctx) - slot.generated - 1,
        )
        draft = slot.drafter.draft(limit) if limit > 0 else []
        for token in draft:
            slot.draft_rows.append(batch.add(token, len(slot.cached), slot.id, True))
            slot.cached.append(token)
        slot.draft, slot.unverified = draft, len(draft)
        self.stats.drafted_tokens += len(draft)

    def _verify(self, slot: Slot, row: int) -> None:
        """Sample the real token, then, while it equals the guess at that position, the
        token after the guess from the guess's own row: every token is the model's
        choice given the tokens before it. The guesses past the first miss leave the KV."""
        draft, rows = slot.draft, slot.draft_rows
        slot.draft, slot.draft_rows = [], []
        confirmed = 0
        self._after_logits(slot, row)
        for guess, guess_row in zip(draft, rows, strict=True):
            if slot.job is None or slot.pending != guess:
                break
            slot.pending = None  # already decoded: it is the guess
            slot.unverified -= 1
            confirmed += 1
            self._after_logits(slot, guess_row)
        self.stats.accepted_tokens += confirmed
        if slot.drafter is not None:
            slot.drafter.accepted(len(draft), confirmed)
        self._drop_unverified(slot)

    def _drop_unverified(self, slot: Slot) -> None:
        if slot.unverified:
            keep = len(slot.cached) - slot.unverified
            ll.llama_memory_seq_rm(self.mem, slot.id, keep, -1)
            del slot.cached[keep:]
            slot.unverified = 0

    def _report_progress(self, slot: Slot) -> None:
        """How much of the prompt not found cached has been read, for requests that ask."""
        job = slot.job
        if job is None or not job.request.progress:
            return
        total = len(job.tokens) - slot.cached_at_admit
        self._outbox.send(
            job.emit, Chunk(prompt_progress=(slot.prefilled - slot.cached_at_admit, total))
        )

    def _prefilling(self, slot: Slot) -> bool:
        return slot.job is not None and slot.prefilled < len(slot.job.tokens)

    def _used(self) -> int:
        return sum(len(s.cached) for s in self.slots)

    def _make_room(self, needed: int) -> None:
        """Free KV cells for ``needed`` tokens: drop idle slots' caches, least recent first."""
        prefill_need = sum(
            1 for s in self.slots if self._prefilling(s)
        )  # at least one prompt token each, so prefill can progress
        for idle in sorted(
            (s for s in self.slots if not s.busy and s.cached), key=lambda s: s.last_used
        ):
            if self.n_ctx_total - self._used() >= needed + prefill_need:
                return
            self._drop_cache(idle)

    def _starved(self) -> None:
        """No room for any token: end the longest running request rather than deadlock."""
        victims = [s for s in self.slots if s.busy]
        victim = max(victims, key=lambda s: len(s.cached))
        self._finish(victim, "length")

    def _drop_cache(self, slot: Slot) -> None:
        ll.llama_memory_seq_rm(self.mem, slot.id, -1, -1)
        slot.cached = []

    # ------------------------------------------------------------ tokens out

    def _after_logits(self, slot: Slot, row: int) -> None:
        job, sampler, stream = slot.job, slot.sampler, slot.stream
        assert job is not None
        assert sampler is not None
        assert stream is not None
        logprobs = (
            row_logprobs(self.ctx, row, self.model.n_vocab)
            if job.request.logprobs is not None
            else None
        )
        token = sampler.sample(self.ctx, row)
        now = time.perf_counter()
        if not slot.t_first:
            slot.t_first = now
        if self.model.is_eog(token):
            self._finish(slot, "stop")
            return
        slot.generated += 1
        self.stats.decoded_tokens += 1
        piece = self.model.piece(token)
        text = stream.feed(piece)
        entries: tuple[TokenLogprob, ...] = ()
        if logprobs is not None:
            top = job.request.logprobs or 0
            entries = (token_logprob(token, piece, logprobs, top, self.model.piece),)
        slot.unsent.append(token)
        if text or entries:  # tokens of a half UTF-8 character ride with the next text
            self._outbox.send(
                job.emit, Chunk(text=text, token_ids=tuple(slot.unsent), logprobs=entries)
            )
            slot.unsent = []
        if slot.drafter is not None:
            slot.drafter.append(token)
        max_tokens = job.request.max_tokens
        out_of_room = len(slot.cached) - slot.unverified + 1 >= self.n_ctx
        if stream.stopped:
            self._finish(slot, "stop")
        elif slot.guard is not None and slot.guard.feed(token):
            self._finish(slot, "repetition")
        elif out_of_room or (max_tokens is not None and slot.generated >= max_tokens):
            self._finish(slot, "length")
        else:
            slot.pending = token

    def _finish(self, slot: Slot, reason: FinishReason, error: str | None = None) -> None:
        job, stream = slot.job, slot.stream
        assert job is not None
        self._drop_unverified(slot)  # guesses past the end are not the sequence's
        tail = stream.flush() if stream is not None and reason != "cancelled" else ""
        now = time.perf_counter()
        first = slot.t_first or now
        prompt_evaluated = len(job.tokens) - slot.cached_at_admit
        usage = Usage(
            prompt_tokens=len(job.tokens),
            completion_tokens=slot.generated,
            cached_tokens=slot.cached_at_admit,
            ttft_s=first - slot.t_admit,
            prompt_tps=prompt_evaluated / max(first - slot.t_admit, 1e-9),
            decode_tps=(slot.generated - 1) / (now - first)
            if slot.generated > 1 and now > first
            else 0.0,
            queue_s=slot.t_admit - job.submitted,
        )
        ended = reason in ("stop", "length", "repetition")
        if job.request.persist_kv and self.kv_store is not None and ended:
            self._save_state(slot)
        if slot.sampler is not None:
            slot.sampler.close()
        slot.job, slot.sampler, slot.stream, slot.pending = None, None, None, None
        slot.guard = slot.drafter = None
        slot.last_used = now
        self._outbox.send(
            job.emit,
            Chunk(
                text=tail,
                token_ids=tuple(slot.unsent),
                finish_reason=reason,
                usage=usage,
                error=error,
            ),
        )
        slot.unsent = []

    def _save_state(self, slot: Slot) -> None:
        assert self.kv_store is not None
        size = ll.llama_state_seq_get_size(self.ctx, slot.id)
        buf = (ctypes.c_uint8 * size)()
        written = ll.llama_state_seq_get_data(self.ctx, buf, size, slot.id)
        if written:  # written to the file by the store's own thread
            self.kv_store.save_later(list(slot.cached), memoryview(buf)[:written])
            self.stats.saved_to_disk += 1


# How many cached tokens a reused prefix token is worth: reusing a slot throws away what
# it holds past the shared prefix, so a short request sharing only a system prompt with
# a long cached one (a tool loop's last step, a title) goes to another slot instead of
# evicting a prefix the next request would reuse.
WASTE_WEIGHT = 0.1


def pick_slot(candidates: list[tuple[list[int], float]], tokens: list[int]) -> int:
    """Index of the free slot (cached tokens, last used) to run ``tokens`` in: the most
    shared prefix, less a tenth of what would be discarded; ties go to the least recent."""

    def score(index: int) -> tuple[float, float]:
        cached, last_used = candidates[index]
        shared = common_prefix(cached, tokens)
        return (shared - WASTE_WEIGHT * (len(cached) - shared), -last_used)

    return max(range(len(candidates)), key=score)
