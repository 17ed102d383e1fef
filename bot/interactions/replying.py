"""Words in one of the bot's threads, on any platform: a reply (or an @mention, or the page's reply
box) refines the thread's last image, turn after turn; pictures sent with it are what the new image
starts from instead of the last one."""

from __future__ import annotations

from dataclasses import dataclass

from bot import picture_roles, typed_requests
from bot.core import ImagineCore
from bot.interactions.surface import IntakePort, InThread, PictureFetch
from shared import messages
from shared.drawing.request import ImageRequest
from shared.drawing.sources import SourceImage
from shared.errors import InvalidRequest
from shared.imaging import member_images


@dataclass(frozen=True)
class ReplyEvent:
    """One message in a thread, as the platform received it."""

    where: InThread
    text: str
    event_id: str  # the message's id: a redelivery (or the same message as a mention) is one job
    addressed: bool = False  # to the bot (a mention, the page's box): a refusal is told, not ignored
    sources: tuple[SourceImage, ...] = ()  # pictures on the platform's file host, fetched by the worker
    largest_source_bytes: int = 0  # their largest size as the platform declares it
    pictures: PictureFetch | None = None  # pictures the frontend fetches itself, once admitted
    picture_count: int = 0  # how many `pictures` brings (--sref and the like may take them)


async def reply(core: ImagineCore, port: IntakePort, event: ReplyEvent) -> bool:
    """Refine the thread's last image with the message; False when the thread is not the bot's (the
    platform decides what else the message is). Under `refine_by = "owner"` another member's plain
    reply is talk and is ignored; addressed to the bot, it is refused with the rule."""
    member, origin = core.thread_member(event.where)
    if origin is None:
        return False
    if not event.addressed and not core.may_continue(member, origin):
        return True  # people may talk in the thread; only the owner's words refine
    cap = core.settings.config.limits.source_image_bytes

    def build() -> ImageRequest:
        core.check_continues(member, origin)
        attached = event.sources or member_images.picture_sources(event.event_id, event.picture_count)
        request = typed_requests.check_reply(
            core, member, event.text, event_id=event.event_id, attached=attached
        )
        if not event.sources:
            return request  # fetched pictures are kept once admitted (ImagineCore.with_pictures)
        if event.largest_source_bytes > cap:
            raise InvalidRequest(messages.image_too_big(cap))
        return request.model_copy(update={"sources": picture_roles.drawn_from(request, event.sources)})

    await core.intake(port, build, pictures=event.pictures)
    return True
