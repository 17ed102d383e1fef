"""Follow-ups in a thread (a reply, and the buttons under a result): a new request built from a Turn.

Platform-neutral, so Discord's buttons and Slack's actions make the same jobs. Each follow-up keeps
everything about the turn it continues except what it changes (and what the member's flags change).

`ACTIONS` defines every result button once: its name in the button id, its label, whether there is
one per image, and what a press does. Each platform renders the buttons from it and parses a press
back with `parse_press`; a new button is one entry here (plus a handler, for a new kind of press).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from shared.drawing.backends import BACKENDS, Capabilities
from shared.drawing.chat_text import ACTION_PREFIX, JOB_ID_PATTERN
from shared.drawing.edits import CanvasEdit
from shared.drawing.finishing import BUTTON_FACTOR
from shared.drawing.request import Drawing, JobKind, RequestOptions
from shared.drawing.sources import SourceImage
from shared.imaging import canvas
from shared.members.threads import Turn


@dataclass(frozen=True)
class FollowUp:
    """What to ask for: the turn's drawing settings with this follow-up's changes, the member's flags
    (options as typed, validated over `base`), and the job's kind, parent and refinement words."""

    base: Drawing
    options: RequestOptions
    kind: JobKind
    parent_job_id: str
    parent_image_index: int | None = None
    instruction: str | None = None


def refine(turn: Turn, instruction: str, flags: dict[str, str | bool]) -> FollowUp:
    """A reply: the last image again, changed by the words; the same seed unless a flag says otherwise."""
    base = _base(turn, seed=_first_seed(turn))
    options = RequestOptions(prompt=turn.prompt, **flags)  # type: ignore[arg-type]
    return FollowUp(base, options, "refine", turn.job_id, _last_index(turn), instruction.strip() or None)


def reroll(turn: Turn) -> FollowUp:
    """The same prompt and settings with new seeds."""
    return FollowUp(_base(turn, seed=None), RequestOptions(turn.prompt), "reroll", turn.job_id)


def variation(turn: Turn, index: int) -> FollowUp:
    """One new image close to image `index` (image-to-image where the backend can edit)."""
    base = _base(turn, seed=None, count=1)
    return FollowUp(base, RequestOptions(turn.prompt), "variation", turn.job_id, _checked_index(turn, index))


def upscaled(*, creative: bool) -> Callable[[Turn, int], FollowUp]:
    """Upscale (Subtle) or (Creative) image `index`: twice its size by the engine's upscaler (and, for
    Creative, redrawn lightly at that size); where the model's sizes are fixed, at the best quality."""

    def make(turn: Turn, index: int) -> FollowUp:
        index = _checked_index(turn, index)
        seed = turn.seeds[index] if index < len(turn.seeds) else None
        base = _base(turn, seed=seed, count=1)
        if BACKENDS[turn.backend].fixed_sizes:
            base = base.model_copy(update={"quality": "high"})
        options = RequestOptions(turn.prompt, upscale=BUTTON_FACTOR, creative=creative)
        return FollowUp(base, options, "upscale", turn.job_id, index)

    return make


def extended(edit: CanvasEdit) -> Callable[[Turn, int], FollowUp]:
    """Zoom out, pan or make square image `index`: a bigger canvas, the original kept, the rest drawn."""

    def make(turn: Turn, index: int) -> FollowUp:
        index = _checked_index(turn, index)
        width, height = canvas.plan(edit, turn.width, turn.height).size
        base = _base(turn, seed=None, count=1)
        base = base.model_copy(update={"width": width, "height": height, "aspect": None})
        options = RequestOptions(turn.prompt, zoom_out=edit.zoom, pan=edit.pan, square=edit.square or None)
        kind: JobKind = "zoom" if edit.zoom else "pan" if edit.pan else "square"
        return FollowUp(base, options, kind, turn.job_id, index)

    return make


def region(
    turn: Turn, index: int, words: str, *, ninths: tuple[str, ...] = (), mask: SourceImage | None = None
) -> FollowUp:
    """🖌️ Vary (Region): image `index` with only the marked part drawn anew, as `words` say (the
    prompt's own words where none are given); marked by a mask (the editor) or by ninths (the form)."""
    index = _checked_index(turn, index)
    base = _base(turn, seed=None, count=1)
    options = RequestOptions(turn.prompt, region=" ".join(ninths) or None, mask=mask)
    return FollowUp(base, options, "region", turn.job_id, index, words.strip() or None)


def _base(turn: Turn, *, seed: int | None, **changes: object) -> Drawing:
    """The turn's settings as the next request's defaults: as many images as it showed, and the model
    it drew with only where members pick models (elsewhere the backend's own choice stays free)."""
    model = turn.model if BACKENDS[turn.backend].pickable_models else None
    update = {"seed": seed, "count": max(1, len(turn.images)), "model": model, **changes}
    return turn.drawing().model_copy(update=update)


def _first_seed(turn: Turn) -> int | None:
    return next((seed for seed in turn.seeds if seed is not None), None)


def _last_index(turn: Turn) -> int:
    return max(0, len(turn.images) - 1)


def _checked_index(turn: Turn, index: int) -> int:
    return index if 0 <= index < max(1, len(turn.images)) else 0


# "region": 🖌️ Vary (Region) opens the region editor (bot/interactions/region.py)
PressEffect = Literal["job", "form", "region", "info", "delete", "cancel"]


@dataclass(frozen=True)
class Action:
    """One kind of result button."""

    name: str  # in the button id: imagine:<name>:<job>[:<image>][:<owner>]
    label: str
    emoji: str
    effect: PressEffect = "job"  # a new job, the refine form, the turn's details, or removing the post
    make: Callable[[Turn, int], FollowUp] | None = None  # for "job": the follow-up of image k
    per_image: bool = False  # one button per image, the image's index in the id
    carries_owner: bool = False  # the id names who asked (who may press it)
    primary: bool = False
    under_results: bool = True  # False: shown elsewhere (a job's Cancel, in the member's queue)
    needs: str | None = None  # a capability of the job's backend (shared/drawing/backends.py: Capabilities)
    row: str | None = None  # a row of its own kind under a single image (the canvas edits), else the last
    several: bool = False  # only under a result of several images (picking one of them)
    offered: Callable[[int, int], bool] = lambda width, height: True  # for a picture of this size

    @property
    def text(self) -> str:
        """Emoji and label, as platforms without a separate emoji show it."""
        return " ".join(part for part in (self.emoji, self.label) if part)


_CANVAS: dict = {"needs": "outpaint"}  # a canvas edit: drawn around the picture

ACTIONS: dict[str, Action] = {
    action.name: action
    for action in (
        Action("variation", "Variation", "✨", make=variation, per_image=True, needs="edit"),
        # Several images: ⬆️ Upscale k picks one, twice as big; one image: Subtle or Creative
        Action("upscale", "Upscale", "⬆️", make=upscaled(creative=False), per_image=True, several=True),
        Action("upsubtle", "Upscale (Subtle)", "", make=upscaled(creative=False), row="upscale"),
        Action(
            "upcreative", "Upscale (Creative)", "", make=upscaled(creative=True), needs="edit", row="upscale"
        ),
        Action("region", "Vary (Region)", "🖌️", effect="region", needs="inpaint", row="zoom"),
        Action("zoom2", "Zoom out 2×", "🔍", make=extended(CanvasEdit(zoom=2)), **_CANVAS, row="zoom"),
        Action("zoom15", "Zoom out 1.5×", "🔍", make=extended(CanvasEdit(zoom=1.5)), **_CANVAS, row="zoom"),
        Action(
            "square",
            "Make square",
            "",
            make=extended(CanvasEdit(square=True)),
            **_CANVAS,
            row="zoom",
            offered=lambda width, height: width != height,
        ),
        *(
            Action(f"pan{side}", "", arrow, make=extended(CanvasEdit(pan=side)), **_CANVAS, row="pan")
            for side, arrow in (("left", "⬅️"), ("right", "➡️"), ("up", "⬆️"), ("down", "⬇️"))
        ),
        Action("reroll", "Reroll", "🔁", make=lambda turn, k: reroll(turn)),
        Action("refine", "Refine", "✏️", effect="form", primary=True),
        Action("info", "Info", "ℹ️", effect="info"),
        Action("delete", "Delete", "🗑️", effect="delete", carries_owner=True),
        Action("cancel", "Cancel", "⏹️", effect="cancel", under_results=False),
    )
}
PRESS_PATTERN = (
    rf"{ACTION_PREFIX}:(?P<action>{'|'.join(ACTIONS)}):(?P<job>{JOB_ID_PATTERN})"
    r"(?::(?P<index>[0-9]))?(?::(?P<owner>[0-9A-Za-z]{1,24}))?"
)
_PRESS = re.compile(PRESS_PATTERN)


@dataclass(frozen=True)
class Press:
    action: Action
    job_id: str
    index: int = 0
    owner: str | None = None

    @property
    def custom_id(self) -> str:
        return press_id(self.action, self.job_id, self.index, self.owner)


def press_id(action: Action, job_id: str, index: int = 0, owner: str | None = None) -> str:
    """'imagine:variation:<job>:1' — what a button carries, so a press needs no stored state."""
    parts = [ACTION_PREFIX, action.name, job_id]
    if action.per_image:
        parts.append(str(index))
    if action.carries_owner and owner is not None:
        parts.append(owner)
    return ":".join(parts)


def parse_press(custom_id: str) -> Press | None:
    """The press a button id stands for; None for an id this version does not know."""
    match = _PRESS.fullmatch(custom_id)
    if match is None:
        return None
    action = ACTIONS[match["action"]]
    index, owner = match["index"], match["owner"]
    if not action.per_image and index is not None:  # no image index in this action's ids
        if owner is not None or not action.carries_owner:
            return None
        index, owner = None, index  # a one-digit owner
    if action.per_image and index is None:
        return None
    return Press(action, match["job"], int(index or 0), owner)


def result_buttons(
    job_id: str,
    count: int,
    owner: str,
    *,
    can: Capabilities,
    effects: frozenset[PressEffect],
    size: tuple[int, int],
) -> list[list[Press]]:
    """The buttons under a result, in rows: each per-image action for every image; under a single
    image, the canvas edits (zoom, make square; then the four pans); then the rest. Only those the
    job's backend can honour (`can`: its capabilities), the platform can answer (`effects`: its
    surface's, e.g. Slack shows no Info or Delete) and that fit the picture's `size`."""
    chosen = [
        a
        for a in ACTIONS.values()
        if a.under_results
        and a.effect in effects
        and (a.needs is None or getattr(can, a.needs))
        and a.offered(*size)
        and (a.row is None or count == 1)
        and (not a.several or count > 1)
    ]
    rows = [[Press(a, job_id, k) for k in range(count)] for a in chosen if a.per_image]
    for row in dict.fromkeys(a.row for a in chosen if a.row):
        rows.append([Press(a, job_id) for a in chosen if a.row == row])
    rest = [a for a in chosen if not a.per_image and not a.row]
    rows.append([Press(a, job_id, 0, owner if a.carries_owner else None) for a in rest])
    return rows
