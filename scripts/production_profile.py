"""What the benchmark and profile scripts share: the app's settings (production's, served on loopback), and
the in-process probes of the profile scripts (a JSON POST through the WSGI app, the Redis commands the measuring
thread sends, the CPU of this connection's PostgreSQL backend).

``ETSY_ENV=production`` with DEBUG off, over plain HTTP on 127.0.0.1 (no TLS redirect, secure cookies or HSTS),
a fresh secret key and metrics token per run, the test payment provider, and warnings only in the logs. Each
script adds what it measures with (``overrides``): its database, queues, worker counts, throttles.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import sys
import threading
from pathlib import Path


def loopback_production_env(**overrides: str) -> dict[str, str]:
    """Environment variables for the app in the production profile on loopback, ``overrides`` applied last."""
    return {
        "ETSY_ENV": "production",
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
        "METRICS_BEARER_TOKEN": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "testserver,127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
        "PAYMENT_PROVIDER": "orders.payments.TestPaymentProvider",
        "LOG_LEVEL": "WARNING",
        **overrides,
    }


# What the write path's bench and profiles run with besides: no static manifest to build, no throttle between
# the load generator's requests, and the outbox's tasks published to a broker (a worker's, or the script's own).
WRITE_PATH_SETTINGS = {
    "STATIC_MANIFEST": "false",
    "API_THROTTLE_USER": "1000000/min",
    "API_THROTTLE_ANON": "1000000/min",
    "CELERY_TASK_ALWAYS_EAGER": "false",
}


def post_json(application, path: str, body: dict, **headers: str) -> str:
    """POST ``body`` as JSON to ``path`` through the WSGI ``application`` in this process; return the status line.

    ``headers``: extra WSGI keys, e.g. ``HTTP_AUTHORIZATION="Token …"``.
    """
    data = json.dumps(body).encode()
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(data)),
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        **headers,
    }
    status = []
    response = application(environ, lambda line, response_headers, exc_info=None: status.append(line))
    b"".join(response)
    response.close()
    return status[0]


def record_redis_commands() -> list[bytes]:
    """From now on, append each command or pipeline this thread sends to Redis to the returned list."""
    import redis.connection

    me, sent = threading.current_thread(), []
    original_send = redis.connection.AbstractConnection.send_packed_command

    def recording_send(self, command, check_health=True):
        if threading.current_thread() is me:
            sent.append(command if isinstance(command, bytes) else b"".join(bytes(c) for c in command))
        return original_send(self, command, check_health)

    redis.connection.AbstractConnection.send_packed_command = recording_send
    return sent


def backend_cpu_seconds() -> float:
    """CPU (user + system) the PostgreSQL backend of Django's default connection has used so far.

    From ``/proc/<pid>/schedstat`` (nanoseconds on a CPU) where the kernel keeps it, else ``/proc/<pid>/stat``
    (clock ticks: 10 ms, a fifth of a millisecond per checkout over 50 checkouts)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    try:
        return int(Path(f"/proc/{backend}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        fields = Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
