"""[comfyui]: ComfyUI servers, the workflows to run on them and their slots."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, field_validator, model_validator

from shared.configuration.config import STRICT, server_urls

ComfySlot = str | list[str] | None  # "NODE.inputs.NAME", several of them, "" for none, None: found


class ComfyWorkflow(BaseModel):
    """[comfyui.workflows.NAME]: an API-format workflow ("Export (API)") and where our values go in it.

    A slot left out is found in the graph (workers/backends/comfyui/slots.py: the sampler's prompt,
    seed, steps, the latent's size, the loader's checkpoint, …); a slot given is "NODE.inputs.NAME"
    or a list of them (`width = ["27.inputs.width", "30.inputs.width"]`), and "" switches it off (the
    graph's own value stays). `output` is the id of the node whose images are the result (found: the
    one SaveImage). Without `file`, the shipped workflow of that name is used ("txt2img", "img2img":
    SD 1.x/2.x/SDXL checkpoints). `img2img` names the workflow that refines this one's images when it
    takes no picture itself."""

    model_config = STRICT

    file: Path | None = None
    description: str = ""  # what members see beside its name when it is one of [comfyui] models
    img2img: str | None = None
    output: str | None = None
    prompt: ComfySlot = None
    negative: ComfySlot = None
    seed: ComfySlot = None
    steps: ComfySlot = None
    cfg: ComfySlot = None
    denoise: ComfySlot = None  # img2img: how far to move from the image
    width: ComfySlot = None
    height: ComfySlot = None
    batch_size: ComfySlot = None
    checkpoint: ComfySlot = None
    image: ComfySlot = None  # img2img: a LoadImage node's "N.inputs.image"
    # --sref/--cref and --control: the LoadImage behind an IPAdapter's or a ControlNet apply's image
    # (found), and their weight and strength
    reference_image: ComfySlot = None
    reference_weight: ComfySlot = None
    control_image: ComfySlot = None
    control_weight: ComfySlot = None


def _shipped_workflows() -> dict[str, ComfyWorkflow]:
    return {
        "txt2img": ComfyWorkflow(description="ComfyUI's default graph"),
        "img2img": ComfyWorkflow(description="the default graph from a picture"),
        "inpaint": ComfyWorkflow(description="the default graph, repainting where a mask says"),
    }


class ComfyUIConfig(BaseModel):
    """[comfyui]: ComfyUI servers, the workflows to run on them and what members may pick."""

    model_config = STRICT

    servers: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8188"], min_length=1)
    workflow: str = "txt2img"  # for new images
    img2img_workflow: str | None = "img2img"  # refinements, variations, upscales; "": drawn afresh
    # zoom out, pan, make square: a workflow whose LoadImage's MASK (the picture's transparency) says
    # where to draw; "": not offered
    inpaint_workflow: str | None = "inpaint"
    # Upscale (Subtle/Creative): a file of the server's models/upscale_models ("4x-UltraSharp.pth")
    # run by the shipped upscale graph; None: the worker's Lanczos
    upscale_model: str | None = None
    # --face-fix: a workflow whose LoadImage takes each result and whose output is it with faces restored
    # (the operator's FaceDetailer or FaceRestoreWithModel graph); None: --face-fix is refused
    face_fix_workflow: str | None = None
    workflows: dict[str, ComfyWorkflow] = Field(default_factory=_shipped_workflows)
    # What members may pick with --model: workflows by name (that graph, its own checkpoint) and
    # checkpoints (written into the default workflow's checkpoint slot).
    models: list[str] = Field(default_factory=list)
    default_model: str | None = None  # None: the default workflow with its own checkpoint
    steps: int | None = Field(default=None, ge=1, le=150)  # None: each workflow's own
    cfg: float | None = Field(default=None, ge=0, le=30)  # None: each workflow's own (Flux: its guidance)
    denoise: float = Field(default=0.6, gt=0, le=1)  # refinements; variations/upscales set theirs
    native_edge: int = Field(default=1024, ge=256, le=2048)
    timeout_seconds: float = Field(default=600, gt=0)  # then the prompt is interrupted and refunded
    poll_seconds: float = Field(default=0.25, gt=0)  # how often /history is asked
    usd_per_image: float = Field(default=0.0, ge=0)

    @field_validator("servers")
    @classmethod
    def _http_urls(cls, value: list[str]) -> list[str]:
        return server_urls(value)

    @field_validator("img2img_workflow", "inpaint_workflow")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        return value or None  # TOML has no null

    @field_validator("workflows")
    @classmethod
    def _with_shipped_workflows(cls, value: dict[str, ComfyWorkflow]) -> dict[str, ComfyWorkflow]:
        return {**_shipped_workflows(), **value}

    @model_validator(mode="after")
    def _workflows_named(self) -> ComfyUIConfig:
        refiners = [w.img2img for w in self.workflows.values() if w.img2img]
        named = (self.workflow, self.img2img_workflow, self.inpaint_workflow, self.face_fix_workflow)
        for chosen in (*named, *refiners):
            if chosen is not None and chosen not in self.workflows:
                raise ValueError(f"no [comfyui.workflows.{chosen}]; known: {', '.join(self.workflows)}")
        return self
