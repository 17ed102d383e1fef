"""OpenAI image models (or any OpenAI-compatible server) through the official client.

The client already retries 429, 5xx and timeouts with exponential backoff and jitter, honouring
Retry-After; what is still failing after `max_retries` is handed to RQ's retries as transient.
"""

from __future__ import annotations

import base64
import io
import logging

import openai
from PIL import Image, ImageOps

from shared.configuration.settings import Settings
from shared.drawing import sizes
from shared.errors import BackendRefused, BackendUnavailable, ConfigError, InvalidRequest
from shared.textmodels.openai_client import openai_client
from workers.backends.base import GeneratedImage, Generation, GenerationTask, engine_picture
from workers.backends.openai.config import OpenAIConfig

log = logging.getLogger(__name__)
SAFETY_CODES = {"moderation_blocked", "content_policy_violation", "image_generation_user_error"}


class OpenAIBackend:
    name = "openai"

    def __init__(self, settings: Settings) -> None:
        if settings.openai_api_key is None:
            raise ConfigError(
                "OPENAI_API_KEY is not set: the openai backend needs it "
                "(for an OpenAI-compatible server, set OPENAI_BASE_URL and any key it accepts)"
            )
        self._config: OpenAIConfig = settings.config.openai
        self._default_model = self._config.default_model  # IMAGINE_IMAGE_MODEL applied (load_settings)
        self._client = openai_client(
            settings, max_retries=self._config.max_retries, timeout=self._config.timeout_seconds
        )

    def verify(self) -> None:
        """At the worker's start: the key and the server answer (a model listing, never retried), so a
        bad key is one line at start instead of every member's job failing."""
        where = self._client.base_url
        try:
            self._client.with_options(max_retries=0, timeout=10).models.list()
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise ConfigError(
                f"OPENAI_API_KEY was rejected by {where} (HTTP {exc.status_code}): "
                "create a key at https://platform.openai.com/api-keys (or fix OPENAI_BASE_URL)"
            ) from None
        except openai.APIConnectionError:
            raise ConfigError(f"cannot reach {where} (OPENAI_BASE_URL): is it right, and up?") from None
        except openai.APIError as exc:  # a compatible server without a model listing: jobs will tell
            log.warning("openai: %s does not list its models (%s); not checked", where, type(exc).__name__)

    def generate(self, task: GenerationTask) -> Generation:
        model = task.model or self._default_model
        size = sizes.openai_size(model, task.width, task.height, task.aspect)
        params = {
            "model": model,
            "prompt": _with_negative(task.prompt, task.negative),
            "n": task.count,
            "size": size,
            "quality": task.quality,
            "output_format": self._config.output_format,
            "moderation": self._config.moderation,
        }
        if task.user_hash:
            params["safety_identifier"] = task.user_hash
        try:
            if task.init_image is not None or task.reference_pictures:
                response = self._edit(task, params)
            elif self._config.partial_images and task.on_preview is not None:
                response = self._stream(task, params)
            else:
                response = _Response.of(self._client.images.generate(**params))
        except openai.APIError as exc:
            raise _translate(exc, model) from None
        images = [GeneratedImage(_decode(b64), seed=None) for b64 in response.b64_images]
        quality = response.quality or ("medium" if task.quality == "auto" else task.quality)
        cost = self._price(model, response.size or size, quality) * len(images)
        return Generation(images=images, model=model, revised_prompt=response.revised_prompt, cost_usd=cost)

    def _edit(self, task: GenerationTask, params: dict) -> _Response:
        """The previous image, or the member's pictures (several for a blend), through the edits endpoint;
        reference pictures go after them, the prompt saying what each is for."""
        pictures = [p for p in (task.init_image, *task.more_images) if p is not None]
        pictures += [picture for _, picture in task.reference_pictures]
        files = [(f"image-{n}.png", _png(picture), "image/png") for n, picture in enumerate(pictures, 1)]
        edit_params = {k: v for k, v in params.items() if k != "moderation"}  # edits take no moderation level
        if task.reference_pictures:
            edit_params["prompt"] = _with_references(edit_params["prompt"], task)
        if task.mask is not None:  # transparent where to draw, as the edits endpoint reads a mask
            edit_params["mask"] = ("mask.png", _png(_as_alpha(task.mask, task.init_image.size)), "image/png")
        result = self._client.images.edit(image=files if len(files) > 1 else files[0], **edit_params)
        return _Response.of(result)

    def _stream(self, task: GenerationTask, params: dict) -> _Response:
        """Streaming with partial images: each partial goes to `on_preview`, the completed ones are kept."""
        finished: list[str] = []
        final = _Response([], None, None, None)
        for event in self._client.images.generate(
            stream=True, partial_images=self._config.partial_images, **params
        ):
            if event.type == "image_generation.partial_image":
                task.on_preview(base64.b64decode(event.b64_json))  # type: ignore[misc]
            elif event.type == "image_generation.completed":
                finished.append(event.b64_json)
                final = _Response(finished, event.size, event.quality, None)
        return final

    def _price(self, model: str, size: str, quality: str) -> float:
        """USD per image from the config's price table; sizes not listed scale from 1024x1024 by area."""
        table = self._config.prices.get(model, {})
        if size in table and quality in table[size]:
            return table[size][quality]
        base = table.get("1024x1024", {}).get(quality)
        if base is None:
            return 0.0
        width, height = (int(x) for x in size.split("x"))
        return base * width * height / (1024 * 1024)


def _as_alpha(mask: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Our mask (white: draw) as OpenAI's: a PNG fully transparent where to draw, opaque elsewhere."""
    layer = Image.new("RGBA", size, (0, 0, 0, 255))
    layer.putalpha(ImageOps.invert(mask.convert("L").resize(size)))
    return layer


class _Response:
    """The parts of an images response (plain or streamed) that we use."""

    def __init__(self, b64_images: list[str], size: str | None, quality: str | None, revised: str | None):
        self.b64_images = b64_images
        self.size = size
        self.quality = quality
        self.revised_prompt = revised

    @classmethod
    def of(cls, response) -> _Response:
        data = response.data or []
        revised = next((d.revised_prompt for d in data if getattr(d, "revised_prompt", None)), None)
        return cls([d.b64_json for d in data if d.b64_json], response.size, response.quality, revised)


REFERENCE_WORDS = {
    "style": "in the style of the reference image",
    "character": "with the same character as in the reference image",
}


def _with_references(prompt: str, task: GenerationTask) -> str:
    """The prompt with what each reference picture is for, and how closely to follow it (--sw)."""
    said = [REFERENCE_WORDS[kind] for kind, _ in task.reference_pictures]
    closeness = "closely" if task.reference_weight >= 70 else "loosely" if task.reference_weight <= 30 else ""
    return f"{prompt}, {' and '.join(said)}" + (f" (follow it {closeness})" if closeness else "")


def _with_negative(prompt: str, negative: str | None) -> str:
    """GPT image models take no negative prompt; saying it in words works."""
    return f"{prompt}\n\nAvoid: {negative}" if negative else prompt


def _png(picture: Image.Image | None) -> bytes:
    buffer = io.BytesIO()
    picture.convert("RGBA").save(buffer, format="PNG")  # type: ignore[union-attr]
    return buffer.getvalue()


def _decode(b64: str) -> Image.Image:
    return engine_picture(base64.b64decode(b64), "OpenAI", rgb=False)


def _translate(exc: openai.APIError, model: str) -> Exception:
    """OpenAI's errors as ours: what the user is told and whether retrying can help."""
    code = getattr(exc, "code", None) or ""
    if isinstance(exc, openai.BadRequestError) and (code in SAFETY_CODES or "safety" in str(exc).lower()):
        return BackendRefused("the image service's safety system refused the prompt")
    if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
        log.error("OpenAI rejected the API key (HTTP %s): check OPENAI_API_KEY", exc.status_code)
        return BackendUnavailable(
            f"OpenAI rejected the API key (HTTP {exc.status_code}): check OPENAI_API_KEY", transient=False
        )
    if isinstance(exc, openai.RateLimitError) and code == "insufficient_quota":
        log.error("OpenAI says the account's quota is exhausted: check the billing of OPENAI_API_KEY")
        return BackendUnavailable("OpenAI account quota exhausted", transient=False)
    if isinstance(exc, openai.NotFoundError):
        log.error("OpenAI does not know the model %r (HTTP 404)", model)
        return BackendUnavailable(f"model {model} not found", transient=False)
    if isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
        log.warning("OpenAI rejected the request: %s", exc.message)
        return InvalidRequest(f"The image service could not draw this request: {exc.message}")
    log.warning("OpenAI unavailable after retries: %s", type(exc).__name__)
    return BackendUnavailable(f"OpenAI unavailable ({type(exc).__name__})", transient=True)
