"""Upscale on a worker: what a Subtle upscale of a picture costs where the backend has no upscaler model
(Lanczos on the worker: placeholder, diffusers, OpenAI), and what the result costs to store.

    .venv/bin/python bench/upscale.py [--size 1024] [--repeats 5]

For ×2 and ×4 of a SIZE² picture, the median of --repeats:
  enlarge   workers/upscaling.py: enlarge (Lanczos to the size asked)
  encode    the result as the PNG the worker stores and the platforms post (with its parameters)
  bytes     that PNG's size, against the platforms' upload limits (Discord's 10 MB default)
An engine's upscaler model (a1111, ComfyUI, the Horde) runs on the engine: its time is the engine's.

Where spandrel is installed (the upscale extra), also `[diffusers] upscaler`: an ESRGAN network of
--esrgan-filters and --esrgan-blocks (64 and 23: RealESRGAN_x4plus's shape), random weights, run tile
by tile on the worker's device (CUDA when there is one):
  esrgan    SpandrelUpscaler.upscale of the SIZE² picture, ×4, and its peak GPU memory on CUDA
"""

from __future__ import annotations

import argparse
import math
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
    parser.add_argument("--esrgan-filters", type=int, default=64)
    parser.add_argument("--esrgan-blocks", type=int, default=23)
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
    esrgan(args, source)


def esrgan(args: argparse.Namespace, source: Image.Image) -> None:
    try:
        import spandrel  # noqa: F401
    except ImportError as exc:
        print(f"\n[diffusers] upscaler: not measured, spandrel is not installed ({exc})")
        return
    import tempfile

    import torch

    from tests.fakes.tiny_esrgan import build_esrgan
    from workers.backends.diffusers.upscaler import TILE, SpandrelUpscaler

    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.float16 if device == "cuda" else torch.float32
    with tempfile.TemporaryDirectory() as folder:
        weights = build_esrgan(
            Path(folder) / "4x-bench.pth", filters=args.esrgan_filters, blocks=args.esrgan_blocks
        )
        model = SpandrelUpscaler(weights, device, dtype)
        model.upscale(source.crop((0, 0, 64, 64)))  # kernels set up once, as a worker's first job does
        if device == "cuda":
            torch.cuda.reset_peak_memory_stats()
        seconds, made = median_seconds(lambda: model.upscale(source), max(1, args.repeats // 2))
    peak = f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB" if device == "cuda" else "n/a (CPU)"
    tiles = math.ceil(args.size / TILE) ** 2
    print(
        f"\n[diffusers] upscaler: ESRGAN {args.esrgan_filters} filters × {args.esrgan_blocks} blocks, "
        f"{device} {str(dtype).removeprefix('torch.')}, tiles of {TILE}² ({tiles} per picture), "
        f"torch {torch.__version__}"
    )
    size = f"{args.size}² → {made.width}×{made.height}"  # type: ignore[attr-defined]
    print(
        table(
            ["upscale", "size", "seconds", "per tile", "peak GPU memory"],
            [["×4", size, f"{seconds:.2f}", f"{seconds / tiles:.2f}", peak]],
        )
    )


if __name__ == "__main__":
    main()
