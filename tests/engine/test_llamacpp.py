"""The llama.cpp engine on a real model (SmolLM2-135M): correctness of what users see."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest

from ember.engine.base import Chunk, GenerateRequest, SamplingParams
from ember.engine.llamacpp import LlamaCppEngine, LoadOptions
from ember.engine.llamacpp.engine import ContextLengthExceededError
from ember.engine.llamacpp.native import ModelLoadError
from tests.engine.conftest import SMOLLM2_DIGEST

GREEDY = SamplingParams(temperature=0)


def collect(engine: LlamaCppEngine, request: GenerateRequest) -> list[Chunk]:
    async def go() -> list[Chunk]:
        return [c async for c in engine.generate(request)]

    return asyncio.run(go())


def text_of(chunks: list[Chunk]) -> str:
    return "".join(c.text for c in chunks)


def chat_tokens(engine: LlamaCppEngine, user: str) -> list[int]:
    return engine.chat_request_tokens(
        engine.apply_chat_template([{"role": "user", "content": user}])
    )


def test_greedy_matches_llama_cpp_python(engine: LlamaCppEngine, smollm2_path: Path) -> None:
    """Both read the whole prompt in one batch from an empty cache, then decode one token
    at a time with the same thread count and attention kernel: the same batch shapes, so
    the same tokens."""
    from llama_cpp import Llama

    prompt = chat_tokens(engine, "Name three colours of the rainbow.")
    engine.clear_cache()  # a cached prefix would re-read only the prompt's last token
    chunks = collect(engine, GenerateRequest(prompt_tokens=prompt, max_tokens=24, sampling=GREEDY))
    ours = [t for c in chunks for t in c.token_ids]
    reference = Llama(
        str(smollm2_path),
        n_ctx=512,
        n_threads=engine.n_threads,
        n_threads_batch=engine.n_threads,
        flash_attn=engine.options.flash_attn is not False,  # None: llama.cpp's "auto", on
        verbose=False,
    )
    try:
        theirs = []
        for token in reference.generate(prompt, temp=0.0, top_k=1, repeat_penalty=1.0):
            if engine.model.is_eog(token) or len(theirs) == len(ours):
                break
            theirs.append(token)
    finally:
        reference.close()
    assert len(ours) > 5
    assert ours == theirs


def test_only_a_plain_greedy_chain_reads_the_argmax(engine: LlamaCppEngine) -> None:
    """The argmax shortcut (the test above checks its tokens) is taken only where the
    chain would have been greedy alone: penalties, biases and grammars still run."""
    from ember.engine.llamacpp.sampler import SamplerChain

    def argmax_only(params: SamplingParams) -> bool:
        chain = SamplerChain(params, engine.model.vocab, engine.model.n_vocab)
        chain.close()
        return chain.argmax_only

    assert argmax_only(GREEDY)
    assert not argmax_only(SamplingParams(temperature=0.7))
    assert not argmax_only(SamplingParams(temperature=0, repeat_penalty=1.1))
    assert not argmax_only(SamplingParams(temperature=0, logit_bias={5: -100.0}))
    assert not argmax_only(SamplingParams(temperature=0, grammar='root ::= "a"'))


def test_usage_and_final_chunk(engine: LlamaCppEngine) -> None:
    chunks = collect(engine, GenerateRequest(prompt="The sky is", max_tokens=8, sampling=GREEDY))
    final = chunks[-1]
    assert final.finish_reason == "length"
    assert final.usage is not None
    assert final.usage.completion_tokens == 8
    assert final.usage.prompt_tokens == len(engine.tokenize("The sky is"))
    assert final.usage.ttft_s > 0
    assert sum(len(c.token_ids) for c in chunks) == 8


WORDS = ("banana", "violin", "pyramid", "octopus")


def test_concurrent_requests_each_get_their_own_answer(engine: LlamaCppEngine) -> None:
    """Four requests decoded side by side in one batch: each answer continues its own
    prompt (a listed word, so the right answer cannot be confused with another's),
    none carries another slot's word, and each request's tokens and usage add up.
    Greedy text is not compared with the one-at-a-time answers: llama.cpp's kernels
    depend on the batch size and the CPU, so a close greedy choice may flip
    (docs/engine.md, "What is deterministic")."""
    # A word listed twelve times: continuing the list is the one strong answer (an
    # instruction such as "repeat the word" lets a 135M model talk about the word).
    prompts = [engine.tokenize(", ".join([word] * 12) + ",") for word in WORDS]

    async def all_at_once() -> list[list[Chunk]]:
        async def one(p: list[int]) -> list[Chunk]:
            request = GenerateRequest(prompt_tokens=p, max_tokens=10, sampling=GREEDY)
            return [c async for c in engine.generate(request)]

        return await asyncio.gather(*(one(p) for p in prompts))

    answers = asyncio.run(all_at_once())
    for word, prompt, chunks in zip(WORDS, prompts, answers, strict=True):
        text = text_of(chunks).lower()
        assert word in text, f"the answer to {word!r} is {text!r}"
        others = [w for w in WORDS if w != word and w in text]
        assert not others, f"the answer to {word!r} carries {others}: {text!r}"
        final = chunks[-1]
        assert final.finish_reason == "length"
        assert final.usage is not None
        assert final.usage.prompt_tokens == len(prompt)
        assert final.usage.completion_tokens == 10
        assert sum(len(c.token_ids) for c in chunks) == 10


def test_the_same_request_twice_gives_the_same_answer(engine: LlamaCppEngine) -> None:
    """One request at a time, the same greedy request twice from an empty cache (so both
    are computed in the same batch shapes): identical tokens. This llama.cpp promises."""
    prompt = chat_tokens(engine, "Name a fruit.")
    request = GenerateRequest(prompt_tokens=prompt, max_tokens=12, sampling=GREEDY)
    engine.clear_cache()
    first = collect(engine, request)
    engine.clear_cache()
    second = collect(engine, request)
    assert [t for c in first for t in c.token_ids] == [t for c in second for t in c.token_ids]
    assert text_of(first)


def test_prefix_reuse_skips_cached_tokens(engine: LlamaCppEngine) -> None:
    history = [{"role": "user", "content": "Tell me a fact about the moon."}]
    first_prompt = engine.chat_request_tokens(engine.apply_chat_template(history))
    first = collect(
        engine, GenerateRequest(prompt_tokens=first_prompt, max_tokens=16, sampling=GREEDY)
    )
    history += [
        {"role": "assistant", "content": text_of(first)},
        {"role": "user", "content": "And one about the sun?"},
    ]
    second_prompt = engine.chat_request_tokens(engine.apply_chat_template(history))
    second = collect(
        engine, GenerateRequest(prompt_tokens=second_prompt, max_tokens=8, sampling=GREEDY)
    )
    usage = second[-1].usage
    assert usage is not None
    shared = (
        next(i for i, (a, b) in enumerate(zip(first_prompt, second_prompt, strict=False)) if a != b)
        if first_prompt != second_prompt[: len(first_prompt)]
        else len(first_prompt)
    )
    assert usage.cached_tokens >= shared
    assert usage.cached_tokens < usage.prompt_tokens


def test_a_prompt_that_spells_the_cached_text_otherwise_reuses_it(engine: LlamaCppEngine) -> None:
    """A client sends the model's answer back as text, tokenized afresh; where those
    tokens differ from the ones the model wrote but spell the same bytes, the cached
    tokens stand in and only the new turn is read."""
    engine.clear_cache()
    head = chat_tokens(engine, "Repeat after me.")
    words = "Automation of lighthouses replaced their keepers."
    canonical = engine.tokenize(words, add_special=False, parse_special=False)
    as_written = [  # one character at a time: the same text in other tokens
        t for ch in words for t in engine.tokenize(ch, add_special=False, parse_special=False)
    ]
    assert as_written != canonical
    assert engine.model.detokenize(as_written) == engine.model.detokenize(canonical) == words
    first = collect(
        engine,
        GenerateRequest(prompt_tokens=[*head, *as_written], max_tokens=1, sampling=GREEDY),
    )
    assert first[-1].finish_reason in ("stop", "length")
    turn = "<|im_end|>\n<|im_start|>user\nThanks.<|im_end|>\n<|im_start|>assistant\n"
    tail = engine.tokenize(turn, add_special=False, parse_special=True)
    second = collect(
        engine,
        GenerateRequest(prompt_tokens=[*head, *canonical, *tail], max_tokens=8, sampling=GREEDY),
    )
    usage = second[-1].usage
    assert usage is not None
    assert usage.cached_tokens == len(head) + len(as_written), "the answer was read again"
    assert usage.prompt_tokens == len(head) + len(as_written) + len(tail)
    assert text_of(second)


def test_stop_strings_end_the_answer(engine: LlamaCppEngine) -> None:
    chunks = collect(
        engine, GenerateRequest(prompt="1, 2, 3, 4,", max_tokens=30, stop=(" 7",), sampling=GREEDY)
    )
    assert chunks[-1].finish_reason == "stop"
    assert " 7" not in text_of(chunks)
    assert "6" in text_of(chunks)


def test_cancel_frees_the_slot(engine: LlamaCppEngine) -> None:
    async def start_and_abandon() -> int:
        stream = engine.generate(
            GenerateRequest(prompt="Write a long story.", max_tokens=500, sampling=GREEDY)
        )
        received = 0
        async for _chunk in stream:
            received += 1
            if received == 3:
                break
        await stream.aclose()
        return received

    assert asyncio.run(start_and_abandon()) == 3
    deadline = time.monotonic() + 5
    while engine.scheduler.busy_slots and time.monotonic() < deadline:
        time.sleep(0.01)
    assert engine.scheduler.busy_slots == 0


def test_json_schema_output_always_parses(engine: LlamaCppEngine) -> None:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    schema = {
        "type": "object",
        "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
        "required": ["name", "age"],
        "additionalProperties": False,
    }
    grammar = json_schema_to_gbnf(json.dumps(schema))
    prompt = chat_tokens(engine, "Give me a person as JSON with name and age.")
    for seed in range(6):
        sampling = SamplingParams(temperature=1.0, seed=seed, grammar=grammar)
        chunks = collect(
            engine, GenerateRequest(prompt_tokens=prompt, max_tokens=80, sampling=sampling)
        )
        assert chunks[-1].finish_reason == "stop", text_of(chunks)
        value = json.loads(text_of(chunks))
        assert set(value) == {"name", "age"}
        assert isinstance(value["age"], int)


def test_seeded_sampling_is_reproducible(engine: LlamaCppEngine) -> None:
    """The same seed from an empty cache both times (a cache hit would re-read only the
    prompt's last token, a different batch shape): the same text."""
    request = GenerateRequest(
        prompt="Once upon a time", max_tokens=12, sampling=SamplingParams(temperature=1.0, seed=42)
    )
    engine.clear_cache()
    first = text_of(collect(engine, request))
    engine.clear_cache()
    second = text_of(collect(engine, request))
    assert first
    assert first == second


def test_logprobs_with_alternatives(engine: LlamaCppEngine) -> None:
    chunks = collect(
        engine,
        GenerateRequest(
            prompt="The capital of France is", max_tokens=3, logprobs=3, sampling=GREEDY
        ),
    )
    entries = [e for c in chunks for e in c.logprobs]
    assert len(entries) == 3
    for entry in entries:
        assert entry.logprob <= 0
        assert len(entry.top) == 3
        assert entry.top[0][1] >= entry.top[1][1] >= entry.top[2][1]
        assert entry.token == entry.top[0][0], "greedy picks the most likely token"


def test_utf8_text_streams_intact(engine: LlamaCppEngine) -> None:
    """CJK and emoji are several bytes, often split across tokens: the stream stays whole.
    A grammar makes every character multi-byte, so this tests the stream, not whether the
    model chose to write CJK."""
    cases = (
        ("Cities of Japan: 東京, 大阪, 京都,", "root ::= [一-龥]+", (0x4E00, 0x9FA5)),
        ("Emoji list: 😀 😃 😄 😁", "root ::= [😀-🙏]+", (0x1F600, 0x1F64F)),
    )
    for prompt, grammar, (low, high) in cases:
        sampling = SamplingParams(temperature=0, grammar=grammar)
        chunks = collect(engine, GenerateRequest(prompt=prompt, max_tokens=30, sampling=sampling))
        streamed = text_of(chunks)
        tokens = [t for c in chunks for t in c.token_ids]
        whole = (
            streamed.removesuffix("\ufffd") if chunks[-1].finish_reason == "length" else streamed
        )
        assert "\ufffd" not in whole, "only a cut at max_tokens may end mid-character"
        assert streamed == engine.detokenize(tokens)
        assert whole, streamed
        assert all(low <= ord(ch) <= high for ch in whole), streamed
        assert len(tokens) > len(whole), f"no character was split across tokens: {streamed!r}"


def test_prompt_longer_than_context_is_refused(engine: LlamaCppEngine) -> None:
    with pytest.raises(ContextLengthExceededError, match="2048"):
        collect(engine, GenerateRequest(prompt_tokens=[1] * 3000, max_tokens=4))


def test_kv_restore_after_restart_gives_the_same_tokens(smollm2_path: Path, tmp_path: Path) -> None:
    """A saved conversation is restored after a restart (its prompt is not read again),
    and the same saved state restored twice gives the same greedy continuation."""

    def make(kv_dir: Path | None) -> LlamaCppEngine:
        return LlamaCppEngine(
            smollm2_path,
            name="s",
            digest=SMOLLM2_DIGEST,
            options=LoadOptions(n_ctx=2048, n_slots=2, kv_dir=kv_dir),
        )

    kv_dir = tmp_path / "kv"
    first = make(kv_dir)
    history = [{"role": "user", "content": "Explain what a river is, in detail."}]
    prompt = first.chat_request_tokens(first.apply_chat_template(history))
    answer = collect(
        first,
        GenerateRequest(prompt_tokens=prompt, max_tokens=60, sampling=GREEDY, persist_kv=True),
    )
    history += [
        {"role": "assistant", "content": text_of(answer)},
        {"role": "user", "content": "Shorter please."},
    ]
    follow_up = first.chat_request_tokens(first.apply_chat_template(history))
    first.close()
    assert len(list(kv_dir.rglob("*.kv"))) == 1

    def continue_after_restart() -> list[int]:
        engine = make(kv_dir)
        try:
            chunks = collect(
                engine, GenerateRequest(prompt_tokens=follow_up, max_tokens=16, sampling=GREEDY)
            )
            assert engine.scheduler.stats.restored_from_disk == 1
            usage = chunks[-1].usage
            assert usage is not None
            assert usage.cached_tokens > len(prompt), "the saved prompt was read again"
            assert usage.prompt_tokens == len(follow_up)
            assert chunks[-1].finish_reason in ("stop", "length")
            return [t for c in chunks for t in c.token_ids]
        finally:
            engine.close()

    # Two restarts restore the same saved state and read the same new tokens in the same
    # batch shapes: the same answer. (A fresh engine that reads the whole conversation
    # computes in other batch shapes, so a near-tie may go the other way on some CPUs.)
    once = continue_after_restart()
    again = continue_after_restart()
    assert once
    assert once == again
    assert len(list(kv_dir.rglob("*.kv"))) == 1


def test_foreign_or_corrupt_kv_files_are_refused(smollm2_path: Path, tmp_path: Path) -> None:
    from ember.engine.llamacpp.kv_store import KVStore

    kv_dir = tmp_path / "kv"
    eng = LlamaCppEngine(
        smollm2_path,
        name="s",
        digest=SMOLLM2_DIGEST,
        options=LoadOptions(n_ctx=1024, n_slots=1, kv_dir=kv_dir),
    )
    prompt = chat_tokens(eng, "Hello there, how are you today?")
    store = eng.kv_store
    assert store is not None
    foreign = KVStore(kv_dir, "sha256:" + "0" * 64, "other build", 1 << 30)
    foreign.save(prompt[:-2], b"not a real state")
    (store.dir / "garbage.kv").write_bytes(b"EMBERKV1 junk")
    other_build = KVStore(kv_dir, SMOLLM2_DIGEST, "another llama.cpp", 1 << 30)
    other_build.save(prompt[:-3], b"\x00" * 100)
    eng.close()

    eng = LlamaCppEngine(
        smollm2_path,
        name="s",
        digest=SMOLLM2_DIGEST,
        options=LoadOptions(n_ctx=1024, n_slots=1, kv_dir=kv_dir),
    )
    chunks = collect(eng, GenerateRequest(prompt_tokens=prompt, max_tokens=6, sampling=GREEDY))
    assert eng.scheduler.stats.restored_from_disk == 0
    assert chunks[-1].finish_reason in ("stop", "length")
    eng.close()


def test_corrupt_gguf_is_a_clear_error(tmp_path: Path, smollm2_path: Path) -> None:
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(smollm2_path.read_bytes()[:5_000_000])
    with pytest.raises(ModelLoadError, match="could not load"):
        LlamaCppEngine(broken, name="broken", digest="sha256:" + "1" * 64)


def test_a_long_prompt_reports_how_far_it_has_been_read(engine: LlamaCppEngine) -> None:
    """Asked for (``progress``), the engine says how much of the prompt not found cached
    has been read, batch by batch; the answer follows as usual. Not asked, it says nothing."""
    engine.clear_cache()
    words = " ".join(f"item{i}" for i in range(300))  # over two 512-token batches
    tokens = chat_tokens(engine, f"Here is a list: {words}. Which item comes first?")
    asked = collect(
        engine,
        GenerateRequest(prompt_tokens=tokens, max_tokens=4, sampling=GREEDY, progress=True),
    )
    progress = [c.prompt_progress for c in asked if c.prompt_progress is not None]
    assert progress, "no progress for a prompt of several batches"
    assert all(total == len(tokens) for _, total in progress)
    reads = [read for read, _ in progress]
    assert reads == sorted(reads)
    assert 0 < reads[0] < len(tokens)
    assert all(c.text == "" for c in asked if c.prompt_progress is not None)
    assert asked[-1].finish_reason in ("stop", "length")
    assert text_of(asked)

    engine.clear_cache()
    quiet = collect(engine, GenerateRequest(prompt_tokens=tokens, max_tokens=4, sampling=GREEDY))
    assert all(c.prompt_progress is None for c in quiet)
