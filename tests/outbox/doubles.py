"""Outbox handlers whose outcomes a test chooses, registered by the fixtures of ``conftest.py``."""

from __future__ import annotations

from etsy import outbox
from tests.accounts.factories import UserFactory

TOPIC = "test.thing_happened"


class Handler:
    """A registered handler whose next outcomes the test chooses ("done", "defer", or an exception)."""

    def __init__(self):
        self.payloads: list[dict] = []
        self.outcomes: list = []

    def __call__(self, payload: dict) -> str:
        self.payloads.append(payload)
        outcome = self.outcomes.pop(0) if self.outcomes else outbox.DONE
        if isinstance(outcome, Exception):
            UserFactory(email=f"written-before-failing-{len(self.payloads)}@example.com")  # must be rolled back
            raise outcome
        return outcome


MANY_TOPIC = "test.things_happened"


class ManyHandler(Handler):
    """A topic's handler that also takes several rows at once (``many``): each call's payloads are kept."""

    def __init__(self):
        super().__init__()
        self.calls: list[list[dict]] = []

    def many(self, payloads: list[dict]) -> list[str]:
        self.calls.append(list(payloads))
        outcome = self.outcomes.pop(0) if self.outcomes else outbox.DONE
        if isinstance(outcome, Exception):
            UserFactory(email=f"written-before-failing-many-{len(self.calls)}@example.com")  # must be rolled back
            raise outcome
        return [outcome] * len(payloads)
