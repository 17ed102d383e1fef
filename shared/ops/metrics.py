"""Prometheus metrics for every long-running process, in a registry of its own (no global state).

Workers count jobs by state and time them; frontends count refusals; both export the queue depths,
read from Redis when scraped. `--metrics-port N` serves them at http://HOST:N/metrics.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from redis import Redis
from redis.exceptions import RedisError

from shared.errors import ConfigError
from shared.jobs.queue import known_lanes, queue_key, queue_name

SECONDS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1800)


class Metrics:
    def __init__(self, redis: Redis | None = None) -> None:
        self.registry = CollectorRegistry()
        self.jobs = Counter(
            "imagine_jobs", "Jobs by state change.", ["state", "platform", "backend"], registry=self.registry
        )
        self.queue_wait = Histogram(
            "imagine_queue_wait_seconds",
            "From submission to a worker starting the job.",
            ["backend"],
            buckets=SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.generation = Histogram(
            "imagine_generation_seconds",
            "Time the backend took for a job's images.",
            ["backend"],
            buckets=SECONDS_BUCKETS,
            registry=self.registry,
        )
        self.refusals = Counter(
            "imagine_refusals", "Requests refused, by rule.", ["rule", "platform"], registry=self.registry
        )
        self.backend_errors = Counter(
            "imagine_backend_errors", "Backend failures by kind.", ["backend", "kind"], registry=self.registry
        )
        self.delivery_errors = Counter(
            "imagine_delivery_errors",
            "Failed posts (retried by RQ unless final).",
            ["platform", "kind"],
            registry=self.registry,
        )
        self.without_worker = Counter(
            "imagine_jobs_without_worker",
            "Jobs queued while no live worker served their backend.",
            ["backend"],
            registry=self.registry,
        )
        self.malformed_results = Counter(
            "imagine_malformed_results",
            "Result stream entries this version could not read (logged, acknowledged, skipped).",
            ["platform"],
            registry=self.registry,
        )
        self.cost = Counter(
            "imagine_cost_usd", "Spend on paid backends.", ["backend"], registry=self.registry
        )
        self.workspaces = Counter(
            "imagine_workspaces",
            "Communities that added the bot (joined) or removed it (left).",
            ["platform", "event"],
            registry=self.registry,
        )
        self.withheld = Counter(
            "imagine_images_withheld",
            "Generated images not posted because the service censored them (AI Horde).",
            ["backend"],
            registry=self.registry,
        )
        self.ready = Gauge(
            "imagine_ready",
            "1 while this process serves (a gateway bot: while connected); `imagine health --process`.",
            registry=self.registry,
        )
        if redis is not None:
            self.registry.register(QueueDepth(redis))

    def serve(self, port: int, host: str = "0.0.0.0") -> None:
        """Serve /metrics on a background thread; a port that cannot be had is a ConfigError."""
        try:
            start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            raise ConfigError(
                f"--metrics-port {port}: cannot listen on {host}:{port} ({exc.strerror}); "
                "choose another port, or stop what uses it"
            ) from None


def process_ready(port: int, timeout: float = 5.0) -> str | None:
    """Why the process serving metrics on this machine's PORT is not ready, or None when it is."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as response:
            text = response.read().decode()
    except OSError as exc:
        return f"nothing answers on metrics port {port} ({exc}): is it running with --metrics-port {port}?"
    if "\nimagine_ready 1.0" not in text:
        return f"the process on metrics port {port} is not serving yet (or lost its connection)"
    return None


class QueueDepth(Collector):
    """imagine_queue_depth{queue}: read from Redis at each scrape, so every process reports the truth."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily("imagine_queue_depth", "Jobs waiting in each queue.", labels=["queue"])
        try:
            lanes = known_lanes(self._redis)
            pipe = self._redis.pipeline(transaction=False)
            for backend in lanes:
                pipe.llen(queue_key(backend))
            for backend, depth in zip(lanes, pipe.execute(), strict=True):
                family.add_metric([queue_name(backend)], depth)
        except RedisError:
            pass  # no sample beats a wrong one; `imagine health` says why
        yield family
