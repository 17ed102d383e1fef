"""The queue: places, waits, workers, and cancelling."""

from __future__ import annotations

from shared.durations import approximate, humanize_seconds


def cancelled() -> str:
    return "Cancelled. Nothing was charged."


def cancelled_while_queued() -> str:
    return "Cancelled before it started: it left the queue and nothing was charged."


def stopping() -> str:
    return "Stopping it: the images drawn so far are dropped and nothing is charged."


def cannot_stop(backend: str) -> str:
    return (
        f"Jobs on the {backend} backend cannot be stopped once they are being drawn: this one will "
        "finish and count. Cancel works while a job still waits in the queue."
    )


def cancel_too_late() -> str:
    return "That job has already finished."


def cancel_unknown() -> str:
    return "I don't know that job any more: it has finished or expired."


def cancel_not_yours() -> str:
    return "Only the member who asked for a job can cancel it."


def queue_empty() -> str:
    return "You have no jobs queued or running."


def queue_line(number: int, prompt: str, state: str, position: int | None, eta: float | None) -> str:
    if state == "running":
        where = "being drawn"
    else:
        where = f"#{position} in the queue" if position else "queued"
        if eta is not None:
            where += f", about {humanize_seconds(eta)}"
    return f"{number}. {prompt} — {where}"


def queue_totals_line(backend: str, waiting: int, running: int, oldest: float | None) -> str:
    wait = f", the oldest waiting {humanize_seconds(oldest)}" if oldest is not None else ""
    return f"{backend}: {waiting} waiting, {running} running{wait}"


def queued(position: int | None, eta_seconds: float | None) -> str:
    if position is None:
        return "Queued."
    where = "next in line" if position <= 1 else f"#{position} in queue"
    if eta_seconds is None:
        return f"Queued — {where}."
    return f"Queued — {where}, about {approximate(eta_seconds)}."


def queued_short(position: int | None, eta_seconds: float | None) -> str:
    """The queue state inside a status line: "queued, #3 (about 20 s)"."""
    if position is None:
        return "queued"
    where = "queued, next in line" if position <= 1 else f"queued, #{position}"
    return where if eta_seconds is None else f"{where} (about {approximate(eta_seconds)})"


def no_worker(backend: str, waiting: int) -> str:
    jobs = "no job is" if not waiting else "1 job is" if waiting == 1 else f"{waiting:,} jobs are"
    return (
        f"No worker is serving the {backend!r} backend ({jobs} waiting for one). "
        f"Start one with `imagine worker --backend {backend}`."
    )


def queued_without_worker(position: int) -> str:
    """A chat status while no worker serves the job's backend: the job waits, it has not failed."""
    return (
        f"{queued_short(position, None)} — no image worker is running right now; "
        "your request will start when one is back"
    )


def no_worker_for_default(backend: str) -> str:
    return (
        f"no live worker serves the default backend {backend!r} (IMAGINE_BACKEND), so requests would "
        f"wait: start one with `imagine worker --backend {backend}`"
    )


def still_running(job_id: str, seconds: float) -> str:
    return (
        f"Job {job_id} is not finished after {humanize_seconds(seconds)}; it keeps running and its "
        "result will still be delivered."
    )
