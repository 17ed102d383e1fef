"""The ComfyUI backend's texts for members."""

from __future__ import annotations


def left_out(what: str, workflow: str) -> str:
    """An option the operator's ComfyUI workflow has no place for: drawn without it, and said so."""
    return f"The {what} was left out: the {workflow} workflow has no place for it."


def drawn_afresh(workflow: str) -> str:
    return f"Drawn afresh from the words: the {workflow} workflow does not start from a picture."


def no_place_for(what: str, workflow: str, slot: str) -> str:
    """A picture the member gave that the workflow cannot take: refused, nothing charged."""
    node = "an IPAdapter node" if slot == "reference_image" else "a ControlNet apply node"
    return (
        f"The {workflow} workflow has no place for a {what} (the operator adds {node} reading a "
        f"LoadImage, or sets {slot} in [comfyui.workflows.{workflow}]); nothing was charged. "
        "Pick a workflow that takes one with --model, or leave the picture out."
    )


def no_face_fix() -> str:
    return "The face fix was left out: this ComfyUI worker has no face_fix_workflow."
