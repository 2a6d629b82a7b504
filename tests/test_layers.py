"""The layers of pyproject.toml's import-linter contract hold for what imports cannot show.

A foreign key or a model-signal receiver is a dependency even when written as a string
("orders.Review"): a lower app must not point at, or listen to, a model of an app above it.
"""

import tomllib
from pathlib import Path

from django.apps import apps
from django.db.models import signals

ROOT = Path(__file__).resolve().parent.parent


def _layer_of() -> dict[str, int]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["type"] == "layers"]
    rank = {}
    for depth, layer in enumerate(reversed(contract["layers"])):  # 0 = the ground (etsy)
        for package in layer.split("|"):
            rank[package.strip()] = depth
    return rank


LAYER = _layer_of()


def _package(module: str) -> str:
    return module.split(".")[0]


def _may_depend(lower: str, upper: str) -> bool:
    """Whether package ``lower`` may depend on ``upper``: itself, or a layer strictly below it."""
    return lower == upper or LAYER[upper] < LAYER[lower]


def _our_models():
    return [m for m in apps.get_models() if _package(m.__module__) in LAYER]


def test_every_app_is_in_the_layers_contract():
    ours = {app.name.split(".")[0] for app in apps.get_app_configs() if (ROOT / app.name.split(".")[0]).is_dir()}
    assert ours <= set(LAYER), f"apps missing from the import-linter layers: {ours - set(LAYER)}"


def test_no_foreign_key_points_up_the_layers():
    upward = []
    for model in _our_models():
        for field in model._meta.get_fields():
            if not (field.is_relation and field.concrete and field.related_model):
                continue
            source, target = _package(model.__module__), _package(field.related_model.__module__)
            if target in LAYER and not _may_depend(source, target):
                upward.append(f"{model._meta.label}.{field.name} -> {field.related_model._meta.label}")
    assert upward == []


def test_no_model_signal_receiver_listens_to_a_model_above_its_app():
    model_by_id = {id(model): model for model in _our_models()}
    upward = []
    for signal in (signals.pre_save, signals.post_save, signals.pre_delete, signals.post_delete, signals.m2m_changed):
        for (_, sender_id), receiver, *_ in signal.receivers:
            sender = model_by_id.get(sender_id)
            function = receiver() if callable(receiver) and not hasattr(receiver, "__module__") else receiver
            function = getattr(function, "__func__", function)
            module = getattr(function, "__module__", "") or ""
            if sender is None or _package(module) not in LAYER:
                continue
            if not _may_depend(_package(module), _package(sender.__module__)):
                upward.append(f"{module}.{function.__qualname__} listens to {sender._meta.label}")
    assert upward == []


def test_the_checks_can_fail():
    """The rule itself: catalog may use shops, shops may not use catalog or orders; cart and search are peers."""
    assert _may_depend("catalog", "shops") and not _may_depend("shops", "catalog")
    assert not _may_depend("shops", "orders") and not _may_depend("etsy", "accounts")
    assert not _may_depend("cart", "search") and not _may_depend("search", "cart")
