"""Per-user and per-workspace quotas, admitted atomically in Redis by one Lua script each."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import NoScriptError

from shared import keys, messages
from shared.configuration.config import QuotaConfig, QuotaLimits
from shared.drawing.requester import Requester
from shared.errors import Refused
from shared.jobs.round_trips import SharedRoundTrips

HOUR = 3600
CHARGE_TTL = 8 * 86400  # longer than any retry of a platform event, so a late duplicate is still caught

# KEYS: window, running, workspace-day prefix, bonus, blocked, charge
# ARGV: count, per_hour, concurrent, workspace_per_day, job_id, slot_ttl, charge_ttl
# Returns {status, a, b, retry_after}; Redis' clock is the only clock, so every host agrees.
_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n, per_hour = tonumber(ARGV[1]), tonumber(ARGV[2])
local concurrent, ws_limit = tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('EXISTS', KEYS[6]) == 1 then return {'duplicate', 0, 0, '0'} end
if redis.call('EXISTS', KEYS[5]) == 1 then return {'blocked', 0, 0, '-1'} end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 3600)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local running = redis.call('ZCARD', KEYS[2])
if running >= concurrent then return {'running', running, concurrent, '-1'} end
local used = redis.call('ZCARD', KEYS[1])
local bonus = tonumber(redis.call('GET', KEYS[4]) or '0')
local over = used + n - per_hour
local from_bonus = 0
if over > 0 then
  if n > per_hour + bonus then return {'too_many', n, per_hour, '-1'} end
  if bonus >= over then
    from_bonus = over
  else
    local oldest = redis.call('ZRANGE', KEYS[1], over - bonus - 1, over - bonus - 1, 'WITHSCORES')
    return {'hour', used, per_hour, tostring(tonumber(oldest[2]) + 3600 - now)}
  end
end
local day = math.floor(now / 86400)
local ws_key = KEYS[3] .. ':' .. day
local ws_used = tonumber(redis.call('GET', ws_key) or '0')
if ws_used + n > ws_limit then return {'workspace', ws_used, ws_limit, tostring((day + 1) * 86400 - now)} end
local window_n = n - from_bonus
for i = 1, window_n do redis.call('ZADD', KEYS[1], now, ARGV[5] .. ':' .. i) end
redis.call('EXPIRE', KEYS[1], 3660)
if from_bonus > 0 then redis.call('DECRBY', KEYS[4], from_bonus) end
redis.call('INCRBY', ws_key, n)
redis.call('EXPIRE', ws_key, 172800)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[6]), ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('HSET', KEYS[6], 'window', window_n, 'bonus', from_bonus, 'ws_key', ws_key, 'n', n)
redis.call('EXPIRE', KEYS[6], ARGV[7])
return {'ok', used + window_n, per_hour, '0'}
"""

# KEYS: window, running, bonus, charge. ARGV: job_id. Idempotent: a second refund does nothing.
_REFUND = """
local c = redis.call('HMGET', KEYS[4], 'window', 'bonus', 'ws_key', 'n', 'refunded')
if not c[4] or c[5] then return 0 end
for i = 1, tonumber(c[1]) do redis.call('ZREM', KEYS[1], ARGV[1] .. ':' .. i) end
if tonumber(c[2]) > 0 then redis.call('INCRBY', KEYS[3], c[2]) end
if redis.call('EXISTS', c[3]) == 1 then redis.call('DECRBY', c[3], c[4]) end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[4], 'refunded', '1')
return 1
"""


@dataclass(frozen=True)
class Limits:
    images_per_hour: int
    concurrent: int
    workspace_images_per_day: int

    def overlaid(self, override: QuotaLimits | None) -> Limits:
        if override is None:
            return self
        return Limits(
            images_per_hour=_pick(override.images_per_hour, self.images_per_hour),
            concurrent=_pick(override.concurrent, self.concurrent),
            workspace_images_per_day=_pick(override.workspace_images_per_day, self.workspace_images_per_day),
        )


def _pick(value: int | None, default: int) -> int:
    return default if value is None else value


def limits_for(config: QuotaConfig, requester: Requester) -> Limits:
    """Defaults, then the workspace override, then the most generous of the member's roles, then the user."""
    limits = Limits(config.images_per_hour, config.concurrent, config.workspace_images_per_day)
    limits = limits.overlaid(config.workspaces.get(requester.workspace_key))
    role_overrides = [config.roles[r] for r in requester.roles if r in config.roles]
    if role_overrides:
        limits = limits.overlaid(
            QuotaLimits(
                images_per_hour=_most(o.images_per_hour for o in role_overrides),
                concurrent=_most(o.concurrent for o in role_overrides),
                workspace_images_per_day=_most(o.workspace_images_per_day for o in role_overrides),
            )
        )
    return limits.overlaid(config.users.get(requester.user_key))


def _parsed(raw: list) -> list:
    return [_text(raw[0]), int(raw[1]), int(raw[2]), _text(raw[3])]


def _most(values) -> int | None:
    given = [v for v in values if v is not None]
    return max(given) if given else None


@dataclass(frozen=True)
class Admission:
    """An admitted request: `duplicate` means this job id was admitted before and nothing was charged now."""

    duplicate: bool
    used: int = 0
    limit: int = 0
    before: list = field(default_factory=list)  # replies of the commands given as `before`


@dataclass(frozen=True)
class UsageReport:
    user_key: str
    limits: Limits
    used_this_hour: int
    window_resets_in: float | None
    running: int
    bonus: int
    blocked: bool
    workspace_used_today: int


@dataclass(frozen=True)
class _AdmissionCall:
    """One admission's script call, queued on a pipeline (blocking or asyncio) after `before`'s commands."""

    requester: Requester
    limits: Limits
    sha: str
    keys: list[str]
    args: list[str | int | float]

    def queue(self, pipe: Pipeline, before: Callable[[Pipeline], None] | None) -> None:
        if before is not None:
            before(pipe)
        # EVALSHA straight in the pipeline: a Script object there would first ask SCRIPT EXISTS, a
        # second round trip on every admission. Redis knows the script after the first admission.
        pipe.evalsha(self.sha, len(self.keys), *self.keys, *self.args)

    def queue_script(self, pipe: Pipeline, source: str) -> None:
        """The script call alone, after loading the script (for a Redis that does not know it)."""
        pipe.script_load(source)
        pipe.evalsha(self.sha, len(self.keys), *self.keys, *self.args)

    def needs_more(self, replies: list, is_job_alive: Callable[[str], bool] | None) -> bool:
        """Whether settling takes more round trips: the script was unknown, or a slot may be healed."""
        raw = replies[-1]
        if isinstance(raw, NoScriptError):
            return True
        return is_job_alive is not None and not isinstance(raw, Exception) and _parsed(raw)[0] == "running"


class Quota:
    """Admission, refunds and operator commands over one Redis connection and the [quota] config."""

    def __init__(self, redis: Redis, config: QuotaConfig, *, slot_ttl: int = 6 * HOUR) -> None:
        self._redis = redis
        self._config = config
        self._slot_ttl = slot_ttl
        self._admit = redis.register_script(_ADMIT)
        self._refund = redis.register_script(_REFUND)

    def admit(
        self,
        requester: Requester,
        job_id: str,
        count: int,
        is_job_alive: Callable[[str], bool] | None = None,
        before: Callable[[Pipeline], None] | None = None,
    ) -> Admission:
        """Charge `count` images and one concurrency slot to the requester, or raise Refused.

        `is_job_alive(job_id)` lets a refusal for concurrency first drop slots whose jobs no longer
        exist (a frontend that died between admission and enqueue), so a leak heals itself.
        `before` adds commands to the admission's round trip; their replies are `Admission.before`.
        """
        call = self._admission(requester, job_id, count)
        pipe = self._redis.pipeline(transaction=False)
        call.queue(pipe, before)
        return self._settle(call, pipe.execute(raise_on_error=False), is_job_alive)

    async def admit_async(
        self,
        round_trips: SharedRoundTrips,
        requester: Requester,
        job_id: str,
        count: int,
        is_job_alive: Callable[[str], bool] | None = None,
        before: Callable[[Pipeline], None] | None = None,
    ) -> Admission:
        """`admit` for event loops: its round trip is shared with the other requests of the moment and
        does not hold the loop. The rare second steps (a Redis that forgot the script, a leaked slot
        to heal) run on a thread with the blocking client."""
        call = self._admission(requester, job_id, count)
        replies = await round_trips.run(lambda pipe: call.queue(pipe, before))  # type: ignore[arg-type]
        if isinstance(replies[-1], NoScriptError):  # Redis restarted: teach it the script, then admit
            script = await round_trips.run(lambda pipe: call.queue_script(pipe, _ADMIT))  # type: ignore[arg-type]
            replies = [*replies[:-1], script[-1]]
        if call.needs_more(replies, is_job_alive):
            return await asyncio.to_thread(self._settle, call, replies, is_job_alive)
        return self._settle(call, replies, is_job_alive)

    def _admission(self, requester: Requester, job_id: str, count: int) -> _AdmissionCall:
        limits = limits_for(self._config, requester)
        script_keys, script_args = self._admit_arguments(requester, job_id, count, limits)
        return _AdmissionCall(requester, limits, self._admit.sha, script_keys, script_args)

    def _settle(
        self, call: _AdmissionCall, replies: list, is_job_alive: Callable[[str], bool] | None
    ) -> Admission:
        """The admission from the round trip's replies (with the blocking client for what else it needs)."""
        *before_replies, raw = replies
        for reply in before_replies:
            if isinstance(reply, Exception):
                raise reply
        if isinstance(raw, NoScriptError):  # the first admission since Redis started or was flushed
            raw = self._admit(keys=call.keys, args=call.args)
        elif isinstance(raw, Exception):
            raise raw
        result = _parsed(raw)
        if (
            result[0] == "running"
            and is_job_alive is not None
            and self._drop_dead_slots(call.requester, is_job_alive)
        ):
            result = _parsed(self._admit(keys=call.keys, args=call.args))
        status, a, b, retry = result
        if status == "ok":
            return Admission(duplicate=False, used=a, limit=b, before=before_replies)
        if status == "duplicate":
            return Admission(duplicate=True, before=before_replies)
        raise self._refusal(status, a, b, float(retry), call.limits)

    def _admit_arguments(
        self, requester: Requester, job_id: str, count: int, limits: Limits
    ) -> tuple[list[str], list[str | int | float]]:
        script_keys = [
            keys.quota_window(requester.user_key),
            keys.quota_running(requester.user_key),
            keys.quota_workspace_days(requester.workspace_key),
            keys.quota_bonus(requester.user_key),
            keys.quota_blocked(requester.user_key),
            keys.quota_charge(job_id),
        ]
        script_args: list[str | int | float] = [
            count,
            limits.images_per_hour,
            limits.concurrent,
            limits.workspace_images_per_day,
            job_id,
            self._slot_ttl,
            CHARGE_TTL,
        ]
        return script_keys, script_args

    def _drop_dead_slots(self, requester: Requester, is_job_alive) -> bool:
        running_key = keys.quota_running(requester.user_key)
        dead = [m for m in (_text(x) for x in self._redis.zrange(running_key, 0, -1)) if not is_job_alive(m)]
        return bool(dead) and bool(self._redis.zrem(running_key, *dead))

    @staticmethod
    def _refusal(status: str, a: int, b: int, retry: float, limits: Limits) -> Refused:
        if status == "blocked":
            return Refused(messages.blocked(), rule="blocked")
        if status == "running":
            if limits.concurrent == 0:
                return Refused(messages.quota_disabled(), rule="disabled")
            return Refused(messages.wait_for_concurrent(a, b), rule="concurrent")
        if status == "too_many":
            if b == 0:
                return Refused(messages.quota_disabled(), rule="disabled")
            return Refused(messages.too_many_for_hour(a, b), rule="hourly")
        if status == "hour":
            return Refused(messages.wait_for_hourly(retry, a, b), rule="hourly", retry_after=retry)
        return Refused(messages.wait_for_workspace(retry, a, b), rule="workspace", retry_after=retry)

    def refund(self, requester: Requester, job_id: str) -> bool:
        """Give back everything the job was charged (images and its slot). True if this call refunded."""
        return bool(
            self._refund(
                keys=[
                    keys.quota_window(requester.user_key),
                    keys.quota_running(requester.user_key),
                    keys.quota_bonus(requester.user_key),
                    keys.quota_charge(job_id),
                ],
                args=[job_id],
            )
        )

    def release(self, requester: Requester, job_id: str, pipe: Pipeline | None = None) -> None:
        """Free the job's concurrency slot; the images stay charged. With `pipe`, as part of it."""
        (pipe if pipe is not None else self._redis).zrem(keys.quota_running(requester.user_key), job_id)

    def report(self, requester: Requester) -> UsageReport:
        """What `/quota` and `imagine quota show` print."""
        user = requester.user_key
        now = _redis_now(self._redis)
        window_key, running_key = keys.quota_window(user), keys.quota_running(user)
        pipe = self._redis.pipeline()
        pipe.zremrangebyscore(window_key, "-inf", now - HOUR)
        pipe.zremrangebyscore(running_key, "-inf", now)
        pipe.zcard(window_key)
        pipe.zrange(window_key, 0, 0, withscores=True)
        pipe.zcard(running_key)
        pipe.get(keys.quota_bonus(user))
        pipe.exists(keys.quota_blocked(user))
        pipe.get(keys.quota_workspace_day(requester.workspace_key, int(now // 86400)))
        _, _, used, oldest, running, bonus, blocked, ws_used = pipe.execute()
        return UsageReport(
            user_key=user,
            limits=limits_for(self._config, requester),
            used_this_hour=used,
            window_resets_in=(oldest[0][1] + HOUR - now) if oldest else None,
            running=running,
            bonus=int(bonus or 0),
            blocked=bool(blocked),
            workspace_used_today=int(ws_used or 0),
        )

    def reset(self, requester: Requester) -> None:
        """Forget the user's images this hour and their concurrency slots."""
        self._redis.delete(keys.quota_window(requester.user_key), keys.quota_running(requester.user_key))

    def grant(self, requester: Requester, images: int) -> int:
        """Give the user `images` extra images beyond the hourly limit; returns the new balance."""
        return int(self._redis.incrby(keys.quota_bonus(requester.user_key), images))

    def block(self, requester: Requester) -> None:
        self._redis.set(keys.quota_blocked(requester.user_key), "1")

    def unblock(self, requester: Requester) -> None:
        self._redis.delete(keys.quota_blocked(requester.user_key))


def _redis_now(redis: Redis) -> float:
    seconds, micros = redis.time()
    return seconds + micros / 1_000_000


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
