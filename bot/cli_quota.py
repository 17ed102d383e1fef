"""`imagine quota`: an operator's view of a member's quota, and what they may change."""

from __future__ import annotations

import click

from bot.cli_support import EXIT_OTHER, fail, settings_of, with_redis
from shared.drawing.requester import Requester
from shared.errors import ConfigError


@click.group()
def quota() -> None:
    """Show, reset or grant quota for a user ('platform:id', or a plain id for the command line)."""


def _subject(user: str, workspace: str | None) -> Requester:
    """USER as 'platform:id' (a plain id is the command line's); the workspace as its id ('local',
    a guild or team id) or as quota show prints it ('cli:local'): both name the same one."""
    platform, _, user_id = user.rpartition(":")
    platform = platform or "cli"
    if workspace is not None:
        workspace = workspace.removeprefix(f"{platform}:")
    return Requester(
        platform=platform,
        workspace=workspace or ("local" if platform == "cli" else "-"),
        channel="-",
        user=user_id,
    )


def _redis(ctx: click.Context):
    """One client for the command, made on first use."""
    from shared.ops.redis_conn import connect

    if "redis" not in ctx.obj:
        try:
            ctx.obj["redis"] = connect(with_redis(ctx).redis_url)
        except ConfigError as exc:
            fail(str(exc), EXIT_OTHER)
    return ctx.obj["redis"]


def _quota(ctx: click.Context):
    from shared.quotas.quota import Quota

    return Quota(_redis(ctx), settings_of(ctx).config.quota)


@quota.command("show")
@click.argument("user")
@click.option(
    "--workspace",
    default=None,
    help="The workspace's id (a guild or team id; 'local' for the command line), to show its day too; "
    "'platform:id' as printed works too.",
)
@click.pass_context
def quota_show(ctx: click.Context, user: str, workspace: str | None) -> None:
    """Images used and left, running jobs, bonus, block, and what the user and workspace cost."""
    from shared.durations import humanize_seconds
    from shared.imaging.image_store import build_store
    from shared.quotas.costs import CostLedger
    from shared.quotas.refusals import RefusalCounter

    subject = _subject(user, workspace)
    report = _quota(ctx).report(subject)
    costs = CostLedger(_redis(ctx))
    limits = report.limits
    resets = humanize_seconds(report.window_resets_in) if report.window_resets_in is not None else "-"
    click.echo(f"user: {report.user_key}{'  (BLOCKED)' if report.blocked else ''}")
    click.echo(
        f"images this hour: {report.used_this_hour} of {limits.images_per_hour} (oldest frees in {resets})"
    )
    click.echo(f"running or queued: {report.running} of {limits.concurrent}")
    click.echo(f"bonus images: {report.bonus}")
    click.echo(f"workspace today: {report.workspace_used_today} of {limits.workspace_images_per_day}")
    spent, ws_spent = costs.of_user(subject), costs.of_workspace(subject)
    click.echo(f"cost: ${spent.usd:.4f}{_kudos(spent.kudos)} for {spent.images} images")
    click.echo(f"workspace cost: ${ws_spent.usd:.4f}{_kudos(ws_spent.kudos)} for {ws_spent.images} images")
    stored = build_store(_redis(ctx), settings_of(ctx).config.storage).use(subject.workspace_key)
    if stored is not None:
        budget = f" of {stored.budget:,}" if stored.budget else " (no budget)"
        click.echo(f"workspace storage: {stored.bytes:,}{budget} bytes in {stored.images} images")
    refusals = RefusalCounter(_redis(ctx))
    for label, counted in (
        ("refusals", refusals.of_user(subject)),
        ("workspace refusals", refusals.of_workspace(subject)),
    ):
        click.echo(f"{label}: " + (", ".join(f"{rule} {n}" for rule, n in counted.items()) or "none"))


def _kudos(kudos: float) -> str:
    return f" and {kudos:.0f} Horde kudos" if kudos else ""


@quota.command("reset")
@click.argument("user")
@click.pass_context
def quota_reset(ctx: click.Context, user: str) -> None:
    """Forget the user's images this hour and their running slots."""
    _quota(ctx).reset(_subject(user, None))
    click.echo(f"reset {user}")


@quota.command("grant")
@click.argument("user")
@click.argument("images", type=click.IntRange(min=1))
@click.pass_context
def quota_grant(ctx: click.Context, user: str, images: int) -> None:
    """Give USER extra IMAGES beyond the hourly limit."""
    balance = _quota(ctx).grant(_subject(user, None), images)
    click.echo(f"{user} now has {balance} bonus images")


@quota.command("block")
@click.argument("user")
@click.pass_context
def quota_block(ctx: click.Context, user: str) -> None:
    """Refuse every request of USER until unblocked."""
    _quota(ctx).block(_subject(user, None))
    click.echo(f"blocked {user}")


@quota.command("unblock")
@click.argument("user")
@click.pass_context
def quota_unblock(ctx: click.Context, user: str) -> None:
    _quota(ctx).unblock(_subject(user, None))
    click.echo(f"unblocked {user}")
