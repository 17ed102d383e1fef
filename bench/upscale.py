"""Upscale on a worker: what a Subtle upscale of a picture costs where the backend has no upscaler model
(Lanczos on the worker: placeholder, diffusers, OpenAI), and what the result costs to store.

    .venv/bin/python bench/upscale.py [--size 1024] [--repeats 5]

For ×2 and ×4 of a SIZE² picture, the median of --repeats:
  enlarge   workers/upscaling.py: enlarge (Lanczos to the size asked)
  encode    the result as the PNG the worker stores and the platforms post (with its parameters)
  bytes     that PNG's size, against the platforms' upload limits (Discord's 10 MB default)
An engine's upscaler model (a1111, ComfyUI, the Horde) runs on the engine: its time is the engine's.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from PIL import Image  # noqa: E402

from bench._common import table  # noqa: E402
from shared.imaging.images import encode_png  # noqa: E402
from workers.backends.base import GenerationTask  # noqa: E402
from workers.upscaling import enlarge  # noqa: E402


def median_seconds(call, repeats: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), result


def picture(size: int) -> Image.Image:
    """A picture with grain everywhere, as a photo or a diffusion model's output has, so PNG cannot
    shrink it to nothing: gradients under Gaussian noise, one per channel."""
    channels = [
        Image.blend(
            Image.radial_gradient("L").resize((size, size)),
            Image.effect_noise((size, size), 40 + 10 * n),
            0.4,
        )
        for n in range(3)
    ]
    return Image.merge("RGB", channels)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    source = picture(args.size)
    task = GenerationTask(prompt="bench")
    rows = []
    for factor in (2, 4):
        target = (args.size * factor, args.size * factor)
        seconds, made = median_seconds(
            lambda f=factor, t=target: enlarge(object(), source, f, t, task), args.repeats
        )
        image = made.image  # type: ignore[attr-defined]
        encode, data = median_seconds(lambda i=image: encode_png(i, {"upscaler": "Lanczos"}), args.repeats)
        rows.append(
            [
                f"×{factor}",
                f"{args.size}² → {image.width}×{image.height}",
                f"{seconds * 1000:.0f} ms",
                f"{encode * 1000:.0f} ms",
                f"{len(data) / 1e6:.1f} MB",  # type: ignore[arg-type]
            ]
        )
    print(table(["upscale", "size", "enlarge", "encode", "bytes"], rows))


if __name__ == "__main__":
    main()
