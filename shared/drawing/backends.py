"""The image backends' protocol and registry.

Each backend declares its `BackendSpec` beside its code (workers/backends/<name>/__init__.py): the
factory that builds it on a worker, its config section, the secrets it reads, its doctor check, the
models and LoRAs members may pick, its size rule and its capabilities. The package registers it as an
entry point of the group `imagine_bot.backends` (pyproject.toml), and so may any installed package:
an operator's own backend is a package of its own. The registry reads the group once, on first use;
request validation, the config file, the command line, health, metrics, the slash commands, the
follow-ups and doctor all read it. A spec module imports nothing heavy: torch or a vendor SDK is
imported by its factory, on a worker only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from shared.errors import ConfigError

if TYPE_CHECKING:
    from shared.configuration.config import AppConfig
    from shared.configuration.settings import Settings
    from shared.ops.checks import Check

ENTRY_POINT_GROUP = "imagine_bot.backends"


def _no_models(config: AppConfig) -> list[str]:
    return []


def _any_size(model: str, width: int, height: int, aspect: str | None) -> None:
    """Self-hosted models draw the size asked (within the request's own limits)."""


def _nothing_missing(settings: Settings) -> str | None:
    return None


@dataclass(frozen=True)
class Capabilities:
    """What a backend honours. A result button it cannot honour is not shown (bot/followups.py:
    `Action.needs`), and a typed option it cannot honour is refused naming the backend
    (shared/drawing/request.py); the worker reads the same flags."""

    edit: bool = True  # draws from a picture: a member's own, or a result's for a variation or upscale
    seed: bool = True  # a chosen seed reproduces an image
    several_images: bool = False  # takes a blend's pictures as they are (else they are averaged into one)
    stop: bool = True  # a job being drawn stops when its member cancels (OpenAI's API cannot)
    model_choice: bool = False  # members pick among the backend's `models` (a follow-up keeps the choice)
    loras: bool = False  # members add LoRAs (`--lora`) from the backend's `loras`
    outpaint: bool = False  # draws around a picture on a bigger canvas: zoom out, pan, make square
    inpaint: bool = False  # repaints where a mask says, keeping the rest: a region of a picture
    face_fix: bool = False  # a face restorer over its images (--face-fix)
    hires: bool = False  # a hires fix: a second, bigger pass (--hires)
    references: bool = False  # draws after style and character pictures (--sref, --cref)
    control: bool = False  # follows a picture's outlines, depth or pose (--control, ControlNet)


@dataclass(frozen=True)
class BackendSpec:
    name: str
    about: str  # what it is, in a few words (doctor, health)
    factory: Callable[[], type]  # imports and returns the backend class, built once per worker process
    config: type[BaseModel] | None = None  # its [name] section in the config file
    secrets: tuple[str, ...] = ()  # the environment variables it reads (never logged or shown)
    missing: Callable[[Settings], str | None] = _nothing_missing  # what IMAGINE_BACKEND=name still needs
    doctor: Callable[[Settings], Iterator[Check]] | None = None  # its `imagine doctor` lines
    extra: str | None = None  # the pip extra its library needs
    models: Callable[[AppConfig], list[str]] = _no_models  # what members may pick; [] = the backend's own
    default_model: Callable[[AppConfig], str | None] = lambda config: None
    check_size: Callable[[str, int, int, str | None], Any] = _any_size  # raises InvalidRequest
    fixed_sizes: bool = False  # a few sizes only: an upscale asks for the best quality instead
    timeout_seconds: int = 300  # a job's default time limit on a worker
    capabilities: Capabilities = Capabilities()
    loras: Callable[[AppConfig], list[str]] = _no_models  # LoRAs members may add
    queue_per_model: bool = False  # a queue per model, so a worker serves only the models it loaded
    check_prompt: Callable[[AppConfig, str], None] = lambda config, text: None  # raises InvalidRequest
    rank: int = 100  # where it is listed (choices, help): lowest first, then by name
    # name -> its config entry (with `description`, `nsfw`) for models members may pick
    model_details: Callable[[AppConfig], Mapping[str, Any]] = lambda config: {}
    # A capability that needs the operator's weights or graph: capability -> (the setting that gives
    # it, whether this config does). Without it the option is refused naming the setting.
    setup: Mapping[str, tuple[str, Callable[[AppConfig], bool]]] = field(default_factory=dict)

    @property
    def pickable_models(self) -> bool:
        return self.capabilities.model_choice

    def unset(self, capability: str, config: AppConfig) -> str | None:
        """The setting `capability` still needs under `config`; None where it is given or needs none."""
        needed = self.setup.get(capability)
        return needed[0] if needed is not None and not needed[1](config) else None

    def offers(self, capability: str, config: AppConfig) -> bool:
        """Whether it honours `capability` (a Capabilities field) under `config`."""
        return bool(getattr(self.capabilities, capability)) and self.unset(capability, config) is None

    def load(self) -> type:
        return self.factory()

    def section(self, config: AppConfig) -> Any:
        """This backend's validated section of the config file."""
        return getattr(config, self.name)


def image_server(
    name: str,
    about: str,
    factory: Callable[[], type],
    config: type[BaseModel],
    doctor: Callable[[Settings], Iterator[Check]],
    **more: Any,
) -> BackendSpec:
    """A backend in front of servers members already run: its section lists the models members may
    pick (the first is the default unless `default_model` says)."""

    def section(app: AppConfig) -> Any:
        return getattr(app, name)

    return BackendSpec(
        name,
        about,
        factory,
        config=config,
        doctor=doctor,
        models=lambda app: list(section(app).models),
        default_model=lambda app: section(app).default_model or next(iter(section(app).models), None),
        timeout_seconds=900,
        **{"capabilities": Capabilities(model_choice=True), **more},
    )


class Registry(Mapping[str, BackendSpec]):
    """The installed backends by name, in their rank's order, read on first use (a spec module
    may import what imports this one)."""

    def __init__(self, group: str) -> None:
        self._group = group
        self._specs: dict[str, BackendSpec] | None = None

    def _loaded(self) -> dict[str, BackendSpec]:
        if self._specs is None:
            self._specs = _read(self._group)
        return self._specs

    def __getitem__(self, name: str) -> BackendSpec:
        return self._loaded()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaded())

    def __len__(self) -> int:
        return len(self._loaded())


def _read(group: str) -> dict[str, BackendSpec]:
    specs: dict[str, BackendSpec] = {}
    for point in entry_points(group=group):
        try:
            spec = point.load()
        except ImportError as exc:
            raise ConfigError(f"the backend {point.name} ({point.value}) does not import: {exc}") from None
        if not isinstance(spec, BackendSpec) or spec.name != point.name:
            raise ConfigError(f"the entry point {point.name} = {point.value} is not that backend's spec")
        specs.setdefault(spec.name, spec)  # an editable and an installed copy: the first wins
    if not specs:
        raise ConfigError(
            "no image backend is registered: install the project (pip install -e .), which registers "
            f"its backends as {group} entry points"
        )
    return dict(sorted(specs.items(), key=lambda item: (item[1].rank, item[0])))


BACKENDS = Registry(ENTRY_POINT_GROUP)


def __getattr__(name: str) -> Any:
    if name == "BACKEND_NAMES":  # read when asked, not at import (the registry may import this module)
        return tuple(BACKENDS)
    raise AttributeError(name)
