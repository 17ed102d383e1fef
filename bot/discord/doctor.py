"""`imagine doctor` for Discord: the token, the message-content intent, the public key for --http."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.ops.checks import TIMEOUT, Check

if TYPE_CHECKING:
    from shared.configuration.settings import Settings

DISCORD_PORTAL = "https://discord.com/developers/applications"
MESSAGE_CONTENT = (1 << 18) | (1 << 19)  # GATEWAY_MESSAGE_CONTENT, ..._LIMITED


def check(settings: Settings) -> Iterator[Check]:
    if settings.discord_token is None:
        return
    base = settings.discord_api_base.rstrip("/")
    token = settings.discord_token.get_secret_value()
    status, me = _get_json(f"{base}/users/@me", {"Authorization": f"Bot {token}"})
    if status != 200:
        yield Check(
            "discord token", False, f"rejected ({status}) → {DISCORD_PORTAL} → your app → Bot → Reset Token"
        )
        return
    yield Check("discord token", True, f"accepted: bot {me.get('username')} ({me.get('id')})")
    _, app = _get_json(f"{base}/oauth2/applications/@me", {"Authorization": f"Bot {token}"})
    intent = bool(int(app.get("flags") or 0) & MESSAGE_CONTENT)
    yield Check(
        "discord message-content intent",
        intent,
        "on: thread replies can be read"
        if intent
        else f"off → {DISCORD_PORTAL} → your app → Bot → Privileged Gateway Intents → Message Content Intent",
    )
    if settings.discord_public_key:
        valid = len(settings.discord_public_key) == 64 and _is_hex(settings.discord_public_key)
        yield Check(
            "discord public key",
            valid,
            "a 64-character hex key (for --http)"
            if valid
            else "not a 64-character hex key → General Information",
        )


def _get_json(url: str, headers: dict[str, str]) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"User-Agent": "imagine-doctor", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, {}
    except OSError as error:
        return 0, {"error": str(error)}


def _is_hex(text: str) -> bool:
    try:
        bytes.fromhex(text)
    except ValueError:
        return False
    return True
