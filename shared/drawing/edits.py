"""Edits that point at the picture, as a request carries them: a bigger canvas (`--zoom-out 2|1.5`,
`--pan left|right|up|down`, `--square`) and a region repainted (`--region` ninths, or a mask: `--mask`
on the command line).
Validated here; the geometry is shared/imaging/canvas.py."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict

from shared import messages
from shared.errors import InvalidRequest

Side = Literal["left", "right", "up", "down"]
SIDES: tuple[str, ...] = get_args(Side)
ZOOMS: dict[str, float] = {"2": 2.0, "1.5": 1.5}
# The picture's ninths, as `--region` names them (row by row)
REGIONS = ("top-left", "top", "top-right", "left", "center", "right", "bottom-left", "bottom", "bottom-right")


class CanvasEdit(BaseModel):
    """One of: zoomed out by `zoom`, panned toward `pan`, made square."""

    model_config = ConfigDict(frozen=True)

    zoom: float | None = None
    pan: Side | None = None
    square: bool = False

    @property
    def flag(self) -> str:
        """How a member would type it."""
        if self.zoom is not None:
            return f"--zoom-out {self.zoom:g}"
        return f"--pan {self.pan}" if self.pan else "--square"


def canvas_edit(zoom: object, pan: object, square: object) -> CanvasEdit | None:
    """The typed `--zoom-out`, `--pan` and `--square` as one edit (None: none given)."""
    given = [flag for flag, value in (("--zoom-out", zoom), ("--pan", pan), ("--square", square)) if value]
    if not given:
        return None
    if len(given) > 1:
        raise InvalidRequest(messages.one_canvas_edit(given))
    if zoom:
        factor = ZOOMS.get(str(zoom).strip().rstrip("x×").removesuffix(".0"))
        if factor is None:
            raise InvalidRequest(messages.unknown_choice("zoom", str(zoom)[:20], list(ZOOMS)))
        return CanvasEdit(zoom=factor)
    if pan:
        side = str(pan).strip().lower()
        if side not in SIDES:
            raise InvalidRequest(messages.unknown_choice("pan direction", side[:20], SIDES))
        return CanvasEdit(pan=side)  # type: ignore[arg-type]
    return CanvasEdit(square=True)


def check_canvas_edit(edit: CanvasEdit, backend: str, *, can_extend: bool, has_picture: bool) -> None:
    """An edit needs a picture to start from and a backend that draws around one."""
    if not can_extend:
        raise InvalidRequest(messages.no_canvas_edits(backend, edit.flag))
    if not has_picture:
        raise InvalidRequest(messages.canvas_edit_needs_picture(edit.flag))


def check_region_edit(backend: str, *, can_repaint: bool, pictures: int, with_canvas: bool) -> None:
    """A mask repaints part of one picture, on a backend that repaints a region."""
    if not can_repaint:
        raise InvalidRequest(messages.no_region_edits(backend))
    if pictures != 1:
        raise InvalidRequest(messages.mask_needs_one_picture(pictures))
    if with_canvas:
        raise InvalidRequest(messages.one_canvas_edit(["--mask", "a new canvas"]))


def regions(typed: object) -> tuple[str, ...]:
    """`--region top-left,center` (commas or spaces): the ninths to repaint, in the grid's order."""
    named = {part.strip().lower() for part in str(typed or "").replace(",", " ").split()}
    unknown = sorted(named - set(REGIONS))
    if unknown:
        raise InvalidRequest(messages.unknown_choice("region", unknown[0][:20], REGIONS))
    return tuple(region for region in REGIONS if region in named)
