"""The placeholder backend: a labelled, deterministic test picture, no model. Its spec; the drawing is
in backend.py."""

from __future__ import annotations

from shared.drawing.backends import BackendSpec, Capabilities


def _backend() -> type:
    from workers.backends.placeholder.backend import PlaceholderBackend

    return PlaceholderBackend


SPEC = BackendSpec(
    "placeholder",
    "draws a labelled test picture, no model",
    _backend,
    timeout_seconds=120,
    capabilities=Capabilities(outpaint=True, inpaint=True, references=True, control=True),
    rank=0,
)
