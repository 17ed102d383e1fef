"""Failures of ours or of the image service, told to the member."""

from __future__ import annotations


def backend_unavailable() -> str:
    return (
        "The image service is unavailable right now, so your quota was not charged. Please try again later."
    )


def backend_refused() -> str:
    return "The image service's safety system refused this prompt. Please rephrase it."


def worker_lost() -> str:
    return (
        "The image could not be made after several attempts, so your quota was not charged. Please try again."
    )


def image_too_large() -> str:
    return "The image is larger than this bot may store, so your quota was not charged. Try a smaller size."


def images_expired() -> str:
    return "The image was made, but it expired before it could be posted here. Please ask again."


def delivery_impossible() -> str:
    return "The image was made but could not be posted here (the thread or channel is gone or I lost access)."


def bot_restarting() -> str:
    """The bot's store (Redis) cannot be reached for a few seconds: a failover, or a restart."""
    return "The bot is restarting; try again in a minute. Nothing was charged."
