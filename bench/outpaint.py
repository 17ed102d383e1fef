"""Zoom out against a plain image-to-image of the same output size: the outpaint overhead.

    .venv/bin/python bench/outpaint.py [--shape tiny|sd15] [--size 256] [--steps 10] [--repeats 7]

Builds a randomly initialised pipeline of the given shape (no download) and loads it through the
diffusers backend as a worker does. Per image, median of --repeats:
  img2img   DiffusersBackend.generate from a picture, at strength 0.9
  zoom out  the worker's whole edit: the canvas and mask (workers/edits.py: on_canvas), the backend's
            inpainting pipeline at the same strength, and the kept pixels pasted back
  canvas    the canvas, mask and paste-back alone (Pillow, no model)
The issue's goal is zoom out ≤ 1.1× img2img. The first inpaint (making the pipeline from the loaded
components) is timed apart.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from PIL import Image  # noqa: E402

from bench._common import table  # noqa: E402
from shared.configuration.config import load_config  # noqa: E402
from shared.configuration.settings import Settings  # noqa: E402
from shared.drawing.edits import CanvasEdit  # noqa: E402
from shared.imaging import canvas  # noqa: E402
from tests.factories import image_request  # noqa: E402
from tests.fakes.tiny_sd import build_pipeline  # noqa: E402
from workers import edits  # noqa: E402
from workers.backends.base import GenerationTask  # noqa: E402
from workers.backends.diffusers.backend import DiffusersBackend  # noqa: E402


def timed(work, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", choices=["tiny", "sd15"], default="tiny")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        model = build_pipeline(Path(folder), args.shape)
        config = Path(folder) / "imagine.toml"
        config.write_text(f"[diffusers]\nsteps = {args.steps}\nwarmup = false\n")
        settings = Settings(_env_file=None, diffusers_model=str(model), config_path=config)
        backend = DiffusersBackend(settings.model_copy(update={"config": load_config(config)}))
        size = args.size
        task = GenerationTask(prompt="a harbour", width=size, height=size, seed=1, backend="diffusers")
        picture = Image.linear_gradient("L").resize((size, size)).convert("RGB")
        request = image_request("bench", backend="diffusers", canvas=CanvasEdit(zoom=2))
        source = task.model_copy(update={"init_image": picture, "strength": edits.FINISHED})

        def zoom() -> None:
            on_canvas, finish = edits.on_canvas(request, source)
            [image] = backend.generate(on_canvas).images
            finish(image.image)

        def canvas_only() -> None:
            layout = canvas.plan(CanvasEdit(zoom=2), size, size)
            drawn_on, mask = canvas.compose(picture, layout)
            canvas.keep_original(drawn_on, drawn_on, mask)

        started = time.perf_counter()
        zoom()
        first = time.perf_counter() - started
        plain = timed(lambda: backend.generate(source), args.repeats)
        zoomed = timed(zoom, args.repeats)
        pillow = timed(canvas_only, args.repeats)
    print(f"shape={args.shape} size={size}x{size} steps={args.steps} repeats={args.repeats} (medians)")
    rows = [
        ["img2img", f"{plain * 1000:.1f}", "1.00x"],
        ["zoom out 2x", f"{zoomed * 1000:.1f}", f"{zoomed / plain:.2f}x"],
        ["canvas + paste-back alone", f"{pillow * 1000:.1f}", f"{pillow / plain:.2f}x"],
        ["first zoom out (makes the inpaint pipeline)", f"{first * 1000:.1f}", f"{first / plain:.2f}x"],
    ]
    print(table(["path", "ms per image", "vs img2img"], rows))


if __name__ == "__main__":
    main()
