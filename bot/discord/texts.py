"""Texts only Discord shows: its own scopes, permissions and errors."""

from __future__ import annotations


def missing_permissions(permissions: str) -> str:
    return (
        f"I can't open a thread for the images here. Ask an admin to give me {permissions} in this "
        "channel; your quota was not charged."
    )


def cannot_dm() -> str:
    return (
        "Your results are set to arrive privately, but I can't send you a direct message here: allow "
        "direct messages from this server's members, or turn private results off in /settings. "
        "Nothing was charged."
    )
