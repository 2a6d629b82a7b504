"""The production profile passes Django's deploy checks and sends the security headers;
the gunicorn, Docker and Prometheus configurations are consistent."""

from __future__ import annotations

import json
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "ETSY_ENV": "production",
    "SECRET_KEY": "test-only-" + "x" * 60,
    "ALLOWED_HOSTS": "shop.example.com,web",
    "METRICS_BEARER_TOKEN": "test-only-metrics-token",
    # Production refuses the test payment provider (payments.E001) and Stripe without its secrets (E002/E003).
    "PAYMENT_PROVIDER": "orders.payments_stripe.StripePaymentProvider",
    "STRIPE_SECRET_KEY": "sk_test_check_only",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_check_only",
    "STRIPE_WEBHOOK_SECRET": "whsec_check_only",
}

PROBE = r"""
import json, django
django.setup()
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
settings.ALLOWED_HOSTS = list(settings.ALLOWED_HOSTS) + ["testserver"]
client = Client()
secure = client.get("/api/health", HTTP_HOST="shop.example.com", HTTP_X_FORWARDED_PROTO="https")
plain_page = client.get("/", HTTP_HOST="shop.example.com")
plain_health = client.get("/api/health", HTTP_HOST="web")
bad_host = client.get("/api/health", HTTP_HOST="evil.example.net")
print(json.dumps({
    "DEBUG": settings.DEBUG,
    "ALLOWED_HOSTS": [h for h in settings.ALLOWED_HOSTS if h != "testserver"],
    "SESSION_COOKIE_SECURE": settings.SESSION_COOKIE_SECURE,
    "CSRF_COOKIE_SECURE": settings.CSRF_COOKIE_SECURE,
    "SECURE_HSTS_SECONDS": settings.SECURE_HSTS_SECONDS,
    "secure_headers": {k: secure.get(k) for k in ["Strict-Transport-Security", "Content-Security-Policy",
        "Content-Security-Policy-Report-Only", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"]},
    "plain_page": [plain_page.status_code, plain_page.get("Location")],
    "plain_health": plain_health.status_code,
    "bad_host": bad_host.status_code,
}))
"""


def run_production(args: list[str], env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "tests.ops.settings_gunicorn", **(env_extra or {})}
    env.pop("DEBUG", None)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_production_profile_passes_check_deploy():
    result = run_production(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"], {"DJANGO_SETTINGS_MODULE": "etsy.settings"}
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "ETSY_ENV": "production", "ALLOWED_HOSTS": "shop.example.com"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.django_db
def test_production_profile_security_settings_and_headers():
    result = run_production(["-c", PROBE])
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["DEBUG"] is False
    assert probe["ALLOWED_HOSTS"] == ["shop.example.com", "web"]
    assert probe["SESSION_COOKIE_SECURE"] and probe["CSRF_COOKIE_SECURE"]
    assert probe["SECURE_HSTS_SECONDS"] >= 31536000
    headers = probe["secure_headers"]
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Content-Security-Policy-Report-Only"] is None  # enforced, not report-only
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert probe["plain_page"] == [301, "https://shop.example.com/"]
    assert probe["plain_health"] in (200, 503)  # probes over plain HTTP are not redirected
    assert probe["bad_host"] == 400


def test_development_sends_the_policy_report_only(client, settings):
    response = client.get("/api/health")
    assert "default-src 'self'" in response["Content-Security-Policy-Report-Only"]
    assert "Content-Security-Policy" not in response


def _load_gunicorn_config(monkeypatch, **env) -> dict:
    for name in ("WEB_CONCURRENCY", "WEB_THREADS", "PROMETHEUS_MULTIPROC_DIR", "PORT"):
        monkeypatch.setenv(name, "")  # recorded, so teardown restores what was there (or nothing)
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = runpy.run_path(str(ROOT / "etsy" / "gunicorn.conf.py"))
    return config


def test_gunicorn_config_sizes_workers_from_cores_and_sets_multiprocess_dir(monkeypatch):
    config = _load_gunicorn_config(monkeypatch, PORT="8123")
    assert config["workers"] == len(os.sched_getaffinity(0)) * 2 + 1
    assert config["bind"] == "127.0.0.1:8123"
    assert config["timeout"] == 30 and config["graceful_timeout"] == 30
    assert config["max_requests"] > 0 and 0 < config["max_requests_jitter"] < config["max_requests"]
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"].endswith("etsy-prometheus-8123")
    assert callable(config["on_starting"]) and callable(config["child_exit"])
    assert _load_gunicorn_config(monkeypatch, WEB_CONCURRENCY="0")["workers"] == config["workers"]
    assert _load_gunicorn_config(monkeypatch, WEB_CONCURRENCY="3")["workers"] == 3


def test_gunicorn_config_runs_sync_workers_unless_given_threads(monkeypatch):
    config = _load_gunicorn_config(monkeypatch, PORT="8123")
    assert (config["threads"], config["worker_class"]) == (1, "sync")
    threaded = _load_gunicorn_config(monkeypatch, PORT="8123", WEB_THREADS="4")
    assert (threaded["threads"], threaded["worker_class"]) == (4, "gthread")


def test_gunicorn_config_leaves_no_multiprocess_dir_behind_in_this_process():
    assert "PROMETHEUS_MULTIPROC_DIR" not in os.environ


def test_docker_compose_brings_up_the_whole_stack():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis", "elasticsearch", "prometheus", "migrate"} <= set(services)
    assert services["web"]["command"][:2] == ["gunicorn", "etsy.wsgi"]
    assert services["worker"]["command"][:4] == ["celery", "-A", "etsy", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "etsy", "beat"]
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert env["ETSY_ENV"] == "production"
        assert env["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/prometheus"
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    es_volumes = services["elasticsearch"]["volumes"]
    assert "./search/synonyms.txt:/usr/share/elasticsearch/config/analysis/synonyms.txt:ro" in es_volumes
    assert services["elasticsearch"]["environment"]["discovery.type"] == "single-node"
    assert "./deploy/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in services["prometheus"]["volumes"]
    assert "/api/health" in " ".join(services["web"]["healthcheck"]["test"])
    for path in ("Dockerfile", "deploy/entrypoint.sh", "deploy/prometheus.yml", "search/synonyms.txt"):
        assert (ROOT / path).exists(), path
    assert os.access(ROOT / "deploy" / "entrypoint.sh", os.X_OK)


def test_prometheus_scrapes_web_and_worker_metrics():
    config = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    targets = {job["job_name"]: job for job in config["scrape_configs"]}
    assert targets["etsy-web"]["metrics_path"] == "/metrics"
    assert targets["etsy-web"]["static_configs"][0]["targets"] == ["web:8000"]
    assert "worker:9808" in targets["etsy-worker"]["static_configs"][0]["targets"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["worker"]["environment"]["CELERY_METRICS_PORT"] == "9808"
    assert "web" in compose["services"]["web"]["environment"]["ALLOWED_HOSTS"]


def test_dockerfile_installs_runtime_requirements_and_uses_the_entrypoint():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["deploy/entrypoint.sh"]' in dockerfile
    assert 'CMD ["gunicorn", "etsy.wsgi", "--config", "etsy/gunicorn.conf.py"]' in dockerfile
    assert "collectstatic" in dockerfile and "USER etsy" in dockerfile


def test_production_refuses_to_start_with_public_metrics():
    """/metrics shows per-shop order counts: without METRICS_BEARER_TOKEN, manage.py and the
    WSGI application (what each gunicorn worker loads) refuse the production profile."""
    env = {"METRICS_BEARER_TOKEN": "", "DJANGO_SETTINGS_MODULE": "etsy.settings"}
    checked = run_production(["manage.py", "check"], env)
    assert checked.returncode != 0
    assert "etsy.E001" in checked.stderr and "METRICS_BEARER_TOKEN" in checked.stderr
    served = run_production(["-c", "import etsy.wsgi"], env)
    assert served.returncode != 0 and "METRICS_BEARER_TOKEN" in served.stderr
    assert run_production(["-c", "import etsy.wsgi"], {"DJANGO_SETTINGS_MODULE": "etsy.settings"}).returncode == 0
