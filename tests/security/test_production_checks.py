"""System checks of the production profile (etsy.checks)."""

from django.core.checks import run_checks

from etsy.checks import PRODUCTION_TAG, check_metrics_token


def test_production_without_a_metrics_token_is_an_error(settings):
    settings.IS_PRODUCTION = True
    settings.METRICS_BEARER_TOKEN = ""
    errors = check_metrics_token()
    assert [error.id for error in errors] == ["etsy.E001"]
    assert errors[0].is_serious()
    assert "etsy.E001" in [message.id for message in run_checks(tags=[PRODUCTION_TAG])]


def test_production_with_a_metrics_token_passes(settings):
    settings.IS_PRODUCTION = True
    settings.METRICS_BEARER_TOKEN = "scrape-secret"
    assert check_metrics_token() == []


def test_development_needs_no_metrics_token(settings):
    settings.IS_PRODUCTION = False
    settings.METRICS_BEARER_TOKEN = ""
    assert check_metrics_token() == []
