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


# --control's kinds as sd-webui-controlnet names its preprocessors, and a word of their models' names
CONTROL_MODULES = {
    "canny": ("canny", "canny"),
    "depth": ("depth_midas", "depth"),
    "pose": ("openpose", "openpose"),
}


def units(client: A1111Client, server: str, task: GenerationTask) -> list[dict[str, Any]]:
    """One enabled unit per reference picture (an IP-Adapter, weighed by `reference_weight`) and for
    the control picture (its preprocessor and model, weighed by `control_weight`)."""
    try:
        modules = client.get_path(server, "/controlnet/module_list").get("module_list") or []
        models = client.get_path(server, "/controlnet/model_list").get("model_list") or []
    except ConfigError:
        raise BackendUnavailable(_no_controlnet(server), transient=False) from None
    found = []
    for kind, picture in task.reference_pictures:
        module, model = _pick(kind, modules, models, server)
        found.append(_unit(module, model, task.reference_weight / 100, picture))
    if task.control is not None and task.control_picture is not None:
        module, word = CONTROL_MODULES[task.control.kind]
        model = next((m for m in models if word in m.lower()), None)
        if module not in modules or model is None:
            raise BackendUnavailable(_no_control_model(server, task.control.kind, module), transient=False)
        found.append(_unit(module, model, task.control_weight, task.control_picture))
    return found


def controlnet_line(client: A1111Client, server: str) -> str:
    """What `imagine doctor` says of the server's ControlNet: what --sref, --cref and --control find."""
    try:
        modules = client.get_path(server, "/controlnet/module_list").get("module_list") or []
        models = client.get_path(server, "/controlnet/model_list").get("model_list") or []
    except ConfigError:
        return "no ControlNet (--sref, --cref and --control need the sd-webui-controlnet extension)"
    ip_models = [m for m in models if any(word in m.lower() for word in IP_ADAPTER)]
    controls = [
        kind
        for kind, (module, word) in CONTROL_MODULES.items()
        if module in modules and any(word in m.lower() for m in models)
    ]
    return (
        f"ControlNet: {len(ip_models)} IP-Adapter models (--sref, --cref), "
        f"--control {', '.join(controls) or 'none (no canny, depth or openpose model)'}"
    )


def _unit(module: str, model: str, weight: float, picture: Image.Image) -> dict[str, Any]:
    return {
        "enabled": True,
        "module": module,
        "model": model,
        "weight": round(weight, 2),
        "image": _b64_png(picture),
        "resize_mode": "Crop and Resize",
        "pixel_perfect": True,
        "control_mode": "Balanced",
    }


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


def _no_control_model(server: str, kind: str, module: str) -> str:
    return (
        f"{server}'s ControlNet has no {kind} model or no {module} preprocessor: put a ControlNet {kind} "
        f"model (control_v11p_sd15_{kind}.pth) in its models/ControlNet folder for --control {kind}"
    )


def _no_ip_adapter(server: str) -> str:
    return (
        f"{server}'s ControlNet has no IP-Adapter: put an IP-Adapter model (ip-adapter_sd15.safetensors, "
        "ip-adapter_xl.safetensors) in its models/ControlNet folder for --sref and --cref"
    )
