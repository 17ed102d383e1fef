"""What the pictures attached to a message are for, on every platform that takes them with words (a
Slack message or the page's box with files, a Discord reply with attachments): `--sref`, `--cref` and
`--control KIND` (bot/flags.py: PictureRoles) take the first attached pictures, in that order, as the
style reference, the character reference and the control picture; the rest are drawn from."""

from __future__ import annotations

import dataclasses

from bot.flags import PictureRoles
from shared.drawing.references import Control, Reference, pictures_for_roles
from shared.drawing.request import ImageRequest, RequestOptions
from shared.drawing.sources import SourceImage
from shared.errors import InvalidRequest


def with_roles(
    options: RequestOptions, roles: PictureRoles, attached: tuple[SourceImage, ...]
) -> RequestOptions:
    """`options` with the references and control picture `roles` give the attached pictures."""
    if not roles.count:
        return options
    if roles.count > len(attached):
        raise InvalidRequest(pictures_for_roles(" ".join(roles.flags), roles.count, len(attached)))
    pictures = iter(attached)
    references = tuple(
        Reference(kind=kind, image=next(pictures))  # type: ignore[arg-type]
        for kind, given in (("style", roles.style), ("character", roles.character))
        if given
    )
    control = Control(kind=roles.control, image=next(pictures)) if roles.control else None  # type: ignore[arg-type]
    return dataclasses.replace(options, references=references, control=control)


def drawn_from(request: ImageRequest, attached: tuple[SourceImage, ...]) -> tuple[SourceImage, ...]:
    """The attached pictures the drawing starts from: those no role took."""
    steering = {reference.image for reference in request.references}
    if request.control is not None:
        steering.add(request.control.image)
    return tuple(picture for picture in attached if picture not in steering)
