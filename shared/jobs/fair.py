"""Fair shares between communities on one lane: weighted fair queuing over RQ's own queue list.

Each waiting job carries a virtual tag: max(the lane's clock, its workspace's last tag) plus its
virtual length, 1/share (in integer steps). A new job is moved from the tail, where RQ pushed it, to
just before the first waiting job with a later tag, so the list RQ's workers pop from is always in
fair order: one community's 20 queued jobs take turns with another's 2 instead of all going first
(weights from `[quota.workspaces."platform:id"] share`, default 1). When a worker starts a job, the
lane's clock moves to its tag: a community that was idle comes back at the clock, with no credit
saved up.

Positions, `/queue`, ETAs and cancelling read the same list, so they show this order as it is.
"""

from __future__ import annotations

from redis import Redis
from redis.client import Pipeline

from shared import keys

STEP = 1_000_000  # one job's virtual length at share 1; tags are integers, so ties stay exact

# KEYS: the lane's queue list, its tags (job -> tag), its clock, its workspaces' last tags
# ARGV: the job id, its workspace, its job's virtual length (STEP / share)
_PLACE = """
local clock = tonumber(redis.call('GET', KEYS[3]) or '0')
local last = tonumber(redis.call('HGET', KEYS[4], ARGV[2]) or '0')
local tag = math.max(clock, last) + tonumber(ARGV[3])
redis.call('HSET', KEYS[4], ARGV[2], tag)
redis.call('HSET', KEYS[2], ARGV[1], tag)
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
for i = 1, #ids do
  local other = ids[i]
  if other ~= ARGV[1] then
    local theirs = tonumber(redis.call('HGET', KEYS[2], other) or '0')
    if theirs > tag then
      if redis.call('LREM', KEYS[1], -1, ARGV[1]) == 1 then
        redis.call('LINSERT', KEYS[1], 'BEFORE', other, ARGV[1])
      end
      return i
    end
  end
end
return #ids
"""

# KEYS: the lane's tags, its clock; ARGV: the job id
_STARTED = """
local tag = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
redis.call('HDEL', KEYS[1], ARGV[1])
if tag > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], tag) end
return 1
"""


def place(redis: Redis, queue_key: str, lane: str, job_id: str, workspace: str, share: float) -> int:
    """Move a job RQ just pushed onto `queue_key` to its fair place; returns its position (1-based)."""
    script_keys = [queue_key, keys.fair_tags(lane), keys.fair_clock(lane), keys.fair_last(lane)]
    length = max(1, round(STEP / share))
    return int(redis.eval(_PLACE, len(script_keys), *script_keys, job_id, workspace, str(length)))


def started(pipe: Pipeline | Redis, lane: str, job_id: str) -> None:
    """A worker took the job: the lane's clock moves to its tag, and the tag is forgotten."""
    script_keys = [keys.fair_tags(lane), keys.fair_clock(lane)]
    pipe.eval(_STARTED, len(script_keys), *script_keys, job_id)


def forget(pipe: Pipeline | Redis, lane: str, job_id: str) -> None:
    """A waiting job cancelled: its tag goes with it (the clock stays)."""
    pipe.hdel(keys.fair_tags(lane), job_id)
