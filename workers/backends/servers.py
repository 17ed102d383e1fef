"""A pool of image servers (web UIs that draw one image at a time) shared by every worker of a backend.

Each job leases the first free server in Redis (`SET NX` with a TTL renewed while it runs, released
by its token), so N workers and N servers draw N images at once and no server gets two jobs.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from shared import keys
from shared.configuration.settings import Settings
from shared.errors import BackendUnavailable, ConfigError
from shared.ops.redis_conn import connect

LEASE_SECONDS = 30  # renewed while the job runs; a dead worker's lease frees itself this soon
WAIT_FOR_SERVER_SECONDS = 60  # all servers busy this long: the attempt fails and RQ retries it
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


log = logging.getLogger(__name__)


def verify_servers(section: str, servers: list[str], probe: Callable[[str], object]) -> None:
    """At a worker's start: `probe` each configured server (it raises ConfigError saying why). None
    answering is a start-up error naming each; some down is a warning, since jobs go to the others."""
    problems = []
    for server in servers:
        try:
            probe(server)
        except ConfigError as exc:
            problems.append(str(exc))
    if problems and len(problems) == len(servers):
        raise ConfigError(f"[{section}] servers: " + "; ".join(problems))
    for problem in problems:
        log.warning("%s: %s", section, problem)


class ServerPool:
    """A backend's servers, each used by one job at a time across all workers."""

    def __init__(self, settings: Settings, backend: str, servers: list[str]) -> None:
        self._redis = connect(settings.redis_url)
        self._backend = backend
        self._servers = servers
        self._release = self._redis.register_script(_RELEASE)

    @contextmanager
    def lease(self) -> Iterator[str]:
        token = secrets.token_hex(8)
        server = self._take(token)
        key = keys.server_lease(self._backend, server)
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(LEASE_SECONDS / 3):
                self._redis.expire(key, LEASE_SECONDS)

        renewer = threading.Thread(target=renew, name=f"{self._backend}-lease", daemon=True)
        renewer.start()
        try:
            yield server
        finally:
            stop.set()
            self._release(keys=[key], args=[token])

    def _take(self, token: str) -> str:
        deadline = time.monotonic() + WAIT_FOR_SERVER_SECONDS
        pause = 0.05
        while True:
            for server in self._servers:
                if self._redis.set(
                    keys.server_lease(self._backend, server), token, nx=True, ex=LEASE_SECONDS
                ):
                    return server
            if time.monotonic() > deadline:
                raise BackendUnavailable(f"all {len(self._servers)} image servers stayed busy")
            time.sleep(pause)
            pause = min(0.5, pause * 1.5)
