"""/imagine's pictures that steer the drawing, as Discord takes them (attachment options): the style and
character references (--sref, --cref) and the control picture with what of it to follow (--control)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import discord

from shared.configuration.config import AppConfig
from shared.drawing.backends import BACKENDS
from shared.drawing.references import Control, Reference, control_kind_alone
from shared.drawing.request import RequestOptions
from shared.drawing.sources import SourceImage

DEFAULT_CONTROL = "canny"  # what control_kind says when left out: the picture's outlines
# /imagine's options that only a backend with the capability (and its setting) can honour
OPTIONS_OF = {
    "references": ("sref", "cref", "sw"),
    "control": ("control", "control_kind", "control_weight"),
    "face_fix": ("face_fix",),
    "hires": ("hires",),
}


def unoffered(config: AppConfig, backend: str) -> set[str]:
    """The options /imagine leaves out, since the backend members draw with cannot honour them."""
    spec = BACKENDS[backend]
    return {
        name
        for capability, names in OPTIONS_OF.items()
        if not spec.offers(capability, config)
        for name in names
    }


@dataclass(frozen=True)
class Steering:
    style: discord.Attachment | None = None
    character: discord.Attachment | None = None
    control: discord.Attachment | None = None
    control_kind: str | None = None

    @property
    def pictures(self) -> list[discord.Attachment]:
        return [p for p in (self.style, self.character, self.control) if p is not None]

    def problem(self) -> str | None:
        return control_kind_alone() if self.control_kind and self.control is None else None

    def applied(
        self, options: RequestOptions, source: Callable[[discord.Attachment], SourceImage]
    ) -> RequestOptions:
        """`options` with these pictures, each named as the worker fetches it (`source`)."""
        references = tuple(
            Reference(kind=kind, image=source(picture))  # type: ignore[arg-type]
            for kind, picture in (("style", self.style), ("character", self.character))
            if picture is not None
        )
        control = None
        if self.control is not None:
            kind = self.control_kind or DEFAULT_CONTROL
            control = Control(kind=kind, image=source(self.control))  # type: ignore[arg-type]
        return dataclasses.replace(options, references=references, control=control)
