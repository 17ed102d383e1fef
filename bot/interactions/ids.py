"""Every custom-id family, declared once: the template its ids follow (a regex with named parts),
how an id is made from its parts, and how one is read back.

Ids carry what a press needs, so buttons work after a restart and on any frontend process. Discord
gives each family a DynamicItem (or, for forms, a branch of its one modal listener), Slack an
`app.action` / `app.view` listener, the web page its press route, all from the templates here; an id
that fits no family is an old or forged button, answered as one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from shared.drawing.chat_text import ACTION_PREFIX, JOB_ID_PATTERN


@dataclass(frozen=True)
class IdFamily:
    """One kind of custom id: `imagine:<kind>:<parts…>`."""

    kind: str
    parts: str = ""  # the regex after `imagine:<kind>`, with named groups ("" for a fixed id)
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern))

    @property
    def prefix(self) -> str:
        return f"{ACTION_PREFIX}:{self.kind}"

    @property
    def pattern(self) -> str:
        """The whole id's regex, as discord.py's DynamicItem templates and bolt's listeners take it."""
        return re.escape(self.prefix) + self.parts

    def make(self, *parts: object) -> str:
        return ":".join([self.prefix, *(str(part) for part in parts)])

    def read(self, custom_id: str) -> dict[str, str] | None:
        """The id's named parts; None for an id of another family or one that does not fit."""
        match = self._compiled.fullmatch(custom_id)
        return None if match is None else {k: v for k, v in match.groupdict().items() if v is not None}


# "Imagine this" under a description's prompts: imagine:describe:<describe id>:<index>
SUGGESTION = IdFamily("describe", r":(?P<describe>[0-9A-Za-z-]{1,64}):(?P<index>[0-9]{1,2})")
# ◀ ▶ of /gallery: imagine:gallery:<page>
GALLERY_PAGE = IdFamily("gallery", r":(?P<page>[0-9]{1,4})")
# A hidden image's button (Slack's spoiler): imagine:reveal:<job>:<index>
REVEAL = IdFamily("reveal", rf":(?P<job>{JOB_ID_PATTERN}):(?P<index>[0-9])")
# A member's default (a select, a toggle): imagine:set:<field>; the channel's: imagine:chset:<field>
MEMBER_SETTING = IdFamily("set", r":(?P<field>[a-z_]{1,32})")
CHANNEL_SETTING = IdFamily("chset", r":(?P<field>[a-z_]{1,32})")
# The negative prompt's form of /settings
NEGATIVE_FORM = IdFamily("setmodal", r":negative")
# ✏️ Refine's form: imagine:refine-modal:<job> (Slack's names the job in its metadata instead)
REFINE_FORM = IdFamily("refine-modal", rf"(?::(?P<job>{JOB_ID_PATTERN}))?")
# 🖌️ Vary (Region)'s form (where no editor link is): imagine:region-modal:<job>:<image> (Slack's
# names them in its metadata instead)
REGION_FORM = IdFamily("region-modal", rf"(?::(?P<job>{JOB_ID_PATTERN}):(?P<index>[0-9]))?")
# Result buttons and /queue's Cancel: bot/followups.py (Action, press_id, parse_press) declares them.
