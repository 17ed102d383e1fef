"""The platform-neutral core every frontend calls: validate -> (moderate) -> quota admit -> enqueue."""

from __future__ import annotations

from redis import Redis

from shared import messages
from shared.errors import Refused
from shared.queue import JobQueue, Submission
from shared.quota import Quota
from shared.request import ImageRequest, JobKind, Requester, RequestOptions, build_request
from shared.settings import Settings

UNRESTRICTED_PLATFORMS = {"cli"}  # the operator's own command is not bound to channel allow-lists


def check_request(
    settings: Settings,
    options: RequestOptions,
    *,
    requester: Requester,
    event_id: str,
    kind: JobKind = "imagine",
    parent_job_id: str | None = None,
    parent_image_index: int | None = None,
) -> ImageRequest:
    """Check where and what is asked (no I/O); raises InvalidRequest or Refused with the user's message."""
    allow = settings.config.channels.allow
    if allow and requester.platform not in UNRESTRICTED_PLATFORMS:
        if f"{requester.platform}:{requester.channel}" not in allow:
            raise Refused(messages.channel_not_allowed(), rule="channel")
    return build_request(
        options,
        requester=requester,
        event_id=event_id,
        config=settings.config,
        default_backend=settings.backend,
        kind=kind,
        parent_job_id=parent_job_id,
        parent_image_index=parent_image_index,
    )


class ImagineCore:
    """What a frontend holds: the settings, one Redis client, quotas and the job queue."""

    def __init__(self, settings: Settings, redis: Redis) -> None:
        self.settings = settings
        self.redis = redis
        self.quota = Quota(redis, settings.config.quota)
        self.queue = JobQueue(redis, settings.config.jobs)

    def submit(self, request: ImageRequest) -> Submission:
        """Admit against the quota and enqueue, once per platform event."""
        return self.queue.submit(request, self.quota)
