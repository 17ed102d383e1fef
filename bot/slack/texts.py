"""Texts only Slack shows: its own scopes, permissions and errors."""

from __future__ import annotations


def slack_files_scope() -> str:
    return (
        "I cannot open files in this workspace yet: the app lacks the files:read scope "
        "(the operator adds it from slack-manifest.yaml and reinstalls). Nothing was charged."
    )


def slack_not_in_channel() -> str:
    return (
        "I'm not in this channel yet: invite me with `/invite @imagine`, then try again. Nothing was charged."
    )
