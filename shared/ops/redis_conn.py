"""Opening Redis with errors that say what to fix, and URLs shown without their password."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import redis
from redis import Redis
from redis.asyncio import BlockingConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.driver_info import DriverInfo

from shared.errors import ConfigError
from shared.ops import sentinel

ASYNC_CONNECTIONS = 16  # per frontend process; shared round trips keep a burst to a few at once


def safe_url(url: str) -> str:
    """The URL with any password replaced by '***', for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def sentinels(url: str) -> sentinel.SentinelView | None:
    """What REDIS_URL's sentinels say (each one, the master they agree on, the replicas); None for a
    plain Redis URL. ConfigError for a sentinel URL that cannot be read."""
    return sentinel.view(_sentinel_address(url)) if sentinel.is_sentinel_url(url) else None


def _sentinel_address(url: str) -> sentinel.SentinelAddress:
    try:
        return sentinel.parse(url)
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL={safe_url(url)} is not a Redis URL ({exc})") from None


def _options(socket_timeout: float) -> dict:
    """Every client's connections: `socket_timeout` bounds reads; one DriverInfo for all (see connect)."""
    return {
        "socket_connect_timeout": 3,
        "socket_timeout": socket_timeout,
        "health_check_interval": 30,
        "driver_info": DriverInfo(),
    }


def connect(url: str, *, check: bool = True, socket_timeout: float = 5.0) -> Redis:
    """A client for `url`; with `check`, a PING proves it reachable or raises ConfigError.

    Its connections share one `DriverInfo` (the name and version sent with CLIENT SETINFO): made per
    connection, redis-py reads its own package metadata each time, about 1 ms.

    `socket_timeout` bounds every read, so it must outlast the longest blocking command sent on the
    client (a worker's BLMOVE). It is fixed here, when the pool is made: redis-py keeps the value it
    was made with for its connections, so raising it on the pool later (as RQ's Worker does) does not
    reach them.
    """
    if sentinel.is_sentinel_url(url):  # the master the sentinels name, found again after a failover
        client = sentinel.master(_sentinel_address(url), **_options(socket_timeout))
    else:
        try:
            client = Redis.from_url(url, **_options(socket_timeout))
        except ValueError as exc:
            raise ConfigError(f"REDIS_URL={safe_url(url)} is not a Redis URL ({exc})") from None
    if check:
        try:
            client.ping()
        except redis.AuthenticationError:
            raise ConfigError(f"Redis at {safe_url(url)} refused the password in REDIS_URL") from None
        except redis.RedisError as exc:
            raise ConfigError(
                f"cannot reach Redis at {safe_url(url)} (REDIS_URL): {' '.join(str(exc).split())} "
                "→ start it, or set REDIS_URL to the Redis the bot uses"
            ) from None
    return client


def connect_async(
    url: str, *, socket_timeout: float = 5.0, connections: int = ASYNC_CONNECTIONS
) -> AsyncRedis:
    """An asyncio client for `url`, for an event loop's short commands (checked by the blocking
    `connect` of the same process at start-up; its connections open on first use, in the loop).

    At most `connections` are open; a burst's commands beyond that wait their turn for one (up to
    `socket_timeout`) instead of failing with "Too many connections".
    """
    if sentinel.is_sentinel_url(url):  # its pool opens a connection per command in flight, unbounded
        return sentinel.master(_sentinel_address(url), in_asyncio=True, **_options(socket_timeout))
    try:
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=connections,
            timeout=socket_timeout,
            **_options(socket_timeout),
        )
    except ValueError as exc:
        raise ConfigError(f"REDIS_URL={safe_url(url)} is not a Redis URL ({exc})") from None
    return AsyncRedis(connection_pool=pool)
