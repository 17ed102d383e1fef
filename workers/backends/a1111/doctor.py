"""`imagine doctor` for the a1111 backend: each server, what it offers, the configured models and sampler."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from shared.ops.checks import Check

if TYPE_CHECKING:
    from shared.configuration.settings import Settings


def check(settings: Settings) -> Iterator[Check]:
    """Each server of [a1111] reachable with --api and the credentials, what it offers, and whether the
    configured checkpoints and sampler exist there. Only when the a1111 backend is in use."""
    if settings.backend != "a1111" and "a1111" not in settings.config.model_fields_set:
        return
    from shared.errors import ConfigError
    from workers.backends.a1111.backend import A1111Client
    from workers.backends.a1111.controlnet import controlnet_line
    from workers.backends.a1111.faces import faces_line
    from workers.backends.a1111.upscalers import best_upscaler

    config = settings.config.a1111
    client = A1111Client(settings)
    for server in config.servers:
        name = f"a1111 {server}"
        try:
            models = client.get(server, "sd-models")
            samplers = [s.get("name", "") for s in client.get(server, "samplers")]
            loras = client.get(server, "loras")
            options = client.get(server, "options")
            upscalers = [str(u.get("name", "")) for u in client.get(server, "upscalers")]
            loaded = options.get("sd_model_checkpoint")
            flavour = "Forge" if any(key.startswith("forge_") for key in options) else "web UI"
        except ConfigError as exc:
            yield Check(name, False, str(exc))
            continue
        titles = [m.get("title", "") for m in models]
        known = set(titles) | {m.get("model_name", "") for m in models}
        wanted = [*config.models, *([config.default_model] if config.default_model else [])]
        missing = [m for m in wanted if m not in known]
        if missing:
            yield Check(
                name, False, f"[a1111] models {', '.join(missing)} not there → it has: {', '.join(titles)}"
            )
        elif config.upscaler and config.upscaler not in upscalers:
            yield Check(
                name,
                False,
                f"[a1111] upscaler {config.upscaler!r} not there → it has: {', '.join(upscalers)}",
            )
        elif config.sampler and config.sampler not in samplers:
            yield Check(
                name, False, f"[a1111] sampler {config.sampler!r} not there → it has: {', '.join(samplers)}"
            )
        else:
            yield Check(
                name,
                True,
                f"{flavour} --api answers: {len(titles)} checkpoints (loaded: {loaded}), "
                f"{len(samplers)} samplers, {len(loras)} LoRAs; Upscale by "
                f"{config.upscaler or best_upscaler(upscalers) or 'Lanczos (no upscaler model there)'}; "
                + controlnet_line(client, server)
                + "; "
                + faces_line(client, server),
            )
