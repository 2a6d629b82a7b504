import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "etsy.settings")

application = get_wsgi_application()


def _refuse_a_failing_production_profile() -> None:
    """gunicorn runs no system checks: the production ones (etsy.checks) stop the worker from booting."""
    from django.core.checks import run_checks
    from django.core.exceptions import ImproperlyConfigured

    from etsy.checks import PRODUCTION_TAG

    errors = [message for message in run_checks(tags=[PRODUCTION_TAG]) if message.is_serious()]
    if errors:
        raise ImproperlyConfigured("; ".join(str(error) for error in errors))


_refuse_a_failing_production_profile()
