"""The shipped ComfyUI workflows in API format ("Save (API)"): ComfyUI's default text-to-image graph for
SD 1.x/2.x/SDXL checkpoints, the same with a loaded image encoded as the starting latent, that
repainting only where the loaded image is transparent, and a loaded image through an upscaler model.

Node ids match the default slots of `[comfyui.workflows.NAME]` (shared/config.py: ComfyWorkflow).
"""

from __future__ import annotations

from typing import Any

TXT2IMG: dict[str, Any] = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 0,
            "steps": 25,
            "cfg": 7.0,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1.0,
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["4", 1]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "imagine", "images": ["8", 0]}},
}

IMG2IMG: dict[str, Any] = {
    **{node: spec for node, spec in TXT2IMG.items() if node != "5"},
    "3": {
        "class_type": "KSampler",
        "inputs": {**TXT2IMG["3"]["inputs"], "denoise": 0.6, "latent_image": ["11", 0]},
    },
    "10": {"class_type": "LoadImage", "inputs": {"image": "imagine-source.png"}},
    "11": {"class_type": "VAEEncode", "inputs": {"pixels": ["10", 0], "vae": ["4", 2]}},
}

# Repaint where the picture is transparent: LoadImage's MASK output is 1 - alpha, laid on the encoded
# picture as the noise mask, so the sampler draws there and the kept area steers it.
INPAINT: dict[str, Any] = {
    **IMG2IMG,
    "3": {
        "class_type": "KSampler",
        "inputs": {**TXT2IMG["3"]["inputs"], "denoise": 0.9, "latent_image": ["12", 0]},
    },
    "12": {"class_type": "SetLatentNoiseMask", "inputs": {"samples": ["11", 0], "mask": ["10", 1]}},
}

SHIPPED = {"txt2img": TXT2IMG, "img2img": IMG2IMG, "inpaint": INPAINT}

# Upscale (Subtle): the picture through an upscaler model of the server's models/upscale_models
# (`[comfyui] upscale_model`), at the model's own scale; the worker fits it to ×2 or ×4.
UPSCALE: dict[str, Any] = {
    "10": {"class_type": "LoadImage", "inputs": {"image": "imagine-source.png"}},
    "13": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "RealESRGAN_x4plus.pth"}},
    "14": {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["13", 0], "image": ["10", 0]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "imagine-upscaled", "images": ["14", 0]}},
}
