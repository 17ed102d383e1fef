"""The prompt pipeline: from a validated request to what the backend draws.

A refinement is merged into the thread's prompt (by the chat model, or plainly as a clause); with
`enhance`, the idea is expanded into a detailed prompt; the style preset is applied. The enhancer never
fails an image: when it cannot help, the member's words are used and a note says why.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from shared import messages
from shared.configuration.config import AppConfig
from shared.configuration.presets import Preset
from shared.drawing.request import ImageRequest
from shared.members.threads import ThreadMemory, thread_key
from workers.backends.base import GenerationTask
from workers.prompts.writer import PromptWriter, WriterUnavailable

# How far an image-to-image step may move from its source: a variation explores, an upscale keeps.
STRENGTH_BY_KIND = {"variation": 0.75, "upscale": 0.3}
NO_TEXT_MODEL = "no text model is configured (IMAGINE_TEXT_MODEL)"


@dataclass(frozen=True)
class Prepared:
    task: GenerationTask
    revised_prompt: str | None = None  # the expanded prompt, shown with the result
    notes: list[str] = field(default_factory=list)


def user_hash(request: ImageRequest) -> str:
    """A stable, non-reversible id for the requester (sent to image services instead of the raw id)."""
    return hashlib.sha256(request.requester.user_key.encode()).hexdigest()


def merge_instruction(prompt: str, instruction: str | None, limit: int) -> str:
    """The thread's prompt with a refinement appended as a clause, without repeating a clause.

    The deterministic fallback for refinement: clauses are comma-separated, compared without case;
    when the result is too long, the oldest clauses give way so the newest wish always fits.
    """
    clauses = _clauses(prompt)
    seen = {c.casefold() for c in clauses}
    for clause in _clauses(instruction or ""):
        if clause.casefold() not in seen:
            clauses.append(clause)
            seen.add(clause.casefold())
    merged = ", ".join(clauses)
    while len(merged) > limit and len(clauses) > 1:
        clauses.pop(0)
        merged = ", ".join(clauses)
    return merged[:limit]


def _clauses(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class PromptPipeline:
    def __init__(self, config: AppConfig, threads: ThreadMemory, writer: PromptWriter | None) -> None:
        self._config = config
        self._threads = threads
        self._writer = writer

    def prepare(self, request: ImageRequest) -> Prepared:
        limit = self._config.limits.prompt_max_chars
        notes: list[str] = []
        idea = self._refined(request, limit, notes) if request.instruction else request.prompt
        preset = self._config.presets.get(request.style or "") or Preset()
        prompt, revised = preset.apply(idea), None
        if request.enhance:
            expanded = self._expanded(idea, request.style, preset, limit, notes)
            if expanded is not None:
                prompt = revised = (
                    expanded  # the model wrote the style in; the preset's words would repeat it
                )
        negative = ", ".join(part for part in (request.negative, preset.negative) if part) or None
        # A variation or upscale moves as far as its kind says; otherwise the member's --strength.
        strength = STRENGTH_BY_KIND.get(request.kind, request.strength)
        task = GenerationTask(
            **{**request.drawing().model_dump(), "negative": negative, "strength": strength},
            prompt=prompt,
            idea=idea,
            steps=preset.steps,
            guidance=preset.guidance,
            user_hash=user_hash(request),
        )
        return Prepared(task, revised, notes)

    def _refined(self, request: ImageRequest, limit: int, notes: list[str]) -> str:
        """One complete prompt from the thread's memory and the new instruction."""
        instruction = request.instruction or ""
        if self._writer is None:
            return merge_instruction(request.prompt, instruction, limit)
        key = thread_key(request.requester)
        turns = self._threads.turns(key) if key else []
        if request.parent_job_id:  # only the turns up to the image being refined
            ids = [t.job_id for t in turns]
            turns = turns[: ids.index(request.parent_job_id) + 1] if request.parent_job_id in ids else turns
        try:
            merged = self._writer.merge(
                original=turns[0].prompt if turns else request.prompt,
                current=request.prompt,
                earlier=[t.instruction for t in turns if t.instruction],
                change=instruction,
                limit=limit,
            )
        except WriterUnavailable as exc:
            notes.append(messages.refinement_merged_plainly(str(exc)))
            return merge_instruction(request.prompt, instruction, limit)
        if merged.change:
            notes.append(messages.changed(merged.change))
        return merged.prompt

    def _expanded(
        self, idea: str, style: str | None, preset: Preset, limit: int, notes: list[str]
    ) -> str | None:
        if self._writer is None:
            notes.append(messages.expansion_skipped(NO_TEXT_MODEL))
            return None
        hint = f"{style}: {preset.description or style}" if style else None
        try:
            return self._writer.expand(idea, style=hint, limit=limit)
        except WriterUnavailable as exc:
            notes.append(messages.expansion_skipped(str(exc)))
            return None
