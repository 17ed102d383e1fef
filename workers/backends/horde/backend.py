"""AI Horde, the crowd-sourced cluster: for communities with no GPU and no OpenAI budget.

A request is submitted (`POST /v2/generate/async`), its place in the queue and the wait shown on the
status message while it is checked (`GET /v2/generate/check/{id}`), and the images taken from
`GET /v2/generate/status/{id}` (inline base64, `r2: false`). An image the Horde censored is withheld
with a note; a timeout deletes the request. Anonymous by default; HORDE_API_KEY buys kudos priority.
"""

from __future__ import annotations

import base64
import io
import logging
import time
from typing import Any

import httpx2
from PIL import Image

from shared import messages
from shared.configuration.settings import Settings
from shared.drawing import sizes
from shared.errors import BackendRefused, BackendUnavailable, InvalidRequest
from workers.backends.base import GeneratedImage, Generation, GenerationTask, Upscaled, engine_picture
from workers.backends.horde import texts
from workers.backends.horde.config import HordeConfig

log = logging.getLogger(__name__)
NAME = "horde"
ANONYMOUS_KEY = "0000000000"
VERSION = "0.1.0"
SIZE_STEP = 64  # the Horde takes multiples of 64
HORDE_MAX_EDGE = 2048
# Upscale: the Horde's post-processors for ×2 and ×4, on a picture redrawn this little first
POST_PROCESSORS = {2: "RealESRGAN_x2plus", 4: "RealESRGAN_x4plus"}
UPSCALE_DENOISE = 0.05
HORDE_CONTROLS = {"canny": "canny", "depth": "depth", "pose": "openpose"}  # its control_type names
FACE_FIXER = "GFPGAN"  # --face-fix: the Horde's face restorer (CodeFormers is its other)


class HordeBackend:
    name = NAME

    def __init__(self, settings: Settings) -> None:
        self._config: HordeConfig = settings.config.horde
        self._client = HordeClient(settings)

    def generate(self, task: GenerationTask) -> Generation:
        return self._finished(self._client.submit(self._payload(task)), task)

    def _finished(self, request_id: str, task: GenerationTask) -> Generation:
        """Wait for a submitted request and fetch what it made; cancelled on the Horde if anything
        (the member, a timeout) stops the wait."""
        try:
            self._wait(request_id, task)
            status = self._client.status(request_id)
        except BaseException:
            self._client.cancel(request_id)
            raise
        kept, withheld = [], []
        for index, generation in enumerate(status.get("generations") or [], 1):
            if generation.get("censored"):
                withheld.append(index)
                continue
            kept.append(GeneratedImage(_image(self._client, generation), _seed(generation.get("seed"))))
        if not kept:
            log.warning("horde: all %d images of request %s were censored", len(withheld), request_id)
            raise BackendRefused(messages.backend_refused())
        notes = [texts.images_withheld(withheld)] if withheld else []
        if task.control_picture is not None and task.init_image is not None:
            notes.append(texts.control_left_out())
        model = str((status.get("generations") or [{}])[0].get("model") or task.model or "horde")
        kudos = float(status.get("kudos") or 0)
        return Generation(kept, model=model, kudos=kudos, notes=notes, withheld=len(withheld))

    def upscale(self, picture: Image.Image, factor: int, task: GenerationTask) -> Upscaled | None:
        """The Horde's RealESRGAN post-processor, on the picture barely redrawn (the Horde post-processes
        what it generates): `UPSCALE_DENOISE`, the job's prompt and seed."""
        upscaler = POST_PROCESSORS[factor]
        redraw = {"init_image": picture, "mask": None, "count": 1, "strength": UPSCALE_DENOISE}
        payload = self._payload(task.model_copy(update={**redraw, "aspect": None, **_size_of(picture)}))
        payload["params"]["post_processing"] = [*payload["params"].get("post_processing", []), upscaler]
        generation = self._finished(self._client.submit(payload), task)
        return Upscaled(generation.images[0].image, upscaler)

    def _payload(self, task: GenerationTask) -> dict[str, Any]:
        config = self._config
        width, height = sizes.native_size(config.native_edge, task.width, task.height, task.aspect)
        prompt = f"{task.prompt} ### {task.negative}" if task.negative else task.prompt
        params: dict[str, Any] = {
            "sampler_name": config.sampler,
            "cfg_scale": task.guidance if task.guidance is not None else config.cfg_scale,
            "steps": task.steps or config.steps,
            "width": _multiple_of_64(width),
            "height": _multiple_of_64(height),
            "n": task.count,
        }
        if task.seed is not None:
            params["seed"] = str(task.seed)
        if task.hires:
            params["hires_fix"] = True
        if task.face_fix:
            params["post_processing"] = [FACE_FIXER]
        payload: dict[str, Any] = {
            "prompt": prompt,
            "params": params,
            "nsfw": task.nsfw_allowed,
            "censor_nsfw": not task.nsfw_allowed,
            "r2": False,
        }
        model = task.model or config.default_model
        if model:
            payload["models"] = [model]
        if task.control_picture is not None and task.control is not None and task.init_image is None:
            # the Horde preprocesses the picture itself (image_is_control false), as a source image
            payload["source_image"] = _webp(
                task.control_picture.convert("RGB").resize((params["width"], params["height"]))
            )
            payload["source_processing"] = "img2img"
            params["control_type"] = HORDE_CONTROLS[task.control.kind]
            params["image_is_control"] = False
            params["control_strength"] = task.control_weight
            params["denoising_strength"] = 1.0  # the picture steers; nothing of it is kept
        if task.init_image is not None:
            size = (params["width"], params["height"])
            payload["source_image"] = _webp(task.init_image.convert("RGB").resize(size))
            payload["source_processing"] = "img2img"
            if task.mask is not None:  # the Horde repaints where the mask is white
                payload["source_mask"] = _webp(task.mask.convert("L").resize(size))
                payload["source_processing"] = "outpainting" if task.extends else "inpainting"
            params["denoising_strength"] = (
                task.strength if task.strength is not None else config.denoising_strength
            )
        return payload

    def _wait(self, request_id: str, task: GenerationTask) -> None:
        deadline = time.monotonic() + self._config.timeout_seconds
        shown = None
        while True:
            if task.stop_requested is not None and task.stop_requested():
                self._client.cancel(request_id)  # the Horde drops it and charges no kudos for it
                task.check_stop()
            check = self._client.check(request_id)
            if check.get("faulted"):
                raise BackendUnavailable("the Horde's workers failed this request")  # retried
            if check.get("done"):
                return
            if check.get("is_possible") is False:
                raise InvalidRequest(texts.horde_impossible())
            line = texts.horde_waiting(
                int(check.get("queue_position") or 0), int(check.get("wait_time") or 0)
            )
            if task.on_progress is not None and line != shown:
                shown = line
                task.on_progress(line)
            if time.monotonic() > deadline:
                raise BackendUnavailable(
                    f"the Horde did not finish in {self._config.timeout_seconds:.0f} s", transient=False
                )
            time.sleep(self._config.poll_seconds)


class HordeClient:
    """The Horde's v2 API with the headers it asks for, and its errors turned into what to fix."""

    def __init__(self, settings: Settings) -> None:
        config = settings.config.horde
        key = settings.horde_api_key.get_secret_value() if settings.horde_api_key else ANONYMOUS_KEY
        self._base = config.api_url.rstrip("/")
        self._max_bytes = settings.config.storage.max_image_bytes
        self._http = httpx2.Client(
            timeout=30.0,
            headers={"apikey": key, "Client-Agent": f"imagine-bot:{VERSION}:{config.contact or 'unknown'}"},
        )

    def submit(self, payload: dict[str, Any]) -> str:
        return str(self._call("POST", "/v2/generate/async", json=payload)["id"])

    def check(self, request_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v2/generate/check/{request_id}")

    def status(self, request_id: str) -> dict[str, Any]:
        return self._call("GET", f"/v2/generate/status/{request_id}")

    def cancel(self, request_id: str) -> None:
        try:
            self._http.delete(f"{self._base}/v2/generate/status/{request_id}")
        except httpx2.HTTPError as exc:
            log.warning("horde: could not delete request %s: %s", request_id, type(exc).__name__)

    def fetch(self, url: str) -> bytes:
        """An image the Horde stored for us (its R2 link), at most `[storage] max_image_bytes`, read as
        it streams in: a link may name any host, so nothing about it is trusted."""
        if not url.startswith("https://") and not url.startswith(self._base.split("/api", 1)[0]):
            raise BackendUnavailable("the AI Horde sent an image link that is not https", transient=False)
        received = bytearray()
        try:
            with httpx2.stream("GET", url, timeout=60.0, follow_redirects=False) as response:
                if response.status_code >= 400:
                    raise BackendUnavailable(f"a Horde image answered {response.status_code}")
                for chunk in response.iter_bytes():
                    received += chunk
                    if len(received) > self._max_bytes:
                        raise BackendUnavailable(
                            f"the AI Horde sent an image larger than {self._max_bytes:,} bytes "
                            "([storage] max_image_bytes)",
                            transient=False,
                        )
        except httpx2.TransportError as exc:
            raise BackendUnavailable(f"cannot fetch a Horde image: {type(exc).__name__}") from None
        return bytes(received)

    def models(self) -> list[dict[str, Any]]:
        return self._call("GET", "/v2/status/models", params={"type": "image"})

    def user(self) -> dict[str, Any]:
        return self._call("GET", "/v2/find_user")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, f"{self._base}{path}", **kwargs)
        except httpx2.TransportError as exc:
            raise BackendUnavailable(f"cannot reach the AI Horde: {type(exc).__name__}") from None
        if response.status_code < 400:
            return response.json()
        message, rc = _message(response)
        if response.status_code == 401:
            raise BackendUnavailable(f"the Horde refused HORDE_API_KEY ({message})", transient=False)
        if rc == "KudosUpfront" or "kudos" in message.lower():
            raise InvalidRequest(texts.horde_kudos(message))
        if response.status_code == 429 or response.status_code >= 500:
            raise BackendUnavailable(f"the Horde answered {response.status_code}: {message}")  # retried
        raise BackendUnavailable(
            f"the Horde refused the request ({rc or response.status_code}): {message}", transient=False
        )


def _message(response: httpx2.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200], ""
    return str(body.get("message", ""))[:300], str(body.get("rc", ""))


def _image(client: HordeClient, generation: dict[str, Any]) -> Image.Image:
    data = generation.get("img") or ""
    raw = client.fetch(data) if data.startswith(("http://", "https://")) else base64.b64decode(data)
    return engine_picture(raw, "the AI Horde")


def _seed(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _webp(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="WEBP", lossless=True)
    return base64.b64encode(buffer.getvalue()).decode()


def _size_of(picture: Image.Image) -> dict[str, int]:
    """A picture's size as a task's, within what the Horde draws (2048 px a side)."""
    scale = min(1.0, HORDE_MAX_EDGE / max(picture.size))
    return {"width": round(picture.width * scale), "height": round(picture.height * scale)}


def _multiple_of_64(side: int) -> int:
    return max(SIZE_STEP, round(side / SIZE_STEP) * SIZE_STEP)
