"""A deterministic picture drawn from the prompt and seed, no model: for development and demos."""

from __future__ import annotations

import hashlib
import random
import secrets
import textwrap
import time

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageStat

from shared.configuration.settings import Settings
from workers.backends.base import GeneratedImage, Generation, GenerationTask

MODEL_NAME = "placeholder"
STEP_SECONDS = 0.05
# A prompt with this paints a magenta square in its first image's corner: what the tests' fake of the
# moderation endpoint flags, so a withheld image can be tried end to end without a real one.
TEST_MARKER = "#flag-test"


class PlaceholderBackend:
    """Same prompt and seed, same pixels. `delay` simulates generation time (tests, benchmarks)."""

    name = "placeholder"

    def __init__(self, settings: Settings) -> None:
        self._delay = settings.placeholder_delay  # IMAGINE_PLACEHOLDER_DELAY: pretend to work (demos, tests)

    def generate(self, task: GenerationTask) -> Generation:
        if self._delay:  # pretending to work, in short steps so a cancel is noticed as in a real backend
            deadline = time.monotonic() + self._delay
            while (left := deadline - time.monotonic()) > 0:
                task.check_stop()
                time.sleep(min(left, STEP_SECONDS))
        base_seed = task.seed if task.seed is not None else secrets.randbelow(2**32)
        seeds = [(base_seed + i) % 2**32 for i in range(task.count)]
        images = [GeneratedImage(image=self._picture(task, seed), seed=seed) for seed in seeds]
        if TEST_MARKER in task.prompt:
            ImageDraw.Draw(images[0].image).rectangle([0, 0, 7, 7], fill=(255, 0, 255))
        return Generation(images=images, model=MODEL_NAME)

    @staticmethod
    def _picture(task: GenerationTask, seed: int) -> Image.Image:
        picture = _after_references(draw(task.prompt, seed, task.width, task.height), task)
        if task.init_image is None:
            return picture
        source = task.init_image.convert("RGB").resize(picture.size)
        if task.mask is not None:  # new shapes only where the mask says, the rest kept as it was
            return Image.composite(picture, source, task.mask.resize(picture.size))
        # A refinement keeps the previous image visible under the new one, as img2img would.
        return Image.blend(source, picture, task.strength if task.strength is not None else 0.6)


def _after_references(picture: Image.Image, task: GenerationTask) -> Image.Image:
    """Honest about references and a control without a model: each reference's average colour laid
    over the drawing, as much as `reference_weight` says (up to half); the control's outlines."""
    for _, reference in task.reference_pictures:
        colour = tuple(round(c) for c in ImageStat.Stat(reference.convert("RGB")).mean)
        tint = Image.new("RGB", picture.size, colour)  # type: ignore[arg-type]
        picture = Image.blend(picture, tint, 0.5 * task.reference_weight / 100)
    if task.control_picture is not None:  # the control's outlines drawn in white, as strong as its weight
        edges = task.control_picture.convert("L").resize(picture.size).filter(ImageFilter.FIND_EDGES)
        strength = edges.point(lambda v: min(255, round(v * min(1.0, task.control_weight))))
        picture = Image.composite(Image.new("RGB", picture.size, (255, 255, 255)), picture, strength)
    return picture


def draw(prompt: str, seed: int, width: int, height: int) -> Image.Image:
    """A gradient, shapes and the prompt's words, all chosen by (prompt, seed)."""
    digest = hashlib.sha256(f"{seed}\0{prompt}".encode()).digest()
    rng = random.Random(digest)
    gradient = Image.new("RGB", (1, 2))
    gradient.putdata([_colour(rng), _colour(rng)])
    image = gradient.resize((width, height), Image.Resampling.BILINEAR)
    pixels = ImageDraw.Draw(image)
    for _ in range(rng.randint(3, 7)):
        x, y = rng.randrange(width), rng.randrange(height)
        r = rng.randint(max(2, min(width, height) // 16), max(3, min(width, height) // 4))
        box = [x - r, y - r, x + r, y + r]
        if rng.random() < 0.5:
            pixels.ellipse(box, fill=_colour(rng), outline=(255, 255, 255))
        else:
            pixels.rectangle(box, fill=_colour(rng), outline=(0, 0, 0))
    if width >= 128 and height >= 96:
        _caption(pixels, prompt, seed, width, height)
    return image


def _caption(pixels: ImageDraw.ImageDraw, prompt: str, seed: int, width: int, height: int) -> None:
    size = max(10, min(width, height) // 24)
    font = ImageFont.load_default(size=size)
    chars = max(8, int(width / (size * 0.6)))
    lines = ["PLACEHOLDER - no model", *textwrap.wrap(prompt, chars)[:6], f"seed {seed}"]
    y = size
    for line in lines:
        pixels.text((size + 1, y + 1), line, fill=(0, 0, 0), font=font)
        pixels.text((size, y), line, fill=(255, 255, 255), font=font)
        y += int(size * 1.3)


def _colour(rng: random.Random) -> tuple[int, int, int]:
    return rng.randrange(256), rng.randrange(256), rng.randrange(256)
