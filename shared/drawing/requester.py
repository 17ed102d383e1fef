"""Who asked, and where: the member and the conversation a request comes from and is answered in."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AskedIn(BaseModel):
    """Where a request was asked when its conversation lives elsewhere (private results: asked in a
    server's channel, answered in the member's DM). The rules of this place (quotas, moderation,
    allowed channels) are the request's, wherever it is delivered."""

    model_config = ConfigDict(frozen=True)

    workspace: str
    channel: str


class Requester(BaseModel):
    """Who asked and where the answer goes; `reply` is opaque to everyone but that platform's deliverer.

    `workspace`, `channel` and `thread` name the conversation (its thread memory and origin);
    `asked_in`, when set, is where the rules come from (see `AskedIn`)."""

    model_config = ConfigDict(frozen=True)

    platform: str
    workspace: str
    channel: str
    user: str
    thread: str | None = None
    user_name: str | None = None
    roles: tuple[str, ...] = ()
    channel_nsfw: bool = False
    reply: dict[str, str] = Field(default_factory=dict)
    asked_in: AskedIn | None = None
    # The platform can post an image hidden until clicked (a spoiler), so an image its content
    # policy flags is hidden rather than withheld under `flagged_images = "spoiler"`.
    hides_images: bool = False

    @property
    def user_key(self) -> str:
        """The quota subject, e.g. 'discord:1234'; also the key for overrides in the config file."""
        return f"{self.platform}:{self.user}"

    @property
    def rules_workspace(self) -> str:
        """The workspace whose rules apply: where the request was asked."""
        return self.asked_in.workspace if self.asked_in is not None else self.workspace

    @property
    def rules_channel(self) -> str:
        """The channel whose rules apply (allowed channels): where the request was asked."""
        return self.asked_in.channel if self.asked_in is not None else self.channel

    @property
    def workspace_key(self) -> str:
        """The rules' workspace as the config names it ('discord:1234'): quotas, moderation, budgets."""
        return f"{self.platform}:{self.rules_workspace}"

    def delivered_in(self, workspace: str, channel: str) -> Requester:
        """The same request with its conversation moved to `workspace`/`channel`; its rules stay."""
        asked_in = self.asked_in or AskedIn(workspace=self.workspace, channel=self.channel)
        return self.model_copy(update={"workspace": workspace, "channel": channel, "asked_in": asked_in})
