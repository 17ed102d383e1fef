"""Edits that point at the picture: a bigger canvas (zoom out, pan, make square) and what to repaint.

`plan` says how big the new picture is and where the original goes in it; `compose` makes the canvas a
backend draws on (the original pasted, the new area pre-filled from the original's own colours so a
model continues it rather than inventing a frame) and the mask of what to repaint (white); after
drawing, `keep_original` pastes the kept pixels back over the result with a feathered seam, so what
the member kept is what they get, whatever the backend did there.
"""

from __future__ import annotations

from dataclasses import dataclass

from PIL import Image, ImageFilter

from shared.drawing.edits import REGIONS, CanvasEdit
from shared.drawing.sizes import SIZE_MAX, SIZE_MIN, SIZE_STEP

PAN_GROWTH = 1.5  # a pan adds half the picture on its side
MARGIN_PER_1024 = 8  # at 1024 px: how far the backend repaints into the original's edge to join the
# new area, and over how many pixels the kept original fades into what was drawn


def margin(size: tuple[int, int]) -> int:
    """The seam's width for a picture of `size`: 8 px at 1024, in proportion, at least 1."""
    return max(1, round(max(size) * MARGIN_PER_1024 / 1024))


@dataclass(frozen=True)
class Plan:
    size: tuple[int, int]  # the new picture
    box: tuple[int, int, int, int]  # where the original goes in it (left, top, right, bottom)


def plan(edit: CanvasEdit, width: int, height: int, *, max_edge: int = SIZE_MAX) -> Plan:
    """The canvas for `edit` of a `width`×`height` picture, within `max_edge` on a side and on the
    size grid; the original is scaled with it when the canvas would be too big."""
    if edit.zoom is not None:  # the same size: the original shrinks into the middle
        canvas = (float(width), float(height))
        inner = (width / edit.zoom, height / edit.zoom)
        at = ((canvas[0] - inner[0]) / 2, (canvas[1] - inner[1]) / 2)
    elif edit.pan is not None:
        grow_x, grow_y = (PAN_GROWTH, 1.0) if edit.pan in ("left", "right") else (1.0, PAN_GROWTH)
        canvas = (width * grow_x, height * grow_y)
        inner = (float(width), float(height))
        # the original stays on the side opposite the pan: panning left adds room on the left
        at = (
            canvas[0] - width if edit.pan == "left" else 0.0,
            canvas[1] - height if edit.pan == "up" else 0.0,
        )
    elif edit.square:
        side = float(max(width, height))
        canvas, inner = (side, side), (float(width), float(height))
        at = ((side - width) / 2, (side - height) / 2)
    else:
        raise ValueError("an empty canvas edit")
    scale = min(1.0, max_edge / max(canvas))
    size = (_on_grid(canvas[0] * scale), _on_grid(canvas[1] * scale))
    fx, fy = size[0] / canvas[0], size[1] / canvas[1]  # the grid may shave a few pixels
    left, top = round(at[0] * fx), round(at[1] * fy)
    box = (left, top, min(size[0], left + round(inner[0] * fx)), min(size[1], top + round(inner[1] * fy)))
    return Plan(size, box)


def _on_grid(side: float) -> int:
    return max(SIZE_MIN, int(side) // SIZE_STEP * SIZE_STEP)


def compose(picture: Image.Image, layout: Plan) -> tuple[Image.Image, Image.Image]:
    """(canvas, mask): the original in its box over a blurred stretch of itself, and white where the
    backend draws (the new area, reaching `margin` pixels into the original to join it)."""
    left, top, right, bottom = layout.box
    original = picture.convert("RGB").resize((right - left, bottom - top), Image.Resampling.LANCZOS)
    radius = max(layout.size) / 16
    canvas = picture.convert("RGB").resize(layout.size, Image.Resampling.BILINEAR)
    canvas = canvas.filter(ImageFilter.GaussianBlur(radius))
    canvas.paste(original, (left, top))
    mask = Image.new("L", layout.size, 255)
    overlap = margin(layout.size)
    kept = (
        left + (overlap if left > 0 else 0),
        top + (overlap if top > 0 else 0),
        right - (overlap if right < layout.size[0] else 0),
        bottom - (overlap if bottom < layout.size[1] else 0),
    )
    mask.paste(0, kept)
    return canvas, mask


def region_mask(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A member's mask (white = repaint, black = keep; any size) as one for a picture of `size`: grey
    counts as the nearer of the two."""
    return mask.convert("L").resize(size, Image.Resampling.BILINEAR).point(lambda v: 255 if v >= 128 else 0)


def grid_mask(cells: tuple[str, ...], size: tuple[int, int]) -> Image.Image:
    """White over the named ninths of a picture of `size` (shared/drawing/edits.py: REGIONS)."""
    mask = Image.new("L", size, 0)
    width, height = size
    for cell in cells:
        row, column = divmod(REGIONS.index(cell), 3)
        box = (column * width // 3, row * height // 3, (column + 1) * width // 3, (row + 1) * height // 3)
        mask.paste(255, box)
    return mask


def keep_original(drawn: Image.Image, canvas: Image.Image, mask: Image.Image) -> Image.Image:
    """`drawn` where the mask is white, `canvas` (the original) where it is black, the seam feathered
    over about `margin` pixels; away from the seam the kept pixels come back exactly."""
    alpha = mask.filter(ImageFilter.GaussianBlur(margin(mask.size) / 2))
    return Image.composite(drawn.convert("RGB").resize(canvas.size), canvas.convert("RGB"), alpha)
