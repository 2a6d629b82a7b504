"""Fixtures for the operations tests: a real multi-worker gunicorn, a second Redis, log capture."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connections

from etsy import health
from etsy.logging import build_logging_config
from tests.local_services import LocalRedis, free_port

ROOT = Path(__file__).resolve().parents[2]


def http_get(url: str, *, headers: dict | None = None, timeout: float = 10.0) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers={"Connection": "close", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(autouse=True)
def _ops_urls(settings):
    """Serve /metrics and /api/health from etsy.ops_urls whatever etsy/urls.py includes."""
    settings.ROOT_URLCONF = "tests.ops.urls"
    health.clear_cached_checks()
    yield
    health.clear_cached_checks()


class LogCapture:
    """Lines written through the project's real JSON formatter while the fixture is active."""

    def __init__(self, stream: io.StringIO):
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    @property
    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def log_lines():
    root = logging.getLogger()
    # The production format, whatever LOG_FORMAT this run defaults to (console outside production).
    spec = dict(build_logging_config(json=True)["formatters"]["structured"])
    formatter = spec.pop("()")(**spec)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    try:
        yield LogCapture(stream)
    finally:
        root.removeHandler(handler)


@pytest.fixture
def second_redis(tmp_path):
    server = LocalRedis(port=free_port(), workdir=tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class GunicornServer:
    base_url: str
    process: subprocess.Popen
    metrics_dir: Path
    log_path: Path
    workers: int
    seen_pids: set[int] = field(default_factory=set)

    def get(self, path: str, **kwargs) -> tuple[int, dict, bytes]:
        return http_get(self.base_url + path, **kwargs)

    def log_records(self) -> list[dict]:
        records = []
        for line in self.log_path.read_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    def worker_pids(self) -> set[int]:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.process.pid)], capture_output=True, text=True)
        return {int(pid) for pid in out.stdout.split()}

    def serving_pids(self) -> set[int]:
        """The workers that have warmed up (etsy.warmup), so take connections: a forked worker's pid shows
        while it is still loading the application."""
        warmed = {r.get("pid") for r in self.log_records() if r.get("event") == "worker warmed up"}
        return self.worker_pids() & warmed

    def wait_until_every_worker_serves(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) == self.workers and self.serving_pids() == pids:
                return
            time.sleep(0.2)
        raise RuntimeError("gunicorn's workers did not all warm up:\n" + self.log_path.read_text()[-3000:])


def start_gunicorn(tmp_dir: Path, *, database_name: str, workers: int = 2, extra_env: dict | None = None):
    port = free_port()
    metrics_dir = tmp_dir / "prometheus"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    (metrics_dir / "counter_999999.db").write_bytes(b"stale file from an earlier run")
    db = connections["default"].settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.ops.settings_gunicorn",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{database_name}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "WEB_CONCURRENCY": str(workers),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
        "CELERY_TASK_ALWAYS_EAGER": "true",
        **(extra_env or {}),
    }
    log_path = tmp_dir / "gunicorn.log"
    log_file = open(log_path, "w")
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "etsy.wsgi", "--config", "etsy/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = GunicornServer(
        base_url=f"http://127.0.0.1:{port}",
        process=process,
        metrics_dir=metrics_dir,
        log_path=log_path,
        workers=workers,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("gunicorn exited:\n" + log_path.read_text()[-3000:])
        try:
            status, _, _ = server.get("/api/health", timeout=2)
            if status in (200, 503) and len(server.serving_pids()) == workers:
                return server
        except OSError:
            pass
        time.sleep(0.3)
    stop_gunicorn(server)
    raise RuntimeError("gunicorn did not become ready:\n" + log_path.read_text()[-3000:])


def stop_gunicorn(server: GunicornServer) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


@pytest.fixture(scope="module")
def gunicorn_server(django_db_setup, django_db_blocker, tmp_path_factory):
    """gunicorn with 2 workers on a loopback port, against this run's test database."""
    with django_db_blocker.unblock():
        database_name = connections["default"].settings_dict["NAME"]
    tmp_dir = tmp_path_factory.mktemp("gunicorn")
    server = start_gunicorn(tmp_dir, database_name=database_name, workers=2)
    yield server
    stop_gunicorn(server)
    shutil.rmtree(server.metrics_dir, ignore_errors=True)


@dataclass
class CeleryWorker:
    process: subprocess.Popen
    metrics_url: str
    metrics_dir: Path
    log_path: Path

    def log_records(self) -> list[dict]:
        records = []
        for line in self.log_path.read_text().splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except ValueError:
                    pass
        return records


@pytest.fixture
def celery_worker_with_metrics(transactional_db, tmp_path):
    """A real prefork Celery worker (2 pool processes) on this run's broker and test database,
    serving its metrics on a loopback port."""
    metrics_dir = tmp_path / "worker-prometheus"
    metrics_dir.mkdir()
    port = free_port()
    db = connections["default"].settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "CELERY_METRICS_PORT": str(port),
        "CELERY_METRICS_ADDRESS": "127.0.0.1",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = tmp_path / "worker.log"
    log_file = open(log_path, "w")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("celery")),
            "-A",
            "etsy",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--pool",
            "prefork",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--hostname",
            f"ops-{port}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    worker = CeleryWorker(
        process=process, metrics_url=f"http://127.0.0.1:{port}/metrics", metrics_dir=metrics_dir, log_path=log_path
    )
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError("worker exited:\n" + log_path.read_text()[-3000:])
            if "ready" in log_path.read_text():
                try:
                    http_get(worker.metrics_url, timeout=2)
                    break
                except OSError:
                    pass
            time.sleep(0.3)
        else:
            raise RuntimeError("worker did not become ready:\n" + log_path.read_text()[-3000:])
        yield worker
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "replica: tests against a real PostgreSQL streaming replica (embedded binaries; about 30 s)"
    )
