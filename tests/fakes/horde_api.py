"""A local fake of the AI Horde's v2 API: async generation, check, status, delete, models, find_user.

A request waits `queue_seconds` (its queue position counting down), then is done; images come back
inline as base64 WebP (`r2: false`) coloured by seed. Switches: censor some images, kudos needed
upfront, an invalid key, a request no worker can serve, a request that never finishes, a 500.
"""

from __future__ import annotations

import base64
import io
import time
import uuid
from dataclasses import dataclass

from PIL import Image

from tests.fakes.http import FakeServer, Recorded, Reply

KEY = "horde-test-key-123"
# The v2 schema's post-processors (ModelPayloadRootStable.post_processing), and the upscalers' scales
POST_PROCESSORS = (
    "GFPGAN",
    "RealESRGAN_x4plus",
    "RealESRGAN_x2plus",
    "RealESRGAN_x4plus_anime_6B",
    "NMKD_Siax",
    "4x_AnimeSharp",
    "CodeFormers",
    "strip_background",
)
POST_PROCESSORS_SCALE = {"RealESRGAN_x2plus": 2, "RealESRGAN_x4plus": 4, "RealESRGAN_x4plus_anime_6B": 4}
MODELS = [
    {"name": "stable_diffusion", "count": 12, "type": "image"},
    {"name": "AlbedoBase XL (SDXL)", "count": 4},
]


@dataclass
class Submitted:
    id: str
    payload: dict
    at: float
    deleted: bool = False


class FakeHorde(FakeServer):
    def __init__(self, *, queue_seconds: float = 0.0) -> None:
        super().__init__()
        self.queue_seconds = queue_seconds
        self.censor: set[int] = set()  # 1-based indexes of images to censor
        self.kudos_upfront = False
        self.impossible = False
        self.hang = False
        self.fail_next: list[int] = []
        self.submitted: list[Submitted] = []
        self.image_format = "WEBP"  # what its workers send back (BMP, TIFF: formats we refuse)
        self.r2 = False  # images as links to this server (as the Horde's R2 storage), not inline
        self.padding = 0  # bytes appended to each image (a result larger than the cap)
        self.stored: dict[str, bytes] = {}

    @property
    def base(self) -> str:
        return f"{self.url}/api"

    def answer(self, request: Recorded) -> Reply:
        path = request.path.split("?", 1)[0].removeprefix("/api")
        key = request.headers.get("apikey")
        if path.startswith("/r2/"):
            return Reply(200, self.stored.get(path.removeprefix("/r2/"), b""), {"content-type": "image/webp"})
        if path == "/v2/status/models":
            return Reply.json(MODELS)
        if path == "/v2/find_user":
            if key != KEY:
                return Reply.json({"message": "No user matching sent API Key.", "rc": "InvalidAPIKey"}, 401)
            return Reply.json({"username": "imagine#1234", "kudos": 2500.0})
        if key not in (KEY, "0000000000"):
            return Reply.json({"message": "No user matching sent API Key.", "rc": "InvalidAPIKey"}, 401)
        if path == "/v2/generate/async" and request.method == "POST":
            if self.fail_next:
                return Reply.json({"message": "Internal Server Error"}, self.fail_next.pop(0))
            if self.kudos_upfront:
                return Reply.json(
                    {
                        "message": "Due to heavy demand, for requests over 576x576 or over 50 steps, "
                        "the client needs to already have the required kudos.",
                        "rc": "KudosUpfront",
                    },
                    403,
                )
            body = request.json()
            problem = _invalid_source(body) or _invalid_post_processing(body) or _invalid_control(body)
            if problem:
                return Reply.json({"message": problem, "rc": "ValidationError"}, 400)
            submitted = Submitted(uuid.uuid4().hex, request.json(), time.monotonic())
            self.submitted.append(submitted)
            return Reply.json({"id": submitted.id, "kudos": 10.0}, 202)
        for prefix, view in (("/v2/generate/check/", self._check), ("/v2/generate/status/", self._status)):
            if path.startswith(prefix):
                found = next((s for s in self.submitted if s.id == path.removeprefix(prefix)), None)
                if found is None:
                    return Reply.json({"message": "Request not found", "rc": "RequestNotFound"}, 404)
                if request.method == "DELETE":
                    found.deleted = True
                    return Reply.json({"done": False, "faulted": False, "generations": []})
                return view(found)
        return Reply.json({"message": "Not found"}, 404)

    def _left(self, submitted: Submitted) -> float:
        return self.queue_seconds - (time.monotonic() - submitted.at)

    def _check(self, submitted: Submitted) -> Reply:
        done = not self.hang and self._left(submitted) <= 0
        waiting = 0 if done else max(1, int(self._left(submitted) * 2))
        return Reply.json(
            {
                "finished": submitted.payload["params"]["n"] if done else 0,
                "processing": 0,
                "waiting": 0 if done else 1,
                "done": done,
                "faulted": False,
                "wait_time": 0 if done else max(1, int(self._left(submitted))),
                "queue_position": waiting,
                "kudos": 10.0,
                "is_possible": not self.impossible,
            }
        )

    def _status(self, submitted: Submitted) -> Reply:
        params = submitted.payload["params"]
        seed = int(params.get("seed", 77))
        model = (submitted.payload.get("models") or ["stable_diffusion"])[0]
        generations = []
        for index in range(params["n"]):
            buffer = io.BytesIO()
            colour = ((seed + index) * 37 % 256, (seed + index) * 91 % 256, 50)
            picture = Image.new("RGB", (params["width"], params["height"]), colour)
            scale = max(
                [POST_PROCESSORS_SCALE.get(name, 1) for name in params.get("post_processing") or []] or [1]
            )
            picture = picture.resize((picture.width * scale, picture.height * scale))
            picture.save(
                buffer,
                format=self.image_format,
                **({"lossless": True} if self.image_format == "WEBP" else {}),
            )
            data = buffer.getvalue() + b"\0" * self.padding
            name = f"{submitted.id}-{index}.webp"
            self.stored[name] = data
            generations.append(
                {
                    "img": f"{self.url}/r2/{name}" if self.r2 else base64.b64encode(data).decode(),
                    "seed": str(seed + index),
                    "censored": index + 1 in self.censor,
                    "model": model,
                    "worker_name": "fake-worker",
                    "state": "ok",
                }
            )
        return Reply.json(
            {"done": True, "faulted": False, "generations": generations, "kudos": 10.0 * params["n"]}
        )


CONTROL_TYPES = ("canny", "hed", "depth", "normal", "openpose", "seg", "scribble", "fakescribbles", "hough")


def _invalid_control(payload: dict) -> str | None:
    """The v2 schema's control_type: one it names, with a source image to take the control from."""
    kind = payload["params"].get("control_type")
    if kind is None:
        return None
    if kind not in CONTROL_TYPES:
        return f"control_type: {kind!r} is not one of the options"
    return None if payload.get("source_image") else "control_type needs a source_image"


def _invalid_post_processing(payload: dict) -> str | None:
    """The v2 schema's post_processing: a list of the post-processors it names."""
    unknown = [name for name in payload["params"].get("post_processing") or [] if name not in POST_PROCESSORS]
    return f"post_processing: {unknown[0]!r} is not one of the options" if unknown else None


def _invalid_source(payload: dict) -> str | None:
    """The v2 schema's source fields: a processing it knows, and a mask (webp, base64) only with
    inpainting or outpainting, the size of the picture asked for."""
    processing = payload.get("source_processing", "img2img")
    if processing not in ("img2img", "inpainting", "outpainting", "remix"):
        return f"source_processing: {processing!r} is not one of the options"
    mask = payload.get("source_mask")
    if mask is None:
        return None
    if processing not in ("inpainting", "outpainting"):
        return "source_mask is only for inpainting or outpainting"
    with Image.open(io.BytesIO(base64.b64decode(mask))) as drawn:
        size = (payload["params"]["width"], payload["params"]["height"])
        return (
            None
            if drawn.format == "WEBP" and drawn.size == size
            else "source_mask: not a webp of the image's size"
        )
