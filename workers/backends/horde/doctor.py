"""`imagine doctor` for the horde backend: the Horde answers, the key and its kudos, the models served."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.ops.checks import Check

if TYPE_CHECKING:
    from shared.configuration.settings import Settings


def check(settings: Settings) -> Iterator[Check]:
    """The Horde answers; the key (or anonymous use) and its kudos; the configured models have workers.
    Only when the horde backend is in use."""
    if settings.backend != "horde" and "horde" not in settings.config.model_fields_set:
        return
    from shared.errors import ImagineError
    from workers.backends.horde.backend import HordeClient

    config = settings.config.horde
    client = HordeClient(settings)
    try:
        served = {m.get("name", ""): int(m.get("count") or 0) for m in client.models()}
    except ImagineError as exc:
        yield Check("horde", False, f"{exc} → check [horde] api_url")
        return
    if settings.horde_api_key is None:
        yield Check("horde key", True, "anonymous (slowest queue) → set HORDE_API_KEY for kudos priority")
    else:
        try:
            user = client.user()
        except ImagineError as exc:
            yield Check("horde key", False, f"{exc} → register at https://aihorde.net/register")
        else:
            yield Check(
                "horde key", True, f"{user.get('username')}: {float(user.get('kudos') or 0):.0f} kudos"
            )
    if not config.contact:
        yield Check(
            "horde contact", False, "[horde] contact is empty → the Horde asks for a way to reach you"
        )
    wanted = [*config.models, *([config.default_model] if config.default_model else [])]
    idle = [m for m in wanted if served.get(m, 0) == 0]
    yield Check(
        "horde models",
        not idle,
        f"no worker serves {', '.join(idle)} now" if idle else f"{len(served)} models served by workers now",
    )
