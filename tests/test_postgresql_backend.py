"""etsy.postgresql: the health check asks the connection's socket before sending a statement, and the statement
metrics are django-prometheus's, counted as before."""

import select

import psycopg
import pytest
from django.db import DatabaseError, connection
from django_prometheus.db import errors_total, execute_total, query_duration_seconds

pytestmark = pytest.mark.django_db(transaction=True)


def _statements() -> float:
    return execute_total.labels(connection.alias, connection.vendor)._value.get()


def _new_request() -> None:
    """What Django does when a request starts (``close_old_connections``): the next use checks the connection."""
    connection.close_if_unusable_or_obsolete()
    assert connection.health_check_enabled and not connection.health_check_done


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_healthy_idle_connection_is_checked_without_a_statement():
    pid = _backend_pid()
    _new_request()
    before = _statements()
    connection.close_if_health_check_failed()
    assert _statements() == before  # Django's check sent "SELECT 1" here, on every request
    assert connection.health_check_done
    assert _backend_pid() == pid


def test_a_connection_the_server_ended_is_replaced_before_the_request_uses_it():
    pid = _backend_pid()
    params = {k: v for k, v in connection.get_connection_params().items() if k != "cursor_factory"}
    with psycopg.connect(**params, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    poller = select.poll()
    poller.register(connection.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(5000)  # the server's goodbye has arrived
    _new_request()
    connection.close_if_health_check_failed()
    assert _backend_pid() != pid  # a new connection, and no error reached the request


def test_statements_and_their_errors_are_counted_and_timed():
    _backend_pid()  # connected
    labels = {"alias": connection.alias, "vendor": connection.vendor}
    timed = query_duration_seconds.labels(**labels)._sum.get()
    before = _statements()
    errors = errors_total.labels(**labels, type="UndefinedTable")._value.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        with pytest.raises(DatabaseError):
            cursor.execute("SELECT * FROM no_such_table")
    assert _statements() == before + 2
    assert errors_total.labels(**labels, type="UndefinedTable")._value.get() == errors + 1
    assert query_duration_seconds.labels(**labels)._sum.get() > timed


def test_connections_price_a_random_page_read_as_settings_say(settings):
    """DB_RANDOM_PAGE_COST reaches the server as a connection setting (PostgreSQL's 4 prices a spinning disk)."""
    assert settings.DB_RANDOM_PAGE_COST == "1.1"
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone() == ("1.1",)
