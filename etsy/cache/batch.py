"""The after-commit batch: the Redis writes of a commit's callbacks sent together, in one pipeline.

A checkout's commit runs callbacks of several apps that each wrote to Redis in a round trip of their own (the
listings' cache drop, the search stamps, the cart's store). While the database backend runs a commit's callbacks
(``etsy.postgresql``: ``run_and_clear_commit_hooks``), ``send`` queues their commands instead, and the batch goes
as one pipeline when the last callback has run: still after the commit, never before. A caller that needs its
replies at once (the cart's version, read before its database read) sends the batch so far with its own commands
(``wait=True``). Outside a commit's callbacks (no transaction, or a test running the callbacks itself) ``send``
is one round trip now, as before.

A Redis error is logged, never raised: the commit it follows stands (the callers' own rule). A command's error
(a script Redis lost in a restart) reaches only its caller's replies.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import NoScriptError, ResponseError

logger = logging.getLogger(__name__)

Fill = Callable[[Any], None]
OnReplies = Callable[[list[Any]], None]
OnError = Callable[[], None]

_state = threading.local()


class _Batch:
    def __init__(self) -> None:
        self.pipe = None
        # (commands so far, on_replies, what, on_error)
        self.parts: list[tuple[int, OnReplies | None, str, OnError | None]] = []

    def add(self, fill: Fill, on_replies: OnReplies | None, what: str, on_error: OnError | None = None) -> None:
        if self.pipe is None:
            self.pipe = caches["default"].client.get_client(write=True).pipeline(transaction=False)
        before = len(self.pipe)
        try:
            fill(self.pipe)
        except Exception:
            del self.pipe.command_stack[before:]  # the other parts' replies keep their places
            raise
        self.parts.append((len(self.pipe), on_replies, what, on_error))

    def send(self) -> list[list[Any]] | None:
        """Send what is queued (one round trip); return each part's replies, or None when Redis failed."""
        pipe, parts = self.pipe, self.parts
        self.pipe, self.parts = None, []
        if pipe is None or not len(pipe):
            return [[] for _ in parts]
        try:
            replies = _execute(pipe)
        except Exception:
            logger.warning("could not send the after-commit writes of %s", [part[2] for part in parts], exc_info=True)
            for _, _, what, on_error in parts:
                _call_on_error(on_error, what)
            return None
        answers, start = [], 0
        for end, on_replies, what, _ in parts:
            answers.append(replies[start:end])
            if on_replies is not None:
                try:
                    on_replies(replies[start:end])
                except Exception:
                    logger.warning("could not finish the after-commit writes of %s", what, exc_info=True)
            start = end
        return answers


def _execute(pipe) -> list[Any]:
    if len(pipe) > 1:
        return pipe.execute(raise_on_error=False)
    # One command: sent as a plain command (redis-py's pipeline machinery costs as much again).
    args, options = pipe.command_stack[0]
    client = caches["default"].client.get_client(write=True)
    try:
        return [client.execute_command(*args, **options)]
    except ResponseError as error:  # the command's own error, as a pipeline answers it
        return [error]


@contextmanager
def collecting() -> Iterator[None]:
    """Queue every ``send`` made inside (a commit's callbacks) and send the batch at the end, in one round trip."""
    if getattr(_state, "batch", None) is not None or not getattr(settings, "CACHE_ENABLED", True):
        yield
        return
    batch = _state.batch = _Batch()
    try:
        yield
    finally:
        _state.batch = None
        batch.send()


def is_collecting() -> bool:
    return getattr(_state, "batch", None) is not None


def _call_on_error(on_error: OnError | None, what: str) -> None:
    if on_error is None:
        return
    try:
        on_error()
    except Exception:
        logger.warning("could not recover from the failed after-commit writes of %s", what, exc_info=True)


def send(
    fill: Fill,
    *,
    what: str,
    on_replies: OnReplies | None = None,
    on_error: OnError | None = None,
    wait: bool = False,
) -> list[Any] | None:
    """Send the commands ``fill`` adds to a pipeline: with the commit's batch when one is collecting (in one
    round trip with the other callbacks' writes, ``on_replies`` called with these commands' replies then), else in
    one round trip now. ``on_error`` is called instead when Redis failed (the caller's fallback).

    ``wait``: send now (with what the batch holds so far) and return the replies. Returns None when Redis failed
    (logged) and when the commands were queued. A command's own error is its reply (an exception instance).
    """
    batch = getattr(_state, "batch", None)
    if batch is None:
        batch = _Batch()
        wait = True
    try:
        batch.add(fill, on_replies, what, on_error)
    except Exception:
        logger.warning("could not queue the after-commit writes of %s", what, exc_info=True)
        _call_on_error(on_error, what)
        return None
    if not wait:
        return None
    answers = batch.send()
    return None if answers is None else answers[-1]


@functools.cache
def _sha(script: str) -> str:
    return hashlib.sha1(script.encode()).hexdigest()


def queue_script(pipe, script: str, *, keys: list, args: list) -> None:
    """Add ``script`` to ``pipe`` by its digest (EVALSHA; ``script_reply`` runs it in full if Redis lost it).

    redis-py's registered scripts check they are loaded in a round trip of their own before a pipeline."""
    pipe.evalsha(_sha(script), len(keys), *keys, *args)


def script_reply(reply: Any, script: str, *, keys: list, args: list) -> Any:
    """The reply of a ``queue_script``: run the script in full (one more round trip, which loads it) when Redis did
    not know it (a restart, ``SCRIPT FLUSH``); raise any other error."""
    if isinstance(reply, NoScriptError):
        return caches["default"].client.get_client(write=True).eval(script, len(keys), *keys, *args)
    if isinstance(reply, Exception):
        raise reply
    return reply
