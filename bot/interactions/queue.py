"""`/queue` on any platform: what it shows a member (their jobs, each with a Cancel button, whose
press is bot/interactions/pressing.py's) and an operator (each queue's totals); platforms render it."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.followups import ACTIONS, Press
from shared import messages
from shared.drawing.chat_text import shorten
from shared.drawing.requester import Requester
from shared.jobs.member_jobs import MemberJob, MemberJobs

if TYPE_CHECKING:
    from bot.core import ImagineCore

MAX_JOBS = 10  # one Cancel each: within Discord's 25 components and Slack's 50 blocks
PROMPT_CHARS = 80


@dataclass(frozen=True)
class QueueView:
    lines: list[str]  # one per job, numbered; or that there are none
    cancels: list[tuple[str, str]]  # (label, button id) per job, in the same order
    totals: list[str]  # for operators: each queue's totals

    @property
    def text(self) -> str:
        return "\n".join([*self.lines, *self.totals])


def queue_view(jobs: MemberJobs, mine: list[MemberJob], *, operator: bool) -> QueueView:
    shown = mine[:MAX_JOBS]
    lines = [
        messages.queue_line(
            n, shorten(job.request.prompt, PROMPT_CHARS), job.state, job.position, job.eta_seconds
        )
        for n, job in enumerate(shown, 1)
    ] or [messages.queue_empty()]
    if len(mine) > MAX_JOBS:
        lines.append(f"… and {len(mine) - MAX_JOBS} more.")
    cancel = ACTIONS["cancel"]
    cancels = [
        (f"{cancel.emoji} {cancel.label} {n}", Press(cancel, job.job_id).custom_id)
        for n, job in enumerate(shown, 1)
    ]
    totals = []
    if operator:
        totals = ["Queues:"] + [
            messages.queue_totals_line(t.backend, t.waiting, t.running, t.oldest_wait_seconds)
            for t in jobs.totals()
        ]
        if len(totals) == 1:
            totals.append("every queue is empty")
    return QueueView(lines, cancels, totals)


async def member_queue(core: ImagineCore, member: Requester, *, operator: bool) -> QueueView:
    """The member's `/queue` (read off the event loop); `operator` adds each queue's totals."""
    return await asyncio.to_thread(lambda: queue_view(core.jobs, core.jobs.of(member), operator=operator))
