"""Follow-ups carry every drawing setting of the turn they continue, whatever options exist."""

from __future__ import annotations

import pytest

from bot import followups
from shared.configuration.config import load_config
from shared.drawing.backends import Capabilities
from shared.drawing.finishing import Upscale
from shared.drawing.request import Drawing, RequestOptions, build_request
from shared.errors import InvalidRequest
from shared.members.threads import Turn
from tests.factories import requester

CONFIG = load_config(None)
TYPED = RequestOptions(
    prompt="a fox",
    negative="text",
    aspect="16:9",
    count=3,
    seed=7,
    quality="high",
    style="anime",
    enhance=True,
)


def request_from(options: RequestOptions, *, base: Drawing | None = None, **follow_up):
    return build_request(
        options,
        requester=requester(),
        event_id="e",
        config=CONFIG,
        default_backend="placeholder",
        base=base,
        **follow_up,
    )


def turn_of(options: RequestOptions) -> Turn:
    request = request_from(options)
    return Turn.from_request(
        "job-1",
        request,
        seeds=[7, 8, 9],
        images=["a", "b", "c"],
        model="placeholder-v1",
        revised_prompt=None,
    )


def follow(follow_up: followups.FollowUp):
    return request_from(
        follow_up.options,
        base=follow_up.base,
        kind=follow_up.kind,
        instruction=follow_up.instruction,
        parent_job_id=follow_up.parent_job_id,
        parent_image_index=follow_up.parent_image_index,
    )


def test_a_reroll_keeps_every_drawing_setting_but_the_seed():
    turn = turn_of(TYPED)
    again = follow(followups.reroll(turn))
    expected = turn.drawing().model_copy(update={"seed": None, "model": None})
    assert again.drawing() == expected
    assert again.kind == "reroll" and again.prompt == "a fox"


def test_every_drawing_setting_is_stored_with_the_turn():
    """A field added to Drawing is kept by thread memory without being declared again."""
    request = request_from(TYPED)
    turn = turn_of(TYPED)
    assert set(Drawing.model_fields) <= set(Turn.model_fields)
    assert turn.drawing() == request.drawing().model_copy(update={"model": "placeholder-v1"})
    assert Turn.model_validate_json(turn.model_dump_json()) == turn


def test_a_variation_of_an_aspect_keeps_the_aspect_so_backends_map_it_to_their_native_size():
    variation = follow(followups.variation(turn_of(TYPED), 1))
    assert (variation.aspect, variation.count, variation.seed, variation.parent_image_index) == (
        "16:9",
        1,
        None,
        1,
    )


def test_an_upscale_keeps_the_images_seed_and_settings_and_asks_for_twice_the_pixels():
    subtle = follow(followups.upscaled(creative=False)(turn_of(TYPED), 2))
    assert (subtle.kind, subtle.upscale, subtle.seed, subtle.parent_image_index) == (
        "upscale",
        Upscale(),
        9,
        2,
    )
    assert (subtle.style, subtle.quality, subtle.enhance, subtle.negative) == ("anime", "high", True, "text")
    creative = follow(followups.upscaled(creative=True)(turn_of(TYPED), 0))
    assert creative.upscale == Upscale(factor=2, creative=True) and creative.seed == 7


def test_a_refinement_keeps_the_seed_and_applies_the_members_flags_over_the_turn():
    turn = turn_of(TYPED)
    refined = follow(followups.refine(turn, "now at night", {"aspect": "portrait", "negative": "rain"}))
    assert (refined.seed, refined.aspect, refined.negative, refined.style) == (7, "portrait", "rain", "anime")
    assert (refined.kind, refined.instruction, refined.prompt) == ("refine", "now at night", "a fox")


def test_a_flag_on_a_refinement_is_validated_like_a_fresh_option():
    with pytest.raises(InvalidRequest, match="count"):
        follow(followups.refine(turn_of(TYPED), "more", {"count": "99"}))


def test_a_style_removed_from_the_config_since_the_turn_is_refused_on_follow_up():
    turn = turn_of(TYPED).model_copy(update={"style": "gone"})
    with pytest.raises(InvalidRequest, match="style"):
        follow(followups.reroll(turn))


def test_a_turn_stored_before_drawing_settings_grew_still_refines():
    """Thread memory outlives upgrades: an old turn without the newer fields reads with their defaults."""
    old = (
        '{"job_id": "j", "owner": "cli:alice", "prompt": "a fox", "width": 512, "height": 768,'
        ' "seeds": [3], "backend": "placeholder", "images": ["k"], "quality": "auto"}'
    )
    turn = Turn.model_validate_json(old)
    again = follow(followups.reroll(turn))
    assert (again.width, again.height, again.aspect, again.count) == (512, 768, None, 1)


def test_buttons_a_backend_cannot_honour_are_not_offered():
    def labels(can: Capabilities) -> list[str]:
        rows = followups.result_buttons(
            "img-1",
            2,
            "u1",
            can=can,
            effects=frozenset({"job", "form", "info", "delete", "cancel"}),
            size=(64, 64),
        )
        return [press.action.name for row in rows for press in row]

    assert labels(Capabilities()) == [
        "variation",
        "variation",
        "upscale",
        "upscale",
        "reroll",
        "refine",
        "info",
        "delete",
    ]
    # an upscale by the upscaler alone needs no drawing from a picture
    assert labels(Capabilities(edit=False)) == ["upscale", "upscale", "reroll", "refine", "info", "delete"]
    for action in followups.ACTIONS.values():  # a misspelt capability would hide a button for good
        assert action.needs is None or hasattr(Capabilities(), action.needs), action.name


def test_a_typed_seed_is_refused_naming_a_backend_that_picks_its_own():
    with pytest.raises(InvalidRequest, match="The openai backend picks its own seed"):
        request_from(RequestOptions(prompt="a fox", seed=7, backend="openai"))
    base = request_from(RequestOptions(prompt="a fox", seed=7))
    switched = request_from(RequestOptions(prompt="a fox", backend="openai"), base=base.drawing())
    assert switched.seed is None  # the placeholder turn's seed is not carried to a backend without seeds


def test_canvas_edits_are_offered_under_one_image_where_the_backend_draws_around_it():
    def rows(can: Capabilities, count: int, size: tuple[int, int]) -> list[list[str]]:
        found = followups.result_buttons(
            "img-1", count, "u1", can=can, effects=frozenset({"job", "form"}), size=size
        )
        return [[press.action.text for press in row] for row in found]

    outpaints = Capabilities(outpaint=True)
    assert rows(outpaints, 1, (1536, 1024)) == [
        ["✨ Variation"],
        ["Upscale (Subtle)", "Upscale (Creative)"],
        ["🔍 Zoom out 2×", "🔍 Zoom out 1.5×", "Make square"],
        ["⬅️", "➡️", "⬆️", "⬇️"],
        ["🔁 Reroll", "✏️ Refine"],
    ]
    assert ["🔍 Zoom out 2×", "🔍 Zoom out 1.5×"] in rows(outpaints, 1, (1024, 1024))  # square already
    assert not any("Zoom" in text for row in rows(outpaints, 2, (1536, 1024)) for text in row)
    assert not any("Zoom" in text for row in rows(Capabilities(), 1, (1536, 1024)) for text in row)
    assert all(len(row) <= 5 for row in rows(outpaints, 1, (1536, 1024)))  # Discord's row limit

    # 🖌️ Vary (Region) where the backend repaints a region, and the platform has its editor or form
    both = Capabilities(outpaint=True, inpaint=True)
    with_editor = followups.result_buttons(
        "img-1", 1, "u1", can=both, effects=frozenset({"job", "form", "region"}), size=(1536, 1024)
    )
    edits = [[press.action.text for press in row] for row in with_editor][2]
    assert edits == ["🖌️ Vary (Region)", "🔍 Zoom out 2×", "🔍 Zoom out 1.5×", "Make square"]
    assert not any("Vary" in text for row in rows(both, 1, (1536, 1024)) for text in row)  # no "region"
    only_inpaint = followups.result_buttons(
        "img-1", 1, "u1", can=Capabilities(inpaint=True), effects=frozenset({"job", "region"}), size=(64, 64)
    )
    assert [press.action.name for row in only_inpaint for press in row if press.action.row == "zoom"] == [
        "region"
    ]
    several = followups.result_buttons(
        "img-1", 2, "u1", can=both, effects=frozenset({"job", "region"}), size=(64, 64)
    )
    assert not any(press.action.name == "region" for row in several for press in row)
