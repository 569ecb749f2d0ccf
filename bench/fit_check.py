"""Predicted vs measured, for the starter models on this machine (docs/fit.md).

For each model, in its own process (so RSS belongs to that model alone): load the engine
with the plan `ember fit` makes here, compare the RSS it added with the plan's memory
(weights + KV + compute buffer), then decode 128 tokens a few times and compare the best
tokens/s with the plan's prediction. Run it on a quiet machine: decode speed halves when
another process takes a core.

    python bench/fit_check.py [--home DIR] [--ctx N] [--slots N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

MODELS = ("smollm2:135m", "qwen2.5-coder:0.5b")


def measure(home: Path, name: str, ctx: int | None, slots: int | None) -> dict[str, Any]:
    import psutil

    from ember.bench.engine_bench import _generate, no_eos
    from ember.config import load_settings
    from ember.engine.base import GenerateRequest
    from ember.engine.llamacpp import LlamaCppEngine
    from ember.engine.loader import plan_for
    from ember.fit.options import load_options
    from ember.hardware import probe_machine
    from ember.runtime import build

    settings = load_settings(home=home, context_length=ctx, parallel=slots)
    runtime = build(settings)
    runtime.models.ensure_starter_models()
    record = runtime.models.get(name)
    machine = probe_machine(settings.home, measure=True)
    plan = plan_for(record, settings, machine)
    runtime.close()
    process = psutil.Process()
    before = process.memory_info().rss
    engine = LlamaCppEngine(
        record.path, name=name, digest=record.digest, options=load_options(plan)
    )
    loaded = process.memory_info().rss
    tps = []
    try:
        prompt = engine.tokenize("Once upon a time")
        for _ in range(3):
            engine.clear_cache()
            request = GenerateRequest(prompt_tokens=prompt, max_tokens=128, sampling=no_eos(engine))
            tps.append(asyncio.run(_generate(engine, request))["usage"].decode_tps)
    finally:
        engine.close()
    return {
        "model": name,
        "n_ctx": plan.n_ctx,
        "n_slots": plan.n_slots,
        "n_threads": plan.n_threads,
        "bandwidth_gbs": (machine.memory_bandwidth or 0) / 1e9,
        "predicted_rss_mib": plan.memory_bytes / 2**20,
        "measured_rss_mib": (loaded - before) / 2**20,
        "process_rss_mib": loaded / 2**20,
        "predicted_tps": plan.decode_tps,
        "measured_tps": max(tps),
        "load_average": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--ctx", type=int, default=None)
    parser.add_argument("--slots", type=int, default=None)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    from ember.config import resolve_home

    home = resolve_home(args.home)
    if args.one:
        print(json.dumps(measure(home, args.one, args.ctx, args.slots)))
        return
    rows = []
    for name in MODELS:
        cmd = [sys.executable, __file__, "--one", name, "--home", str(home)]
        cmd += ["--ctx", str(args.ctx)] if args.ctx else []
        cmd += ["--slots", str(args.slots)] if args.slots else []
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print(
        f"{'model':20} {'plan':>14} {'RSS pred':>9} {'RSS meas':>9} {'err':>6}"
        f" {'tok/s pred':>10} {'tok/s meas':>10} {'err':>6}  load"
    )
    for r in rows:
        rss_err = r["predicted_rss_mib"] / r["measured_rss_mib"] - 1
        tps_err = (r["predicted_tps"] or 0) / r["measured_tps"] - 1
        plan = f"{r['n_ctx']}x{r['n_slots']} t{r['n_threads']}"
        print(
            f"{r['model']:20} {plan:>14} {r['predicted_rss_mib']:8.0f}M"
            f" {r['measured_rss_mib']:8.0f}M"
            f" {rss_err:+6.0%} {r['predicted_tps'] or 0:10.1f} {r['measured_tps']:10.1f}"
            f" {tps_err:+6.0%}  {r['load_average']:.1f}"
        )
    print(f"memory bandwidth (cached probe): {rows[0]['bandwidth_gbs']:.1f} GB/s")


if __name__ == "__main__":
    main()
