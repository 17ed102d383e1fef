"""Links from a chat thread to the web page's region editor: signed, expiring, for one member and one
image, spent by the edit they make.

The link names a random id, signed with the key `imagine web` signs its sessions with (kept in Redis,
so a chat frontend and the page agree on it); the id's record holds who the member is in the chat
(their identity, quota and thread) and which image. A link works:
- until it expires (`[web] edit_link_minutes`);
- in the browser that opened it first (a link forwarded to someone else is refused there);
- for one edit (the link is spent when its edit is taken).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from redis import Redis

from bot.interactions.surface import InThread
from shared import keys
from shared.drawing.requester import Requester

SALT = "imagine-edit-link"
ROUTE = "/edit/"  # the page's route that opens a link: <public_url>/edit/<token>


class LinkRefused(Exception):
    """A link that does not (or no longer) open the editor; the text says why, for the member."""


@dataclass(frozen=True)
class EditorLink:
    """A minted link as a platform shows it: its address, and what the member is told with it."""

    url: str
    text: str


@dataclass(frozen=True)
class EditLink:
    """What an opened link lets its member do: edit image `index` of `job_id` in their thread."""

    link_id: str
    where: InThread
    job_id: str
    index: int


def signing_key(redis: Redis) -> bytes:
    """The page's signing key, made by whichever process needs it first (bot/web/sessions.py)."""
    redis.set(keys.web_secret(), secrets.token_bytes(32), nx=True)
    key = redis.get(keys.web_secret())
    assert isinstance(key, bytes)  # set just above, unless someone deletes it in between
    return key


class EditLinks:
    def __init__(self, redis: Redis, *, minutes: int) -> None:
        self._redis = redis
        self._seconds = minutes * 60
        self._minutes = minutes
        self._signer = URLSafeTimedSerializer(signing_key(redis), salt=SALT)

    def mint(self, where: InThread, job_id: str, index: int, public_url: str) -> EditorLink:
        """A link for `where.member` to edit image `index` of `job_id`, in their thread."""
        link_id = secrets.token_urlsafe(18)
        record = {
            "member": where.member.model_dump_json(),
            "origin": where.origin_key,
            "job": job_id,
            "index": str(index),
        }
        key = keys.edit_link(link_id)
        with self._redis.pipeline() as pipe:
            pipe.hset(key, mapping=record)
            pipe.expire(key, self._seconds)
            pipe.execute()
        url = public_url.rstrip("/") + ROUTE + self._signer.dumps(link_id)
        return EditorLink(url, editor_link(self._minutes))

    def open(self, token: str, browser: str) -> EditLink:
        """The link's edit for the browser `browser` (a random id its cookie keeps); raises LinkRefused."""
        link_id = self._link_id(token)
        key = keys.edit_link(link_id)
        record = {k.decode(): v.decode() for k, v in self._redis.hgetall(key).items()}
        if not record:
            raise LinkRefused(link_expired())
        if "spent" in record:
            raise LinkRefused(link_spent())
        # The first browser to open it keeps it: the member's own, since the link came to them alone.
        self._redis.hsetnx(key, "browser", browser)
        if self._redis.hget(key, "browser") != browser.encode():
            raise LinkRefused(link_not_yours())
        member = Requester.model_validate_json(record["member"])
        return EditLink(link_id, InThread(member, record["origin"]), record["job"], int(record["index"]))

    def spend(self, link: EditLink) -> bool:
        """Mark the link used by its edit; False when another edit spent it first (a second tab)."""
        return bool(self._redis.hsetnx(keys.edit_link(link.link_id), "spent", "1"))

    def unspend(self, link: EditLink) -> None:
        """The edit was not taken (refused, invalid): the link works again until it expires."""
        self._redis.hdel(keys.edit_link(link.link_id), "spent")

    def _link_id(self, token: str) -> str:
        try:
            link_id = self._signer.loads(token, max_age=self._seconds)
        except SignatureExpired:
            raise LinkRefused(link_expired()) from None
        except BadSignature:
            raise LinkRefused(link_unknown()) from None
        if not isinstance(link_id, str):
            raise LinkRefused(link_unknown())
        return link_id


# --- texts -----------------------------------------------------------------------------------------


def editor_link(minutes: int) -> str:
    return (
        f"🖌️ Open the editor, mark where to change the picture and say what goes there: the new image "
        f"comes here. The link is yours alone and works for one edit, for {minutes} min."
    )


def link_expired() -> str:
    return "This editor link has expired. Press 🖌️ Vary (Region) under the picture again for a new one."


def link_spent() -> str:
    return "This editor link was used for an edit already. Press 🖌️ Vary (Region) again for another."


def link_not_yours() -> str:
    return (
        "This editor link was opened by someone else first: each link is for the member who pressed "
        "🖌️ Vary (Region). Press it yourself for a link of your own."
    )


def link_unknown() -> str:
    return "This is not a working editor link. Press 🖌️ Vary (Region) under the picture for one."


def edit_goes_to_thread() -> str:
    return "The new picture will be posted in your thread in the chat; you may close this page."
