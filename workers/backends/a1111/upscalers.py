"""Which of a web UI's upscalers an Upscale uses, when `[a1111] upscaler` names none: a model (the
ESRGAN family and its peers, by the names the web UI ships) over the plain resamplers."""

from __future__ import annotations

# The web UI's own upscaler names, best first for photos and art alike
PREFERRED = ("4x-UltraSharp", "R-ESRGAN 4x+", "ESRGAN_4x", "SwinIR 4x", "DAT x4", "ScuNET GAN")
PLAIN = {"none", "lanczos", "nearest"}  # resamplers, not models: the worker's Lanczos does as well


def best_upscaler(names: list[str]) -> str | None:
    """The best model among `names` (GET /sdapi/v1/upscalers); None when the server has only resamplers."""
    for preferred in PREFERRED:
        if preferred in names:
            return preferred
    esrgan = [name for name in names if "esrgan" in name.lower()]
    models = esrgan or [name for name in names if name.strip().lower() not in PLAIN]
    return models[0] if models else None
