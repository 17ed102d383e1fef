"""A local fake of the AUTOMATIC1111 / Forge web UI API (`--api`): the routes our backend uses.

It answers as the web UI does: txt2img/img2img return base64 PNGs and an `info` JSON string with the
seeds; `/progress` reports the whole server; a checkpoint asked for in `override_settings` becomes the
loaded one. Switches script what operators hit: no `--api` (404 on /sdapi), `--api-auth` (401),
failures (500), slow generation, a generation that never ends, a server that drops the connection.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from dataclasses import dataclass

from PIL import Image

from tests.fakes.http import FakeServer, Recorded, Reply

MODELS = [
    {"title": "v1-5-pruned-emaonly.safetensors [6ce0161689]", "model_name": "v1-5-pruned-emaonly"},
    {"title": "dreamshaper_8.safetensors [879db523c3]", "model_name": "dreamshaper_8"},
]
SAMPLERS = [{"name": "Euler a", "aliases": ["k_euler_a"]}, {"name": "DPM++ 2M", "aliases": ["k_dpmpp_2m"]}]
# What GET /sdapi/v1/upscalers lists on a fresh web UI (its resamplers and model upscalers)
UPSCALERS = [
    {"name": name, "model_name": model, "model_path": None, "model_url": None, "scale": scale}
    for name, model, scale in (
        ("None", None, 4),
        ("Lanczos", None, 4),
        ("Nearest", None, 4),
        ("ESRGAN_4x", "ESRGAN_4x", 4),
        ("LDSR", None, 4),
        ("R-ESRGAN 4x+", "RealESRGAN_x4plus", 4),
        ("R-ESRGAN 4x+ Anime6B", "RealESRGAN_x4plus_anime_6B", 4),
        ("ScuNET GAN", "ScuNET GAN", 4),
        ("SwinIR 4x", "SwinIR 4x", 4),
    )
]
# What sd-webui-controlnet lists with IP-Adapter models installed (names as it shows them)
CN_MODULES = ["none", "canny", "depth_midas", "openpose", "ip-adapter_clip_sd15", "ip-adapter_face_id_plus"]
CN_MODELS = [
    "control_v11f1p_sd15_depth [cfd03158]",
    "None",
    "control_v11p_sd15_canny [d14c016b]",
    "ip-adapter_sd15 [6a3f6166]",
    "ip-adapter-plus-face_sd15 [71693645]",
]
LORAS = [{"name": "add_detail", "alias": "add_detail", "path": "/models/Lora/add_detail.safetensors"}]


@dataclass
class Generation:
    """One txt2img/img2img call as the fake ran it."""

    route: str
    payload: dict
    seeds: list[int]


class FakeA1111(FakeServer):
    def __init__(
        self, *, seconds_per_image: float = 0.0, auth: str | None = None, forge: bool = False
    ) -> None:
        super().__init__()
        self.forge = forge  # Forge's options carry its own forge_* keys
        self.api = True  # False: started without --api
        self.auth = auth  # "user:password" as --api-auth takes it
        self.seconds_per_image = seconds_per_image
        self.fail_next: list[int] = []  # statuses for the next generations
        self.hang = False  # a generation that never finishes (until interrupted)
        self.drop_next = 0  # generations whose connection is dropped (the server restarting)
        self.loaded = MODELS[0]["title"]
        self.generations: list[Generation] = []
        self.upscalers = list(UPSCALERS)  # what GET /sdapi/v1/upscalers lists
        # The ControlNet extension's module_list and model_list (None: the extension is not there)
        self.controlnet: dict[str, list[str]] | None = {"module_list": CN_MODULES, "model_list": CN_MODELS}
        self.extras: list[dict] = []  # the Extras upscales asked for
        self.adetailer: list[str] | None = None  # ADetailer's detector models (None: not installed)
        self.interrupted = threading.Event()
        self._busy = threading.Lock()
        self._progress: dict = {"progress": 0.0, "current_image": None, "state": {"job_count": 0}}

    def answer(self, request: Recorded) -> Reply:
        path = request.path.split("?", 1)[0]
        if path.startswith("/controlnet/") and self.controlnet is not None:
            return self._controlnet(path.removeprefix("/controlnet/"))
        if path == "/adetailer/v1/ad_model" and self.adetailer is not None:
            return Reply.json({"ad_model": self.adetailer})
        if not path.startswith("/sdapi/v1/"):
            return Reply.json({"detail": "Not Found"}, 404)
        if not self.api:
            return Reply.json({"detail": "Not Found"}, 404)
        if self.auth is not None and request.headers.get("authorization") != _basic(self.auth):
            return Reply.json({"detail": "Incorrect credentials"}, 401, **{"www-authenticate": "Basic"})
        route = path.removeprefix("/sdapi/v1/")
        if route in ("txt2img", "img2img") and request.method == "POST":
            return self._generate(route, request.json())
        if route == "progress":
            return Reply.json(self._progress)
        if route == "interrupt" and request.method == "POST":
            self.interrupted.set()
            return Reply.json({})
        if route == "sd-models":
            return Reply.json(
                [{**m, "hash": m["title"][-11:-1], "filename": f"/models/{m['model_name']}"} for m in MODELS]
            )
        if route == "samplers":
            return Reply.json(SAMPLERS)
        if route == "loras":
            return Reply.json(LORAS)
        if route == "upscalers":
            return Reply.json(self.upscalers)
        if route == "scripts":  # the scripts' names, lower-cased, as the web UI lists them
            return Reply.json({"txt2img": self._scripts(), "img2img": self._scripts()})
        if route == "face-restorers":
            return Reply.json(
                [{"name": "CodeFormer", "cmd_dir": "/models/Codeformer"}, {"name": "GFPGAN", "cmd_dir": None}]
            )
        if route == "extra-single-image" and request.method == "POST":
            return self._extras(request.json())
        if route == "options":
            forge = {"forge_preset": "sd", "forge_additional_modules": []} if self.forge else {}
            return Reply.json({"sd_model_checkpoint": self.loaded, "samples_format": "png", **forge})
        return Reply.json({"detail": "Not Found"}, 404)

    def _scripts(self) -> list[str]:
        always = ["refiner", "seed", "sampler"]
        return (
            always
            + (["controlnet"] if self.controlnet is not None else [])
            + (["adetailer"] if self.adetailer is not None else [])
        )

    def _controlnet(self, route: str) -> Reply:
        """The sd-webui-controlnet extension's listings."""
        assert self.controlnet is not None
        if route in self.controlnet:
            return Reply.json({route: self.controlnet[route]})
        return Reply.json({"detail": "Not Found"}, 404)

    def _extras(self, payload: dict) -> Reply:
        """The Extras tab's upscale: ExtrasSingleImageRequest in, {"image", "html_info"} out."""
        names = [u["name"] for u in self.upscalers]
        if not payload.get("image"):
            return Reply.json({"detail": [{"loc": ["body", "image"], "msg": "field required"}]}, 422)
        if payload.get("upscaler_1", "None") not in names:
            return Reply.json(
                {"error": "KeyError", "detail": f"could not find upscaler named {payload['upscaler_1']}"}, 500
            )
        self.extras.append(payload)
        picture = _decoded(payload["image"])
        factor = float(payload.get("upscaling_resize", 2))
        size = (round(picture.width * factor), round(picture.height * factor))
        return Reply.json({"image": _png(picture.resize(size, Image.Resampling.LANCZOS)), "html_info": ""})

    def _generate(self, route: str, payload: dict) -> Reply:
        if self.drop_next:
            self.drop_next -= 1
            raise ConnectionAbortedError("the fake server restarts")  # the handler dies: no answer
        if self.fail_next:
            return Reply.json(
                {"error": "RuntimeError", "detail": "CUDA out of memory"}, self.fail_next.pop(0)
            )
        for script in payload.get("alwayson_scripts") or {}:  # the web UI's get_script, by lower-cased name
            if script.lower() not in self._scripts():
                return Reply.json(
                    {"error": "HTTPException", "detail": f"always on script {script} not found"}, 422
                )
        detailer = ((payload.get("alwayson_scripts") or {}).get("ADetailer") or {}).get("args")
        if detailer is not None and not _adetailer_args(detailer, self.adetailer or []):
            return Reply.json({"detail": [{"loc": ["body", "alwayson_scripts"], "msg": "invalid args"}]}, 422)
        problem = _unprocessable(payload, route)
        if problem:
            return Reply.json({"detail": [{"loc": ["body", problem], "msg": "field required"}]}, 422)
        with self._busy:  # the web UI runs one generation at a time
            checkpoint = (payload.get("override_settings") or {}).get("sd_model_checkpoint")
            if checkpoint:
                self.loaded = next((m["title"] for m in MODELS if checkpoint in m.values()), checkpoint)
            count = int(payload.get("batch_size", 1)) * int(payload.get("n_iter", 1))
            seed = int(payload.get("seed", -1))
            first = seed if seed >= 0 else 1000 + len(self.generations)
            seeds = [first + i for i in range(count)]
            width, height = int(payload.get("width", 512)), int(payload.get("height", 512))
            if payload.get("enable_hr"):  # the hires fix's second pass: hr_scale times the first
                scale = float(payload.get("hr_scale", 2))
                width, height = round(width * scale), round(height * scale)
            preview = _png(Image.new("RGB", (max(1, width // 8), max(1, height // 8)), (90, 90, 90)))
            self._progress = {"progress": 0.5, "current_image": preview, "state": {"job_count": 1}}
            self.interrupted.clear()
            deadline = time.monotonic() + self.seconds_per_image * count
            while self.hang or time.monotonic() < deadline:
                if self.interrupted.wait(0.02):
                    break
            self._progress = {"progress": 0.0, "current_image": None, "state": {"job_count": 0}}
            self.generations.append(Generation(route, payload, seeds))
            pictures = [_picture(width, height, s) for s in seeds]
            if payload.get("mask"):  # inpainting: the server draws where the mask is white, keeps the rest
                source, mask = _decoded(payload["init_images"][0]), _decoded(payload["mask"]).convert("L")
                pictures = [Image.composite(p, source.resize(p.size), mask) for p in pictures]
            images = [_png(p) for p in pictures]
        info = {"seed": seeds[0], "all_seeds": seeds, "sd_model_name": self.loaded.split(".")[0]}
        return Reply.json({"images": images, "parameters": payload, "info": json.dumps(info)})


def _unprocessable(payload: dict, route: str) -> str | None:
    if "prompt" not in payload:
        return "prompt"
    if route == "img2img" and not payload.get("init_images"):
        return "init_images"
    if payload.get("mask"):  # the web UI's StableDiffusionImg2ImgProcessingAPI fields for inpainting
        size = (int(payload.get("width", 512)), int(payload.get("height", 512)))
        if route != "img2img" or _decoded(payload["mask"]).size != size:
            return "mask"
        if payload.get("inpainting_fill") not in (0, 1, 2, 3) or not isinstance(
            payload.get("inpaint_full_res"), bool
        ):
            return "inpainting_fill"
    for unit in ((payload.get("alwayson_scripts") or {}).get("controlnet") or {}).get("args") or []:
        # sd-webui-controlnet's unit: a module and a model it lists, a picture, a weight
        if (
            unit.get("module") not in CN_MODULES
            or unit.get("model") not in CN_MODELS
            or not unit.get("image")
        ):
            return "alwayson_scripts"
        _decoded(unit["image"])
        if not 0 <= float(unit.get("weight", 1)) <= 2:
            return "alwayson_scripts"
    return None


def _adetailer_args(args: list, models: list[str]) -> bool:
    """ADetailer's API arguments: enabled, skip img2img, then a dict per pass naming a model it has."""
    passes = args[2:] if len(args) > 2 and all(isinstance(a, bool) for a in args[:2]) else args
    return bool(passes) and all(isinstance(p, dict) and p.get("ad_model") in models for p in passes)


def _decoded(data: str) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    image.load()
    return image


def _basic(auth: str) -> str:
    return "Basic " + base64.b64encode(auth.encode()).decode()


def _picture(width: int, height: int, seed: int) -> Image.Image:
    return Image.new("RGB", (width, height), (seed * 37 % 256, seed * 91 % 256, 128))


def _png(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()
