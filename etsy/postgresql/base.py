"""django-prometheus's PostgreSQL backend, cheaper per request (issue 23: add-to-cart's CPU).

* The health check (``CONN_HEALTH_CHECKS``) asks the connection's socket first. Django checks a persistent
  connection once per request with a ``SELECT 1``: a round trip and a statement for PostgreSQL on every
  request. A connection the server ended (a restart, ``pg_terminate_backend``, an idle timeout) has its
  goodbye or end of file waiting on its socket, so an idle connection whose socket has nothing to read is
  taken as healthy; one with anything to read gets Django's ``SELECT 1``, which closes it when it fails.
  What neither check can see (a network path dead without a word) fails the request as before.
* The statement metrics (the same names and labels as django-prometheus's) use their labelled children
  fetched once per connection: ``labels()`` on every statement was a lock and a dictionary build each time.
* A commit's callbacks send their Redis writes together (``etsy.cache.batch``): a checkout's commit dropped the
  listings' caches, stamped them for search and stored the buyer's cart in a round trip each.
"""

from __future__ import annotations

import select
from timeit import default_timer

from django.db.backends.postgresql import base as postgresql
from django_prometheus.db import errors_total, execute_many_total, execute_total, query_duration_seconds
from django_prometheus.db.backends.postgresql import base as prometheus
from psycopg import pq

from etsy.cache import batch

_READABLE = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP | select.POLLNVAL


def exporting_cursor_class(cursor_class: type, alias: str, vendor: str) -> type:
    """``cursor_class`` counting and timing its statements as django-prometheus's cursors do."""
    executed = execute_total.labels(alias, vendor)
    executed_many = execute_many_total.labels(alias, vendor)
    duration = query_duration_seconds.labels(alias, vendor)

    def count_error(exc: BaseException) -> None:
        errors_total.labels(alias, vendor, type(exc).__name__).inc()

    class CursorWrapper(cursor_class):
        def execute(self, *args, **kwargs):
            executed.inc()
            started = default_timer()
            try:
                return super().execute(*args, **kwargs)
            except Exception as exc:
                count_error(exc)
                raise
            finally:
                duration.observe(max(default_timer() - started, 0))

        def executemany(self, query, param_list, *args, **kwargs):
            executed.inc(len(param_list))
            executed_many.inc(len(param_list))
            started = default_timer()
            try:
                return super().executemany(query, param_list, *args, **kwargs)
            except Exception as exc:
                count_error(exc)
                raise
            finally:
                duration.observe(max(default_timer() - started, 0))

    return CursorWrapper


def has_nothing_to_read(connection) -> bool:
    """Whether an idle psycopg connection looks alive from its socket alone (no message, no end of file)."""
    pgconn = connection.pgconn
    if connection.closed or pgconn.status != pq.ConnStatus.OK:
        return False
    if pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    poller = select.poll()
    poller.register(pgconn.socket, _READABLE)
    return not poller.poll(0)


class DatabaseWrapper(prometheus.DatabaseWrapper):
    def get_connection_params(self):
        params = postgresql.DatabaseWrapper.get_connection_params(self)
        params["cursor_factory"] = exporting_cursor_class(params["cursor_factory"], self.alias, self.vendor)
        return params

    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and has_nothing_to_read(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    def run_and_clear_commit_hooks(self):
        if not self.run_on_commit:
            return super().run_and_clear_commit_hooks()
        with batch.collecting():
            super().run_and_clear_commit_hooks()
