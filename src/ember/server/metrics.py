"""Prometheus metrics for ``/metrics``: requests, tokens, latency, queue and slots.

Each app owns its own registry (tests run several apps in one process). Counters and
histograms are fed as requests finish; queue depth and slot use are read from the
loaded engines at scrape time, so they can never drift from the truth.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ember.engine.base import Usage
from ember.engine.llamacpp import LlamaCppEngine
from ember.engine.pool import EnginePool

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)
TPS_BUCKETS = (1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 250, 500)


class Metrics:
    def __init__(self, engines: EnginePool) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ember_http_requests",
            "HTTP requests answered, by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self.rejected = Counter(
            "ember_requests_rejected",
            "Generation requests turned away because the queue was full (HTTP 503).",
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "ember_requests_in_flight",
            "Generation requests admitted and not yet finished.",
            registry=self.registry,
        )
        self.prompt_tokens = Counter(
            "ember_prompt_tokens",
            "Prompt tokens processed.",
            ["model"],
            registry=self.registry,
        )
        self.cached_tokens = Counter(
            "ember_cache_hit_tokens",
            "Prompt tokens reused from the KV cache instead of evaluated.",
            ["model"],
            registry=self.registry,
        )
        self.completion_tokens = Counter(
            "ember_completion_tokens",
            "Tokens generated.",
            ["model"],
            registry=self.registry,
        )
        self.ttft = Histogram(
            "ember_time_to_first_token_seconds",
            "Time from admission to the first generated token.",
            ["model"],
            buckets=TTFT_BUCKETS,
            registry=self.registry,
        )
        self.decode_tps = Histogram(
            "ember_decode_tokens_per_second",
            "Generation speed of each request after its first token.",
            ["model"],
            buckets=TPS_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_EngineCollector(engines.loaded))

    def observe(self, model: str, usage: Usage) -> None:
        """Record one finished generation."""
        self.prompt_tokens.labels(model).inc(usage.prompt_tokens)
        self.cached_tokens.labels(model).inc(usage.cached_tokens)
        self.completion_tokens.labels(model).inc(usage.completion_tokens)
        if usage.completion_tokens:
            self.ttft.labels(model).observe(usage.ttft_s)
        if usage.completion_tokens > 1 and usage.decode_tps > 0:
            self.decode_tps.labels(model).observe(usage.decode_tps)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _EngineCollector(Collector):
    """Queue depth and slot use of every loaded generation engine, read when scraped."""

    def __init__(self, loaded: Callable[[], Iterable[object]]) -> None:
        self._loaded = loaded

    def collect(self) -> Iterable[Metric]:
        queue = GaugeMetricFamily(
            "ember_queue_depth", "Requests waiting for a free slot.", labels=["model"]
        )
        busy = GaugeMetricFamily("ember_slots_busy", "Slots generating now.", labels=["model"])
        total = GaugeMetricFamily("ember_slots_total", "Slots of each model.", labels=["model"])
        loaded = GaugeMetricFamily("ember_models_loaded", "Engines loaded in memory.")
        # Counted by the engines since they loaded (a reloaded model starts again at 0).
        restored = CounterMetricFamily(
            "ember_kv_restored",
            "Conversation KV states read back from disk (after an eviction, a restart, or "
            "from another worker sharing the KV directory).",
            labels=["model"],
        )
        saved = CounterMetricFamily(
            "ember_kv_saved", "Conversation KV states written to disk.", labels=["model"]
        )
        count = 0
        for entry in self._loaded():
            count += 1
            engine = getattr(entry, "engine", None)
            if not isinstance(engine, LlamaCppEngine):
                continue
            name = engine.name
            queue.add_metric([name], engine.scheduler.queue_depth)
            busy.add_metric([name], engine.scheduler.busy_slots)
            total.add_metric([name], len(engine.scheduler.slots))
            restored.add_metric([name], engine.scheduler.stats.restored_from_disk)
            saved.add_metric([name], engine.scheduler.stats.saved_to_disk)
        loaded.add_metric([], count)
        yield from (queue, busy, total, loaded, restored, saved)
