"""Members' pictures (to start from, to blend) and /describe."""

from __future__ import annotations

from shared.durations import humanize_seconds


def image_not_from_platform() -> str:
    return "I only take pictures uploaded to this chat, not links to other sites. Nothing was charged."


def image_unavailable() -> str:
    return "I could not download your picture (it may have expired); upload it again. Nothing was charged."


def image_too_big(max_bytes: int) -> str:
    mib = 1024 * 1024
    limit = f"{max_bytes // mib} MB" if max_bytes >= mib else f"{max_bytes // 1024} KB"
    return f"Your picture is larger than {limit}; send a smaller one. Nothing was charged."


def image_wrong_type() -> str:
    return "That file is not a picture I can read (PNG, JPEG, WebP or GIF). Nothing was charged."


def image_too_many_pixels() -> str:
    return "Your picture has too many pixels to process; send a smaller one. Nothing was charged."


def too_many_pictures(given: int, limit: int) -> str:
    return f"{given} pictures is more than I can start from at once (at most {limit}). Nothing was charged."


def blend_needs_pictures(given: int, low: int, high: int) -> str:
    return f"A blend takes {low} to {high} pictures; you gave {given}. Nothing was charged."


BLEND_PROMPT = "one image that combines these pictures"


def pictures_prompt(count: int) -> str:
    """The words of a request that brings pictures and none of its own."""
    return BLEND_PROMPT if count > 1 else "a new take on this picture"


def picture_gone() -> str:
    return (
        "Your picture was no longer in storage (it may have expired); upload it again. Nothing was charged."
    )


def describe_needs_picture() -> str:
    return "That message has no picture I can describe (PNG, JPEG, WebP or GIF)."


def describe_unavailable(reason: str) -> str:
    return f"I could not describe the picture: {reason}. Nothing was counted against your limit."


def describe_not_configured() -> str:
    return (
        "Describing pictures needs a vision model, and this bot has none configured "
        "(the operator sets OPENAI_API_KEY and IMAGINE_VISION_MODEL or IMAGINE_TEXT_MODEL)."
    )


def describe_turned_off() -> str:
    return "Describing pictures is turned off on this bot ([quota] describes_per_hour = 0)."


def describe_limit(limit: int, retry_after: float) -> str:
    return (
        f"You have described {limit} pictures this hour, the most allowed; the next is possible "
        f"in {humanize_seconds(retry_after)}."
    )


def describe_header(count: int) -> str:
    return f"{count} prompts for this picture; press one to imagine it:"


def describe_expired() -> str:
    return "These suggestions have expired; run /describe again, or copy the words into /imagine."


def source_image_gone(*, durable: bool) -> str:
    why = "" if durable else "; the operator can keep images longer with a durable store"
    return f"The earlier image has expired{why}, so this one was drawn afresh from the words."
