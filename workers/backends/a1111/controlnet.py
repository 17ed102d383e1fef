"""Reference pictures on the web UI: ControlNet units with an IP-Adapter (the sd-webui-controlnet
extension, or Forge's built-in ControlNet), module and model found in what the server lists."""

from __future__ import annotations

import base64
import io
from typing import TYPE_CHECKING, Any

from PIL import Image

from shared.errors import BackendUnavailable, ConfigError
from workers.backends.base import GenerationTask

if TYPE_CHECKING:
    from workers.backends.a1111.backend import A1111Client

IP_ADAPTER = ("ip-adapter", "ip_adapter", "ipadapter")


def reference_units(client: A1111Client, server: str, task: GenerationTask) -> list[dict[str, Any]]:
    """One enabled unit per reference picture, weighed by `reference_weight`."""
    try:
        modules = client.get_path(server, "/controlnet/module_list").get("module_list") or []
        models = client.get_path(server, "/controlnet/model_list").get("model_list") or []
    except ConfigError:
        raise BackendUnavailable(_no_controlnet(server), transient=False) from None
    units = []
    for kind, picture in task.reference_pictures:
        module, model = _pick(kind, modules, models, server)
        units.append(
            {
                "enabled": True,
                "module": module,
                "model": model,
                "weight": round(task.reference_weight / 100, 2),
                "image": _b64_png(picture),
                "resize_mode": "Crop and Resize",
                "pixel_perfect": True,
                "control_mode": "Balanced",
            }
        )
    return units


def _pick(kind: str, modules: list[str], models: list[str], server: str) -> tuple[str, str]:
    """An IP-Adapter preprocessor and model: for a character one made for faces where the server has
    it, for a style one that is not."""
    ip_modules = [m for m in modules if any(word in m.lower() for word in IP_ADAPTER)]
    ip_models = [m for m in models if any(word in m.lower() for word in IP_ADAPTER)]
    if not ip_modules or not ip_models:
        raise BackendUnavailable(_no_ip_adapter(server), transient=False)
    wants_face = kind == "character"
    return _prefer(ip_modules, wants_face), _prefer(ip_models, wants_face)


def _prefer(names: list[str], face: bool) -> str:
    fitting = [name for name in names if ("face" in name.lower()) == face]
    return (fitting or names)[0]


def _b64_png(picture: Image.Image) -> str:
    buffer = io.BytesIO()
    picture.convert("RGB").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _no_controlnet(server: str) -> str:
    return (
        f"{server} has no ControlNet API (/controlnet/model_list): install the sd-webui-controlnet "
        "extension (Forge has it built in) for --sref and --cref"
    )


def _no_ip_adapter(server: str) -> str:
    return (
        f"{server}'s ControlNet has no IP-Adapter: put an IP-Adapter model (ip-adapter_sd15.safetensors, "
        "ip-adapter_xl.safetensors) in its models/ControlNet folder for --sref and --cref"
    )
