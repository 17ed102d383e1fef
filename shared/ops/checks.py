"""What an `imagine doctor` check yields: one line each, a failure saying what to fix. bot/doctor.py
runs the checks; each backend's own check lives beside the backend (its spec's `doctor`)."""

from __future__ import annotations

from dataclasses import dataclass

TIMEOUT = 10  # seconds a check waits on a service before saying it did not answer


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.name}: {self.detail}"
