import pytest

from etsy import outbox
from tests.outbox.doubles import MANY_TOPIC, TOPIC, Handler, ManyHandler


@pytest.fixture
def handler():
    handler = Handler()
    outbox.register(TOPIC, handler)
    yield handler
    outbox.unregister(TOPIC)


@pytest.fixture
def many_handler():
    handler = ManyHandler()
    outbox.register(MANY_TOPIC, handler, many=handler.many)
    yield handler
    outbox.unregister(MANY_TOPIC)
