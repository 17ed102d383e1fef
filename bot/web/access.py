"""Who may use the page: everyone on this machine (no login), or those who log in — named users from
`[web.users]` (each their own member, `web:NAME`) and, with IMAGINE_WEB_PASSWORD, a shared "guest".

Passwords are kept as scrypt hashes (stdlib `hashlib.scrypt`); `imagine web-password NAME` makes one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from pydantic import SecretStr

LOCAL = "local"  # the one member of a page served to this machine without a login
GUEST = "guest"  # whoever logs in with the shared IMAGINE_WEB_PASSWORD
# 16 MiB and about 50 ms per check: slow for a guesser, quick for a person logging in.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """`scrypt$N$r$p$salt$hash`, the form `[web.users]` takes."""
    salt = os.urandom(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encode = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt)}${encode(digest)}"


def password_matches(password: str, hashed: str) -> bool:
    _, n, r, p, salt, digest = hashed.split("$")
    candidate = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r + 2**20, dklen=32)


class Access:
    """The page's login rule. `open` (no login) only when no credential is configured at all."""

    def __init__(self, users: dict[str, str], password: SecretStr | None) -> None:
        self._users = dict(users)
        self._password = password.get_secret_value() if password else None
        # Checked against when a name is unknown, so timing tells no names (and a name given where
        # only the shared password exists is a wrong login, not an error).
        self._decoy = hash_password(os.urandom(16).hex())

    @property
    def required(self) -> bool:
        return bool(self._users) or self._password is not None

    @property
    def named(self) -> bool:
        """Whether the login form asks for a name (otherwise it is the shared password alone)."""
        return bool(self._users)

    def check(self, name: str, password: str) -> str | None:
        """The member these credentials log in as, or None. Slow on purpose (scrypt): run it off the
        event loop. An unknown name costs as much as a known one, so timing tells no names."""
        name = name.strip().lower()
        if not name or name == GUEST:
            if self._password is not None and hmac.compare_digest(password.encode(), self._password.encode()):
                return GUEST
            return None
        hashed = self._users.get(name)
        matches = password_matches(password, hashed or self._decoy)
        return name if hashed is not None and matches else None

    def credential(self, user: str) -> str | None:
        """What a session of `user` is bound to, so changing a password (or removing the user) ends its
        sessions; None when `user` may no longer log in."""
        if user == LOCAL and not self.required:
            return LOCAL
        if user == GUEST:
            return self._password
        return self._users.get(user)
