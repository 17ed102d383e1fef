"""Redis behind Sentinels, as the `ha` profile of compose.yaml runs it, on loopback: a master (with its
append-only file), a replica and three sentinels that fail over 2 s after the master stops answering.
Used by the tests and by bench/soak.py --sentinel."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import redis as redis_lib

from tests.helpers import RedisServer, free_port, wait_until

SERVICE = "imagine"
DOWN_AFTER_MS = 2000


class SentinelTopology:
    def __init__(self) -> None:
        # a replica's first full sync starts at once (Redis waits 5 s by default for more replicas)
        self._folder = Path(tempfile.mkdtemp(prefix="imagine-sentinels-"))
        self.master = RedisServer(
            aof=True, extra=("--repl-diskless-sync-delay", "0", "--logfile", str(self._folder / "master.log"))
        )
        self.replica: RedisServer | None = None
        self.sentinel_ports = [free_port() for _ in range(3)]
        self._sentinels: list[subprocess.Popen] = []

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{port}" for port in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/{SERVICE}/0"

    def start(self) -> SentinelTopology:
        self.master.start()
        replica_of = (
            "--replicaof",
            "127.0.0.1",
            str(self.master.port),
            "--logfile",
            str(self._folder / "replica.log"),
        )
        self.replica = RedisServer(aof=True, extra=replica_of)
        self.replica.start()
        link = lambda: self._replication(self.replica.port).get("master_link_status") == "up"  # noqa: E731
        wait_until(link, timeout=30, what="the replica's first sync")
        # After a full sync the master streams writes only once the replica's first REPLCONF ACK
        # arrives (up to a second later): a write seen on the replica says the stream flows.
        self._ask(self.master.port, lambda c: c.set("imagine:sentinel-harness", "1"))
        streamed = lambda: self._ask(self.replica.port, lambda c: c.get("imagine:sentinel-harness"))  # noqa: E731
        wait_until(streamed, timeout=30, what="the replica to stream the master's writes")
        executable = shutil.which("redis-server")
        assert executable is not None
        for port in self.sentinel_ports:
            conf = self._folder / f"sentinel-{port}.conf"  # a sentinel rewrites its own file
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {self._folder}\n"
                f"logfile {self._folder}/sentinel-{port}.log\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {self.master.port} 2\n"
                f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {SERVICE} 10000\n"
                f"sentinel parallel-syncs {SERVICE} 1\n"
            )
            self._sentinels.append(
                subprocess.Popen(
                    [executable, str(conf), "--sentinel"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        wait_until(
            lambda: all(self._knows_replica(p) for p in self.sentinel_ports), timeout=30, what="sentinels"
        )
        return self

    def _ask(self, port: int, call):
        client = redis_lib.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        try:
            return call(client)
        except redis_lib.RedisError:
            return None
        finally:
            client.close()

    def _replication(self, port: int) -> dict:
        return self._ask(port, lambda c: c.info("replication")) or {}

    def _knows_replica(self, port: int) -> bool:
        replicas = self._ask(port, lambda c: c.sentinel_slaves(SERVICE)) or []
        return any(r.get("port") == self.replica.port for r in replicas if self.replica is not None)

    def master_port(self) -> int | None:
        """The master's port as the sentinels' majority names it."""
        named = [
            self._ask(port, lambda c: c.sentinel_get_master_addr_by_name(SERVICE))
            for port in self.sentinel_ports
        ]
        ports = [int(answer[1]) for answer in named if answer]
        return max(set(ports), key=ports.count) if ports else None

    def kill_master(self) -> None:
        """SIGKILL, as a host that dies: no shutdown, no final save."""
        self.master.kill()

    def wait_for_failover(self, timeout: float = 30) -> float:
        """Seconds until the sentinels name the replica as the master."""
        import time

        started = time.monotonic()
        assert self.replica is not None
        wait_until(lambda: self.master_port() == self.replica.port, timeout=timeout, what="the failover")
        return time.monotonic() - started

    def logs(self) -> str:
        """Every server's and sentinel's log, for a failure's report."""
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')}" for p in sorted(self._folder.glob("*.log"))
        )

    def stop(self) -> None:
        for process in self._sentinels:
            process.kill()
            process.wait(timeout=10)
        for server in (self.replica, self.master):
            if server is not None:
                server.kill()
                server.stop()
        shutil.rmtree(self._folder, ignore_errors=True)
