"""Midjourney-style flags after a prompt or a reply: `a fox --ar 16:9 --seed 3 --no text, watermark`.

Platform-neutral: Slack's one text field and Discord thread replies both speak it. A flag's value
runs to the next flag, so `--no text, watermark` keeps its comma.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shared.drawing.references import control_kind, references_attached
from shared.drawing.request import typed_options
from shared.errors import InvalidRequest

# flag -> the RequestOptions field it sets, from the options' own declarations
VALUE_FLAGS = {
    name: option
    for option, typed in typed_options().items()
    if typed.members and not typed.switch
    for name in typed.names
}
SWITCH_FLAGS = {
    flag: (option, value)
    for option, typed in typed_options().items()
    if typed.members and typed.switch
    for name in typed.names
    for flag, value in ((name, True), (f"no-{name}", False))
}
# Phones turn "--" into an em or en dash; a dash (or two) right before a letter after a space counts.
_FLAG = re.compile(r"(?:(?<=\s)|^)(?:--|—|–)([A-Za-z][A-Za-z0-9-]*)")


# Flags that say what a picture attached to the message is for (the command line's --sref PICTURE):
# `--sref`, `--cref` (switches) and `--control KIND`; the other attached pictures are drawn from.
PICTURE_FLAGS = {"sref": "style", "cref": "character", "control": "control"}


@dataclass(frozen=True)
class PictureRoles:
    """What the attached pictures are for, in order: the style reference, the character reference, the
    control picture (with what of it to follow); the rest are the pictures the drawing starts from."""

    style: bool = False
    character: bool = False
    control: str | None = None  # canny, depth or pose

    @property
    def count(self) -> int:
        return len(self.flags)

    @property
    def flags(self) -> list[str]:
        """The flags given, as typed: `--sref`, `--cref`, `--control`."""
        given = {"style": self.style, "character": self.character, "control": self.control}
        return [f"--{flag}" for flag, role in PICTURE_FLAGS.items() if given[role]]


@dataclass(frozen=True)
class Flagged:
    """The words before the first flag, the options the flags set (RequestOptions field names) and
    what the attached pictures are for."""

    text: str
    options: dict[str, str | bool | tuple[str, ...]] = field(default_factory=dict)
    pictures: PictureRoles = PictureRoles()


REPEATABLE = {option for option, typed in typed_options().items() if typed.repeatable}


def parse_flags(text: str) -> Flagged:
    """Split `text` into its free words and its flags; unknown, repeated or empty flags are errors
    (but for a repeatable one, `--lora a --lora b`, whose values are collected)."""
    matches = list(_FLAG.finditer(text))
    options: dict[str, str | bool | tuple[str, ...]] = {}
    given: set[str] = set()
    roles: dict[str, bool | str] = {}
    for index, match in enumerate(matches):
        name = match[1].lower()
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        value = text[match.end() : end].strip()
        if name in VALUE_FLAGS and VALUE_FLAGS[name] in REPEATABLE and value:
            target = VALUE_FLAGS[name]
            options[target] = (*options.get(target, ()), value)  # type: ignore[misc]
            continue
        if name in given:
            raise InvalidRequest(f"The flag --{name} is given twice; give it once.")
        given.add(name)
        if name in PICTURE_FLAGS:
            roles[PICTURE_FLAGS[name]] = _picture_role(name, value)
        elif name in SWITCH_FLAGS:
            target, switch = SWITCH_FLAGS[name]
            if value:
                raise InvalidRequest(
                    f"The flag --{name} takes no value (found “{value[:40]}”); put flags after the prompt."
                )
            options[target] = switch
        elif name in VALUE_FLAGS:
            target = VALUE_FLAGS[name]
            if not value:
                example = typed_options()[target].example
                raise InvalidRequest(f"The flag --{name} needs a value, e.g. --{name} {example}.")
            if target in options:
                raise InvalidRequest(f"The flags --{name} and another for the same option are both given.")
            options[target] = value
        else:
            raise InvalidRequest(f"There is no flag --{name[:30]}. {flags_help_line()}")
    words = text[: matches[0].start()] if matches else text
    return Flagged(words.strip(), options, PictureRoles(**roles))  # type: ignore[arg-type]


def _picture_role(name: str, value: str) -> bool | str:
    """`--sref`/`--cref` mark an attached picture (no value); `--control KIND` says what to follow."""
    if name != "control":
        if value:
            raise InvalidRequest(references_attached(name, value))
        return True
    return control_kind(value or "canny")


def picture_help_line() -> str:
    return (
        "With pictures attached: `--sref` (the first is the style to draw in), `--cref` (a character "
        "to draw again), `--control canny` (outlines to follow; or depth, pose)."
    )


def flags_help_line() -> str:
    """'Flags: `--no text, watermark` `--size 1024x768` … `--enhance`', from the options' declarations."""
    shown = []
    for typed in typed_options().values():
        if typed.members:
            shown.append(f"`--{typed.names[0]}" + ("" if typed.switch else f" {typed.example}") + "`")
    return "Flags: " + " ".join(shown)
