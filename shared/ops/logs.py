"""Logging for every process: readable on a terminal, one JSON object per line otherwise (containers,
log shippers). Job state changes are one line each with their fields; prompts only at debug level;
users as a hash; tokens and keys never (nothing here ever receives them)."""

from __future__ import annotations

import hashlib
import json
import logging
import sys
import time

from shared.drawing.request import ImageRequest

JOB_LOG = logging.getLogger("imagine.jobs")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class ReadableFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", {})
        return text + "".join(f" {k}={v}" for k, v in fields.items()) if fields else text


class ClientFaults(logging.Filter):
    """A request that is not valid HTTP (a control character in a header, a broken request line) is
    answered 400 by the HTTP server, which also logs it as an error with its traceback: it is the
    client's fault, so it becomes one warning line naming it."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and type(error).__module__ == "aiohttp.http_exceptions":
            fault = " ".join(str(getattr(error, "message", error)).split())[:200]
            record.msg, record.args, record.exc_info, record.exc_text = (
                "a request that is not valid HTTP, answered %s: %s",
                (getattr(error, "code", 400), fault),
                None,
                None,
            )
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def configure_logging(level: str = "INFO", *, json_lines: bool | None = None) -> None:
    """JSON when stderr is not a terminal (unless told), readable when it is."""
    use_json = (not sys.stderr.isatty()) if json_lines is None else json_lines
    handler = logging.StreamHandler()
    handler.addFilter(ClientFaults())
    handler.setFormatter(JsonFormatter() if use_json else ReadableFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def user_hash(user_key: str) -> str:
    return hashlib.sha256(user_key.encode()).hexdigest()[:16]


def job_state(state: str, job_id: str, request: ImageRequest, **fields: object) -> None:
    """One line per job state change: queued, started, done, failed, retrying."""
    who = request.requester
    values = {
        "job_id": job_id,
        "state": state,
        "platform": who.platform,
        "workspace": who.workspace,
        "user": user_hash(who.user_key),
        "backend": request.backend,
        "kind": request.kind,
        **{k: v for k, v in fields.items() if v is not None},
    }
    JOB_LOG.info("job %s %s", job_id, state, extra={"fields": values})
    if JOB_LOG.isEnabledFor(logging.DEBUG):
        JOB_LOG.debug("job %s prompt", job_id, extra={"fields": {"job_id": job_id, "prompt": request.prompt}})
