"""Where our values land in the graphs operators export from ComfyUI, found from `file` alone or given."""

from __future__ import annotations

import pytest

from shared.errors import ConfigError
from tests.fakes.comfyui_graphs import FLUX_DEV, SD35, SD35_TIMESTEPPED_NEGATIVE, SDXL_REFINER
from workers.backends.comfyui.config import ComfyWorkflow
from workers.backends.comfyui.slots import find_slots
from workers.backends.comfyui.workflows import IMG2IMG, TXT2IMG


def landed(graph: dict, **given) -> dict[str, list[str]]:
    slots = find_slots(graph, ComfyWorkflow(**given), "[comfyui.workflows.test]")
    return {role: [p.path for p in places] for role, places in slots.places.items() if places} | {
        "output": [slots.output.node]
    }


def test_the_shipped_graphs_slots_are_found_where_the_template_put_them():
    assert landed(TXT2IMG) == {
        "prompt": ["6.inputs.text"],
        "negative": ["7.inputs.text"],
        "seed": ["3.inputs.seed"],
        "steps": ["3.inputs.steps"],
        "cfg": ["3.inputs.cfg"],
        "width": ["5.inputs.width"],
        "height": ["5.inputs.height"],
        "batch_size": ["5.inputs.batch_size"],
        "checkpoint": ["4.inputs.ckpt_name"],
        "output": ["9"],
    }
    found = landed(IMG2IMG)
    assert found["image"] == ["10.inputs.image"] and found["denoise"] == ["3.inputs.denoise"]
    assert "width" not in found and "batch_size" not in found  # its size is the uploaded picture's


def test_comfyuis_flux_graph_is_found_through_its_guider_noise_scheduler_and_guidance():
    found = landed(FLUX_DEV)
    assert found == {
        "prompt": ["6.inputs.text"],
        "seed": ["25.inputs.noise_seed"],
        "steps": ["17.inputs.steps"],
        "cfg": ["26.inputs.guidance"],  # Flux's guidance, not a sampler cfg
        "width": ["27.inputs.width", "30.inputs.width"],
        "height": ["27.inputs.height", "30.inputs.height"],
        "batch_size": ["27.inputs.batch_size"],
        "checkpoint": ["12.inputs.unet_name"],
        "output": ["9"],
    }  # no negative: Flux's BasicGuider has none


def test_a_base_and_refiner_graph_gets_the_prompt_seed_and_steps_in_both_and_asks_for_the_checkpoint():
    slots = find_slots(SDXL_REFINER, ComfyWorkflow(), "[comfyui.workflows.xl]")
    paths = {role: [p.path for p in places] for role, places in slots.places.items()}
    assert paths["prompt"] == ["6.inputs.text", "15.inputs.text"]
    assert paths["negative"] == ["7.inputs.text", "16.inputs.text"]
    assert paths["seed"] == ["10.inputs.noise_seed", "11.inputs.noise_seed"]
    assert paths["steps"] == ["10.inputs.steps", "11.inputs.steps"]
    assert paths["width"] == ["5.inputs.width"]  # the refiner starts from the base's latent
    assert (
        paths["checkpoint"] == []
    )  # two loaders: which one a member's model replaces is the operator's call
    assert 'set checkpoint = "4.inputs.ckpt_name"' in slots.unclear["checkpoint"]
    assert "checkpoint → not set: several could take it" in "\n".join(slots.lines())
    chosen = find_slots(SDXL_REFINER, ComfyWorkflow(checkpoint="4.inputs.ckpt_name"), "[x]")
    assert [p.path for p in chosen.of("checkpoint")] == ["4.inputs.ckpt_name"] and not chosen.unclear


@pytest.mark.parametrize("graph", [SD35, SD35_TIMESTEPPED_NEGATIVE], ids=["simple", "timestepped"])
def test_sd35_graphs_find_the_negative_and_not_through_a_zeroed_conditioning(graph):
    found = landed(graph)
    assert found["prompt"] == ["16.inputs.text"] and found["negative"] == ["40.inputs.text"]
    assert found["width"] == ["53.inputs.width"] and found["checkpoint"] == ["4.inputs.ckpt_name"]


def test_explicit_slots_win_a_list_names_several_places_and_empty_switches_one_off():
    found = landed(
        FLUX_DEV, width=["27.inputs.width"], height="27.inputs.height", cfg="", seed="25.inputs.noise_seed"
    )
    assert found["width"] == ["27.inputs.width"] and found["height"] == ["27.inputs.height"]
    assert "cfg" not in found and found["seed"] == ["25.inputs.noise_seed"]
    slots = find_slots(FLUX_DEV, ComfyWorkflow(cfg=""), "[x]")
    assert "cfg → off (set)" in slots.lines()
    assert "seed → 25.inputs.noise_seed (RandomNoise)" in slots.lines()


@pytest.mark.parametrize(
    ("graph", "given", "says"),
    [
        ({**TXT2IMG, "19": {**TXT2IMG["9"]}}, {}, 'SaveImage nodes (9, 19): set output = "NODE"'),
        ({k: v for k, v in TXT2IMG.items() if k != "9"}, {}, 'no SaveImage node: set output = "NODE"'),
        (TXT2IMG, {"negative": "77.inputs.text"}, "negative = '77.inputs.text': no such node"),
        (TXT2IMG, {"prompt": "6.text"}, "not NODE.inputs.NAME"),
        (TXT2IMG, {"negative": "6.inputs.text"}, "6.inputs.text is both the prompt and the negative"),
        ({"9": TXT2IMG["9"], "8": TXT2IMG["8"]}, {}, "no sampler (KSampler, SamplerCustomAdvanced, …)"),
    ],
    ids=["two savers", "no saver", "missing node", "not a slot", "same encoder", "no sampler"],
)
def test_a_graph_that_cannot_run_says_which_slot_to_set(graph, given, says):
    with pytest.raises(ConfigError) as raised:
        find_slots(graph, ComfyWorkflow(**given), "[comfyui.workflows.mine]")
    assert says in str(raised.value) and str(raised.value).startswith("[comfyui.workflows.mine]")
