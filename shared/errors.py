"""The few error kinds every layer speaks; shared/messages turns each into words for a user."""

from __future__ import annotations

from typing import Literal

# Why a job ended without images, as its failure event says it: a rule or the image service's safety
# system said no (exit 3), the request cannot be drawn as asked (exit 2), or something broke (exit 1).
FailureKind = Literal["refused", "invalid", "fault", "cancelled"]


class ImagineError(Exception):
    """Base of our own errors. `str(error)` is safe to show to the user who caused it."""


class InvalidRequest(ImagineError):
    """The user's input cannot be turned into a job (empty prompt, bad size, ...)."""


class Refused(ImagineError):
    """A rule said no (quota, block, moderation). `retry_after` is seconds, or None when no wait helps."""

    def __init__(self, message: str, *, rule: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.retry_after = retry_after


class BackendUnavailable(ImagineError):
    """The image service is down or misconfigured: not the user's fault, so quota is refunded.

    `transient` errors (timeouts, 5xx, 429) are retried with backoff; the rest (a bad key) end the job.
    """

    def __init__(self, message: str, *, transient: bool = True) -> None:
        super().__init__(message)
        self.transient = transient


class BackendRefused(ImagineError):
    """The backend's safety system refused the prompt: final, and quota is not refunded."""


class Cancelled(ImagineError):
    """The member cancelled the job while it was being drawn: it stops, and the quota is refunded."""


class DeliveryImpossible(ImagineError):
    """The answer cannot reach its destination (thread deleted, access lost): final, quota refunded."""


class ConfigError(ImagineError):
    """A setting or the config file is wrong; the message names the file, the key and the fix."""


def failure_error(kind: str, text: str) -> ImagineError | None:
    """What a failure event means to whoever waits on it: a Refused or an InvalidRequest, else None."""
    if kind == "refused":
        return Refused(text, rule="backend_safety")
    if kind == "invalid":
        return InvalidRequest(text)
    return None
