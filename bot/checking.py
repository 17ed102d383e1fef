"""Where and what a request asks, checked without I/O: the channel allow-list, then the request's
own validation (shared/drawing/request.py)."""

from __future__ import annotations

from shared import messages
from shared.configuration.settings import Settings
from shared.drawing.request import Drawing, ImageRequest, JobKind, RequestOptions, build_request
from shared.drawing.requester import Requester
from shared.errors import Refused

UNRESTRICTED_PLATFORMS = {"cli"}  # the operator's own command is not bound to channel allow-lists


def check_request(
    settings: Settings,
    options: RequestOptions,
    *,
    requester: Requester,
    event_id: str,
    base: Drawing | None = None,
    kind: JobKind = "imagine",
    instruction: str | None = None,
    parent_job_id: str | None = None,
    parent_image_index: int | None = None,
) -> ImageRequest:
    """Check where and what is asked (no I/O); raises InvalidRequest or Refused with the user's message."""
    allow = settings.config.channels.allow
    if allow and requester.platform not in UNRESTRICTED_PLATFORMS:
        if f"{requester.platform}:{requester.rules_channel}" not in allow:
            raise Refused(messages.channel_not_allowed(), rule="channel")
    return build_request(
        options,
        requester=requester,
        event_id=event_id,
        config=settings.config,
        default_backend=settings.backend,
        base=base,
        kind=kind,
        instruction=instruction,
        parent_job_id=parent_job_id,
        parent_image_index=parent_image_index,
    )
