"""Small builders for requests, shared by tests."""

from __future__ import annotations

from shared.drawing.request import ImageRequest
from shared.drawing.requester import Requester


def requester(user: str = "alice", *, platform: str = "cli", thread: str | None = None) -> Requester:
    """A member as their platform's frontend describes them (every chat platform can hide an image)."""
    return Requester(
        platform=platform,
        workspace="local",
        channel="cli",
        user=user,
        thread=thread,
        hides_images=platform != "cli",
    )


def image_request(
    event_id: str = "evt-1", *, user: str = "alice", thread: str | None = None, **fields
) -> ImageRequest:
    values = {"prompt": "a lighthouse in a storm", "width": 64, "height": 64, "seed": 1, **fields}
    return ImageRequest(event_id=event_id, requester=requester(user, thread=thread), **values)
