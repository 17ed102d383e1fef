"""Style presets: the shipped set, which the config file can extend or override by name."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Preset(BaseModel):
    """Words added around a prompt, plus backend hints (steps, guidance) for self-hosted models."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    description: str = ""
    prompt_prefix: str = ""
    prompt_suffix: str = ""
    negative: str = ""
    steps: int | None = Field(default=None, ge=1, le=200)
    guidance: float | None = Field(default=None, ge=0, le=50)

    def apply(self, prompt: str) -> str:
        """The prompt with this preset's prefix and suffix around it."""
        framed = (
            f"{self.prompt_prefix} {prompt}" if self.prompt_prefix else prompt
        )  # "a photograph of" + idea
        return f"{framed}, {self.prompt_suffix}" if self.prompt_suffix else framed


DEFAULT_PRESETS: dict[str, Preset] = {
    "photo": Preset(
        description="Photograph",
        prompt_prefix="a high-resolution photograph of",
        prompt_suffix="natural light, sharp focus, 35mm lens",
        negative="illustration, painting, cartoon",
    ),
    "anime": Preset(
        description="Anime",
        prompt_prefix="anime illustration of",
        prompt_suffix="cel shading, clean line art, vibrant colours",
        negative="photograph, realistic",
    ),
    "watercolor": Preset(
        description="Watercolour",
        prompt_prefix="a watercolour painting of",
        prompt_suffix="soft washes, paper texture, loose brushwork",
    ),
    "oil-painting": Preset(
        description="Oil painting",
        prompt_prefix="an oil painting of",
        prompt_suffix="visible brush strokes, rich impasto, classical composition",
    ),
    "pixel-art": Preset(
        description="Pixel art",
        prompt_prefix="pixel art of",
        prompt_suffix="16-bit, limited palette, crisp pixels",
        negative="blurry, smooth gradients",
    ),
    "3d-render": Preset(
        description="3D render",
        prompt_prefix="a 3D render of",
        prompt_suffix="octane render, global illumination, studio lighting",
    ),
    "line-art": Preset(
        description="Line art",
        prompt_prefix="clean black and white line art of",
        prompt_suffix="ink, no shading, white background",
        negative="colour, shading",
    ),
    "cinematic": Preset(
        description="Cinematic still",
        prompt_prefix="a cinematic film still of",
        prompt_suffix="anamorphic lens, dramatic lighting, shallow depth of field, colour graded",
    ),
}
