from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    default = True  # this module holds two configs; "accounts" in INSTALLED_APPS means this one
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from accounts import receivers  # noqa: F401 - connects the signal handlers


class ThrottledAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with a login that shares the site's sign-in throttle (accounts.throttling)."""

    default = False
    default_site = "accounts.throttling.ThrottledAdminSite"
