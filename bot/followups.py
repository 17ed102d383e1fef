"""Follow-ups in a thread (a reply, Reroll, Variation, Upscale): a new request built from a Turn.

Platform-neutral, so Discord's buttons and Slack's actions make the same jobs. Each follow-up keeps
everything about the turn it continues except what it changes (and what the member's flags change).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from shared.request import SIZE_MAX, SIZE_STEP, JobKind, RequestOptions
from shared.threads import Turn

UPSCALE_FACTOR = 2


@dataclass(frozen=True)
class FollowUp:
    """What to ask for: options as if typed, plus the job's kind, parent and refinement words."""

    options: RequestOptions
    kind: JobKind
    parent_job_id: str
    parent_image_index: int | None = None
    instruction: str | None = None


def refine(turn: Turn, instruction: str, flags: dict[str, str | bool]) -> FollowUp:
    """A reply: the last image again, changed by the words; the same seed unless a flag says otherwise."""
    options = _with_flags(_options_of(turn, seed=_first_seed(turn)), flags)
    return FollowUp(options, "refine", turn.job_id, _last_index(turn), instruction.strip() or None)


def reroll(turn: Turn) -> FollowUp:
    """The same prompt and settings with new seeds."""
    return FollowUp(_options_of(turn, seed=None), "reroll", turn.job_id)


def variation(turn: Turn, index: int) -> FollowUp:
    """One new image close to image `index` (image-to-image where the backend can edit)."""
    options = replace(_options_of(turn, seed=None), count=1)
    return FollowUp(options, "variation", turn.job_id, _checked_index(turn, index))


def upscale(turn: Turn, index: int) -> FollowUp:
    """Image `index` again at a larger size, or at the best quality where the model's sizes are fixed."""
    index = _checked_index(turn, index)
    seed = turn.seeds[index] if index < len(turn.seeds) else None
    options = replace(_options_of(turn, seed=seed), count=1)
    if turn.backend == "openai":  # fixed sizes: the upscale is the best render at the largest of them
        return FollowUp(replace(options, quality="high"), "upscale", turn.job_id, index)
    factor = min(UPSCALE_FACTOR, SIZE_MAX / max(turn.width, turn.height))
    width, height = (_multiple_of_step(side * factor) for side in (turn.width, turn.height))
    return FollowUp(replace(options, size=f"{width}x{height}"), "upscale", turn.job_id, index)


def _options_of(turn: Turn, *, seed: int | None) -> RequestOptions:
    return RequestOptions(
        prompt=turn.prompt,
        negative=turn.negative,
        size=f"{turn.width}x{turn.height}",
        count=max(1, len(turn.images)),
        seed=seed,
        quality=turn.quality,
        style=turn.style,
        backend=turn.backend,
        model=turn.model if turn.backend == "openai" else None,
    )


def _with_flags(options: RequestOptions, flags: dict[str, str | bool]) -> RequestOptions:
    changes = dict(flags)
    if "aspect" in changes:  # a new aspect replaces the turn's size rather than clashing with it
        changes.setdefault("size", None)  # type: ignore[arg-type]
    return replace(options, **changes)  # type: ignore[arg-type]


def _first_seed(turn: Turn) -> int | None:
    return next((seed for seed in turn.seeds if seed is not None), None)


def _last_index(turn: Turn) -> int:
    return max(0, len(turn.images) - 1)


def _checked_index(turn: Turn, index: int) -> int:
    return index if 0 <= index < max(1, len(turn.images)) else 0


def _multiple_of_step(value: float) -> int:
    return int(min(SIZE_MAX, max(SIZE_STEP, round(value / SIZE_STEP) * SIZE_STEP)))
