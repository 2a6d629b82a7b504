"""Read /metrics the way Prometheus does (text exposition), for before/after comparisons."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


class MetricsSnapshot:
    def __init__(self, text: str):
        self.samples: dict[tuple[str, frozenset], float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                self.samples[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def bucket(self, name: str, le: str, **labels: str) -> float:
        return self.value(f"{name}_bucket", le=le, **labels)


def scrape(client) -> MetricsSnapshot:
    response = client.get("/metrics")
    assert response.status_code == 200
    return MetricsSnapshot(response.content.decode())


def moved(before: MetricsSnapshot, after: MetricsSnapshot, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)
