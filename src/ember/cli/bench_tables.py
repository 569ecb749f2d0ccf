"""The tables `ember bench` prints: one per report kind, from the report's JSON."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ember.cli.render import console


def print_peer(report: dict[str, Any]) -> None:
    from ember.bench.peer_bench import ROWS

    ember, peer = (t["label"] for t in report["targets"])
    table = Table(
        title=f"Ember beside {report['targets'][1]['base_url']} "
        f"(medians of {report['runs']} interleaved rounds)",
        title_justify="left",
    )
    for column in ("", "Ember", "peer", "Ember's lead"):
        table.add_column(column, justify="right" if column else "left")
    for key, label, _, _ in ROWS:
        lead = report["speedup"][key]
        table.add_row(
            label,
            f"{report['medians'][ember][key]:.2f}",
            f"{report['medians'][peer][key]:.2f}",
            "–" if lead is None else f"{lead:.2f}×",
        )
    console.print(table)


def print_engine(r: dict[str, Any]) -> None:
    table = Table(title=f"{r['model']}", title_justify="left")
    table.add_column("measure")
    table.add_column("Ember", justify="right")
    table.add_column("reference", justify="right")
    ref = r.get("llama_bench") or {}
    lcp = r["llama_cpp_python"]
    for key, label in (
        ("prompt_tps", "prompt tokens/s"),
        ("decode_tps", "decode tokens/s (1 stream)"),
    ):
        reference = f"llama-cpp-python {lcp[key]:.1f}"
        if key in ref:
            reference += f" · llama-bench {ref[key]:.1f}"
        table.add_row(label, f"{r['single'][key]:.1f}", reference)
    batched = r.get("llama_batched_bench") or {}
    for row in r["aggregate"]:
        n = row["streams"]
        reference = (
            f"llama-batched-bench {batched[n]:.1f}" if n in batched or str(n) in batched else ""
        )
        if not reference and str(n) in batched:
            reference = f"llama-batched-bench {batched[str(n)]:.1f}"
        table.add_row(
            f"aggregate decode, {n} streams", f"{row['tokens_per_s']:.1f} tok/s", reference
        )
        table.add_row(
            f"  longest wait for a token, {n} streams", f"{row['max_gap_s'] * 1000:.0f} ms", ""
        )
    reuse, fresh = r["multi_turn_reuse_ttft_s"], r["multi_turn_no_reuse_ttft_s"]
    table.add_row(
        "chat turn 1 → 10 TTFT, prefix reuse", f"{reuse[0]:.2f} s → {reuse[-1]:.2f} s", ""
    )
    table.add_row("chat turn 1 → 10 TTFT, no reuse", f"{fresh[0]:.2f} s → {fresh[-1]:.2f} s", "")
    rs = r["restart"]
    table.add_row(
        f"after restart, {rs['history_tokens']:.0f}-token chat TTFT",
        f"{rs['ttft_restored_s']:.2f} s (from disk)",
        f"recompute {rs['ttft_recomputed_s']:.2f} s",
    )
    table.add_row(
        "peak RSS",
        f"{r['peak_rss_bytes'] / 2**20:.0f} MiB",
        f"file {r['file_bytes'] / 2**20:.0f} MiB + KV {r['kv_bytes'] / 2**20:.0f} MiB",
    )
    console.print(table)


def print_chat(r: dict[str, Any]) -> None:
    def s(value: float | None) -> str:
        return "–" if value is None else f"{value:.2f}"

    table = Table(
        title=f"{r['model']}: seconds from `ember serve` start ({r['cpu_count']} CPUs)",
        caption="ready: the model preloaded. 1st word: of a new conversation's first "
        "message, sent once the page (or the model) was ready. TTFT: from sending it to that "
        "word. 1st step: from sending it to the first thing shown (a tool call or that word).",
        title_justify="left",
        caption_justify="left",
    )
    table.add_column("", no_wrap=True)
    for column in ("health", "page", "ready", "1st word", "TTFT", "1st step"):
        table.add_column(column, justify="right", no_wrap=True)
    for key, label in (
        ("preload_off", "preload off"),
        ("first_start", "first start"),
        ("restart", "restart"),
    ):
        start, message = r["runs"][key]["start"], r["runs"][key]["first_message"]
        table.add_row(label, s(start["health_s"]), s(start["page_s"]), s(start["model_ready_s"]),
                      s(message["first_token_s"]), s(message["ttft_s"]),
                      s(message["first_step_s"]))  # fmt: skip
    warm = r["warm"]
    table.add_row(f"warm (median {len(warm['messages'])})", "", "", "", "",
                  s(warm["median_ttft_s"]), s(warm["median_first_step_s"]))  # fmt: skip
    console.print(table)
