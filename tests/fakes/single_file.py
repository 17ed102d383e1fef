"""A Stable Diffusion 1.x single-file checkpoint (`.safetensors`, the original LDM layout that model
sites distribute) written from a diffusers pipeline folder, for tests and benchmarks.

diffusers reads single files (`from_single_file`) but cannot write one, so this converts with the key
mapping diffusers publishes in its `scripts/convert_diffusers_to_original_stable_diffusion.py`,
generalised from SD 1.5's four blocks of two layers to any block count and layers per block (the tiny
test pipeline has two blocks of one). diffusers' own loader then converts it back, which is what the
tests exercise.
"""

from __future__ import annotations

import json
from pathlib import Path

RESNET = [
    ("in_layers.0", "norm1"),
    ("in_layers.2", "conv1"),
    ("out_layers.0", "norm2"),
    ("out_layers.3", "conv2"),
    ("emb_layers.1", "time_emb_proj"),
    ("skip_connection", "conv_shortcut"),
]
UNET_FIXED = [
    ("time_embed.0.", "time_embedding.linear_1."),
    ("time_embed.2.", "time_embedding.linear_2."),
    ("input_blocks.0.0.", "conv_in."),
    ("out.0.", "conv_norm_out."),
    ("out.2.", "conv_out."),
]
VAE_ATTENTION = [
    ("norm.", "group_norm."),
    ("q.", "to_q."),
    ("k.", "to_k."),
    ("v.", "to_v."),
    ("proj_out.", "to_out.0."),
]


def write_single_file(pipeline_folder: Path, out: Path) -> Path:
    """The pipeline at `pipeline_folder` (saved with save_pretrained) as one LDM-layout file."""
    import torch
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import save_file

    pipe = StableDiffusionPipeline.from_pretrained(pipeline_folder, local_files_only=True)
    unet_config = json.loads((pipeline_folder / "unet" / "config.json").read_text())
    vae_config = json.loads((pipeline_folder / "vae" / "config.json").read_text())
    state: dict[str, torch.Tensor] = {}
    for key, value in _renamed(pipe.unet.state_dict(), _unet_prefixes(unet_config)).items():
        state[f"model.diffusion_model.{key}"] = value
    for key, value in _vae(pipe.vae.state_dict(), vae_config).items():
        state[f"first_stage_model.{key}"] = value
    for key, value in pipe.text_encoder.state_dict().items():
        # The original layout nests CLIP's text model under `text_model.`; some transformers
        # versions name the state without it.
        inner = key if key.startswith("text_model.") else f"text_model.{key}"
        state[f"cond_stage_model.transformer.{inner}"] = value
    save_file({k: v.contiguous() for k, v in state.items()}, str(out))
    return out


def _unet_prefixes(config: dict) -> list[tuple[str, str]]:
    """(LDM prefix, diffusers prefix) for every block of the UNet, as the published script builds them."""
    blocks, layers = len(config["block_out_channels"]), config["layers_per_block"]
    down, up = config["down_block_types"], config["up_block_types"]
    pairs = list(UNET_FIXED)
    for i in range(blocks):
        for j in range(layers):
            pairs.append((f"input_blocks.{(layers + 1) * i + j + 1}.0.", f"down_blocks.{i}.resnets.{j}."))
            if "CrossAttn" in down[i]:
                pairs.append(
                    (f"input_blocks.{(layers + 1) * i + j + 1}.1.", f"down_blocks.{i}.attentions.{j}.")
                )
        for j in range(layers + 1):
            pairs.append((f"output_blocks.{(layers + 1) * i + j}.0.", f"up_blocks.{i}.resnets.{j}."))
            if "CrossAttn" in up[i]:
                pairs.append((f"output_blocks.{(layers + 1) * i + j}.1.", f"up_blocks.{i}.attentions.{j}."))
        if i < blocks - 1:
            pairs.append(
                (f"input_blocks.{(layers + 1) * (i + 1)}.0.op.", f"down_blocks.{i}.downsamplers.0.conv.")
            )
            slot = 2 if "CrossAttn" in up[i] else 1
            pairs.append(
                (f"output_blocks.{(layers + 1) * i + layers}.{slot}.", f"up_blocks.{i}.upsamplers.0.")
            )
    pairs.append(("middle_block.1.", "mid_block.attentions.0."))
    for j in range(2):
        pairs.append((f"middle_block.{2 * j}.", f"mid_block.resnets.{j}."))
    return pairs


def _renamed(state: dict, prefixes: list[tuple[str, str]]) -> dict:
    renamed = {}
    for key, value in state.items():
        new = key
        for ldm, hf in prefixes:
            if new.startswith(hf):
                new = ldm + new[len(hf) :]
                break
        if ".resnets." in key:  # a resnet's own layers (attention blocks have norm1/norm2 of their own)
            for ldm, hf in RESNET:
                new = new.replace(f".{hf}.", f".{ldm}.")
        renamed[new] = value
    return renamed


def _vae(state: dict, config: dict) -> dict:
    blocks, layers = len(config["block_out_channels"]), config["layers_per_block"]
    pairs = [("encoder.norm_out.", "encoder.conv_norm_out."), ("decoder.norm_out.", "decoder.conv_norm_out.")]
    for part in ("encoder", "decoder"):
        pairs.append((f"{part}.mid.attn_1.", f"{part}.mid_block.attentions.0."))
        pairs += [(f"{part}.mid.block_{j + 1}.", f"{part}.mid_block.resnets.{j}.") for j in range(2)]
    for i in range(blocks):
        pairs += [
            (f"encoder.down.{i}.block.{j}.", f"encoder.down_blocks.{i}.resnets.{j}.") for j in range(layers)
        ]
        pairs += [
            (f"decoder.up.{blocks - 1 - i}.block.{j}.", f"decoder.up_blocks.{i}.resnets.{j}.")
            for j in range(layers + 1)
        ]
        if i < blocks - 1:
            pairs.append((f"encoder.down.{i}.downsample.", f"encoder.down_blocks.{i}.downsamplers.0."))
            pairs.append((f"decoder.up.{blocks - 1 - i}.upsample.", f"decoder.up_blocks.{i}.upsamplers.0."))
    converted = {}
    for key, value in state.items():
        new = key
        for ldm, hf in pairs:
            if new.startswith(hf):
                new = ldm + new[len(hf) :]
                break
        new = new.replace("conv_shortcut", "nin_shortcut")
        if ".mid.attn_1." in new:
            for ldm, hf in VAE_ATTENTION:
                new = new.replace(f".attn_1.{hf}", f".attn_1.{ldm}")
            if value.ndim == 2:  # the original VAE's attention is 1x1 convolutions
                value = value.reshape(*value.shape, 1, 1)
        converted[new] = value
    return converted
