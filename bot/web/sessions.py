"""The page's sessions: a signed cookie naming the member (itsdangerous), and a CSRF token derived from
it that every action must carry in a header."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import redis.asyncio as aioredis
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.web.access import Access
from shared import keys

COOKIE = "imagine_session"
CSRF_HEADER = "X-CSRF-Token"


async def load_secret(redis: aioredis.Redis) -> bytes:
    """The signing key, made once and kept in Redis: every `imagine web` process on it, and the next
    start, accept the same sessions."""
    await redis.set(keys.web_secret(), secrets.token_bytes(32), nx=True)
    secret = await redis.get(keys.web_secret())
    assert secret is not None  # set just above, unless someone deletes it in between
    return secret


class Sessions:
    """`revocations` holds the sessions logged out before their time (so a copied cookie stops working
    at logout), each until it would have expired anyway."""

    def __init__(
        self, secret: bytes, access: Access, *, max_age_seconds: int, revocations: aioredis.Redis
    ) -> None:
        self._secret = secret
        self._access = access
        self._max_age = max_age_seconds
        self._revocations = revocations
        self._cookies = URLSafeTimedSerializer(secret, salt="imagine-web-session")

    @property
    def max_age_seconds(self) -> int:
        return self._max_age

    def issue(self, user: str) -> str:
        binding = self._binding(user)
        assert binding is not None, f"{user} may not log in"
        return self._cookies.dumps({"u": user, "b": binding, "n": secrets.token_hex(8)})

    def user(self, cookie: str | None) -> str | None:
        """The member a cookie names, while it is unexpired and their password unchanged."""
        if not cookie:
            return None
        try:
            data = self._cookies.loads(cookie, max_age=self._max_age)
        except BadSignature:  # includes an expired one
            return None
        if not isinstance(data, dict) or not isinstance(data.get("u"), str):
            return None
        binding = self._binding(data["u"])
        if binding is None or not hmac.compare_digest(binding, str(data.get("b"))):
            return None
        return data["u"]

    async def revoke(self, cookie: str) -> None:
        nonce = self._nonce(cookie)
        if nonce is not None:
            await self._revocations.set(keys.web_session_revoked(nonce), "1", ex=self._max_age)

    async def revoked(self, cookie: str) -> bool:
        nonce = self._nonce(cookie)
        return nonce is None or bool(await self._revocations.exists(keys.web_session_revoked(nonce)))

    def _nonce(self, cookie: str) -> str | None:
        try:
            data = self._cookies.loads(cookie, max_age=self._max_age)
        except BadSignature:
            return None
        nonce = data.get("n") if isinstance(data, dict) else None
        return nonce if isinstance(nonce, str) else None

    def image_token(self, user: str, key: str) -> str:
        """What makes an image's URL work for `user` alone: its key is derived from ids that others
        can see, so the URL carries proof that the image is in that member's own feed."""
        return hmac.new(self._secret, f"image:{user}\0{key}".encode(), hashlib.sha256).hexdigest()[:32]

    def csrf_token(self, cookie: str) -> str:
        return hmac.new(self._secret, b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, cookie: str, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf_token(cookie), token)

    def _binding(self, user: str) -> str | None:
        """A keyed digest of the member's credential: the cookie can be read, so it must not carry
        anything a guesser could test passwords against offline."""
        credential = self._access.credential(user)
        if credential is None:
            return None
        message = f"{user}\0{credential}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()[:32]
