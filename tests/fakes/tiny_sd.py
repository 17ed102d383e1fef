"""A Stable Diffusion pipeline with random weights, built and saved offline (no download).

`tiny` makes a pipeline small enough for CPU tests (64x64 native, ~0.1 s an image); `sd15` has the
shapes of Stable Diffusion 1.5 (512x512 native), for benchmarks where the compute must be real.
"""

from __future__ import annotations

import json
from pathlib import Path


def _byte_symbols() -> list[str]:
    """GPT-2/CLIP byte-level BPE's printable stand-in for each of the 256 bytes."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    extra = iter(range(256, 512))
    return [chr(b) if b in printable else chr(next(extra)) for b in range(256)]


def _byte_vocab() -> dict[str, int]:
    """A CLIP BPE vocabulary with no merges: every byte symbol, alone and as a word end."""
    symbols = _byte_symbols()
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in symbols + [s + "</w>" for s in symbols]:
        vocab.setdefault(symbol, len(vocab))
    return vocab


def build_pipeline(folder: Path, shape: str = "tiny", seed: int = 0, *, safety: str | None = None) -> Path:
    """Save a randomly initialised Stable Diffusion pipeline of `shape` under `folder`; return it.
    With `safety` ("flags-all" or "passes-all", tiny only), it has a tiny safety checker whose
    thresholds decide every image one way, so the backend's handling of its verdict can be tried."""
    import torch
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    torch.manual_seed(seed)
    tokenizer_dir = folder / "_tokenizer"
    tokenizer_dir.mkdir(parents=True, exist_ok=True)
    vocab = _byte_vocab()
    (tokenizer_dir / "vocab.json").write_text(json.dumps(vocab))
    (tokenizer_dir / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(
        str(tokenizer_dir / "vocab.json"), str(tokenizer_dir / "merges.txt"), model_max_length=77
    )

    if shape == "tiny":
        text = CLIPTextConfig(
            vocab_size=len(vocab),
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
        unet = _tiny_unet(UNet2DConditionModel)
        vae = AutoencoderKL(
            block_out_channels=(32, 64),
            latent_channels=4,
            norm_num_groups=32,
            sample_size=64,
            down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
            up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        )
    elif shape == "sd15":
        text = CLIPTextConfig(
            vocab_size=49408,
            hidden_size=768,
            intermediate_size=3072,
            num_attention_heads=12,
            num_hidden_layers=12,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
        unet = UNet2DConditionModel(
            sample_size=64,
            block_out_channels=(320, 640, 1280, 1280),
            layers_per_block=2,
            cross_attention_dim=768,
            attention_head_dim=8,
            down_block_types=(
                "CrossAttnDownBlock2D",
                "CrossAttnDownBlock2D",
                "CrossAttnDownBlock2D",
                "DownBlock2D",
            ),
            up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
        )
        vae = AutoencoderKL(
            block_out_channels=(128, 256, 512, 512),
            latent_channels=4,
            sample_size=512,
            layers_per_block=2,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
        )
    else:
        raise ValueError(f"unknown shape {shape!r}")
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    checker, features = _tiny_safety_checker(safety) if safety else (None, None)
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(text),
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=checker,
        feature_extractor=features,
        requires_safety_checker=safety is not None,
    )
    target = folder / (f"sd-{shape}-{safety}" if safety else f"sd-{shape}")
    pipeline.save_pretrained(target)
    return target


def _tiny_safety_checker(verdict: str):
    """diffusers' StableDiffusionSafetyChecker on a tiny CLIP: an image is flagged when its similarity
    to a concept exceeds the concept's threshold, so thresholds far below (or above) any similarity
    flag every image (or none)."""
    import torch
    from diffusers.pipelines.stable_diffusion.safety_checker import StableDiffusionSafetyChecker
    from transformers import CLIPConfig, CLIPImageProcessor

    config = CLIPConfig(
        text_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_attention_heads": 4,
            "num_hidden_layers": 2,
        },
        vision_config={
            "hidden_size": 32,
            "intermediate_size": 37,
            "num_attention_heads": 4,
            "num_hidden_layers": 2,
            "image_size": 32,
            "patch_size": 8,
        },
        projection_dim=32,
    )
    checker = StableDiffusionSafetyChecker(config)
    threshold = -10.0 if verdict == "flags-all" else 10.0
    with torch.no_grad():
        checker.concept_embeds_weights.fill_(threshold)
        checker.special_care_embeds_weights.fill_(threshold)
    features = CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return checker, features


def build_lora(pipeline_folder: Path, out: Path, seed: int = 0, *, rank: int = 4) -> Path:
    """A LoRA for the pipeline's UNet, made with peft and saved with diffusers' `save_lora_weights`
    (the layout LoRA files are shared in); its weights are random, so it visibly changes an image."""
    import torch
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    unet = StableDiffusionPipeline.from_pretrained(pipeline_folder, local_files_only=True).unet
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    with torch.no_grad():
        for name, parameter in unet.named_parameters():
            if "lora_" in name:  # peft starts B at zero (no effect); a LoRA that was trained does not
                parameter.normal_(0.0, 0.3)
    out.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(
        out,
        unet_lora_layers=convert_state_dict_to_diffusers(get_peft_model_state_dict(unet)),
        weight_name=f"lora-{seed}.safetensors",
    )
    return out / f"lora-{seed}.safetensors"


def build_inpaint_unet(folder: Path, seed: int = 1) -> Path:
    """A dedicated inpainting checkpoint for the tiny pipeline, as diffusers folders hold one: a UNet of
    the same shape that also takes the mask and the kept picture's latents (9 channels), in unet/."""
    import torch
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    _tiny_unet(UNet2DConditionModel, in_channels=9).save_pretrained(folder / "unet")
    return folder


def _tiny_unet(unet_class, *, in_channels: int = 4):
    """The tiny pipeline's UNet; with 9 input channels, its inpainting checkpoint's."""
    return unet_class(
        sample_size=32,
        in_channels=in_channels,
        block_out_channels=(32, 64),
        layers_per_block=1,
        cross_attention_dim=32,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=4,
        norm_num_groups=32,
    )


def build_ip_adapter(pipeline_folder: Path, out: Path, seed: int = 2) -> tuple[Path, Path]:
    """An IP-Adapter for the tiny pipeline, as IP-Adapter files are shared: `image_proj.*` (CLIP image
    embeddings → 4 tokens) and `ip_adapter.N.to_k_ip/to_v_ip` for each cross-attention, numbered
    1, 3, 5, … in the UNet's order; with a tiny CLIP vision encoder folder beside it."""
    import torch
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(seed)
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=32,
            intermediate_size=37,
            num_attention_heads=4,
            num_hidden_layers=2,
            image_size=32,
            patch_size=8,
            projection_dim=16,
        )
    )
    out.mkdir(parents=True, exist_ok=True)
    encoder.save_pretrained(out / "image_encoder")
    unet = UNet2DConditionModel.from_pretrained(pipeline_folder, subfolder="unet", local_files_only=True)
    cross = unet.config.cross_attention_dim
    weights = {
        "image_proj.proj.weight": torch.randn(cross * 4, 16) * 0.5,
        "image_proj.proj.bias": torch.zeros(cross * 4),
        "image_proj.norm.weight": torch.ones(cross),
        "image_proj.norm.bias": torch.zeros(cross),
    }
    key = 1
    for name in unet.attn_processors:
        if name.endswith("attn1.processor"):
            continue
        to_k = unet.get_submodule(name.removesuffix(".processor")).to_k
        for part in ("to_k_ip", "to_v_ip"):
            weights[f"ip_adapter.{key}.{part}.weight"] = torch.randn_like(to_k.weight) * 0.5
        key += 2
    save_file(weights, out / "ip-adapter_tiny.safetensors")
    return out / "ip-adapter_tiny.safetensors", out / "image_encoder"


def build_controlnet(pipeline_folder: Path, out: Path, seed: int = 3) -> Path:
    """A ControlNet for the tiny pipeline: made from its UNet, as ControlNets are trained, with the
    zero convolutions given random weights so the control picture visibly steers the drawing."""
    import torch
    from diffusers import ControlNetModel, UNet2DConditionModel

    torch.manual_seed(seed)
    unet = UNet2DConditionModel.from_pretrained(pipeline_folder, subfolder="unet", local_files_only=True)
    controlnet = ControlNetModel.from_unet(unet, conditioning_embedding_out_channels=(16, 32))
    with torch.no_grad():
        for name, parameter in controlnet.named_parameters():
            if "controlnet_down_blocks" in name or "controlnet_mid_block" in name or "conv_out" in name:
                parameter.normal_(0.0, 0.3)
    controlnet.save_pretrained(out)
    return out
