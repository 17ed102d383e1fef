"""AUTOMATIC1111 WebUI and Forge servers started with `--api`: txt2img, img2img from the previous image,
the server's live preview on the status message, and a pool of servers shared by every worker.

A server runs one generation at a time and `/sdapi/v1/progress` reports the whole server, so each job
leases one server in Redis (the first free one of `[a1111] servers`) for as long as it runs there.
The checkpoint is chosen per request with `override_settings`; the server's options are never posted.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
from PIL import Image

from shared.configuration.settings import Settings
from shared.drawing import prompt_tags, sizes
from shared.errors import BackendUnavailable, ConfigError
from workers.backends.a1111 import controlnet, faces
from workers.backends.a1111.config import A1111Config
from workers.backends.a1111.upscalers import best_upscaler
from workers.backends.base import GeneratedImage, Generation, GenerationTask, Upscaled, engine_picture
from workers.backends.servers import ServerPool, verify_servers

log = logging.getLogger(__name__)
HIRES_SCALE = 2
HIRES_UPSCALER = "Latent"  # the web UI's own; [a1111] upscaler when one is set
HIRES_DENOISE = 0.5
NAME = "a1111"
SHORT_TIMEOUT = 10.0  # progress, model lists, interrupt


# The img2img fields of an inpaint: start from the canvas as it is ("original"), on the whole picture
# (so a new border sees what it continues), the mask's edge softened.
INPAINTING = {"inpainting_fill": 1, "inpaint_full_res": False, "mask_blur": 8, "inpainting_mask_invert": 0}


class A1111Backend:
    name = NAME

    def __init__(self, settings: Settings) -> None:
        self._config: A1111Config = settings.config.a1111
        self._client = A1111Client(settings)
        self._pool = ServerPool(settings, NAME, self._config.servers)

    def verify(self) -> None:
        """At the worker's start: each configured server answers (workers/backends/servers.py)."""
        verify_servers(NAME, self._config.servers, lambda server: self._client.get(server, "options"))

    def generate(self, task: GenerationTask) -> Generation:
        route, payload = self._payload(task)
        with self._pool.lease() as server:
            if task.face_fix:  # ADetailer where the server has it, else its own restorer
                fix = faces.face_fix(self._client, server)
                scripts = fix.pop("alwayson_scripts", None)
                payload.update(fix)
                if scripts:
                    payload.setdefault("alwayson_scripts", {}).update(scripts)
            if task.reference_pictures or task.control_picture is not None:  # as this server names them
                units = controlnet.units(self._client, server, task)
                payload.setdefault("alwayson_scripts", {})["controlnet"] = {"args": units}
            with self._previews(server, task):
                answer = self._client.generate(server, route, payload)
        task.check_stop()  # interrupted: the server answered with what it had, which is no result
        seeds = _seeds(answer)
        images = [
            GeneratedImage(engine_picture(base64.b64decode(data), server), seed)
            for data, seed in zip(answer.get("images") or [], seeds, strict=False)
        ][: task.count]  # some extensions append a grid or extra images after the batch
        if not images:
            raise BackendUnavailable("the image server answered without images", transient=False)
        model = str(_info(answer).get("sd_model_name") or task.model or "a1111")
        return Generation(images, model=model, cost_usd=self._config.usd_per_image * len(images))

    def upscale(self, picture: Image.Image, factor: int, task: GenerationTask) -> Upscaled | None:
        """The server's upscaler model alone (`/sdapi/v1/extra-single-image`); None where it has only
        resamplers (the worker's Lanczos does as well)."""
        with self._pool.lease() as server:
            names = [str(u.get("name", "")) for u in self._client.get(server, "upscalers") or []]
            name = self._config.upscaler or best_upscaler(names)
            if name is None:
                return None
            if name not in names:
                raise BackendUnavailable(
                    f"[a1111] upscaler = {name!r} is not one of {server}'s upscalers: {', '.join(names)}",
                    transient=False,
                )
            payload = {
                "image": _b64_png(picture.convert("RGB")),
                "resize_mode": 0,  # scale by upscaling_resize
                "upscaling_resize": factor,
                "upscaler_1": name,
                "show_extras_results": True,
            }
            answer = self._client.generate(server, "extra-single-image", payload)
        if not answer.get("image"):
            raise BackendUnavailable("the image server's upscaler answered without an image", transient=False)
        return Upscaled(engine_picture(base64.b64decode(answer["image"]), server), name)

    def _payload(self, task: GenerationTask) -> tuple[str, dict[str, Any]]:
        config = self._config
        width, height = sizes.native_size(config.native_edge, task.width, task.height, task.aspect)
        payload: dict[str, Any] = {
            # checked when the request was made; stripped again for what the prompt writer added
            "prompt": prompt_tags.strip(task.prompt, config.prompt_tags),
            "negative_prompt": prompt_tags.strip(task.negative or "", config.prompt_tags),
            "seed": task.seed if task.seed is not None else -1,
            "batch_size": task.count,
            "n_iter": 1,
            "steps": task.steps or config.steps,
            "cfg_scale": task.guidance if task.guidance is not None else config.cfg_scale,
            "width": width,
            "height": height,
            "send_images": True,
            "save_images": False,
        }
        if config.sampler:
            payload["sampler_name"] = config.sampler
        if config.scheduler:
            payload["scheduler"] = config.scheduler
        overrides = dict(config.override_settings)
        model = task.model or config.default_model
        if model:
            overrides["sd_model_checkpoint"] = model
        if overrides:
            payload["override_settings"] = overrides
            payload["override_settings_restore_afterwards"] = not config.keep_model_loaded
        if task.init_image is None:
            if task.hires:  # the first pass at half the size, the second at the size asked
                first_width, first_height = sizes.hires_first_pass(width, height, HIRES_SCALE)
                payload.update(
                    width=first_width,
                    height=first_height,
                    enable_hr=True,
                    hr_scale=HIRES_SCALE,
                    hr_upscaler=config.upscaler or HIRES_UPSCALER,
                    denoising_strength=HIRES_DENOISE,
                )
            return "txt2img", payload
        source = task.init_image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        payload["init_images"] = [_b64_png(source)]
        payload["denoising_strength"] = (
            task.strength if task.strength is not None else config.denoising_strength
        )
        if task.mask is not None:  # repaint where white; the canvas is pre-filled, so start from it
            payload["mask"] = _b64_png(task.mask.convert("L").resize((width, height)))
            payload.update(INPAINTING)
        return "img2img", payload

    @contextmanager
    def _previews(self, server: str, task: GenerationTask) -> Iterator[None]:
        """The server's live preview, polled apart from the generation (a stalled poll never stalls it);
        the same poll interrupts the server once the member cancels (the lease makes the job the only
        one drawing there)."""
        if task.on_preview is None and task.stop_requested is None:
            yield
            return
        stop = threading.Event()
        on_preview, stop_requested = task.on_preview, task.stop_requested

        def poll() -> None:
            last = None
            while not stop.wait(self._config.progress_seconds):
                if stop_requested is not None and stop_requested():
                    self._client.interrupt(server)
                    return
                image = self._client.current_image(server) if on_preview is not None else None
                if on_preview is not None and image and image != last:
                    last = image
                    on_preview(base64.b64decode(image))

        thread = threading.Thread(target=poll, name="a1111-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()


class A1111Client:
    """The web UI's HTTP API, with the errors operators hit turned into what to fix."""

    def __init__(self, settings: Settings) -> None:
        config = settings.config.a1111
        auth = settings.a1111_auth.get_secret_value() if settings.a1111_auth else None
        user, _, password = (auth or "").partition(":")
        self._timeout = config.timeout_seconds
        self._http = httpx2.Client(
            auth=httpx2.BasicAuth(user, password) if auth else None,
            timeout=httpx2.Timeout(SHORT_TIMEOUT, read=config.timeout_seconds),
            headers={"user-agent": "imagine-bot"},
        )

    def generate(self, server: str, route: str, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self._http.post(f"{server}/sdapi/v1/{route}", json=payload)
        except httpx2.ReadTimeout:
            self.interrupt(server)
            raise BackendUnavailable(
                f"the image server did not finish in {self._timeout:.0f} s", transient=False
            ) from None
        except httpx2.TransportError as exc:  # refused, reset mid-answer: the server is restarting
            raise BackendUnavailable(f"cannot reach {server}: {type(exc).__name__}") from None
        _raise_for(response, server)
        return response.json()

    def current_image(self, server: str) -> str | None:
        try:
            response = self._http.get(
                f"{server}/sdapi/v1/progress", params={"skip_current_image": "false"}, timeout=SHORT_TIMEOUT
            )
            return response.json().get("current_image") if response.is_success else None
        except (httpx2.HTTPError, ValueError):
            return None  # a preview is a courtesy

    def interrupt(self, server: str) -> None:
        try:
            self._http.post(f"{server}/sdapi/v1/interrupt", timeout=SHORT_TIMEOUT)
        except httpx2.HTTPError as exc:
            log.warning("a1111: could not interrupt %s: %s", server, type(exc).__name__)

    def get(self, server: str, route: str) -> Any:
        """A listing (`sd-models`, `samplers`, `loras`, `options`) for doctor; raises ConfigError."""
        return self.get_path(server, f"/sdapi/v1/{route}")

    def get_path(self, server: str, path: str) -> Any:
        """Any listing of the server (an extension's, e.g. /controlnet/model_list); raises ConfigError."""
        try:
            response = self._http.get(f"{server}{path}", timeout=SHORT_TIMEOUT)
        except httpx2.HTTPError as exc:
            raise ConfigError(
                f"cannot reach {server} ({type(exc).__name__}): is the web UI running?"
            ) from None
        try:
            _raise_for(response, server)
        except BackendUnavailable as exc:
            raise ConfigError(str(exc)) from None
        return response.json()


def _raise_for(response: httpx2.Response, server: str) -> None:
    status = response.status_code
    if status < 400:
        return
    if status == 404:
        raise BackendUnavailable(
            f"{server} has no /sdapi/v1 API: start the web UI with --api", transient=False
        )
    if status in (401, 403):
        raise BackendUnavailable(
            f"{server} refused the credentials: set IMAGINE_A1111_AUTH to the user:password "
            "the web UI was started with (--api-auth)",
            transient=False,
        )
    if status == 422:
        raise BackendUnavailable(f"{server} rejected the request: {_detail(response)}", transient=False)
    raise BackendUnavailable(f"{server} answered {status}: {_detail(response)}")  # 5xx: retried


def _detail(response: httpx2.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    detail = body.get("detail") or body.get("error") or body if isinstance(body, dict) else body
    return json.dumps(detail)[:200] if not isinstance(detail, str) else detail[:200]


def _info(answer: dict[str, Any]) -> dict[str, Any]:
    try:
        info = json.loads(answer.get("info") or "{}")
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def _seeds(answer: dict[str, Any]) -> list[int | None]:
    info = _info(answer)
    seeds = info.get("all_seeds") or ([info["seed"]] if "seed" in info else [])
    count = len(answer.get("images") or [])
    return [*seeds, *[None] * count][:count]


def _b64_png(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
