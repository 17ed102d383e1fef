"""Tiny random SDXL, SD3 and Flux pipelines, built from configs offline (no download) with the
component shapes diffusers' own fast tests use, and saved as the folders operators bring.

The T5 tokenizer (SD3's third, Flux's second) is a word-level `tokenizers` model wrapped as
T5TokenizerFast, since the real one is a download; CLIP's is tests/fakes/tiny_sd.py's byte-level one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.fakes.tiny_sd import _byte_vocab


def _clip_tokenizer(folder: Path) -> Any:
    from transformers import CLIPTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(_byte_vocab()))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), model_max_length=77)


def _t5_tokenizer() -> Any:
    from transformers import T5TokenizerFast

    words = "▁a ▁an ▁the ▁of ▁in ▁with ▁fox ▁lighthouse ▁storm ▁night ▁red ▁blue ▁".split()
    vocab = [
        ("<pad>", 0.0),
        ("</s>", 0.0),
        ("<unk>", 0.0),
        *((word, -1.0 - n) for n, word in enumerate(words)),
    ]
    return T5TokenizerFast(vocab=vocab, extra_ids=0)


def _clip_config(vocab: int, *, projection: int = 32) -> Any:
    from transformers import CLIPTextConfig

    return CLIPTextConfig(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=37,
        num_attention_heads=4,
        num_hidden_layers=2,
        bos_token_id=0,
        eos_token_id=1,
        pad_token_id=1,
        projection_dim=projection,
        hidden_act="gelu",
    )


def _t5_encoder(vocab: int) -> Any:
    from transformers import T5Config, T5EncoderModel

    return T5EncoderModel(
        T5Config(
            vocab_size=vocab, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4, decoder_start_token_id=0
        )
    )


def build_sdxl(folder: Path, seed: int = 0) -> Path:
    import torch
    from diffusers import (
        AutoencoderKL,
        EulerDiscreteScheduler,
        StableDiffusionXLPipeline,
        UNet2DConditionModel,
    )
    from transformers import CLIPTextModel, CLIPTextModelWithProjection

    torch.manual_seed(seed)
    tokenizer = _clip_tokenizer(folder / "_tokenizer")
    vocab = len(tokenizer.get_vocab())
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64),
        layers_per_block=1,
        sample_size=32,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4),
        use_linear_projection=True,
        addition_embed_type="text_time",
        addition_time_embed_dim=8,
        transformer_layers_per_block=(1, 1),
        projection_class_embeddings_input_dim=80,  # 6 time ids x 8 + the pooled text (32)
        cross_attention_dim=64,  # both text encoders' hidden states side by side
        norm_num_groups=1,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 64),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D",) * 2,
        up_block_types=("UpDecoderBlock2D",) * 2,
        latent_channels=4,
        sample_size=64,
        norm_num_groups=1,
    )
    pipeline = StableDiffusionXLPipeline(
        vae=vae,
        text_encoder=CLIPTextModel(_clip_config(vocab)),
        text_encoder_2=CLIPTextModelWithProjection(_clip_config(vocab)),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=unet,
        scheduler=EulerDiscreteScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012),
    )
    target = folder / "sdxl-tiny"
    pipeline.save_pretrained(target)
    return target


def build_sd3(folder: Path, seed: int = 0) -> Path:
    import torch
    from diffusers import (
        FlowMatchEulerDiscreteScheduler,
        SD3Transformer2DModel,
        StableDiffusion3Pipeline,
    )
    from transformers import CLIPTextModelWithProjection

    torch.manual_seed(seed)
    tokenizer = _clip_tokenizer(folder / "_tokenizer")
    t5 = _t5_tokenizer()
    vocab = len(tokenizer.get_vocab())
    transformer = SD3Transformer2DModel(
        sample_size=32,
        patch_size=1,
        in_channels=16,  # SD3's VAE has 16 latent channels (its inpainting pipeline checks)
        num_layers=1,
        attention_head_dim=8,
        num_attention_heads=4,
        caption_projection_dim=32,
        joint_attention_dim=32,
        pooled_projection_dim=64,
        out_channels=16,
    )
    vae = _flow_vae(latent_channels=16)
    pipeline = StableDiffusion3Pipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=vae,
        text_encoder=CLIPTextModelWithProjection(_clip_config(vocab)),
        tokenizer=tokenizer,
        text_encoder_2=CLIPTextModelWithProjection(_clip_config(vocab)),
        tokenizer_2=tokenizer,
        text_encoder_3=_t5_encoder(len(t5)),
        tokenizer_3=t5,
    )
    target = folder / "sd3-tiny"
    pipeline.save_pretrained(target)
    return target


def build_flux(folder: Path, seed: int = 0) -> Path:
    import torch
    from diffusers import FlowMatchEulerDiscreteScheduler, FluxPipeline, FluxTransformer2DModel
    from transformers import CLIPTextModel

    torch.manual_seed(seed)
    tokenizer = _clip_tokenizer(folder / "_tokenizer")
    t5 = _t5_tokenizer()
    transformer = FluxTransformer2DModel(
        patch_size=1,
        in_channels=4,  # the VAE's 1 latent channel, packed 2x2
        num_layers=1,
        num_single_layers=1,
        attention_head_dim=16,
        num_attention_heads=2,
        joint_attention_dim=32,
        pooled_projection_dim=32,
        axes_dims_rope=[4, 4, 8],
    )
    pipeline = FluxPipeline(
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(),
        vae=_flow_vae(latent_channels=1),
        text_encoder=CLIPTextModel(_clip_config(len(tokenizer.get_vocab()))),
        tokenizer=tokenizer,
        text_encoder_2=_t5_encoder(len(t5)),
        tokenizer_2=t5,
    )
    target = folder / "flux-tiny"
    pipeline.save_pretrained(target)
    return target


def _flow_vae(*, latent_channels: int) -> Any:
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        sample_size=32,
        in_channels=3,
        out_channels=3,
        block_out_channels=(4,),
        layers_per_block=1,
        latent_channels=latent_channels,
        norm_num_groups=1,
        use_quant_conv=False,
        use_post_quant_conv=False,
        shift_factor=0.0609,
        scaling_factor=1.5035,
    )


def build_family_lora(pipeline_folder: Path, out: Path, seed: int = 0, *, rank: int = 4) -> Path:
    """A LoRA for a pipeline's denoiser (an SDXL UNet, an SD3 or Flux transformer), made with peft,
    with random non-zero weights, saved with the pipeline's `save_lora_weights` as LoRAs are shared."""
    import torch
    from diffusers import DiffusionPipeline
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    torch.manual_seed(seed)
    pipeline = DiffusionPipeline.from_pretrained(pipeline_folder, local_files_only=True)
    part = "transformer" if getattr(pipeline, "transformer", None) is not None else "unet"
    denoiser = getattr(pipeline, part)
    denoiser.add_adapter(
        LoraConfig(r=rank, lora_alpha=rank, target_modules=["to_q", "to_k", "to_v", "to_out.0"])
    )
    with torch.no_grad():
        for name, parameter in denoiser.named_parameters():
            if "lora_" in name:
                parameter.normal_(0.0, 0.3)
    out.mkdir(parents=True, exist_ok=True)
    name = f"lora-{pipeline_folder.name}-{seed}.safetensors"
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(denoiser))
    type(pipeline).save_lora_weights(out, **{f"{part}_lora_layers": layers}, weight_name=name)
    return out / name
