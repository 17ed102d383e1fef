"""Zoom out, pan and make square: the canvas each makes, the pixels it keeps, and the command line's
`--zoom-out`, `--pan` and `--square` end to end on the placeholder backend (which draws new shapes
only where the mask says)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat

from shared import keys
from shared.drawing.edits import CanvasEdit
from shared.imaging import canvas
from tests.helpers import imagine_command, wait_until


def picture(size: tuple[int, int] = (512, 384)) -> Image.Image:
    """A picture with structure (so a misplaced paste shows): a gradient and a few shapes."""
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    draw.ellipse([size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2], fill=(220, 40, 40))
    draw.rectangle([size[0] // 2, size[1] // 2, size[0] - 20, size[1] - 20], fill=(30, 60, 200))
    return image


def saved_picture(folder: Path) -> Path:
    path = folder / "source.png"
    picture().save(path)
    return path


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


@pytest.mark.parametrize(
    ("edit", "size", "canvas_size", "box"),
    [
        (CanvasEdit(zoom=2), (1024, 768), (1024, 768), (256, 192, 768, 576)),
        (CanvasEdit(zoom=1.5), (1024, 1024), (1024, 1024), (171, 171, 854, 854)),
        (CanvasEdit(pan="left"), (1024, 1024), (1536, 1024), (512, 0, 1536, 1024)),
        (CanvasEdit(pan="right"), (1024, 1024), (1536, 1024), (0, 0, 1024, 1024)),
        (CanvasEdit(pan="up"), (1024, 768), (1024, 1152), (0, 384, 1024, 1152)),
        (CanvasEdit(pan="down"), (1024, 768), (1024, 1152), (0, 0, 1024, 768)),
        (CanvasEdit(square=True), (1536, 1024), (1536, 1536), (0, 256, 1536, 1280)),
        # too big for the largest side: everything scaled down to it, on the size grid
        (CanvasEdit(pan="right"), (2048, 1024), (2048, 680), (0, 0, 1365, 680)),
    ],
)
def test_each_edit_plans_its_canvas_and_where_the_original_goes(edit, size, canvas_size, box):
    layout = canvas.plan(edit, *size)
    assert layout.size == canvas_size and layout.box == box
    assert all(side % 8 == 0 for side in layout.size)


def test_the_kept_pixels_come_back_exactly_and_the_new_area_is_what_was_drawn():
    original = picture()
    layout = canvas.plan(CanvasEdit(pan="left"), *original.size)
    drawn_on, mask = canvas.compose(original, layout)
    assert drawn_on.size == mask.size == layout.size
    left, top, right, bottom = layout.box
    assert mask.getpixel((left - 1, 10)) == 255 and mask.getpixel((left + 40, 10)) == 0  # new | kept
    drawn = Image.new("RGB", layout.size, (0, 255, 0))  # what a backend drew, everywhere
    result = canvas.keep_original(drawn, drawn_on, mask)
    inner = (left + 3 * canvas.margin(layout.size), top, right, bottom)  # past the seam
    kept = original.crop((inner[0] - left, 0, right - left, bottom - top))
    assert ImageChops.difference(result.crop(inner), kept).getbbox() is None  # to the pixel
    assert result.getpixel((5, 5)) == (0, 255, 0)


def test_a_members_mask_is_scaled_to_the_picture_white_repaints():
    mask = Image.new("L", (10, 10), 0)
    mask.paste(255, (0, 0, 5, 10))
    scaled = canvas.region_mask(mask, (100, 50))
    assert scaled.size == (100, 50) and scaled.getpixel((10, 25)) == 255 and scaled.getpixel((90, 25)) == 0


# --- the command line -------------------------------------------------------------------------------


@pytest.fixture
def worker(processes, redis):
    processes.start("worker", "--backend", "placeholder")
    wait_until(lambda: list(redis.scan_iter(keys.worker_alive("*"))), timeout=20, what="a worker")


def generate(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess:
    command = imagine_command("generate", "a meadow", "--out", str(cwd), *args)
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=90)


def test_zoom_out_keeps_the_shape_with_the_original_in_the_middle(process_env, tmp_path, worker):
    source = saved_picture(tmp_path)
    result = generate(process_env, tmp_path, "--image", str(source), "--zoom-out", "2")
    assert result.returncode == 0, result.stderr
    with Image.open(result.stdout.strip()) as zoomed:
        assert zoomed.size == (512, 384)
        middle = zoomed.crop((128 + 12, 96 + 12, 384 - 12, 288 - 12))
        expected = picture().resize((256, 192)).crop((12, 12, 244, 180))
        assert mean_difference(middle, expected) < 8  # the original, shrunk into the middle
        border = zoomed.crop((0, 0, 512, 80))
        assert mean_difference(border, picture().crop((0, 0, 512, 80))) > 8  # drawn new


def test_pan_left_makes_it_wider_with_the_original_on_the_right(process_env, tmp_path, worker):
    source = saved_picture(tmp_path)
    result = generate(process_env, tmp_path, "--image", str(source), "--pan", "left")
    assert result.returncode == 0, result.stderr
    with Image.open(result.stdout.strip()) as panned:
        assert panned.size == (768, 384)
        right = panned.crop((256 + 24, 0, 768, 384))
        assert mean_difference(right, picture().crop((24, 0, 512, 384))) < 8


def test_make_square_adds_the_short_sides(process_env, tmp_path, worker):
    source = saved_picture(tmp_path)
    result = generate(process_env, tmp_path, "--image", str(source), "--square")
    assert result.returncode == 0, result.stderr
    with Image.open(result.stdout.strip()) as squared:
        assert squared.size == (512, 512)
        assert (
            mean_difference(squared.crop((0, 64 + 16, 512, 448 - 16)), picture().crop((0, 16, 512, 368))) < 8
        )


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["--zoom-out", "2"], "--zoom-out 2 extends a picture"),
        (["--zoom-out", "3", "--image", "{source}"], "There is no zoom called “3”. Choose one of: 2, 1.5."),
        (["--pan", "sideways", "--image", "{source}"], "There is no pan direction called “sideways”"),
        (
            ["--zoom-out", "2", "--square", "--image", "{source}"],
            "--zoom-out and --square each make a new canvas",
        ),
    ],
)
def test_an_edit_that_cannot_be_made_is_refused_with_its_reason(process_env, tmp_path, args, told):
    source = saved_picture(tmp_path)
    result = generate(process_env, tmp_path, *(arg.format(source=source) for arg in args))
    assert result.returncode == 2 and told in result.stderr, result.stderr


def test_a_mask_repaints_only_where_it_is_white_and_keeps_the_rest(process_env, tmp_path, worker):
    source, mask = saved_picture(tmp_path), tmp_path / "mask.png"
    painted = Image.new("L", (64, 48), 0)  # any size: scaled to the picture
    painted.paste(255, (0, 0, 32, 48))  # repaint the left half
    painted.save(mask)
    result = generate(process_env, tmp_path, "--image", str(source), "--mask", str(mask))
    assert result.returncode == 0, result.stderr
    with Image.open(result.stdout.strip()) as edited:
        assert edited.size == (512, 384)
        assert mean_difference(edited.crop((280, 0, 512, 384)), picture().crop((280, 0, 512, 384))) < 8
        assert mean_difference(edited.crop((0, 0, 230, 384)), picture().crop((0, 0, 230, 384))) > 8


@pytest.mark.parametrize(
    ("args", "told"),
    [
        (["--mask", "{mask}"], "A mask says what to repaint in one picture; this request has 0"),
        (["--mask", "{mask}", "--image", "{source}", "--image", "{source}"], "this request has 2"),
        (["--mask", "{mask}", "--image", "{source}", "--pan", "up"], "--mask and a new canvas"),
    ],
)
def test_a_mask_without_exactly_one_picture_is_refused(process_env, tmp_path, args, told):
    source, mask = saved_picture(tmp_path), tmp_path / "mask.png"
    Image.new("L", (8, 8), 255).save(mask)
    result = generate(process_env, tmp_path, *(a.format(source=source, mask=mask) for a in args))
    assert result.returncode == 2 and told in result.stderr, result.stderr


def test_region_ninths_repaint_only_their_part_of_the_picture(process_env, tmp_path, worker):
    source = saved_picture(tmp_path)
    result = generate(process_env, tmp_path, "--image", str(source), "--region", "top-left, left,bottom-left")
    assert result.returncode == 0, result.stderr
    with Image.open(result.stdout.strip()) as edited:
        assert mean_difference(edited.crop((190, 0, 512, 384)), picture().crop((190, 0, 512, 384))) < 8
        assert mean_difference(edited.crop((0, 0, 160, 384)), picture().crop((0, 0, 160, 384))) > 8


def test_the_grid_names_the_ninths_row_by_row():
    mask = canvas.grid_mask(("top-right", "center"), (90, 60))
    assert mask.getpixel((75, 10)) == 255 and mask.getpixel((45, 30)) == 255
    assert mask.getpixel((15, 10)) == 0 and mask.getpixel((75, 50)) == 0


def test_an_unknown_region_is_named_with_the_choices(process_env, tmp_path):
    source = saved_picture(tmp_path)
    result = generate(process_env, tmp_path, "--image", str(source), "--region", "middle")
    assert result.returncode == 2 and "There is no region called “middle”" in result.stderr
