"""Logins are throttled before the password is checked: each attempt is counted in Redis first, in one
script, per client address, per account and for the whole page, and one over any limit is refused
without a check. So a burst of parallel guesses cannot get round the count (each would otherwise be
checked before any failure was counted), and a flood of them cannot tie up the password checks.
A login that succeeds clears its address's and its account's count."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from shared import keys

WINDOW_SECONDS = 15 * 60
PER_ADDRESS = 10  # attempts from one address in the window
PER_ACCOUNT = 20  # attempts at one account, from any address (an attacker with many addresses)
EVERYONE = 300  # attempts at the page as a whole: past this every login waits, the checks stay free

# KEYS: address, account, everyone; ARGV: window, then each key's limit. Returns the seconds to wait
# (0: this attempt is admitted and counted).
_ATTEMPT = """
for i, key in ipairs(KEYS) do
    local count = tonumber(redis.call('GET', key) or '0')
    if count >= tonumber(ARGV[i + 1]) then
        return math.max(redis.call('TTL', key), 1)
    end
end
for _, key in ipairs(KEYS) do
    if redis.call('INCR', key) == 1 then
        redis.call('EXPIRE', key, ARGV[1])
    end
end
return 0
"""


@dataclass(frozen=True)
class Refusal:
    wait_seconds: int
    rule: str  # which limit: "address", "account" or "everyone"


class LoginThrottle:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._attempt = redis.register_script(_ATTEMPT)

    async def attempt(self, address: str, account: str) -> Refusal | None:
        """Count one login attempt before its check; a Refusal when a limit is reached."""
        scopes = {"address": address, "account": account or "-", "everyone": "*"}
        names = [keys.web_login_attempts(scope, value) for scope, value in scopes.items()]
        limits = (PER_ADDRESS, PER_ACCOUNT, EVERYONE)
        wait = int(await self._attempt(keys=names, args=[WINDOW_SECONDS, *limits]))
        if not wait:
            return None
        counts = await self._redis.mget(names)
        reached = (
            rule
            for rule, count, limit in zip(scopes, counts, limits, strict=True)
            if int(count or 0) >= limit
        )
        return Refusal(wait, next(reached, "everyone"))

    async def succeeded(self, address: str, account: str) -> None:
        await self._redis.delete(
            keys.web_login_attempts("address", address), keys.web_login_attempts("account", account or "-")
        )
