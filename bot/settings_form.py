"""The member-settings form, the same fields and choices on every platform that draws it as a form
(Slack's modal, the web page): what each field offers, its current value, and reading a submit back."""

from __future__ import annotations

from dataclasses import dataclass

from shared.configuration.config import AppConfig
from shared.drawing import sizes
from shared.drawing.backends import BACKENDS
from shared.errors import InvalidRequest
from shared.members.member_defaults import MemberDefaults

ASPECTS = tuple(sizes.ASPECTS)  # the named ones; ratios are typed
NEGATIVE_MAX = 500


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    choices: tuple[str, ...]  # empty: free text
    current: str | None  # None: the default


def fields(defaults: MemberDefaults, config: AppConfig, backend: str) -> list[Field]:
    counts = tuple(str(n) for n in range(1, config.limits.max_count + 1))
    shown = [
        Field("style", "Style", tuple(sorted(config.presets)), defaults.style),
        Field("aspect", "Shape", ASPECTS, defaults.aspect),
        Field("count", "Images per prompt", counts, None if defaults.count is None else str(defaults.count)),
    ]
    models = tuple(BACKENDS[backend].models(config))
    if models:
        shown.append(Field("model", "Model", models, defaults.model))
    enhance = {None: None, True: "on", False: "off"}[defaults.enhance]
    shown.append(Field("enhance", "Prompt expansion", ("on", "off"), enhance))
    if BACKENDS[backend].offers("face_fix", config):
        face_fix = {None: None, True: "on", False: "off"}[defaults.face_fix]
        shown.append(Field("face_fix", "Face fix", ("on", "off"), face_fix))
    shown.append(Field("private", "Private results", ("on",), "on" if defaults.private else None))
    shown.append(Field("negative", "Negative prompt", (), defaults.negative))
    return shown


def read(values: dict[str, object], config: AppConfig, backend: str) -> MemberDefaults:
    """A submitted form as defaults; a value that is not one of a field's choices is refused."""
    offered = {field.name: field for field in fields(MemberDefaults(), config, backend)}
    chosen: dict[str, str | None] = {}
    for name, field in offered.items():
        raw = values.get(name)
        value = raw.strip() if isinstance(raw, str) and raw.strip() else None
        if value is not None and field.choices and value not in field.choices:
            raise InvalidRequest(f"{field.label}: {value!r} is not one of the choices.")
        if name == "negative" and value is not None and len(value) > NEGATIVE_MAX:
            raise InvalidRequest(f"The negative prompt is at most {NEGATIVE_MAX} characters.")
        chosen[name] = value
    return MemberDefaults(
        style=chosen["style"],
        aspect=chosen["aspect"],
        count=int(chosen["count"]) if chosen["count"] else None,
        model=chosen.get("model"),
        enhance=None if chosen["enhance"] is None else chosen["enhance"] == "on",
        face_fix=None if chosen.get("face_fix") is None else chosen["face_fix"] == "on",
        negative=chosen["negative"],
        private=True if chosen["private"] == "on" else None,
    )
