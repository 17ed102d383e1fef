"""Fair shares between communities on one lane (shared/jobs/fair.py), on a real Redis and a real worker:
one community's backlog takes turns with another's jobs instead of going first, weighed by
`[quota.workspaces."platform:id"] share`, and positions say the order as it is."""

from __future__ import annotations

import json
import subprocess

from bot.core import ImagineCore
from shared import keys
from shared.drawing.request import ImageRequest
from shared.drawing.requester import Requester
from shared.jobs.queue import queue_name
from tests.helpers import imagine_command
from workers.runtime import build_runtime
from workers.worker import serve

ROOMY = "[quota]\nimages_per_hour = 1000\nconcurrent = 1000\nworkspace_images_per_day = 100000\n"


def request(workspace: str, number: int) -> ImageRequest:
    member = Requester(platform="cli", workspace=workspace, channel="cli", user=f"{workspace}-{number % 3}")
    return ImageRequest(event_id=f"{workspace}-{number}", requester=member, prompt=f"{workspace} {number}")


def communities(core: ImagineCore, submitted: dict[str, str]) -> list[str]:
    return [submitted[job_id] for job_id in core.queue.waiting("placeholder", 100)]


def submit_all(core: ImagineCore, jobs: list[ImageRequest]) -> dict[str, str]:
    return {core.submit(job).job_id: job.requester.workspace for job in jobs}


def test_a_backlog_takes_turns_with_a_community_that_came_later(redis, make_settings, config_file):
    core = ImagineCore(make_settings(config_file(ROOMY)), redis)
    submitted = submit_all(core, [request("club-a", n) for n in range(20)])
    later = submit_all(core, [request("club-b", n) for n in range(2)])
    submitted.update(later)
    queued = communities(core, submitted)
    assert queued[:5] == ["club-a", "club-b", "club-a", "club-b", "club-a"]  # not behind A's 20
    assert [core.queue.standing(job_id, "placeholder")[0] for job_id in later] == [2, 4]  # what members see

    runtime = build_runtime(core.settings, redis, "placeholder")
    serve(runtime, [queue_name("placeholder")], burst=True, name="fair-test", logging_level="ERROR")
    done = sorted(
        (int(entry[0].decode().split("-")[0]), int(entry[0].decode().split("-")[1]), job_id)
        for job_id in submitted
        for entry in redis.xrange(keys.events(job_id))
        if json.loads(entry[1][b"event"])["type"] == "done"
    )
    finished = [submitted[job_id] for *_, job_id in done]
    assert len(finished) == 22 and finished.index("club-b") <= 1 and finished[:4].count("club-b") == 2


def test_a_community_with_a_bigger_share_is_served_that_much_more_often(redis, make_settings, config_file):
    config = ROOMY + '[quota.workspaces."cli:club-b"]\nshare = 3\n'
    core = ImagineCore(make_settings(config_file(config)), redis)
    submitted = submit_all(core, [request("club-a", n) for n in range(8)])
    submitted.update(submit_all(core, [request("club-b", n) for n in range(9)]))
    # B's jobs count a third as much of the lane's time: three of B's for each of A's
    assert communities(core, submitted)[:8] == ["club-b", "club-b", "club-b", "club-a"] * 2


def test_a_cancelled_job_leaves_the_order_and_an_idle_community_saves_no_credit(
    redis, make_settings, config_file
):
    core = ImagineCore(make_settings(config_file(ROOMY)), redis)
    submit_all(core, [request("club-a", n) for n in range(3)])
    runtime = build_runtime(core.settings, redis, "placeholder")
    serve(runtime, [queue_name("placeholder")], burst=True, name="fair-test", logging_level="ERROR")
    assert redis.hlen(keys.fair_tags("placeholder")) == 0  # started jobs forget their tags
    # club-b was idle while club-a's three were served: it comes back at the clock, one turn each
    submitted = submit_all(core, [request("club-a", n) for n in range(3, 6)])
    submitted.update(submit_all(core, [request("club-b", n) for n in range(2)]))
    assert communities(core, submitted)[:4] == ["club-a", "club-b", "club-a", "club-b"]
    cancelled = next(job_id for job_id, who in submitted.items() if who == "club-b")
    owner = request("club-b", 0).requester
    core.jobs.cancel(owner, cancelled)
    assert redis.hget(keys.fair_tags("placeholder"), cancelled) is None


def test_the_command_line_submits_as_a_community(process_env, tmp_path, processes, redis):
    processes.worker({}, redis)
    out = tmp_path / "out"
    command = imagine_command(
        "generate", "a fox", "--workspace", "club-a", "--out", str(out), "--size", "64x64"
    )
    done = subprocess.run(command, env=process_env, cwd=tmp_path, capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    assert redis.keys(keys.quota_workspace_days("cli:club-a") + ":*")  # charged to that community
    bad = subprocess.run(
        imagine_command("generate", "a fox", "--workspace", "club a!"),
        env=process_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "a plain name of letters, digits" in bad.stderr
