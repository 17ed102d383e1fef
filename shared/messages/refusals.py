"""Refusals by a rule: quotas and their waits, the content policy, whose thread or result it is."""

from __future__ import annotations

from shared.durations import humanize_seconds


def wait_for_hourly(retry_after: float, used: int, limit: int) -> str:
    return f"Please wait {humanize_seconds(retry_after)} — you have used {used} of {limit} images this hour."


def too_many_for_hour(count: int, limit: int) -> str:
    return f"You asked for {count} images, but the limit is {limit} images per hour. Ask for fewer."


def wait_for_concurrent(running: int, limit: int) -> str:
    jobs = "job" if limit == 1 else "jobs"
    return (
        f"You already have {running} of {limit} {jobs} queued or running. "
        "Please wait until one of them finishes."
    )


def wait_for_workspace(retry_after: float, used: int, limit: int) -> str:
    return (
        f"This server has used {used} of its {limit} images for today. "
        f"The daily limit resets in {humanize_seconds(retry_after)} (midnight UTC)."
    )


def blocked() -> str:
    return "You are not allowed to generate images here. Contact the server's admins if this is a mistake."


def quota_disabled() -> str:
    return "Image generation is switched off for you here (your quota is 0). Contact the server's admins."


def thread_not_yours() -> str:
    return (
        "Only the member who started this thread can make new images in it (this channel's rule). "
        "Start your own with /imagine; a moderator can open threads to anyone in /settings."
    )


def delete_not_yours() -> str:
    return "Only the member who asked for this image, or a moderator, can delete it."


def quota_report(report) -> str:
    """/quota: what a member has used and has left, and when the window frees up."""
    limits = report.limits
    left = max(0, limits.images_per_hour - report.used_this_hour) + report.bonus
    lines = [
        f"Images this hour: {report.used_this_hour} of {limits.images_per_hour} used, {left} left"
        + (f" (including {report.bonus} bonus)" if report.bonus else "")
        + ".",
    ]
    if report.window_resets_in is not None:
        lines.append(
            f"Your oldest image this hour stops counting in {humanize_seconds(report.window_resets_in)}."
        )
    lines.append(f"Jobs queued or running: {report.running} of {limits.concurrent}.")
    lines.append(
        f"This server today: {report.workspace_used_today} of {limits.workspace_images_per_day} images "
        "(resets at midnight UTC)."
    )
    if report.blocked:
        lines.append(blocked())
    return "\n".join(lines)


def moderation_refused(category: str) -> str:
    return (
        f"This prompt was refused by the server's content policy (category: {category}). "
        "Nothing was charged; please rephrase it."
    )


def moderation_blocklist() -> str:
    return "This prompt contains a word this server does not allow. Nothing was charged; please rephrase it."


def moderation_unavailable() -> str:
    return (
        "The content check is unavailable right now, and this server does not generate without it. "
        "Nothing was charged; please try again in a few minutes."
    )
