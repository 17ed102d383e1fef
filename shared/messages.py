"""Every text a user sees, in one place, so Discord, Slack and the CLI say the same thing."""

from __future__ import annotations

from collections.abc import Iterable

from shared.durations import approximate, humanize_seconds

# --- invalid input -------------------------------------------------------------------------------


def empty_prompt() -> str:
    return "Your prompt is empty: describe the image you want, e.g. “a fox in the snow at dusk”."


def too_long(what: str, length: int, limit: int) -> str:
    return f"Your {what} is {length:,} characters long; the limit is {limit:,}. Please shorten it."


def control_characters(what: str, char: str) -> str:
    return f"Your {what} contains a control character (U+{ord(char):04X}); please remove it."


def not_a_number(what: str, value: str) -> str:
    return f"The {what} must be a whole number, not “{value[:40]}”."


def out_of_range(what: str, value: int, low: int, high: int) -> str:
    return f"The {what} must be between {low} and {high:,} (you asked for {value:,})."


def bad_size(text: str) -> str:
    return (
        f"“{text[:40]}” is not a size I can draw: use WIDTHxHEIGHT, each side a multiple of 8 "
        "from 64 to 2048, e.g. 1024x768."
    )


def bad_aspect(text: str, names: Iterable[str]) -> str:
    return (
        f"“{text[:40]}” is not an aspect I know: use {', '.join(names)}, "
        "or a ratio between 1:4 and 4:1 such as 16:9."
    )


def unsupported_ratio(model: str, low: str, high: str) -> str:
    return (
        f"The model {model} draws aspect ratios from {low} to {high}; please pick a size within that range."
    )


def size_and_aspect() -> str:
    return "Give either a size or an aspect ratio, not both."


def unknown_choice(what: str, value: str, choices: Iterable[str]) -> str:
    return f"There is no {what} called “{value[:40]}”. Choose one of: {', '.join(choices)}."


def no_model_choice(backend: str) -> str:
    return f"Models can't be picked here: the {backend} backend draws with the model its operator set up."


def no_seeds(backend: str) -> str:
    return f"The {backend} backend picks its own seed, so --seed cannot be chosen there. Leave it out."


def no_loras(backend: str) -> str:
    return f"LoRAs can't be added here: the {backend} backend has none configured."


def too_many_loras(given: int, limit: int) -> str:
    return f"{given} LoRAs is more than one image may use (at most {limit})."


def lora_given_twice(name: str) -> str:
    return f"The LoRA {name} is given twice; give it once, with one weight."


def bad_lora_weight(text: str) -> str:
    return f"“{text[:20]}” is not a LoRA weight: give a number from -4 to 4, e.g. --lora NAME:0.8."


def lora_does_not_fit(lora: str, families: list[str], model: str, family: str) -> str:
    return (
        f"The LoRA {lora} is made for {', '.join(families)} models; {model} is {family}. "
        "Pick another model or LoRA."
    )


def lora_unusable(lora: str, model: str) -> str:
    return (
        f"The LoRA {lora} could not be loaded into {model} (a missing file or one made for another "
        "model); nothing was charged. Try another LoRA."
    )


def nsfw_only(what: str, name: str) -> str:
    return f"The {what} {name} is only offered in channels marked NSFW."


def model_not_served(model: str, served: Iterable[str]) -> str:
    listed = ", ".join(served) or "none right now"
    return f"No worker serves the model {model}, so it cannot be drawn now. Models being served: {listed}."


def model_did_not_load(model: str, served: Iterable[str]) -> str:
    listed = ", ".join(served) or "none right now"
    return (
        f"The model {model} could not be loaded on the image workers, so it cannot be drawn now (the "
        f"operator's worker log says why). Models being served: {listed}. Nothing was charged."
    )


def channel_not_allowed() -> str:
    return "Image generation isn't enabled in this channel. Ask an admin which channels it works in."


# --- refusals -------------------------------------------------------------------------------------


def wait_for_hourly(retry_after: float, used: int, limit: int) -> str:
    return f"Please wait {humanize_seconds(retry_after)} — you have used {used} of {limit} images this hour."


def too_many_for_hour(count: int, limit: int) -> str:
    return f"You asked for {count} images, but the limit is {limit} images per hour. Ask for fewer."


def wait_for_concurrent(running: int, limit: int) -> str:
    jobs = "job" if limit == 1 else "jobs"
    return (
        f"You already have {running} of {limit} {jobs} queued or running. "
        "Please wait until one of them finishes."
    )


def wait_for_workspace(retry_after: float, used: int, limit: int) -> str:
    return (
        f"This server has used {used} of its {limit} images for today. "
        f"The daily limit resets in {humanize_seconds(retry_after)} (midnight UTC)."
    )


def blocked() -> str:
    return "You are not allowed to generate images here. Contact the server's admins if this is a mistake."


def quota_disabled() -> str:
    return "Image generation is switched off for you here (your quota is 0). Contact the server's admins."


def stale_button() -> str:
    return "This button no longer works — run /imagine again."


def stale_command() -> str:
    return "This command is not one I know (any more) — run /imagine again."


def unreadable_option() -> str:
    return "One of this command's options could not be read — run /imagine again."


def unreadable_request(fault: str) -> str:
    """A request whose shape is its own fault (a client bug, an old client, a forged body)."""
    return f"This request could not be read: {fault}. Nothing was done — try the command again."


def prompt_tag_refused(tag: str, allowed: list[str]) -> str:
    offered = f" (allowed here: {', '.join(f'<{name}>' for name in allowed)})" if allowed else ""
    return (
        f"Your prompt asks the image server for {tag[:60]}, which is not open to members{offered}. "
        "Remove it and try again; nothing was charged."
    )


def internal_error() -> str:
    return "Something went wrong on my side and the request was not taken; please try again."


def nothing_to_refine_yet() -> str:
    return "The first image of this thread isn't ready yet. Reply again once it has arrived."


def showcased(prompt: str, stars: int, link: str) -> str:
    shown = f"*{prompt}*" if prompt else "An image"
    return f"⭐ {shown} — starred by {stars} members: {link}"


def gallery_header(page: int, pages: int, total: int) -> str:
    if not total:
        return "No images yet. Try `/imagine a lighthouse at dawn`."
    return f"**Your last {total} image sets** — page {page} of {pages}"


def member_settings(values: dict) -> str:
    shown = _settings_line(values, {"style": "style", "aspect": "shape", "count": "images", "model": "model"})
    enhance = {None: "default", True: "on", False: "off"}[values.get("enhance")]
    negative = values.get("negative") or "none"
    private = " · results privately, in your DMs" if values.get("private") else ""
    return (
        "**Your defaults** for a new /imagine (what you type still wins; a refinement keeps its image's "
        f"settings):\n{shown} · prompt expansion {enhance} · negative prompt: {negative}{private}"
    )


def channel_settings(values: dict) -> str:
    shown = _settings_line(values, {"style": "style", "model": "model"})
    return f"**This channel's defaults** (members' own defaults and flags win):\n{shown}"


def _settings_line(values: dict, names: dict[str, str]) -> str:
    return " · ".join(f"{label} {values.get(field) or 'default'}" for field, label in names.items())


def settings_saved() -> str:
    return "Saved."


def channel_settings_not_allowed() -> str:
    return "Only members who may Manage Server can change this channel's defaults."


def strength_range(value: float) -> str:
    return f"--strength is how far to move from your picture, from 0 (not at all) to 1; {value:g} is outside."


def backend_draws_from_words(backend: str) -> str:
    return (
        f"The {backend} backend draws from words only; it cannot start from a picture. Nothing was charged."
    )


def image_not_from_platform() -> str:
    return "I only take pictures uploaded to this chat, not links to other sites. Nothing was charged."


def image_unavailable() -> str:
    return "I could not download your picture (it may have expired); upload it again. Nothing was charged."


def image_too_big(max_bytes: int) -> str:
    mib = 1024 * 1024
    limit = f"{max_bytes // mib} MB" if max_bytes >= mib else f"{max_bytes // 1024} KB"
    return f"Your picture is larger than {limit}; send a smaller one. Nothing was charged."


def image_wrong_type() -> str:
    return "That file is not a picture I can read (PNG, JPEG, WebP or GIF). Nothing was charged."


def image_too_many_pixels() -> str:
    return "Your picture has too many pixels to process; send a smaller one. Nothing was charged."


def too_many_pictures(given: int, limit: int) -> str:
    return f"{given} pictures is more than I can start from at once (at most {limit}). Nothing was charged."


def blend_needs_pictures(given: int, low: int, high: int) -> str:
    return f"A blend takes {low} to {high} pictures; you gave {given}. Nothing was charged."


BLEND_PROMPT = "one image that combines these pictures"


def pictures_prompt(count: int) -> str:
    """The words of a request that brings pictures and none of its own."""
    return BLEND_PROMPT if count > 1 else "a new take on this picture"


def picture_gone() -> str:
    return (
        "Your picture was no longer in storage (it may have expired); upload it again. Nothing was charged."
    )


def slack_files_scope() -> str:
    return (
        "I cannot open files in this workspace yet: the app lacks the files:read scope "
        "(the operator adds it from slack-manifest.yaml and reinstalls). Nothing was charged."
    )


def describe_needs_picture() -> str:
    return "That message has no picture I can describe (PNG, JPEG, WebP or GIF)."


def describe_unavailable(reason: str) -> str:
    return f"I could not describe the picture: {reason}. Nothing was counted against your limit."


def describe_not_configured() -> str:
    return (
        "Describing pictures needs a vision model, and this bot has none configured "
        "(the operator sets OPENAI_API_KEY and IMAGINE_VISION_MODEL or IMAGINE_TEXT_MODEL)."
    )


def describe_turned_off() -> str:
    return "Describing pictures is turned off on this bot ([quota] describes_per_hour = 0)."


def describe_limit(limit: int, retry_after: float) -> str:
    return (
        f"You have described {limit} pictures this hour, the most allowed; the next is possible "
        f"in {humanize_seconds(retry_after)}."
    )


def describe_header(count: int) -> str:
    return f"{count} prompts for this picture; press one to imagine it:"


def describe_expired() -> str:
    return "These suggestions have expired; run /describe again, or copy the words into /imagine."


def cancelled() -> str:
    return "Cancelled. Nothing was charged."


def cancelled_while_queued() -> str:
    return "Cancelled before it started: it left the queue and nothing was charged."


def stopping() -> str:
    return "Stopping it: the images drawn so far are dropped and nothing is charged."


def cannot_stop(backend: str) -> str:
    return (
        f"Jobs on the {backend} backend cannot be stopped once they are being drawn: this one will "
        "finish and count. Cancel works while a job still waits in the queue."
    )


def cancel_too_late() -> str:
    return "That job has already finished."


def cancel_unknown() -> str:
    return "I don't know that job any more: it has finished or expired."


def cancel_not_yours() -> str:
    return "Only the member who asked for a job can cancel it."


def queue_empty() -> str:
    return "You have no jobs queued or running."


def queue_line(number: int, prompt: str, state: str, position: int | None, eta: float | None) -> str:
    if state == "running":
        where = "being drawn"
    else:
        where = f"#{position} in the queue" if position else "queued"
        if eta is not None:
            where += f", about {humanize_seconds(eta)}"
    return f"{number}. {prompt} — {where}"


def queue_totals_line(backend: str, waiting: int, running: int, oldest: float | None) -> str:
    wait = f", the oldest waiting {humanize_seconds(oldest)}" if oldest is not None else ""
    return f"{backend}: {waiting} waiting, {running} running{wait}"


def source_image_gone(*, durable: bool) -> str:
    why = "" if durable else "; the operator can keep images longer with a durable store"
    return f"The earlier image has expired{why}, so this one was drawn afresh from the words."


def results_in_dm() -> str:
    return "Your results are private: they arrive in your direct messages with me, where replies refine them."


def cannot_dm() -> str:
    return (
        "Your results are set to arrive privately, but I can't send you a direct message here: allow "
        "direct messages from this server's members, or turn private results off in /settings. "
        "Nothing was charged."
    )


def refine_in_dm() -> str:
    return "Reply here to refine the last image (words and flags, as in a thread), or use its buttons."


def refine_in_private_channel() -> str:
    return "I can't read messages in this chat, so refine with the ✏️ Refine button (or run /imagine again)."


def answer_by_dm() -> str:
    return "Your images took longer than Discord lets me answer in that chat, so here they are."


def turn_forgotten(ttl_days: float) -> str:
    return f"I no longer remember this image (threads are kept {ttl_days:g} days). Start again with /imagine."


def thread_not_yours() -> str:
    return (
        "Only the member who started this thread can make new images in it (this channel's rule). "
        "Start your own with /imagine; a moderator can open threads to anyone in /settings."
    )


def delete_not_yours() -> str:
    return "Only the member who asked for this image, or a moderator, can delete it."


def deleted() -> str:
    return "Deleted."


def delete_failed(reason: str) -> str:
    return f"I could not delete that message ({reason[:100]})."


def missing_permissions(permissions: str) -> str:
    return (
        f"I can't open a thread for the images here. Ask an admin to give me {permissions} in this "
        "channel; your quota was not charged."
    )


def slack_not_in_channel() -> str:
    return (
        "I'm not in this channel yet: invite me with `/invite @imagine`, then try again. Nothing was charged."
    )


def platform_error(status: int) -> str:
    return (
        f"The chat service answered with an error ({status}); your quota was not charged. Please try again."
    )


def quota_report(report) -> str:
    """/quota: what a member has used and has left, and when the window frees up."""
    limits = report.limits
    left = max(0, limits.images_per_hour - report.used_this_hour) + report.bonus
    lines = [
        f"Images this hour: {report.used_this_hour} of {limits.images_per_hour} used, {left} left"
        + (f" (including {report.bonus} bonus)" if report.bonus else "")
        + ".",
    ]
    if report.window_resets_in is not None:
        lines.append(
            f"Your oldest image this hour stops counting in {humanize_seconds(report.window_resets_in)}."
        )
    lines.append(f"Jobs queued or running: {report.running} of {limits.concurrent}.")
    lines.append(
        f"This server today: {report.workspace_used_today} of {limits.workspace_images_per_day} images "
        "(resets at midnight UTC)."
    )
    if report.blocked:
        lines.append(blocked())
    return "\n".join(lines)


def moderation_refused(category: str) -> str:
    return (
        f"This prompt was refused by the server's content policy (category: {category}). "
        "Nothing was charged; please rephrase it."
    )


def moderation_blocklist() -> str:
    return "This prompt contains a word this server does not allow. Nothing was charged; please rephrase it."


def moderation_unavailable() -> str:
    return (
        "The content check is unavailable right now, and this server does not generate without it. "
        "Nothing was charged; please try again in a few minutes."
    )


# --- progress and results ------------------------------------------------------------------------


def queued(position: int | None, eta_seconds: float | None) -> str:
    if position is None:
        return "Queued."
    where = "next in line" if position <= 1 else f"#{position} in queue"
    if eta_seconds is None:
        return f"Queued — {where}."
    return f"Queued — {where}, about {approximate(eta_seconds)}."


def queued_short(position: int | None, eta_seconds: float | None) -> str:
    """The queue state inside a status line: "queued, #3 (about 20 s)"."""
    if position is None:
        return "queued"
    where = "queued, next in line" if position <= 1 else f"queued, #{position}"
    return where if eta_seconds is None else f"{where} (about {approximate(eta_seconds)})"


def generating() -> str:
    return "Generating…"


def done(count: int, seconds: float) -> str:
    images = "image" if count == 1 else "images"
    return f"Done — {count} {images} in {seconds:.1f} s."


def expansion_skipped(reason: str) -> str:
    return f"Prompt expansion was skipped ({reason}); your prompt was used as written."


def refinement_merged_plainly(reason: str) -> str:
    return f"Your reply was added to the prompt as written ({reason})."


def changed(summary: str) -> str:
    return f"Changed: {summary}"


def already_submitted() -> str:
    return "That request was already received; its images will arrive once."


def retrying(attempt_left: int) -> str:
    return f"The image service hiccupped; trying again ({attempt_left} attempts left)."


# --- failures --------------------------------------------------------------------------------------


def backend_unavailable() -> str:
    return (
        "The image service is unavailable right now, so your quota was not charged. Please try again later."
    )


def backend_refused() -> str:
    return "The image service's safety system refused this prompt. Please rephrase it."


def worker_lost() -> str:
    return (
        "The image could not be made after several attempts, so your quota was not charged. Please try again."
    )


def image_too_large() -> str:
    return "The image is larger than this bot may store, so your quota was not charged. Try a smaller size."


def out_of_memory() -> str:
    return (
        "This request needs more GPU memory than the worker has free, so your quota was not charged. "
        "Try a smaller size or fewer images."
    )


def images_expired() -> str:
    return "The image was made, but it expired before it could be posted here. Please ask again."


def delivery_impossible() -> str:
    return "The image was made but could not be posted here (the thread or channel is gone or I lost access)."


def no_worker(backend: str, waiting: int) -> str:
    jobs = "no job is" if not waiting else "1 job is" if waiting == 1 else f"{waiting:,} jobs are"
    return (
        f"No worker is serving the {backend!r} backend ({jobs} waiting for one). "
        f"Start one with `imagine worker --backend {backend}`."
    )


def queued_without_worker(position: int) -> str:
    """A chat status while no worker serves the job's backend: the job waits, it has not failed."""
    return (
        f"{queued_short(position, None)} — no image worker is running right now; "
        "your request will start when one is back"
    )


def no_worker_for_default(backend: str) -> str:
    return (
        f"no live worker serves the default backend {backend!r} (IMAGINE_BACKEND), so requests would "
        f"wait: start one with `imagine worker --backend {backend}`"
    )


def still_running(job_id: str, seconds: float) -> str:
    return (
        f"Job {job_id} is not finished after {humanize_seconds(seconds)}; it keeps running and its "
        "result will still be delivered."
    )


def images_dropped(numbers: list[int], limit_bytes: int) -> str:
    which = ", ".join(str(n) for n in numbers)
    return (
        f"Image {which} could not be posted: even compressed it is larger than this server's "
        f"{limit_bytes / 1048576:.0f} MiB upload limit."
    )


def images_recompressed(numbers: list[int]) -> str:
    which = ", ".join(str(n) for n in numbers)
    return (
        f"Image {which} was compressed to fit the upload limit; the original quality is kept for refinements."
    )


def withheld_by_policy(withheld: int, total: int) -> str:
    if withheld == 1:
        return f"1 of {total} images was withheld by the content policy."
    return f"{withheld} of {total} images were withheld by the content policy."


def hidden_by_policy(hidden: int, total: int) -> str:
    were = "was" if hidden == 1 else "were"
    return f"{hidden} of {total} images {were} hidden by the content policy: click to show."


def hidden_image_gone() -> str:
    return "That image is no longer stored, so it cannot be shown."


def hidden_image_shown_already() -> str:
    return "That image is already shown in this thread."


def hidden_image_shown(number: int, who: str) -> str:
    return f"Image {number}, hidden by the content policy, shown because {who} asked."


def safety_checker_withheld(numbers: list[int]) -> str:
    which = ", ".join(str(n) for n in numbers)
    if len(numbers) == 1:
        return f"Image {which} withheld: the model's safety checker flagged it."
    return f"Images {which} withheld: the model's safety checker flagged them."


def all_withheld_by_policy() -> str:
    return "The images were withheld by the content policy, so nothing was charged. Try other words."


def left_out(what: str, workflow: str) -> str:
    """An option the operator's ComfyUI workflow has no place for: drawn without it, and said so."""
    return f"The {what} was left out: the {workflow} workflow has no place for it."


def drawn_afresh(workflow: str) -> str:
    return f"Drawn afresh from the words: the {workflow} workflow does not start from a picture."


def images_withheld(indexes: list[int]) -> str:
    which = ", ".join(str(i) for i in indexes)
    return f"Image {which} was withheld: the AI Horde's safety filter censored it."


def horde_waiting(position: int, seconds: int) -> str:
    place = f"#{position} in the AI Horde's queue" if position else "being drawn by the AI Horde"
    return f"{place}, about {seconds} s" if seconds else place


def horde_impossible() -> str:
    return "No AI Horde worker can draw this right now (model or size); try another model or a smaller size."


def horde_kudos(detail: str) -> str:
    return (
        f"The AI Horde needs more kudos for this request: {detail[:200]} Try fewer steps or a smaller size."
    )


def drawing_step(step: int, steps: int) -> str:
    return f"Generating… step {step} of {steps}"
