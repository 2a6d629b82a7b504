"""/metrics adds up samples from every gunicorn worker (Prometheus multiprocess mode)."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from prometheus_client import multiprocess
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

REQUESTS_BY_VIEW = "django_http_requests_total_by_view_transport_method_total"


def scrape(server) -> dict[tuple[str, tuple], float]:
    status, headers, body = server.get("/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def health_count(samples) -> float:
    key = (REQUESTS_BY_VIEW, (("method", "GET"), ("transport", "http"), ("view", "health")))
    return samples.get(key, 0.0)


def per_process_counts(metrics_dir, sample_name: str, **labels: str) -> dict[int, float]:
    """Read each worker's own counter file, as the collector would, one file at a time."""
    counts = {}
    for name in os.listdir(metrics_dir):
        if not name.startswith("counter_"):
            continue
        pid = int(name.removeprefix("counter_").removesuffix(".db"))
        for family in multiprocess.MultiProcessCollector.merge([os.path.join(metrics_dir, name)]):
            for sample in family.samples:
                if sample.name == sample_name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    counts[pid] = counts.get(pid, 0.0) + sample.value
    return counts


def per_process_health_counts(metrics_dir) -> dict[int, float]:
    return per_process_counts(metrics_dir, REQUESTS_BY_VIEW, view="health")


def drive(server, path: str, count: int, threads: int = 8, ok=(200, 503)) -> None:
    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = list(pool.map(lambda _: server.get(path)[0], range(count)))
    assert all(status in ok for status in statuses), statuses


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples, name: str) -> float:
    return sum(v for (sample_name, _), v in samples.items() if sample_name == name)


def test_product_views_and_cache_hits_add_up_across_workers(gunicorn_server, product):
    """A page view in either worker counts; the first view misses the shared cache, later ones only hit."""
    path = product.get_absolute_url()
    category = str(product.category_id)
    before = scrape(gunicorn_server)
    assert gunicorn_server.get(path)[0] == 200  # alone: fills the caches
    warm = scrape(gunicorn_server)
    drive(gunicorn_server, path, 39, ok=(200,))
    after = scrape(gunicorn_server)

    views = value(after, "etsy_product_views_total", category_id=category)
    assert views - value(before, "etsy_product_views_total", category_id=category) == 40
    assert total(warm, "etsy_cache_misses_total") - total(before, "etsy_cache_misses_total") >= 1
    # whichever worker serves them, the 39 later views find everything in the shared Redis
    assert total(after, "etsy_cache_misses_total") == total(warm, "etsy_cache_misses_total")
    assert total(after, "etsy_cache_hits_total") - total(warm, "etsy_cache_hits_total") >= 39
    viewers = per_process_counts(gunicorn_server.metrics_dir, "etsy_product_views_total", category_id=category)
    assert len([pid for pid, count in viewers.items() if count > 0]) >= 2, viewers
    assert sum(viewers.values()) == 40


def test_server_start_wipes_stale_metric_files(gunicorn_server):
    assert not (gunicorn_server.metrics_dir / "counter_999999.db").exists()


def test_metrics_add_up_across_worker_processes(gunicorn_server):
    before = health_count(scrape(gunicorn_server))
    drive(gunicorn_server, "/api/health", 60)

    per_process = per_process_health_counts(gunicorn_server.metrics_dir)
    serving = {pid for pid, count in per_process.items() if count > 0}
    assert len(serving) >= 2, f"all requests went to one worker: {per_process}"
    assert serving <= gunicorn_server.worker_pids()

    after = health_count(scrape(gunicorn_server))
    assert after - before == 60
    assert after == sum(per_process.values())


def test_counts_survive_a_worker_restart(gunicorn_server):
    drive(gunicorn_server, "/api/health", 20)
    before = health_count(scrape(gunicorn_server))
    victim = sorted(gunicorn_server.worker_pids())[0]
    os.kill(victim, signal.SIGTERM)  # the master replaces it; child_exit marks it dead
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = gunicorn_server.worker_pids()
        if victim not in pids and len(pids) == gunicorn_server.workers:
            break
        time.sleep(0.2)
    else:
        pytest.fail("gunicorn did not replace the stopped worker")
    # The replacement takes connections once it has loaded and warmed the application; the next tests
    # count on every worker serving.
    gunicorn_server.wait_until_every_worker_serves()

    drive(gunicorn_server, "/api/health", 20)
    after = health_count(scrape(gunicorn_server))
    assert after - before == 20  # the dead worker's requests are still counted, none twice
    assert victim in per_process_health_counts(gunicorn_server.metrics_dir)


def test_each_request_is_one_json_log_line_with_its_request_id(gunicorn_server):
    ids = [f"lb-probe-{n}" for n in range(10)]
    for request_id in ids:
        status, headers, _ = gunicorn_server.get("/api/health", headers={"X-Request-ID": request_id})
        assert headers["X-Request-ID"] == request_id
    time.sleep(0.5)
    access = [r for r in gunicorn_server.log_records() if r.get("logger") == "etsy.request"]
    for request_id in ids:
        lines = [r for r in access if r.get("request_id") == request_id]
        assert len(lines) == 1, lines
        line = lines[0]
        assert (line["method"], line["path"], line["status"]) == ("GET", "/api/health", 200)
        assert line["duration_ms"] >= 0 and "user_id" in line and line["level"] == "info"


def test_searches_served_by_different_workers_add_up(gunicorn_server, shop, category):
    from tests.catalog.factories import ProductFactory

    ProductFactory.create_batch(3, shop=shop, category=category, title="Speckled stoneware mug")
    gunicorn_server.wait_until_every_worker_serves()
    before = scrape(gunicorn_server)
    queries = [f"/search/?q=stoneware+mug+{n}" for n in range(20)]  # distinct: no page-cache hits
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda path: gunicorn_server.get(path)[0], queries))
    assert statuses == [200] * 20
    after = scrape(gunicorn_server)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("etsy_search_queries_total", has_filters="false") == 20
    assert delta("etsy_search_latency_seconds_count", query_type="keyword") == 20
    assert delta("etsy_search_latency_seconds_bucket", query_type="keyword", le="+Inf") == 20
    assert delta("etsy_search_results_count_count") == 20
    assert delta("etsy_cache_misses_total", cache_type="search") == 20
    searchers = per_process_counts(gunicorn_server.metrics_dir, "etsy_search_queries_total", has_filters="false")
    assert len([pid for pid, count in searchers.items() if count > 0]) >= 2, searchers
