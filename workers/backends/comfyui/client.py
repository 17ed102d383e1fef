"""ComfyUI's HTTP API and its progress websocket: a graph queued with `POST /prompt`, followed by
polling `GET /history/{id}` (and the websocket's previews and queue places), images fetched from
`GET /view`, pictures uploaded with `POST /upload/image`; its errors turned into what to fix."""

from __future__ import annotations

import io
import json
import logging
import struct
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx2
from PIL import Image, ImageOps
from websockets.exceptions import WebSocketException
from websockets.sync.client import connect as ws_connect

from shared import messages
from shared.errors import BackendUnavailable, Cancelled, ConfigError
from workers.backends.base import engine_picture
from workers.backends.comfyui.config import ComfyUIConfig

log = logging.getLogger(__name__)
SHORT_TIMEOUT = 10.0
SOCKET_OPEN_SECONDS = 2.0
PREVIEW_EVENT = 1  # the binary message type ComfyUI uses for a preview image
CLIENT_ID = f"imagine-{uuid.uuid4().hex[:8]}"


class ComfyClient:
    """ComfyUI's HTTP API, with its errors turned into what to fix."""

    def __init__(self, config: ComfyUIConfig) -> None:
        self._config = config
        self._http = httpx2.Client(timeout=httpx2.Timeout(SHORT_TIMEOUT, read=60.0))

    def upload(
        self,
        server: str,
        image: Image.Image | None,
        width: int,
        height: int,
        *,
        mask: Image.Image | None = None,
    ) -> str:
        """The picture into the server's input folder; with `mask`, transparent where to draw (what
        LoadImage gives as its MASK output)."""
        assert image is not None
        picture = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        if mask is not None:
            picture.putalpha(ImageOps.invert(mask.convert("L").resize((width, height))))
        buffer = io.BytesIO()
        picture.save(buffer, format="PNG")
        name = f"imagine-{uuid.uuid4().hex}.png"
        files = {"image": (name, buffer.getvalue(), "image/png")}
        answer = self._call("POST", server, "/upload/image", files=files, data={"overwrite": "true"})
        return str(answer.get("name") or name)

    def run(
        self,
        server: str,
        graph: dict[str, Any],
        output: str,
        on_preview: Callable[[bytes], None] | None = None,
        on_progress: Callable[[str], None] | None = None,
        check_stop: Callable[[], None] = lambda: None,
    ) -> list[Image.Image]:
        """Queue the graph, wait for it, and fetch the output node's images; previews and steps from
        the server's websocket meanwhile, where someone listens. `check_stop` raises once the member
        cancels: the prompt is then taken off the server's queue, or interrupted."""
        with ProgressWatcher(server, on_preview, on_progress):
            return self._run(server, graph, output, check_stop)

    def _run(
        self, server: str, graph: dict[str, Any], output: str, check_stop: Callable[[], None]
    ) -> list[Image.Image]:
        answer = self._call("POST", server, "/prompt", json={"prompt": graph, "client_id": CLIENT_ID})
        prompt_id = answer["prompt_id"]
        deadline = time.monotonic() + self._config.timeout_seconds
        while True:
            history = self._call("GET", server, f"/history/{prompt_id}").get(prompt_id)
            if history:
                status = history.get("status") or {}
                if status.get("status_str") == "error":
                    raise BackendUnavailable(
                        f"{server}: the workflow failed: {_execution_error(status)}", transient=False
                    )
                if status.get("completed", True) and history.get("outputs") is not None:
                    refs = (history["outputs"].get(output) or {}).get("images") or []
                    return [self._view(server, ref) for ref in refs if ref.get("type") == "output"]
            try:
                check_stop()
            except Cancelled:
                self._cancel(server, prompt_id)
                raise
            if time.monotonic() > deadline:
                self._cancel(server, prompt_id)
                raise BackendUnavailable(
                    f"the image server did not finish in {self._config.timeout_seconds:.0f} s",
                    transient=False,
                )
            time.sleep(self._config.poll_seconds)

    def _view(self, server: str, ref: dict[str, Any]) -> Image.Image:
        params = {"filename": ref["filename"], "subfolder": ref.get("subfolder", ""), "type": ref["type"]}
        response = self._request("GET", server, "/view", params=params)
        return engine_picture(response.content, server)

    def _cancel(self, server: str, prompt_id: str) -> None:
        """Take the prompt out of the queue, and stop it if it is the one running."""
        for path, body in (("/queue", {"delete": [prompt_id]}), ("/interrupt", {"prompt_id": prompt_id})):
            try:
                self._http.post(f"{server}{path}", json=body, timeout=SHORT_TIMEOUT)
            except httpx2.HTTPError as exc:
                log.warning("comfyui: could not %s on %s: %s", path, server, type(exc).__name__)

    def object_info(self, server: str, node_class: str) -> dict[str, Any]:
        """A node class's inputs (checkpoint and LoRA names for doctor); raises ConfigError."""
        try:
            return self._call("GET", server, f"/object_info/{node_class}").get(node_class) or {}
        except BackendUnavailable as exc:
            raise ConfigError(str(exc)) from None

    def _call(self, method: str, server: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self._request(method, server, path, **kwargs).json()

    def _request(self, method: str, server: str, path: str, **kwargs: Any) -> httpx2.Response:
        try:
            response = self._http.request(method, f"{server}{path}", **kwargs)
        except httpx2.TransportError as exc:  # refused, reset: the server is (re)starting
            raise BackendUnavailable(f"cannot reach {server}: {type(exc).__name__}") from None
        if response.status_code == 400 and path == "/prompt":
            raise BackendUnavailable(
                f"{server} refused the workflow: {_node_errors(response)}", transient=False
            )
        if response.status_code == 404:
            raise BackendUnavailable(
                f"{server} has no {path.split('?')[0]}: is it a ComfyUI server?", transient=False
            )
        if response.status_code >= 400:
            raise BackendUnavailable(f"{server} answered {response.status_code} to {path}")  # retried
        return response


class ProgressWatcher:
    """ComfyUI's websocket (`/ws?clientId=…`), read on a thread of its own for previews (binary
    messages: event 1, format 1 JPEG / 2 PNG, the image) and steps (`progress` messages). It only adds
    to the status: a socket that fails or stalls is dropped, and the job goes on by /history."""

    def __init__(
        self,
        server: str,
        on_preview: Callable[[bytes], None] | None,
        on_progress: Callable[[str], None] | None,
    ) -> None:
        self._url = server.replace("http", "ws", 1) + f"/ws?clientId={CLIENT_ID}"
        self._on_preview = on_preview
        self._on_progress = on_progress
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="comfyui-progress", daemon=True)

    def __enter__(self) -> ProgressWatcher:
        if self._on_preview is not None or self._on_progress is not None:
            self._thread.start()
            self._ready.wait(SOCKET_OPEN_SECONDS)  # queued before the socket is open, a preview is missed
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()

    def _watch(self) -> None:
        try:
            with ws_connect(
                self._url, open_timeout=SOCKET_OPEN_SECONDS, proxy=None, close_timeout=1
            ) as socket:
                self._ready.set()
                while not self._stop.is_set():
                    try:
                        message = socket.recv(timeout=0.2)
                    except TimeoutError:
                        continue
                    self._handle(message)
        except (OSError, WebSocketException) as exc:
            log.info("comfyui: no live previews from %s (%s)", self._url, type(exc).__name__)
        finally:
            self._ready.set()

    def _handle(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            if len(message) > 8 and struct.unpack(">I", message[:4])[0] == PREVIEW_EVENT and self._on_preview:
                self._on_preview(message[8:])
            return
        try:
            event = json.loads(message)
        except ValueError:
            return
        data = event.get("data") or {}
        if event.get("type") == "progress" and self._on_progress and data.get("max"):
            self._on_progress(messages.drawing_step(int(data.get("value") or 0), int(data["max"])))


def _node_errors(response: httpx2.Response) -> str:
    """'node 4 (CheckpointLoaderSimple): Value not in list: ckpt_name …' from a refused /prompt."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    parts = []
    for node, problem in (body.get("node_errors") or {}).items():
        for error in problem.get("errors") or []:
            parts.append(
                f"node {node} ({problem.get('class_type')}): {error.get('message')}: {error.get('details')}"
            )
    error = body.get("error") or {}
    return "; ".join(parts) or f"{error.get('message', '')} {error.get('details', '')}".strip()


def _execution_error(status: dict[str, Any]) -> str:
    for kind, data in status.get("messages") or []:
        if kind == "execution_error":
            return f"node {data.get('node_id')} ({data.get('node_type')}): {data.get('exception_message')}"
    return "an execution error"
