"""Redis behind Sentinels: `redis+sentinel://[[user]:password@]host:port[,host:port…]/SERVICE[/DB]`
(`rediss+sentinel://` for TLS to the master and replicas). Clients come from redis-py's `Sentinel`
(`master_for`): each connection asks the sentinels where the master is, so after a failover every
process reconnects to the new master by itself. The password is the master's (and its replicas');
sentinels are reached without one unless `sentinel_password` is given in the query."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

SCHEMES = ("redis+sentinel", "rediss+sentinel")


def is_sentinel_url(url: str) -> bool:
    return url.split("://", 1)[0].lower() in SCHEMES


@dataclass(frozen=True)
class SentinelAddress:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    tls: bool = False


def parse(url: str) -> SentinelAddress:
    """The sentinels, the service (the master's name in their config) and the database; ValueError
    says what is wrong."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        raise ValueError(f"not a sentinel URL (the scheme is {parts.scheme}://)")
    netloc = parts.netloc
    credentials, _, hosts = netloc.rpartition("@")
    username, _, password = credentials.partition(":") if credentials else ("", "", "")
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.strip().rpartition(":")
        if not name or not port.isdigit():
            raise ValueError(f"{host!r} is not host:port")
        sentinels.append((name.strip("[]"), int(port)))
    path = [part for part in parts.path.split("/") if part]
    if not path:
        raise ValueError("the service name is missing: …/SERVICE (the name in `sentinel monitor`)")
    if len(path) > 2 or (len(path) == 2 and not path[1].isdigit()):
        raise ValueError(f"the path {parts.path!r} is not /SERVICE or /SERVICE/DB")
    query = parse_qs(parts.query)
    sentinel_password = query.get("sentinel_password", [None])[0]
    return SentinelAddress(
        sentinels=tuple(sentinels),
        service=unquote(path[0]),
        db=int(path[1]) if len(path) == 2 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
        sentinel_password=sentinel_password,
        tls=parts.scheme.lower() == "rediss+sentinel",
    )


# While no master is known (a failover takes a few seconds), a command is retried, asking the
# sentinels again each time: backoff from 0.1 s doubling to 2 s, about 7 s in all.
RETRY_ATTEMPTS = 7
RETRIED = [RedisConnectionError, RedisTimeoutError]


def client_options(address: SentinelAddress, *, in_asyncio: bool = False) -> dict[str, Any]:
    """What the master's (and replicas') connections are opened with; each command is retried
    through a failover, asking the sentinels again on every attempt."""
    retry_class = AsyncRetry if in_asyncio else Retry
    return {
        "db": address.db,
        "username": address.username,
        "password": address.password,
        "ssl": address.tls,
        "retry": retry_class(ExponentialBackoff(cap=2.0, base=0.1), RETRY_ATTEMPTS),
        "retry_on_error": RETRIED,
    }


def sentinel_options(address: SentinelAddress, socket_timeout: float) -> dict[str, Any]:
    """What the sentinels themselves are asked with."""
    options: dict[str, Any] = {"socket_timeout": min(socket_timeout, 2.0), "socket_connect_timeout": 2.0}
    if address.sentinel_password:
        options["password"] = address.sentinel_password
    return options


def master(address: SentinelAddress, *, in_asyncio: bool = False, **connection: Any) -> Any:
    """A client of the master (blocking, or for asyncio), as `shared/ops/redis_conn.py` returns one."""
    if in_asyncio:
        from redis.asyncio import Redis as client_class
        from redis.asyncio.sentinel import Sentinel
    else:
        from redis import Redis as client_class
        from redis.sentinel import Sentinel

    sentinel = Sentinel(
        list(address.sentinels),
        sentinel_kwargs=sentinel_options(address, connection.get("socket_timeout", 5.0)),
        **connection,
    )
    options = client_options(address, in_asyncio=in_asyncio)
    return sentinel.master_for(address.service, redis_class=client_class, **options)


@dataclass(frozen=True)
class SentinelView:
    """What the sentinels say: each one's answer, the master they agree on, its replicas."""

    sentinels: list[str]  # "host:port up" or "host:port: the error"
    master: str | None  # "host:port"; None while none is known
    replicas: list[str]

    def line(self) -> str:
        master = self.master or "none known (a failover under way, or the service name is wrong)"
        replicas = ", ".join(self.replicas) or "none"
        return f"sentinels {'; '.join(self.sentinels)}; master {master}; replicas {replicas}"


def view(address: SentinelAddress) -> SentinelView:
    """Each sentinel asked on its own (doctor and health show them all, not the first that answers)."""
    from redis import Redis
    from redis.exceptions import RedisError

    answers, masters, replicas = [], [], set()
    for host, port in address.sentinels:
        client = Redis(host=host, port=port, **sentinel_options(address, 2.0))
        try:
            master = client.sentinel_get_master_addr_by_name(address.service)
            for replica in client.sentinel_slaves(address.service):
                flags = str(replica.get("flags", ""))
                if "s_down" not in flags and "o_down" not in flags:
                    replicas.add(f"{replica['ip']}:{replica['port']}")
            answers.append(f"{host}:{port} up")
            if master:
                host = master[0].decode() if isinstance(master[0], bytes) else master[0]
                masters.append(f"{host}:{master[1]}")
        except RedisError as exc:
            answers.append(f"{host}:{port}: {type(exc).__name__}")
        finally:
            client.close()
    agreed = max(set(masters), key=masters.count) if masters else None
    return SentinelView(answers, agreed, sorted(replicas))
