"""A fake of OpenAI's images API: generations (JSON, or server-sent events when streaming) and edits
(multipart), base64 results, and the error bodies and headers OpenAI sends."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from collections import deque

from PIL import Image

from shared.configuration.config import MODERATION_CATEGORIES
from tests.fakes.http import FakeServer, Recorded, Reply

BAD_KEY = "sk-bad"
# What /v1/models lists of image models: the GPT image models current in November 2026.
IMAGE_MODELS = (
    "gpt-image-2.6-sunburst",
    "gpt-image-2.6-flare",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-flare",
    "gpt-image-2",
    "gpt-image-1.5",
)


def _error(status: int, message: str, type_: str, code: str | None = None, **headers: str) -> Reply:
    return Reply.json(
        {"error": {"message": message, "type": type_, "param": None, "code": code}}, status, **headers
    )


FAILURES = {
    "rate_limited": lambda: _error(
        429,
        "Rate limit reached for images per minute.",
        "requests",
        "rate_limit_exceeded",
        **{"retry-after": "1"},
    ),
    "server_error": lambda: _error(500, "The server had an error processing your request.", "server_error"),
    "safety": lambda: _error(
        400,
        "Your request was rejected as a result of our safety system.",
        "image_generation_user_error",
        "moderation_blocked",
    ),
    "insufficient_quota": lambda: _error(
        429,
        "You exceeded your current quota, please check your plan.",
        "insufficient_quota",
        "insufficient_quota",
    ),
}


class FakeOpenAI(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self._failures: deque[str] = deque()
        self.chat_mode = "structured"  # or malformed, leak, timeout, lines (plain text), or a FAILURES kind
        self.chat_delay = 3.0
        self.moderation_down = False
        self.flag_words: dict[str, str] = {}  # a word in the input -> the category it flags
        self.image_flag = "sexual"  # the category an image with the placeholder's test marker is flagged
        self.failing_until = 0.0  # time.monotonic() before which image requests get a 500
        self.edit_inputs: list[list[bytes]] = []  # the input images of each edits request, in order
        self.edit_masks: list[bytes | None] = []  # each edits request's mask, if it sent one

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def env(self, key: str = "sk-test-1") -> dict[str, str]:
        """What an `imagine` process needs to talk to this fake."""
        return {"OPENAI_API_KEY": key, "OPENAI_BASE_URL": self.base_url}

    def fail_next(self, kind: str, times: int = 1) -> None:
        """The next `times` image requests fail as `kind` (see FAILURES)."""
        self._failures.extend([kind] * times)

    def fail_until(self, deadline: float) -> None:
        """An outage: every image request answers 500 until time.monotonic() reaches `deadline`."""
        self.failing_until = deadline

    def image_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/v1/images/")]

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    def moderation_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v1/moderations"]

    def answer(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") == f"Bearer {BAD_KEY}":
            return _error(401, "Incorrect API key provided.", "invalid_request_error", "invalid_api_key")
        if request.path == "/v1/chat/completions":
            return self._chat(request.json())
        if request.path == "/v1/moderations":
            return self._moderation(request.json())
        if request.path == "/v1/models":
            models = [*IMAGE_MODELS, "gpt-text-fake", "omni-moderation-latest"]
            return Reply.json(
                {
                    "object": "list",
                    "data": [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in models],
                }
            )
        if request.path.startswith("/v1/images/") and time.monotonic() < self.failing_until:
            return FAILURES["server_error"]()
        if self._failures:
            return FAILURES[self._failures.popleft()]()
        if request.path == "/v1/images/generations":
            params = request.json()
            return self._stream(params) if params.get("stream") else self._images(params)
        if request.path == "/v1/images/edits":
            parts = request.form_parts()
            files = {"image", "image[]", "mask"}
            params = {name: data.decode() for name, _, data in parts if name not in files}
            images = [data for name, _, data in parts if name.startswith("image")]
            mask = next((data for name, _, data in parts if name == "mask"), None)
            self.edit_inputs.append(images)
            self.edit_masks.append(mask)
            if mask is not None and not _fits_as_mask(mask, images[0]):
                return _error(
                    400,
                    "Invalid mask: a PNG with an alpha channel, the image's size",
                    "invalid_request_error",
                )
            return self._images(params)
        return _error(404, f"Unknown path {request.path}", "invalid_request_error")

    # --- chat completions: the prompt writer ------------------------------------------------------

    def _chat(self, params: dict) -> Reply:
        """Structured answers built from the JSON data the writer sends, or the failure `chat_mode` names."""
        mode = self.chat_mode
        if mode in FAILURES:
            return FAILURES[mode]()
        if mode == "timeout":
            threading.Event().wait(self.chat_delay)  # longer than the client waits
        system, content = params["messages"][0]["content"], params["messages"][1]["content"]
        user = {"picture": _colour_of(content)} if isinstance(content, list) else json.loads(content)
        if "picture" in user:  # /describe: four prompts naming the picture's main colour
            answer = {
                "suggestions": [
                    {
                        "content_type": kind,
                        "description": f"a {user['picture']} scene",
                        "style": "bold shapes",
                        "composition": "centered, soft light",
                    }
                    for kind in ("a photo", "an oil painting", "a 3D render", "pixel art")
                ]
            }
        elif "idea" in user:
            answer = {
                "content_type": "a detailed digital painting",
                "description": user["idea"],
                "style": f"{user.get('style') or 'soft pastel palette'}, calm mood",
                "composition": "wide shot, golden-hour light, sharp focus",
            }
        else:
            answer = {"prompt": f"{user['current']}, {user['change']}", "change": f"added “{user['change']}”"}
        if mode == "leak":
            answer[next(iter(answer))] = system
        content = "{not json" if mode == "malformed" else json.dumps(answer)
        if mode == "lines" and "suggestions" in answer:  # a server that ignores response_format
            content = "Here are four prompts:\n" + "\n".join(
                f"{n}. {s['content_type']} of {s['description']}"
                for n, s in enumerate(answer["suggestions"], 1)
            )
        message = {"role": "assistant", "content": content, "refusal": None}
        return Reply.json(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": params["model"],
                "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": 50, "completion_tokens": 40, "total_tokens": 90},
            }
        )

    # --- moderation -------------------------------------------------------------------------------

    def _moderation(self, params: dict) -> Reply:
        if self.moderation_down:
            return FAILURES["server_error"]()
        inputs = params["input"] if isinstance(params["input"], list) else [params["input"]]
        if inputs and isinstance(inputs[0], dict):  # one multi-modal input: text and image parts
            return Reply.json(
                {"id": "modr-fake", "model": params.get("model"), "results": [self._image_result(inputs)]}
            )
        results = []
        for text in inputs:
            flagged = {c for word, c in self.flag_words.items() if word in text.lower()}
            categories = {c: c in flagged for c in MODERATION_CATEGORIES}
            results.append(
                {
                    "flagged": bool(flagged),
                    "categories": categories,
                    "category_scores": {c: 0.9 if hit else 0.001 for c, hit in categories.items()},
                    "category_applied_input_types": {c: ["text"] for c in MODERATION_CATEGORIES},
                }
            )
        return Reply.json({"id": "modr-fake", "model": params.get("model"), "results": results})

    def _image_result(self, parts: list[dict]) -> dict:
        """An image is flagged (`image_flag`, "sexual" by default) when it carries the placeholder's
        test marker, a magenta square in its top-left corner."""
        flagged = set()
        for part in parts:
            if part.get("type") == "image_url":
                header, _, data = part["image_url"]["url"].partition(",")
                assert header.startswith("data:image/"), header
                with Image.open(io.BytesIO(base64.b64decode(data))) as image:
                    if image.convert("RGB").getpixel((2, 2)) == (255, 0, 255):
                        flagged.add(self.image_flag)
        categories = {c: c in flagged for c in MODERATION_CATEGORIES}
        return {
            "flagged": bool(flagged),
            "categories": categories,
            "category_scores": {c: 0.9 if hit else 0.001 for c, hit in categories.items()},
            "category_applied_input_types": {
                c: ["image"] if c in flagged else [] for c in MODERATION_CATEGORIES
            },
        }

    def _images(self, params: dict) -> Reply:
        size = params.get("size", "1024x1024")
        n = int(params.get("n", 1))
        return Reply.json(
            {
                "created": int(time.time()),
                "data": [{"b64_json": _png(size, i)} for i in range(n)],
                "size": size,
                "quality": "medium" if params.get("quality", "auto") == "auto" else params["quality"],
                "output_format": params.get("output_format", "png"),
                "usage": {
                    "input_tokens": 10,
                    "output_tokens": 100,
                    "total_tokens": 110,
                    "input_tokens_details": {"image_tokens": 0, "text_tokens": 10},
                },
            }
        )

    def _stream(self, params: dict) -> Reply:
        size = params.get("size", "1024x1024")
        events = []
        for index in range(int(params.get("partial_images", 0))):
            events.append(
                (
                    "image_generation.partial_image",
                    {
                        "type": "image_generation.partial_image",
                        "b64_json": _png(size, 100 + index),
                        "partial_image_index": index,
                        "size": size,
                        "quality": "medium",
                        "background": "opaque",
                        "output_format": "png",
                        "created_at": int(time.time()),
                    },
                )
            )
        for image in range(int(params.get("n", 1))):
            events.append(
                (
                    "image_generation.completed",
                    {
                        "type": "image_generation.completed",
                        "b64_json": _png(size, image),
                        "size": size,
                        "quality": "medium",
                        "background": "opaque",
                        "output_format": "png",
                        "created_at": int(time.time()),
                        "usage": {
                            "input_tokens": 10,
                            "output_tokens": 100,
                            "total_tokens": 110,
                            "input_tokens_details": {"image_tokens": 0, "text_tokens": 10},
                        },
                    },
                )
            )
        chunks = [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]
        return Reply(200, chunks=chunks, headers={"content-type": "text/event-stream"})


COLOUR_NAMES = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "grey": (128, 128, 128)}


def _colour_of(parts: list[dict]) -> str:
    """The name of the colour nearest the mean of the one picture sent (a data URL)."""
    url = next(p["image_url"]["url"] for p in parts if p.get("type") == "image_url")
    header, _, data = url.partition(",")
    assert header.startswith("data:image/") and header.endswith(";base64"), header
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        mean = image.convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    return min(
        COLOUR_NAMES, key=lambda n: sum((a - b) ** 2 for a, b in zip(COLOUR_NAMES[n], mean, strict=True))
    )


def _png(size: str, shade: int) -> str:
    width, height = (int(x) for x in size.split("x"))
    buffer = io.BytesIO()
    Image.new("RGB", (width // 16, height // 16), (shade % 256, 80, 160)).resize((width, height)).save(
        buffer, format="PNG", compress_level=1
    )
    return base64.b64encode(buffer.getvalue()).decode()


def _fits_as_mask(mask: bytes, image: bytes) -> bool:
    """As the edits endpoint documents it: a PNG whose transparent areas are to be edited, the size of
    the (first) image."""
    with Image.open(io.BytesIO(mask)) as drawn, Image.open(io.BytesIO(image)) as picture:
        return drawn.format == "PNG" and drawn.mode in ("RGBA", "LA") and drawn.size == picture.size
