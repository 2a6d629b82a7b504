"""Settings for the gunicorn started by tests/ops: the project's, with the test URLconf."""

from etsy.settings import *  # noqa: F401,F403

ROOT_URLCONF = "tests.ops.urls"
