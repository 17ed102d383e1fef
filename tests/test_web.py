"""`imagine web` as a real process with a real worker and Redis, driven over HTTP as the page drives it:
actions as JSON POSTs, the member's feed as server-sent events."""

from __future__ import annotations

import io
import json
import random
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageChops, ImageStat

from shared import keys
from tests.fakes.openai_api import FakeOpenAI
from tests.helpers import answers_ok, free_port, imagine_command, wait_until
from tests.web_harness import Message, Page, start_web, user_line


def results(messages: list[Message]) -> list[Message]:
    return [m for m in messages if m["kind"] == "result"]


@pytest.fixture
def page(processes, redis, config_file) -> Callable[..., Page]:
    return lambda config="": Page(start_web(processes, redis, config_file, config))


def test_a_prompt_opens_a_thread_whose_status_moves_to_images_and_buttons(page):
    web = page()
    answer = web.say("/imagine a fox in the snow --ar 16:9 --n 2".removeprefix("/imagine "))
    assert answer == {"taken": True, "private": [], "buttons": [], "form": []}
    messages = web.feed_until(lambda ms: results(ms))
    [done] = results(messages)
    states = [m["text"] for m in messages if m["kind"] == "status" and m["job"] == done["job"]]
    assert states[0].startswith("queued") and "Generating…" in states
    assert done["subject"] == "a fox in the snow" and len(done["images"]) == 2
    status, png, headers = web.get(done["images"][1]["url"])
    assert status == 200 and "immutable" in headers["Cache-Control"]
    with Image.open(io.BytesIO(png)) as image:
        assert image.width > image.height
    labels = [button["label"] for row in done["buttons"] for button in row]
    assert labels == [
        "✨ Variation 1",
        "✨ Variation 2",
        "⬆️ Upscale 1",
        "⬆️ Upscale 2",
        "🔁 Reroll",
        "✏️ Refine",
    ]


def test_buttons_and_replies_make_their_jobs_in_the_same_thread(page):
    web = page()
    web.say("a lighthouse")
    [first] = results(web.feed_until(lambda ms: results(ms)))
    thread = first["thread"]
    reroll = next(b["id"] for row in first["buttons"] for b in row if "reroll" in b["id"])
    assert web.press(reroll, thread)["taken"]
    assert web.say("now at night", thread=thread)["taken"]
    messages = web.feed_until(lambda ms: len(results(ms)) == 3)
    later = results(messages)[1:]
    assert {m["thread"] for m in later} == {thread}
    assert sorted(m["label"] for m in later) == sorted(["🔁 Reroll:", "✏️ Refine:"])
    assert any(m["subject"] == "now at night" for m in later)


def test_a_single_image_offers_zoom_pan_and_square_and_zoom_keeps_the_picture_in_the_middle(page):
    web = page()
    web.say("a lighthouse --ar 3:2")
    [first] = results(web.feed_until(lambda ms: results(ms)))
    rows = [[b["label"] for b in row] for row in first["buttons"]]
    assert ["🖌️ Vary (Region)", "🔍 Zoom out 2×", "🔍 Zoom out 1.5×", "Make square"] in rows and [
        "⬅️",
        "➡️",
        "⬆️",
        "⬇️",
    ] in rows
    zoom = next(b["id"] for row in first["buttons"] for b in row if b["label"] == "🔍 Zoom out 2×")
    assert web.press(zoom, first["thread"])["taken"]
    zoomed = results(web.feed_until(lambda ms: len(results(ms)) == 2))[1]
    assert zoomed["label"] == "🔍 Zoom out:" and zoomed["thread"] == first["thread"]
    _, before, _ = web.get(first["images"][0]["url"])
    _, after, _ = web.get(zoomed["images"][0]["url"])
    with Image.open(io.BytesIO(before)) as original, Image.open(io.BytesIO(after)) as result:
        assert result.size == original.size
        w, h = original.size
        middle = result.crop((w // 4 + 12, h // 4 + 12, 3 * w // 4 - 12, 3 * h // 4 - 12))
        shrunk = original.resize((w // 2, h // 2)).crop((12, 12, w // 2 - 12, h // 2 - 12))
        assert sum(ImageStat.Stat(ImageChops.difference(middle, shrunk)).mean) / 3 < 8
    assert any("Make square" in b["label"] for row in zoomed["buttons"] for b in row) is not False
    web.say("--pan left", thread=first["thread"])  # a reply asks the same of the thread's last image
    panned = results(web.feed_until(lambda ms: len(results(ms)) == 3))[2]
    assert panned["label"] == "↔️ Pan:"
    _, data, _ = web.get(panned["images"][0]["url"])
    with Image.open(io.BytesIO(data)) as wider:
        assert wider.size == (w * 3 // 2 // 8 * 8, h)


def test_a_reply_with_region_repaints_those_ninths_of_the_last_image(page):
    web = page()
    web.say("a quiet bay")
    [first] = results(web.feed_until(lambda ms: results(ms)))
    assert web.say("a red kite --region top-right", thread=first["thread"])["taken"]
    edited = results(web.feed_until(lambda ms: len(results(ms)) == 2))[1]
    assert edited["label"] == "🖌️ Vary (Region):" and edited["subject"] == "a red kite"
    _, before, _ = web.get(first["images"][0]["url"])
    _, after, _ = web.get(edited["images"][0]["url"])
    with Image.open(io.BytesIO(before)) as original, Image.open(io.BytesIO(after)) as result:
        w, h = original.size
        kept = (0, h // 3 + 16, w, h)  # below the top row, past the seam
        assert (
            ImageChops.difference(
                result.convert("RGB").crop(kept), original.convert("RGB").crop(kept)
            ).getbbox()
            is None
        )


def test_a_result_of_several_images_offers_no_canvas_edits(page):
    web = page()
    web.say("two boats --n 2")
    [first] = results(web.feed_until(lambda ms: results(ms)))
    assert not any("Zoom" in b["label"] for row in first["buttons"] for b in row)


def test_refusals_and_bad_input_are_answered_privately_and_post_nothing(page):
    web = page("[quota]\nimages_per_hour = 1\n")
    bad = web.say("a fox --zoom 2")
    assert not bad["taken"] and "There is no flag --zoom" in bad["private"][0]
    assert web.say("a fox")["taken"]
    refused = web.say("a hare")
    assert not refused["taken"] and refused["private"][0].startswith("Please wait")
    assert "used 1 of 1 images this hour" in refused["private"][0]
    messages = web.feed_until(lambda ms: results(ms))
    assert {m["subject"] for m in messages} == {"a fox"}  # nothing of the refused or the bad one
    stale = web.press("imagine:sparkle:img-old", thread=messages[0]["thread"])
    assert not stale["taken"] and "no longer works" in stale["private"][0]


def test_other_sites_cannot_act_or_read_and_only_this_machine_is_served(page, process_env):
    web = page()
    assert web.session["user"] == "local" and web.session["login"]["required"] is False
    assert web.post("/api/say", {"text": "a fox"}, headers={"X-Imagine": ""})[0] == 403
    assert web.post("/api/say", {"text": "a fox"}, headers={"Origin": "https://evil.example"})[0] == 403
    assert web.post("/api/say", {"text": "a fox"}, headers={"X-CSRF-Token": "forged"}) == (
        403,
        {"error": "This page is out of date: reload it."},
    )
    stranger = Page(web.url)
    stranger.cookies.clear()  # a client without the session cookie
    assert stranger.post("/api/say", {"text": "a fox"})[0] == 401
    assert stranger.get("/api/events")[0] == 401
    assert web.get("/", headers={"Host": "evil.example"})[0] == 421  # DNS rebinding
    status, body, headers = web.get("/")
    assert status == 200 and b'<script src="/static/app.js" defer>' in body
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert web.get("/images/not-a-key")[0] == 404
    refused = subprocess.run(
        imagine_command("web", "--host", "0.0.0.0", "--port", str(free_port())),
        env=process_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode == 1
    assert "needs a login: set IMAGINE_WEB_PASSWORD" in refused.stderr and "[web.users]" in refused.stderr


@pytest.fixture
def served_to_the_network(processes, redis, config_file) -> Callable[..., str]:
    """`imagine web --host 0.0.0.0` with named users alice and bob and the shared password "letmein";
    a user's line stays the same from one start to the next unless their password changes."""
    lines: dict[tuple[str, str], str] = {}

    def start(config: str = "", **passwords: str) -> str:
        users = {"alice": "alice-secret", "bob": "bob-secret", **passwords}
        config += "[web.users]\n" + "".join(
            lines.setdefault(user, user_line(*user)) for user in users.items()
        )
        env = {"IMAGINE_WEB_PASSWORD": "letmein"}
        return start_web(processes, redis, config_file, config, host="0.0.0.0", env=env)

    return start


def test_off_this_machine_each_member_logs_in_and_has_their_own_feed_and_quota(served_to_the_network):
    url = served_to_the_network("[quota]\nimages_per_hour = 1\n")
    alice, guest = Page(url), Page(url)
    assert alice.session == {"user": None, "csrf": None, "login": {"required": True, "named": True}}
    assert alice.post("/api/say", {"text": "a fox"})[0] == 401
    assert alice.get("/api/events")[0] == 401
    assert alice.login("alice", "bob-secret") == (401, {"error": "Wrong name or password."})
    assert alice.login("carol", "alice-secret")[0] == 401
    assert alice.login("Alice", "alice-secret")[0] == 200
    assert guest.login("", "letmein")[0] == 200
    assert alice.get_json("/api/session")["user"] == "alice"
    assert guest.get_json("/api/session")["user"] == "guest"
    # Served to the network, any Host name reaches it; a cross-site Origin still does not.
    assert alice.get("/api/session", headers={"Host": "imagine.lan:8080"})[0] == 200
    assert alice.post("/api/say", {"text": "a fox"}, headers={"Origin": "http://evil.example"})[0] == 403

    assert alice.say("a fox")["taken"]
    assert alice.say("a hare")["private"][0].startswith("Please wait")  # alice's hour is used up
    assert guest.say("an owl")["taken"]  # the guest is another member, with a quota of their own
    assert {m["subject"] for m in results(alice.feed_until(lambda ms: results(ms)))} == {"a fox"}
    assert {m["subject"] for m in results(guest.feed_until(lambda ms: results(ms)))} == {"an owl"}

    assert alice.post("/api/logout", {})[0] == 200
    assert alice.get_json("/api/session")["user"] is None
    assert alice.post("/api/say", {"text": "a fox"})[0] == 401


def test_a_restart_keeps_sessions_and_a_changed_password_ends_them(served_to_the_network, processes):
    url = served_to_the_network()
    alice, bob = Page(url), Page(url)
    assert alice.login("alice", "alice-secret")[0] == 200 and bob.login("bob", "bob-secret")[0] == 200
    for process in processes.started:
        process.terminate()
        process.wait(timeout=20)
    later = served_to_the_network(alice="a-new-secret")
    alice.url = bob.url = later
    assert bob.get_json("/api/session")["user"] == "bob"
    assert alice.get_json("/api/session")["user"] is None


def test_guessing_passwords_is_stopped_for_a_while_with_a_clear_answer(served_to_the_network):
    web = Page(served_to_the_network())
    for _ in range(10):
        assert web.login("alice", "a guess")[0] == 401
    status, answer = web.login("alice", "alice-secret")
    assert status == 429 and answer["error"].startswith("Too many failed logins from this address")
    assert "try again in 15 min" in answer["error"]


def test_with_no_redis_configured_one_command_brings_its_own_redis_and_worker(processes, process_env):
    env = {k: v for k, v in process_env.items() if k != "REDIS_URL"}
    port = free_port()
    processes.env = env
    process = processes.start("web", "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    wait_until(
        lambda: process.poll() is None and answers_ok(url + "/healthz"), timeout=30, what="imagine web"
    )
    web = Page(url)
    assert web.say("a fox")["taken"]
    [done] = results(web.feed_until(lambda ms: results(ms)))
    assert web.get(done["images"][0]["url"])[0] == 200


def test_a_login_made_by_imagine_web_password_works_and_a_pasted_password_is_refused(
    processes, redis, config_file, process_env
):
    made = subprocess.run(
        imagine_command("web-password", "carol"),
        input="carol-secret\ncarol-secret\n",
        env=process_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert made.returncode == 0, made.stderr
    url = start_web(processes, redis, config_file, f"[web.users]\n{made.stdout}", host="0.0.0.0")
    assert Page(url).login("carol", "carol-secret")[0] == 200
    pasted = subprocess.run(
        imagine_command("web", "--port", str(free_port())),
        env={**process_env, "IMAGINE_CONFIG": str(config_file('[web.users]\ncarol = "carol-secret"\n'))},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert pasted.returncode != 0
    assert "carol: not a password hash; run `imagine web-password carol`" in pasted.stderr
    assert "carol-secret" not in pasted.stderr  # a secret is never echoed back


def test_settings_refuse_a_value_that_is_not_a_choice_and_save_the_rest(page):
    web = page()
    status, answer = web.post("/api/settings", {"style": "<b>nope</b>", "count": "2"})
    assert status == 200 and answer["private"] == ["Style: '<b>nope</b>' is not one of the choices."]
    status, answer = web.post("/api/settings", {"style": "anime", "count": "2", "negative": "text"})
    assert answer["private"][0] == "Saved." and "style anime" in answer["private"][1]
    shown = web.say("/settings")
    assert {f["name"]: f["current"] for f in shown["form"]}["count"] == "2"


def test_quota_typed_is_answered_to_the_member_alone_after_an_image(page):
    web = page("[quota]\nimages_per_hour = 5\n")
    assert web.say("a fox")["taken"] is True
    web.feed_until(lambda ms: results(ms))
    answer = web.say("/quota")
    assert answer["taken"] is False and answer["private"][0].startswith(
        "Images this hour: 1 of 5 used, 4 left."
    )
    assert web.say("/QUOTA")["private"] == answer["private"]


def picture(colour: tuple[int, int, int], size: tuple[int, int] = (48, 32)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_pictures_uploaded_with_a_prompt_are_what_it_starts_from_and_bad_ones_are_refused(page, redis):
    web = page("[limits]\nsource_image_bytes = 4096\n")
    answer = web.upload(
        "/api/say", [picture((255, 0, 0)), picture((0, 0, 255))], text="a dream --strength 0.2"
    )
    assert answer["taken"], answer
    [done] = results(web.feed_until(lambda ms: results(ms)))
    _, png, _ = web.get(done["images"][0]["url"])
    r, g, b = Image.open(io.BytesIO(png)).convert("RGB").resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    assert r > 2 * g and b > 2 * g  # a blend of both
    refined = web.upload("/api/say", [picture((0, 255, 0))], text="--strength 0.2", thread=done["thread"])
    assert refined["taken"], refined  # a picture alone refines the thread from it
    noise = Image.frombytes("RGB", (64, 64), random.Random(1).randbytes(64 * 64 * 3))  # ~12 KB as PNG
    big = io.BytesIO()
    noise.save(big, format="PNG")
    assert web.upload("/api/say", [big.getvalue()], text="a fox")["private"] == [
        "Your picture is larger than 4 KB; send a smaller one. Nothing was charged."
    ]
    six = web.upload("/api/say", [picture((9, 9, 9))] * 6, text="a fox")
    assert six["private"] == [
        "6 pictures is more than I can start from at once (at most 5). Nothing was charged."
    ]
    junk = web.upload("/api/say", [b"GIF89a not really"], text="a fox")
    assert junk["private"][0].startswith("That file is not a picture I can read")
    assert redis.zcard(keys.quota_window("web:local")) == 2  # the blend and the refinement only


def test_a_picture_marked_as_a_reference_steers_the_drawing_and_the_thread_keeps_it(page, redis):
    web = page()
    assert web.say("a fox --seed 3 --size 256x256")["taken"]  # the same drawing without the reference
    answer = web.upload(
        "/api/say", [picture((250, 0, 0))], text="a fox --seed 3 --sref --sw 100 --size 256x256"
    )
    assert answer["taken"], answer
    plain, done = results(web.feed_until(lambda ms: len(results(ms)) == 2))

    def redness(result: dict) -> float:
        _, png, _ = web.get(result["images"][0]["url"])
        drawn = Image.open(io.BytesIO(png)).convert("RGB")
        assert drawn.size == (256, 256)  # drawn from the words at the size asked, not from the picture
        r, g, b = drawn.getpixel((5, 5))
        return r - (g + b) / 2

    assert redness(done) > redness(plain) + 30  # in the reference's colour
    # --sw alone is refused unless there is a reference: taken, the thread's turn kept it
    again = web.say("--sw 0", thread=done["thread"])
    assert again["taken"], again
    assert web.upload("/api/say", [], text="a hare --cref")["private"] == [
        "--cref needs 1 attached picture, and this message has 0: attach it with the message."
    ]


def test_pictures_from_a_member_with_no_quota_left_are_neither_decoded_nor_kept(page, redis):
    web = page("[quota]\nimages_per_hour = 0\n")
    refused = web.upload("/api/say", [picture((255, 0, 0))] * 4, text="a fox")
    assert not refused["taken"] and refused["private"], refused
    assert redis.keys("imagine:picture:*") == [] and redis.zcard(keys.quota_window("web:local")) == 0


def test_describe_offers_four_prompts_whose_buttons_start_jobs(processes, redis, config_file):
    with FakeOpenAI() as fake:
        env = {**fake.env(), "IMAGINE_VISION_MODEL": "gpt-vision-fake"}
        web = Page(start_web(processes, redis, config_file, "", env=env))
        answer = web.upload("/api/describe", [picture((0, 0, 250))])
        assert answer["private"][0] == "4 prompts for this picture; press one to imagine it:"
        assert answer["private"][2] == "2. an oil painting of a blue scene, bold shapes, centered, soft light"
        assert [b["label"] for b in answer["buttons"]] == ["Imagine 1", "Imagine 2", "Imagine 3", "Imagine 4"]
        assert web.press(answer["buttons"][3]["id"], None)["taken"]
        [done] = results(web.feed_until(lambda ms: results(ms)))
        assert done["subject"].startswith("pixel art of a blue scene")
        assert web.upload("/api/describe", [])["private"] == [
            "That message has no picture I can describe (PNG, JPEG, WebP or GIF)."
        ]


def test_a_burst_of_parallel_guesses_is_counted_before_any_check_and_health_stays_quick(
    served_to_the_network, processes
):
    url = served_to_the_network()
    page = Page(url)
    body = json.dumps({"name": "alice", "password": "a guess"}).encode()
    headers = {"Content-Type": "application/json", "X-Imagine": "1"}

    def guess(_: int) -> int:
        request = urllib.request.Request(f"{url}/api/login", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    healthz: list[float] = []

    def health_meanwhile() -> None:
        while len(healthz) < 5:
            started = time.monotonic()
            assert answers_ok(f"{url}/healthz")
            healthz.append(time.monotonic() - started)

    with ThreadPoolExecutor(max_workers=64) as pool:
        checker = pool.submit(health_meanwhile)
        statuses = list(pool.map(guess, range(200)))
        checker.result(timeout=60)
    assert statuses.count(401) <= 10 and statuses.count(429) >= 190 and set(statuses) <= {401, 429}
    assert max(healthz) < 1.0, healthz
    log = processes.log_of(processes.started[-1])
    assert log.count("a failed login from") <= 10  # no password was checked past the limit
    status, answer = page.login("bob", "bob-secret")  # this address has had its tries, for any account
    assert status == 429 and "from this address" in answer["error"]


def test_a_name_given_where_only_the_shared_password_exists_is_a_wrong_login(processes, redis, config_file):
    url = start_web(
        processes, redis, config_file, "", host="0.0.0.0", env={"IMAGINE_WEB_PASSWORD": "letmein"}
    )
    page = Page(url)
    assert page.login("alice", "letmein") == (401, {"error": "Wrong password."})
    assert page.login("", "letmein")[0] == 200


def _login_over(url: str, forwarded_proto: str) -> tuple[int, dict[str, str]]:
    """A login as a TLS proxy passes it on: the client spoke `forwarded_proto` to the proxy."""
    body = json.dumps({"name": "alice", "password": "alice-secret"}).encode()
    headers = {"Content-Type": "application/json", "X-Imagine": "1", "X-Forwarded-Proto": forwarded_proto}
    request = urllib.request.Request(f"{url}/api/login", data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, dict(response.headers)


def test_only_a_trusted_proxy_makes_the_session_secure_and_sends_hsts(served_to_the_network, processes):
    behind = served_to_the_network('[web]\ntrusted_proxies = ["127.0.0.1"]\n')
    status, headers = _login_over(behind, "https")
    assert status == 200 and "Secure" in headers["Set-Cookie"]
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "passwords and session cookies travel in clear" not in processes.log_of(processes.started[-1])

    untrusted = (
        served_to_the_network()
    )  # anyone can send the header: without a trusted proxy it means nothing
    status, headers = _login_over(untrusted, "https")
    assert status == 200 and "Secure" not in headers["Set-Cookie"]
    assert "Strict-Transport-Security" not in headers
    assert "passwords and session cookies travel in clear" in processes.log_of(processes.started[-1])


def test_logging_out_ends_the_session_for_every_copy_of_its_cookie(served_to_the_network):
    url = served_to_the_network()
    alice = Page(url)
    assert alice.login("alice", "alice-secret")[0] == 200
    copied = Page(url)
    for cookie in alice.cookies:
        copied.cookies.set_cookie(cookie)
    copied.csrf = alice.csrf
    assert copied.get_json("/api/session")["user"] == "alice"
    assert alice.post("/api/logout", {})[0] == 200
    assert copied.get_json("/api/session")["user"] is None
    assert copied.post("/api/say", {"text": "a fox"})[0] == 401


def test_a_members_thread_is_theirs_another_member_can_neither_refine_nor_press_in_it(
    served_to_the_network, redis
):
    url = served_to_the_network()
    alice, bob = Page(url), Page(url)
    assert alice.login("alice", "alice-secret")[0] == 200 and bob.login("bob", "bob-secret")[0] == 200
    assert alice.say("a fox --no hounds")["taken"]
    [done] = results(alice.feed_until(lambda ms: results(ms)))
    reroll = next(b["id"] for row in done["buttons"] for b in row if b["id"].startswith("imagine:reroll:"))
    for answer in (bob.say("now at night", thread=done["thread"]), bob.press(reroll, done["thread"])):
        assert not answer["taken"] and answer["private"][0].startswith("Only the member who started")
        assert "fox" not in json.dumps(answer) and "hounds" not in json.dumps(answer)
    assert redis.zcard(keys.quota_window("web:bob")) == 0 and len(redis.keys("rq:job:img-*")) == 1
    assert alice.press(reroll, done["thread"])["taken"]  # the owner's own press


def test_an_image_opens_only_for_the_member_whose_feed_holds_it(served_to_the_network, redis):
    url = served_to_the_network()
    alice, bob = Page(url), Page(url)
    assert alice.login("alice", "alice-secret")[0] == 200 and bob.login("bob", "bob-secret")[0] == 200
    assert alice.say("a fox")["taken"]
    [done] = results(alice.feed_until(lambda ms: results(ms)))
    link = done["images"][0]["url"]
    assert alice.get(link)[0] == 200
    assert bob.get(link)[0] == 404  # the same link, another member
    assert alice.get(link.split("?", 1)[0])[0] == 404  # the key alone, guessed
    other = f"imagine:image:img-{'ab' * 16}:0"  # another platform's image, its key guessed
    redis.set(other, b"\x89PNG not ours")
    assert alice.get(f"/images/{other}")[0] == 404


def _open_feed(url: str, cookie: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    connection = socket.create_connection((host, int(port)), timeout=10)
    connection.sendall(
        f"GET /api/events HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n\r\n".encode()
    )
    return connection


def test_one_members_many_feeds_do_not_delay_anothers_and_the_oldest_are_closed(served_to_the_network):
    url = served_to_the_network()
    alice, bob = Page(url), Page(url)
    assert alice.login("alice", "alice-secret")[0] == 200 and bob.login("bob", "bob-secret")[0] == 200
    cookie = "; ".join(f"{c.name}={c.value}" for c in alice.cookies)
    feeds = [_open_feed(url, cookie) for _ in range(80)]
    try:
        seen: dict[int, bytes] = {}
        wait_until(
            lambda: sum(b"superseded" in _received(feed, seen) for feed in feeds) >= 76,
            timeout=20,
            what="alice's oldest pages to be told they no longer follow",
        )
        started = time.monotonic()
        bob.say("a fox")
        bob.feed_until(lambda ms: any(m["kind"] == "prompt" or m.get("text") for m in ms), timeout=10)
        assert time.monotonic() - started < 2.0  # before: 12.9 s behind alice's 80 connections
    finally:
        for feed in feeds:
            feed.close()


def _received(connection: socket.socket, seen: dict[int, bytes]) -> bytes:
    """What the server sent on `connection` so far (`seen` keeps it between calls)."""
    connection.setblocking(False)
    try:
        while chunk := connection.recv(65536):
            seen[connection.fileno()] = seen.get(connection.fileno(), b"") + chunk
    except BlockingIOError:
        pass
    return seen.get(connection.fileno(), b"")
