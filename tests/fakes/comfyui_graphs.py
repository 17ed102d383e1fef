"""API-format graphs shaped as ComfyUI's "Export (API)" writes its own example workflows: node ids,
class types and inputs as in ComfyUI's Flux dev, SDXL base+refiner and SD 3.5 examples (links are
`[node id, output index]`)."""

from __future__ import annotations

from typing import Any

FLUX_DEV: dict[str, Any] = {
    "6": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "a bottle with a rainbow galaxy inside it", "clip": ["11", 0]},
        "_meta": {"title": "CLIP Text Encode (Positive Prompt)"},
    },
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["13", 0], "vae": ["10", 0]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    "10": {"class_type": "VAELoader", "inputs": {"vae_name": "ae.safetensors"}},
    "11": {
        "class_type": "DualCLIPLoader",
        "inputs": {
            "clip_name1": "t5xxl_fp16.safetensors",
            "clip_name2": "clip_l.safetensors",
            "type": "flux",
            "device": "default",
        },
    },
    "12": {
        "class_type": "UNETLoader",
        "inputs": {"unet_name": "flux1-dev.safetensors", "weight_dtype": "default"},
    },
    "13": {
        "class_type": "SamplerCustomAdvanced",
        "inputs": {
            "noise": ["25", 0],
            "guider": ["22", 0],
            "sampler": ["16", 0],
            "sigmas": ["17", 0],
            "latent_image": ["27", 0],
        },
    },
    "16": {"class_type": "KSamplerSelect", "inputs": {"sampler_name": "euler"}},
    "17": {
        "class_type": "BasicScheduler",
        "inputs": {"scheduler": "simple", "steps": 20, "denoise": 1.0, "model": ["30", 0]},
    },
    "22": {"class_type": "BasicGuider", "inputs": {"model": ["30", 0], "conditioning": ["26", 0]}},
    "25": {"class_type": "RandomNoise", "inputs": {"noise_seed": 219670278747233}},
    "26": {"class_type": "FluxGuidance", "inputs": {"guidance": 3.5, "conditioning": ["6", 0]}},
    "27": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
    "30": {
        "class_type": "ModelSamplingFlux",
        "inputs": {"max_shift": 1.15, "base_shift": 0.5, "width": 1024, "height": 1024, "model": ["12", 0]},
    },
}

SDXL_REFINER: dict[str, Any] = {
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "evening sunset scenery", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
    "10": {
        "class_type": "KSamplerAdvanced",
        "inputs": {
            "add_noise": "enable",
            "noise_seed": 721897303308196,
            "steps": 25,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "start_at_step": 0,
            "end_at_step": 20,
            "return_with_leftover_noise": "enable",
            "model": ["4", 0],
            "positive": ["6", 0],
            "negative": ["7", 0],
            "latent_image": ["5", 0],
        },
    },
    "11": {
        "class_type": "KSamplerAdvanced",
        "inputs": {
            "add_noise": "disable",
            "noise_seed": 0,
            "steps": 25,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "start_at_step": 20,
            "end_at_step": 10000,
            "return_with_leftover_noise": "disable",
            "model": ["12", 0],
            "positive": ["15", 0],
            "negative": ["16", 0],
            "latent_image": ["10", 0],
        },
    },
    "12": {
        "class_type": "CheckpointLoaderSimple",
        "inputs": {"ckpt_name": "sd_xl_refiner_1.0.safetensors"},
    },
    "15": {"class_type": "CLIPTextEncode", "inputs": {"text": "evening sunset scenery", "clip": ["12", 1]}},
    "16": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["12", 1]}},
    "17": {"class_type": "VAEDecode", "inputs": {"samples": ["11", 0], "vae": ["12", 2]}},
    "19": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["17", 0]}},
}

SD35: dict[str, Any] = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 714536277017640,
            "steps": 30,
            "cfg": 5.45,
            "sampler_name": "euler",
            "scheduler": "sgm_uniform",
            "denoise": 1,
            "model": ["4", 0],
            "positive": ["16", 0],
            "negative": ["40", 0],
            "latent_image": ["53", 0],
        },
    },
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd3.5_large.safetensors"}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    "16": {
        "class_type": "CLIPTextEncode",
        "inputs": {"text": "a female character with long hair", "clip": ["43", 0]},
    },
    "40": {"class_type": "CLIPTextEncode", "inputs": {"text": "", "clip": ["43", 0]}},
    "43": {
        "class_type": "TripleCLIPLoader",
        "inputs": {
            "clip_name1": "clip_g.safetensors",
            "clip_name2": "clip_l.safetensors",
            "clip_name3": "t5xxl_fp16.safetensors",
        },
    },
    "53": {"class_type": "EmptySD3LatentImage", "inputs": {"width": 1024, "height": 1024, "batch_size": 1}},
}

SD35_TIMESTEPPED_NEGATIVE: dict[str, Any] = {  # SD3's first example: the negative fades out at 10 %
    **SD35,
    "3": {"class_type": "KSampler", "inputs": {**SD35["3"]["inputs"], "negative": ["69", 0]}},
    "67": {"class_type": "ConditioningZeroOut", "inputs": {"conditioning": ["40", 0]}},
    "68": {
        "class_type": "ConditioningSetTimestepRange",
        "inputs": {"start": 0.1, "end": 1, "conditioning": ["67", 0]},
    },
    "69": {
        "class_type": "ConditioningCombine",
        "inputs": {"conditioning_1": ["68", 0], "conditioning_2": ["70", 0]},
    },
    "70": {
        "class_type": "ConditioningSetTimestepRange",
        "inputs": {"start": 0, "end": 0.1, "conditioning": ["40", 0]},
    },
}

# What each node class takes, for the fake's check of a queued graph (ComfyUI answers 400 with
# node_errors for a missing required input or an unknown class): the inputs the examples above use.
REQUIRED_INPUTS: dict[str, tuple[str, ...]] = {
    "KSampler": (
        "model",
        "seed",
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "positive",
        "negative",
        "latent_image",
        "denoise",
    ),
    "KSamplerAdvanced": (
        "model",
        "add_noise",
        "noise_seed",
        "steps",
        "cfg",
        "sampler_name",
        "scheduler",
        "positive",
        "negative",
        "latent_image",
        "start_at_step",
        "end_at_step",
        "return_with_leftover_noise",
    ),
    "SamplerCustomAdvanced": ("noise", "guider", "sampler", "sigmas", "latent_image"),
    "RandomNoise": ("noise_seed",),
    "BasicGuider": ("model", "conditioning"),
    "CFGGuider": ("model", "positive", "negative", "cfg"),
    "BasicScheduler": ("model", "scheduler", "steps", "denoise"),
    "KSamplerSelect": ("sampler_name",),
    "FluxGuidance": ("conditioning", "guidance"),
    "ModelSamplingFlux": ("model", "max_shift", "base_shift", "width", "height"),
    "EmptyLatentImage": ("width", "height", "batch_size"),
    "EmptySD3LatentImage": ("width", "height", "batch_size"),
    "CheckpointLoaderSimple": ("ckpt_name",),
    "UNETLoader": ("unet_name", "weight_dtype"),
    "DualCLIPLoader": ("clip_name1", "clip_name2", "type"),
    "TripleCLIPLoader": ("clip_name1", "clip_name2", "clip_name3"),
    "VAELoader": ("vae_name",),
    "CLIPTextEncode": ("text", "clip"),
    "ConditioningZeroOut": ("conditioning",),
    "ConditioningSetTimestepRange": ("conditioning", "start", "end"),
    "ConditioningCombine": ("conditioning_1", "conditioning_2"),
    "VAEDecode": ("samples", "vae"),
    "VAEEncode": ("pixels", "vae"),
    "SetLatentNoiseMask": ("samples", "mask"),
    "VAEEncodeForInpaint": ("pixels", "vae", "mask", "grow_mask_by"),
    "LoadImage": ("image",),
    "UpscaleModelLoader": ("model_name",),
    "ImageUpscaleWithModel": ("upscale_model", "image"),
    "SaveImage": ("images", "filename_prefix"),
    # ComfyUI_IPAdapter_plus
    "IPAdapterUnifiedLoader": ("model", "preset"),
    "IPAdapterAdvanced": (
        "model",
        "ipadapter",
        "image",
        "weight",
        "weight_type",
        "combine_embeds",
        "start_at",
        "end_at",
        "embeds_scaling",
    ),
    "PrepImageForClipVision": ("image", "interpolation", "crop_position", "sharpening"),
    # ControlNet (ComfyUI's own nodes)
    "ControlNetLoader": ("control_net_name",),
    "ControlNetApplyAdvanced": (
        "positive",
        "negative",
        "control_net",
        "image",
        "strength",
        "start_percent",
        "end_percent",
    ),
    "Canny": ("image", "low_threshold", "high_threshold"),
    # facerestore_cf
    "FaceRestoreModelLoader": ("model_name",),
    "FaceRestoreCFWithModel": ("facerestore_model", "image", "facedetection", "codeformer_fidelity"),
}

# An SD 1.5 graph steered by a style picture (IPAdapter plus's unified loader and advanced node, the
# picture prepared for CLIP vision) and a canny ControlNet (ComfyUI's Canny of a second LoadImage);
# the operator's own, as "Export (API)" writes it.
SD15_IPADAPTER_CANNY: dict[str, Any] = {
    "3": {
        "class_type": "KSampler",
        "inputs": {
            "seed": 156680208700286,
            "steps": 20,
            "cfg": 8,
            "sampler_name": "euler",
            "scheduler": "normal",
            "denoise": 1,
            "model": ["21", 0],
            "positive": ["30", 0],
            "negative": ["30", 1],
            "latent_image": ["5", 0],
        },
    },
    "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
    "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 512, "height": 512, "batch_size": 1}},
    "6": {"class_type": "CLIPTextEncode", "inputs": {"text": "a castle", "clip": ["4", 1]}},
    "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "text, watermark", "clip": ["4", 1]}},
    "8": {"class_type": "VAEDecode", "inputs": {"samples": ["3", 0], "vae": ["4", 2]}},
    "9": {"class_type": "SaveImage", "inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]}},
    "12": {"class_type": "LoadImage", "inputs": {"image": "style.png", "upload": "image"}},
    "13": {
        "class_type": "PrepImageForClipVision",
        "inputs": {"interpolation": "LANCZOS", "crop_position": "top", "sharpening": 0, "image": ["12", 0]},
    },
    "20": {
        "class_type": "IPAdapterUnifiedLoader",
        "inputs": {"preset": "PLUS (high strength)", "model": ["4", 0]},
    },
    "21": {
        "class_type": "IPAdapterAdvanced",
        "inputs": {
            "weight": 0.8,
            "weight_type": "style transfer",
            "combine_embeds": "concat",
            "start_at": 0,
            "end_at": 1,
            "embeds_scaling": "V only",
            "model": ["20", 0],
            "ipadapter": ["20", 1],
            "image": ["13", 0],
        },
    },
    "25": {"class_type": "LoadImage", "inputs": {"image": "pose.png", "upload": "image"}},
    "26": {
        "class_type": "Canny",
        "inputs": {"low_threshold": 0.4, "high_threshold": 0.8, "image": ["25", 0]},
    },
    "27": {"class_type": "ControlNetLoader", "inputs": {"control_net_name": "control_v11p_sd15_canny.pth"}},
    "30": {
        "class_type": "ControlNetApplyAdvanced",
        "inputs": {
            "strength": 1,
            "start_percent": 0,
            "end_percent": 1,
            "positive": ["6", 0],
            "negative": ["7", 0],
            "control_net": ["27", 0],
            "image": ["26", 0],
        },
    },
}

# A result's faces restored (facerestore_cf's CodeFormer): a LoadImage in, a SaveImage out.
FACE_RESTORE: dict[str, Any] = {
    "1": {"class_type": "LoadImage", "inputs": {"image": "result.png", "upload": "image"}},
    "2": {"class_type": "FaceRestoreModelLoader", "inputs": {"model_name": "codeformer.pth"}},
    "3": {
        "class_type": "FaceRestoreCFWithModel",
        "inputs": {
            "facedetection": "retinaface_resnet50",
            "codeformer_fidelity": 0.5,
            "facerestore_model": ["2", 0],
            "image": ["1", 0],
        },
    },
    "4": {"class_type": "SaveImage", "inputs": {"filename_prefix": "restored", "images": ["3", 0]}},
}
