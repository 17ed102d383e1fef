"""The `imagine` command: parses arguments and calls into bot/, workers/ and shared/; imports lazily."""

from __future__ import annotations

import getpass
import re
import sys
from collections.abc import Callable
from pathlib import Path

import click

from bot.cli_quota import quota
from bot.cli_support import (
    EXIT_INVALID,
    EXIT_OTHER,
    EXIT_REFUSED,
    fail,
    role_options,
    settings_of,
    with_redis,
)
from bot.platforms import platforms
from shared import messages
from shared.configuration.settings import load_settings
from shared.drawing.backends import BACKEND_NAMES
from shared.drawing.request import RequestOptions, typed_options
from shared.errors import ConfigError, ImagineError, InvalidRequest, Refused
from shared.ops.logs import configure_logging

PICTURE = click.Path(exists=True, dir_okay=False, path_type=Path)  # a picture file the command reads


def _workspace_name(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
        raise click.BadParameter(f"{value!r}: a plain name of letters, digits, _ . - (like club-a)")
    return value


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--env-file", default=".env", show_default=True, help="Read settings from this file too.")
@click.pass_context
def cli(ctx: click.Context, env_file: str) -> None:
    """Self-hosted text-to-image bot for Discord, Slack and a web page, on Redis and RQ."""
    ctx.ensure_object(dict)
    try:
        ctx.obj["settings"] = load_settings(env_file)
    except ConfigError as exc:
        fail(str(exc), EXIT_OTHER)


def _typed_options(command: Callable[..., None]) -> Callable[..., None]:
    """The request options as click options, made from their one declaration (RequestOptions)."""
    for name, typed in reversed(typed_options().items()):
        if typed.switch:
            declared = [f"--{typed.names[0]}/--no-{typed.names[0]}"]
        else:
            declared = [f"-{n}" if len(n) == 1 else f"--{n}" for n in typed.names]
        extra = f" One of {', '.join(BACKEND_NAMES)} (default: IMAGINE_BACKEND)." if name == "backend" else ""
        command = click.option(
            *declared, name, default=None, multiple=typed.repeatable, help=typed.help + extra
        )(command)
    return command


@cli.command()
@click.argument("prompt", required=False, default="")
@_typed_options
@click.option(
    "--image",
    "images",
    multiple=True,
    type=PICTURE,
    help="A picture to start from (repeat it, 2 to 5 times, for a blend).",
)
@click.option(
    "--mask", type=PICTURE, help="With one --image: repaint only where this picture is white (black is kept)."
)
@click.option("--sref", type=PICTURE, help="A picture whose style to draw in (--sw weighs it).")
@click.option("--cref", type=PICTURE, help="A picture of the character to draw again (--sw weighs it).")
@click.option(
    "--control",
    default=None,
    metavar="canny|depth|pose:PICTURE",
    help="Draw following that picture's outlines, depth or pose (--control-weight weighs it).",
)
@click.option("--user", default=None, help="Whose quota to use (default: your login name).")
@click.option(
    "--workspace",
    default="local",
    show_default=True,
    callback=lambda ctx, param, value: _workspace_name(value),
    help="Submit as this community (a plain name): its quotas and its turn among the others.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True)
@click.option(
    "--timeout", type=float, default=300.0, show_default=True, help="Seconds to wait for the images."
)
@click.pass_context
def generate(
    ctx: click.Context,
    prompt: str,
    images: tuple[Path, ...],
    mask: Path | None,
    sref: Path | None,
    cref: Path | None,
    control: str | None,
    user: str | None,
    workspace: str,
    out: Path,
    timeout: float,
    **options: object,
) -> None:
    """Submit PROMPT exactly like /imagine, wait, and print one path per image. With --image and
    --upscale 2|4 the prompt may be left out (the upscaler alone); given, it redraws at the new size."""
    from bot.generate import GenerateCommand
    from bot.generate import generate as run_generate

    progress = (lambda text: click.echo(text, err=True)) if sys.stderr.isatty() else (lambda text: None)
    given = {k: v if v != () else None for k, v in options.items()}  # a repeatable option not given is ()
    if given.get("upscale") is not None:  # Creative with words, Subtle without (shown by the file's name)
        given["creative"] = bool(prompt.strip())
        prompt = prompt.strip() or (images[0].name if images else "a picture")
    command = GenerateCommand(
        options=RequestOptions(prompt=prompt, **given),  # type: ignore[arg-type]
        user=user or getpass.getuser(),
        workspace=workspace,
        out=out,
        timeout=timeout,
        images=images,
        mask=mask,
        references=tuple((kind, path) for kind, path in (("style", sref), ("character", cref)) if path),
        control=_control(control),
    )
    try:
        paths = run_generate(with_redis(ctx), command, progress)
    except InvalidRequest as exc:
        fail(str(exc), EXIT_INVALID)
    except Refused as exc:
        fail(str(exc), EXIT_REFUSED)
    except ImagineError as exc:
        fail(str(exc), EXIT_OTHER)
    for path in paths:
        click.echo(str(path))


def _control(typed: str | None) -> tuple[str, Path] | None:
    """`--control KIND:PICTURE` as (kind, path); a bad kind or a missing file ends here, named."""
    if typed is None:
        return None
    from shared.drawing.references import control_kind

    kind, _, path = typed.partition(":")
    try:
        checked = control_kind(kind)
    except InvalidRequest as exc:
        fail(str(exc), EXIT_INVALID)
    if not path or not Path(path).is_file():
        fail(f"--control {kind}:PICTURE names a picture file; {path or 'none'} is not one.", EXIT_INVALID)
    return checked, Path(path)


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.pass_context
def describe(ctx: click.Context, path: Path) -> None:
    """Print four prompts for the picture at PATH, one per line (IMAGINE_VISION_MODEL)."""
    from shared.imaging import member_images
    from shared.textmodels.describe import DescribeUnavailable, build_describer

    settings = settings_of(ctx)
    configure_logging("ERROR")  # the one line below says what failed; no log lines around it
    describer = build_describer(settings)
    if describer is None:
        fail(messages.describe_not_configured(), EXIT_OTHER)
    try:
        picture = member_images.checked(path.read_bytes(), settings.config.limits.source_image_bytes)
        prompts = describer.describe(picture)
    except InvalidRequest as exc:
        fail(str(exc), EXIT_INVALID)
    except DescribeUnavailable as exc:
        fail(messages.describe_unavailable(str(exc)), EXIT_OTHER)
    for prompt in prompts:
        click.echo(" ".join(prompt.split()))  # one line each, whatever the model wrote


@cli.command()
@click.option("--backend", type=click.Choice(BACKEND_NAMES), default=None, help="Default: IMAGINE_BACKEND.")
@click.option("--queues", default=None, help="Comma-separated queue names (default: the backend's queue).")
@click.option(
    "--models",
    default=None,
    help="diffusers: the [diffusers.models] it loads and serves, comma-separated (default: the first).",
)
@click.option("--burst", is_flag=True, help="Drain the queue, then exit.")
@role_options
@click.pass_context
def worker(
    ctx: click.Context,
    backend: str | None,
    queues: str | None,
    models: str | None,
    burst: bool,
    log_level: str,
    metrics_port: int | None,
) -> None:
    """Run a worker: loads the backend once, never forks per job."""
    from workers.worker import run_worker

    configure_logging(log_level)
    settings = with_redis(ctx)
    names = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    try:
        run_worker(
            settings,
            backend or settings.backend,
            names,
            burst=burst,
            logging_level=log_level.upper(),
            metrics_port=metrics_port,
            models=[m.strip() for m in models.split(",") if m.strip()] if models else None,
        )
    except ConfigError as exc:
        fail(str(exc), EXIT_OTHER)


for platform in platforms():
    for command in platform.commands:
        cli.add_command(command)


@cli.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check the configuration, Redis and every configured token; one line each, exit 1 if any fails."""
    from bot.doctor import run_checks

    failed = False
    for check in run_checks(with_redis(ctx, start=False)):
        click.echo(check.line())
        failed = failed or not check.ok
    sys.exit(1 if failed else 0)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts and container health checks).")
@click.option(
    "--process",
    "metrics_port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Instead: whether the bot or page on this machine serving --metrics-port PORT is up (a "
    "frontend's container health check).",
)
@click.pass_context
def health(ctx: click.Context, as_json: bool, metrics_port: int | None) -> None:
    """Redis, queue depths, live workers per backend, the oldest waiting job; exit 1 when unhealthy."""
    import json

    if metrics_port is not None:
        from shared.ops.metrics import process_ready

        problem = process_ready(metrics_port)
        click.echo(f"UNHEALTHY: {problem}" if problem else "ok: serving", err=problem is not None)
        sys.exit(1 if problem else 0)

    from bot.embedded import is_local
    from shared.drawing.backends import BACKENDS
    from shared.jobs.queue import lane
    from shared.ops.health import check_health
    from shared.ops.redis_conn import connect, safe_url, sentinels

    settings = with_redis(ctx, start=False)
    spec = BACKENDS[settings.backend]
    report = check_health(
        connect(settings.redis_url, check=False, socket_timeout=3),
        lane(settings.backend, spec.default_model(settings.config)),
        where=safe_url(settings.redis_url),
        local=is_local(settings),
    )
    view = sentinels(settings.redis_url)
    report.sentinels = view.line() if view is not None else ""
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        own = " (this machine's own)" if report.redis_local else ""
        click.echo(f"redis: {report.redis} at {report.redis_url}{own}")
        if report.sentinels:
            click.echo(report.sentinels)
        for queue in report.queues:
            oldest = (
                f", oldest waiting {queue.oldest_seconds:.0f} s" if queue.oldest_seconds is not None else ""
            )
            click.echo(
                f"queue {queue.queue}: {queue.depth} waiting, {queue.live_workers} live worker(s){oldest}"
            )
        for worker in report.workers:
            beat = (
                f"{worker.seconds_since_heartbeat:.0f} s ago"
                if worker.seconds_since_heartbeat is not None
                else "never"
            )
            click.echo(
                f"worker {worker.name} [{', '.join(worker.queues)}]: {worker.state}, "
                f"{'alive' if worker.alive else 'DEAD'}, last heartbeat {beat}"
            )
        for line in report.warnings:
            click.echo(f"warning: {line}")
        for line in report.problems:
            click.echo(f"UNHEALTHY: {line}", err=True)
    sys.exit(0 if report.healthy else 1)


@cli.command()
def stop() -> None:
    """Stop this machine's own Redis (the embedded default), keeping its data for the next start."""
    from bot.embedded import LocalRedis

    local = LocalRedis.of_this_user()
    if local.stop():
        click.echo(f"stopped this machine's own Redis at {local.socket} (its data is kept)")
    else:
        click.echo("this machine's own Redis is not running")


cli.add_command(quota)


def main() -> None:
    cli(obj={})


if __name__ == "__main__":
    main()
