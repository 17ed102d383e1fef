"""Precedence for a new /imagine: flags > the member's defaults > the channel's > the config; stale
defaults are skipped; follow-ups keep their turn's settings whatever the defaults say now."""

from __future__ import annotations

import asyncio

import pytest

from bot import followups, settings_form
from bot.core import ImagineCore
from bot.interactions.settings import changed_member
from shared.drawing.request import RequestOptions
from shared.jobs.round_trips import SharedRoundTrips
from shared.members.member_defaults import ChannelDefaults, MemberDefaults
from shared.members.threads import Turn
from shared.ops.redis_conn import connect_async
from tests.factories import requester

CONFIG = '[presets.noir]\nprompt_suffix = "film noir"\n'


@pytest.fixture
def core(redis, make_settings, config_file) -> ImagineCore:
    return ImagineCore(make_settings(config_file(CONFIG)), redis)


def new_request(core: ImagineCore, **typed):
    return asyncio.run(core.check_new(requester(), RequestOptions(prompt="a fox", **typed), event_id="e"))


@pytest.mark.parametrize(
    ("typed", "member", "channel", "style", "count"),
    [
        ({"style": "photo", "count": 3}, {"style": "anime", "count": 2}, {"style": "noir"}, "photo", 3),
        ({}, {"style": "anime", "count": 2}, {"style": "noir"}, "anime", 2),
        ({}, {"count": 2}, {"style": "noir"}, "noir", 2),
        ({}, {}, {"style": "noir"}, "noir", 1),
        ({}, {}, {}, None, 1),
        ({}, {"style": "removed-since"}, {"style": "noir"}, "noir", 1),  # a stale default is skipped
    ],
)
def test_flags_over_member_over_channel_over_config(core, typed, member, channel, style, count):
    core.defaults.save_member(requester(), MemberDefaults(**member))
    core.defaults.save_channel(requester(), ChannelDefaults(**channel))
    request = new_request(core, **typed)
    assert (request.style, request.count) == (style, count)


def test_every_member_default_reaches_the_request(core):
    saved = MemberDefaults(style="anime", aspect="16:9", count=2, enhance=False, negative="text, watermark")
    core.defaults.save_member(requester(), saved)
    request = new_request(core)
    assert (request.style, request.aspect, request.count, request.negative) == (
        "anime",
        "16:9",
        2,
        "text, watermark",
    )
    assert request.enhance is False and request.width > request.height
    assert core.defaults.member(requester()) == saved
    assert core.defaults.member(requester("bob")) == MemberDefaults()  # each member's own


def test_a_refinement_keeps_its_turns_settings_not_todays_defaults(core):
    core.defaults.save_member(requester(), MemberDefaults(style="anime", count=2))
    first = new_request(core)
    turn = Turn.from_request("job-1", first, seeds=[1, 2], images=["a", "b"], model="p", revised_prompt=None)
    core.defaults.save_member(requester(), MemberDefaults(style="noir", count=4))
    refined = core.check_follow_up(requester(), followups.refine(turn, "at night", {}), event_id="e2")
    assert (refined.style, refined.count) == ("anime", 2)


def test_who_may_refine_is_the_channels_choice_over_the_config(core):
    assert core.refine_by(requester()) == "owner"
    core.defaults.save_channel(requester(), ChannelDefaults(refine_by="anyone"))
    assert core.refine_by(requester()) == "anyone"


def test_an_event_loop_reads_both_in_one_shared_round_trip(core, redis_url):
    core.defaults.save_member(requester(), MemberDefaults(style="anime"))
    core.defaults.save_channel(requester(), ChannelDefaults(model="x", refine_by="anyone"))

    async def read():
        return await core.defaults.both(SharedRoundTrips(connect_async(redis_url)), requester())

    assert asyncio.run(read()) == (
        ChannelDefaults(model="x", refine_by="anyone"),
        MemberDefaults(style="anime"),
    )


def test_a_face_fix_default_applies_where_the_backend_has_a_restorer_and_is_skipped_elsewhere(
    redis, make_settings, config_file
):
    member = requester()
    on = changed_member("face_fix", [])(MemberDefaults())
    assert on.face_fix is True and changed_member("face_fix", [])(on).face_fix is False
    for backend, honoured in (("a1111", True), ("placeholder", False)):
        settings = make_settings(config_file(CONFIG), backend=backend)
        core = ImagineCore(settings, redis)
        core.defaults.save_member(member, on)
        request = asyncio.run(
            core.check_new(member, RequestOptions(prompt="a face"), event_id=f"e-{backend}")
        )
        assert request.face_fix is honoured  # a default never blocks a prompt where it cannot apply
        names = [field.name for field in settings_form.fields(on, settings.config, backend)]
        assert ("face_fix" in names) is honoured
    typed_off = asyncio.run(
        core.check_new(
            member, RequestOptions(prompt="a face", face_fix=False, backend="a1111"), event_id="e-off"
        )
    )
    assert typed_off.face_fix is False  # what the member types wins
