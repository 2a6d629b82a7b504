"""A real Celery worker for integration tests: a subprocess on the real broker and the test database.

Usage (the test must use the database with ``transaction=True``: the worker is
another process and only sees committed rows)::

    from tests.worker import celery_worker  # noqa: F401  (pytest fixture)

    @pytest.mark.worker
    @pytest.mark.django_db(transaction=True)
    def test_something(celery_worker):
        ...                                   # tasks sent now go through Redis to the worker
        mail = celery_worker.wait_for_mail(lambda msgs: len(msgs) >= 1, timeout=60)

The worker runs ``celery -A etsy worker -P solo`` with DATABASE_URL pointing at the
pytest database, REDIS_URL/CELERY_BROKER_URL of this run, eager mode off and the
file-based email backend writing to a temporary directory (``read_mail()`` parses it).
The fixture turns eager mode off in this process too, and restores it afterwards.
"""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from email.message import Message
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.mail.backends import filebased
from django.db import connection

from etsy.celery import app as celery_app

ROOT = Path(__file__).resolve().parent.parent
MAIL_SEPARATOR = b"-" * 79


class EnvFileEmailBackend(filebased.EmailBackend):
    """The file-based backend, its directory taken from EMAIL_FILE_PATH in the environment.

    (etsy.settings reads EMAIL_BACKEND from the environment but not EMAIL_FILE_PATH.)
    """

    def __init__(self, *args, file_path=None, **kwargs):
        super().__init__(*args, file_path=file_path or os.environ["EMAIL_FILE_PATH"], **kwargs)


def _test_database_url() -> str:
    db = connection.settings_dict
    user = quote(db.get("USER") or "", safe="")
    password = f":{quote(str(db['PASSWORD']), safe='')}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


def run_in_another_process(code: str) -> None:
    """Run ``code`` in a new ``manage.py shell`` on this run's database and Redis (committed rows only)."""
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": settings.CACHE_KEY_PREFIX,
        "DJANGO_SETTINGS_MODULE": "etsy.settings",
    }
    subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True, timeout=60)


class WorkerProcess:
    def __init__(self, *, mail_dir: Path, log_path: Path):
        self.mail_dir = mail_dir
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, env: dict[str, str], timeout: float = 90) -> None:
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "etsy",
            "worker",
            "-P",
            "solo",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-{os.getpid()}@%h",
        ]
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.log():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"celery worker exited early:\n{self.log()[-4000:]}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"celery worker not ready within {timeout:.0f}s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)  # warm shutdown: finish the current task
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def read_mail(self) -> list[Message]:
        """Return every email the worker sent, parsed."""
        messages = []
        for path in sorted(self.mail_dir.glob("*.log")):
            for chunk in path.read_bytes().split(MAIL_SEPARATOR):
                if chunk.strip():
                    messages.append(email.message_from_bytes(chunk.strip()))
        return messages

    def wait_for_mail(self, predicate: Callable[[list[Message]], bool], timeout: float = 60) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.read_mail()
            if predicate(messages):
                return messages
            time.sleep(0.25)
        raise AssertionError(f"expected mail did not arrive in {timeout:.0f}s; worker log:\n{self.log()[-4000:]}")


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """Start a real worker against the broker and the test database; stop it after the test."""
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CACHE_KEY_PREFIX": settings.CACHE_KEY_PREFIX,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "EMAIL_BACKEND": "tests.worker.EnvFileEmailBackend",
        "EMAIL_FILE_PATH": str(mail_dir),
        "DB_CONN_MAX_AGE": "0",  # no idle connection left to block the test database flush
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()  # nothing left over from an earlier run on this broker
    worker = WorkerProcess(mail_dir=mail_dir, log_path=tmp_path / "worker.log")
    worker.start(env)
    try:
        yield worker
    finally:
        worker.stop()
        celery_app.conf.task_always_eager = previous
