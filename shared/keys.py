"""Every Redis key we own, in one place, under the 'imagine:' prefix (RQ keeps its own 'rq:' keys)."""

from __future__ import annotations

PREFIX = "imagine"


def quota_window(user_key: str) -> str:
    return f"{PREFIX}:quota:{user_key}:window"


def quota_running(user_key: str) -> str:
    return f"{PREFIX}:quota:{user_key}:running"


def quota_bonus(user_key: str) -> str:
    return f"{PREFIX}:quota:{user_key}:bonus"


def quota_blocked(user_key: str) -> str:
    return f"{PREFIX}:quota:{user_key}:blocked"


def quota_workspace_days(workspace_key: str) -> str:
    """Prefix of the per-day counters; the admission script appends ':<days since epoch>'."""
    return f"{PREFIX}:quota:ws:{workspace_key}:day"


def quota_workspace_day(workspace_key: str, day: int) -> str:
    return f"{quota_workspace_days(workspace_key)}:{day}"


def quota_charge(job_id: str) -> str:
    return f"{PREFIX}:charge:{job_id}"


def thread(platform: str, workspace: str, channel: str, thread_id: str) -> str:
    return f"{PREFIX}:thread:{platform}:{workspace}:{channel}:{thread_id}"


def image(job_id: str, index: int) -> str:
    return f"{PREFIX}:image:{job_id}:{index}"


def member_picture(event_id: str, index: int) -> str:
    """A member's own picture a frontend fetched and checked, for the worker to start from."""
    return f"{PREFIX}:picture:{event_id}:{index}"


def events(job_id: str) -> str:
    """The command line's result events for one job (other platforms share imagine:results:<platform>)."""
    return f"{PREFIX}:events:{job_id}"


def delivered(job_id: str) -> str:
    """A job's answer was published (shared/publish.py): a retried or taken-over job publishes nothing."""
    return f"{PREFIX}:delivered:{job_id}"


def results(platform: str) -> str:
    """The stream of one chat platform's result events, read by its frontends' consumer group."""
    return f"{PREFIX}:results:{platform}"


def posting(job_id: str) -> str:
    """Which frontend consumer is posting a job's answer (taken over when that consumer is dead)."""
    return f"{PREFIX}:posting:{job_id}"


def posted(job_id: str) -> str:
    """A frontend posted the job's answer: a re-read result event is acknowledged, not posted again."""
    return f"{PREFIX}:posted:{job_id}"


def durations(backend: str) -> str:
    return f"{PREFIX}:durations:{backend}"


def fair_tags(lane: str) -> str:
    """Waiting job -> its virtual start tag (shared/jobs/fair.py)."""
    return f"{PREFIX}:fair:{lane}:tags"


def fair_clock(lane: str) -> str:
    """The tag of the last job a worker started on the lane."""
    return f"{PREFIX}:fair:{lane}:clock"


def fair_last(lane: str) -> str:
    """Workspace -> the tag of its last job queued on the lane."""
    return f"{PREFIX}:fair:{lane}:last"


def worker_alive(worker_name: str) -> str:
    return f"{PREFIX}:alive:{worker_name}"


def consumer_alive(name: str) -> str:
    """A frontend's result consumer is alive while this key is (its pending entries are not taken)."""
    return f"{PREFIX}:consumer:{name}"


def reaper_lock() -> str:
    return f"{PREFIX}:reaper:lock"


def announced(backend: str) -> str:
    """Throttle for queue-position updates on one backend's queue."""
    return f"{PREFIX}:announced:{backend}"


def cost(subject: str) -> str:
    """Spend (USD) and image count of a user ('user:<platform:id>') or workspace ('ws:<platform:id>')."""
    return f"{PREFIX}:cost:{subject}"


def pending(job_id: str) -> str:
    """An admitted job whose frontend is still opening its thread; it keeps the user's slot."""
    return f"{PREFIX}:pending:{job_id}"


def event_claim(platform: str, workspace: str, event_id: str) -> str:
    """The first frontend process to set this handles a platform event; redeliveries are dropped."""
    return f"{PREFIX}:event:{platform}:{workspace}:{event_id}"


def thread_origin(platform: str, workspace: str, thread_id: str) -> str:
    """Where a thread the bot opened lives (its channel) and whose it is."""
    return f"{PREFIX}:origin:{platform}:{workspace}:{thread_id}"


def refusals(subject: str) -> str:
    """Refusals by rule of a user ('user:<platform:id>') or workspace ('ws:<platform:id>')."""
    return f"{PREFIX}:refusals:{subject}"


def describes(user_key: str) -> str:
    """A member's /describe uses in the last hour (a sorted set of use ids by time)."""
    return f"{PREFIX}:describes:{user_key}"


def suggestions(describe_id: str) -> str:
    """The prompts one /describe answered, for its "Imagine this" buttons."""
    return f"{PREFIX}:suggestions:{describe_id}"


def model_failed(lane: str) -> str:
    """Why a worker could not load a lane's model (text), until a worker loads it."""
    return f"{PREFIX}:model-failed:{lane}"


def file_hash(digest: str) -> str:
    """A model or LoRA file's short SHA-256, by a hash of (path, size, modification time)."""
    return f"{PREFIX}:filehash:{digest}"


def expansion(digest: str) -> str:
    """A cached prompt expansion, by a hash of (idea, preset, model)."""
    return f"{PREFIX}:expansion:{digest}"


def server_lease(backend: str, server: str) -> str:
    """Held by the worker job using one image server of a pool (a1111), so others pick a free one."""
    return f"{PREFIX}:lease:{backend}:{server}"


def member_feed(platform: str, user: str) -> str:
    """A stream of what a platform showed one member (a platform with no history of its own: a page
    reloaded, or opened on another device, reads it back)."""
    return f"{PREFIX}:feed:{platform}:{user}"


def edit_link(link_id: str) -> str:
    """A link from a chat to the page's region editor: its member, thread and image, until it expires."""
    return f"{PREFIX}:edit-link:{link_id}"


def web_secret() -> str:
    """The key `imagine web` signs its session cookies with, shared by its processes."""
    return f"{PREFIX}:web:secret"


def reply_secrets(job_id: str) -> str:
    """A job's reply handles that let their holder act as the bot (an interaction token): frontends only."""
    return f"{PREFIX}:reply-secrets:{job_id}"


def web_session_revoked(nonce: str) -> str:
    """A page session logged out before it expired."""
    return f"{PREFIX}:web:revoked:{nonce}"


def web_login_attempts(scope: str, value: str) -> str:
    """Login attempts in the throttle's window: per "address", per "account", and "everyone"."""
    return f"{PREFIX}:web:login-attempts:{scope}:{value}"


def stored_images(workspace_key: str) -> str:
    """A durable store's index of one workspace's images: key -> when stored (sorted, oldest first)."""
    return f"{PREFIX}:store:{workspace_key}:images"


def stored_sizes(workspace_key: str) -> str:
    return f"{PREFIX}:store:{workspace_key}:sizes"


def storing_workspaces() -> str:
    return f"{PREFIX}:store:workspaces"


def stored_at() -> str:
    """A durable store's index: image key -> when it was stored."""
    return f"{PREFIX}:store:stored-at"


def store_sweep_lock() -> str:
    return f"{PREFIX}:store:sweep"


def stop_requested(job_id: str) -> str:
    """Set when a member cancels a job being drawn: its worker stops where the backend can."""
    return f"{PREFIX}:stop:{job_id}"


def member_defaults(user_key: str) -> str:
    """A member's /settings (JSON)."""
    return f"{PREFIX}:defaults:{user_key}"


def workspaces_left(platform: str) -> str:
    """Workspaces that removed the bot -> when (a sorted set, seconds since the epoch)."""
    return f"{PREFIX}:workspaces-left:{platform}"


def channel_defaults(platform: str, workspace: str, channel: str) -> str:
    """A channel's defaults, set by those who manage it (JSON)."""
    return f"{PREFIX}:channel-defaults:{platform}:{workspace}:{channel}"


def gallery(user_key: str) -> str:
    """A member's last finished images (JSON entries, newest first)."""
    return f"{PREFIX}:gallery:{user_key}"


def stars(message_id: str) -> str:
    """The members who starred a result message."""
    return f"{PREFIX}:stars:{message_id}"


def result_message(platform: str, message_id: str) -> str:
    """Which job a posted result message shows (JSON: job, prompt, images), for ⭐ on it."""
    return f"{PREFIX}:result-message:{platform}:{message_id}"


def showcased(message_id: str) -> str:
    """Set once a starred result has been reposted to its showcase channel."""
    return f"{PREFIX}:showcased:{message_id}"
