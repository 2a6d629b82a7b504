"""Work a web process must finish before it exits (gunicorn's ``worker_exit`` hook runs these).

Apps register from ``AppConfig.ready()``, so the server configuration names no app.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

log = structlog.get_logger(__name__)

_hooks: list[Callable[[], None]] = []


def register(hook: Callable[[], None]) -> None:
    """Run ``hook`` when this web process exits (once, even if registered again)."""
    if hook not in _hooks:
        _hooks.append(hook)


def run_all() -> None:
    """Run every registered hook; one that fails is logged and the others still run."""
    for hook in list(_hooks):
        try:
            hook()
        except Exception:
            log.exception("worker_exit_hook_failed", hook=getattr(hook, "__qualname__", repr(hook)))
