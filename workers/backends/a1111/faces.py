"""--face-fix on the web UI: ADetailer's face detailer where the extension is there (it finds each
face and redraws it at full resolution, the fix communities use), else the web UI's own restorer
(`restore_faces`: CodeFormer or GFPGAN, as its settings say)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.errors import ConfigError

if TYPE_CHECKING:
    from workers.backends.a1111.backend import A1111Client

ADETAILER = "adetailer"  # the extension's script, as /sdapi/v1/scripts lists it


def face_fix(client: A1111Client, server: str) -> dict[str, Any]:
    """The payload fields of a face fix on `server`."""
    model = adetailer_face_model(client, server)
    if model is None:
        return {"restore_faces": True}
    # ADetailer's API arguments: enabled, skip img2img, then one dict per detailer pass
    return {"alwayson_scripts": {"ADetailer": {"args": [True, False, {"ad_model": model}]}}}


def adetailer_face_model(client: A1111Client, server: str) -> str | None:
    """ADetailer's face detector on `server` (face_yolov8n.pt, …); None without the extension."""
    try:
        scripts = client.get(server, "scripts") or {}
        if ADETAILER not in [str(name).lower() for name in scripts.get("txt2img") or []]:
            return None
        models = client.get_path(server, "/adetailer/v1/ad_model").get("ad_model") or []
    except ConfigError:
        return None
    return next((str(m) for m in models if "face" in str(m).lower()), None)


def faces_line(client: A1111Client, server: str) -> str:
    """What `imagine doctor` says --face-fix uses there."""
    model = adetailer_face_model(client, server)
    if model is not None:
        return f"--face-fix by ADetailer ({model})"
    try:
        restorers = [str(r.get("name", "")) for r in client.get(server, "face-restorers") or []]
    except ConfigError:
        restorers = []
    return f"--face-fix by restore_faces ({', '.join(restorers) or 'no face restorer listed'})"
