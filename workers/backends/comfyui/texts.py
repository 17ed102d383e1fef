"""The ComfyUI backend's texts for members."""

from __future__ import annotations


def left_out(what: str, workflow: str) -> str:
    """An option the operator's ComfyUI workflow has no place for: drawn without it, and said so."""
    return f"The {what} was left out: the {workflow} workflow has no place for it."


def drawn_afresh(workflow: str) -> str:
    return f"Drawn afresh from the words: the {workflow} workflow does not start from a picture."
