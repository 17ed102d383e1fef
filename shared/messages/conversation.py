"""The conversation around images: threads, DMs, settings, the gallery, the showcase, removing a result."""

from __future__ import annotations


def nothing_to_refine_yet() -> str:
    return "The first image of this thread isn't ready yet. Reply again once it has arrived."


def refine_in_reply_box() -> str:
    return "Write what to change in the thread's reply box; it refines the last image."


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
    face_fix = {None: "", True: " · face fix on", False: " · face fix off"}[values.get("face_fix")]
    return (
        "**Your defaults** for a new /imagine (what you type still wins; a refinement keeps its image's "
        f"settings):\n{shown} · prompt expansion {enhance}{face_fix} · negative prompt: {negative}{private}"
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


def results_in_dm() -> str:
    return "Your results are private: they arrive in your direct messages with me, where replies refine them."


def refine_in_dm() -> str:
    return "Reply here to refine the last image (words and flags, as in a thread), or use its buttons."


def refine_in_private_channel() -> str:
    return "I can't read messages in this chat, so refine with the ✏️ Refine button (or run /imagine again)."


def answer_by_dm() -> str:
    return "Your images took longer than Discord lets me answer in that chat, so here they are."


def turn_forgotten(ttl_days: float) -> str:
    return f"I no longer remember this image (threads are kept {ttl_days:g} days). Start again with /imagine."


def deleted() -> str:
    return "Deleted."


def delete_failed(reason: str) -> str:
    return f"I could not delete that message ({reason[:100]})."


def platform_error(status: int) -> str:
    return (
        f"The chat service answered with an error ({status}); your quota was not charged. Please try again."
    )
