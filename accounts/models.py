from django.contrib.auth.base_user import BaseUserManager
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower

from etsy.names import validate_visible_text


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields):
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A marketplace account: every seller is also a buyer. Signs in with email."""

    username = None
    email = models.EmailField("email address", unique=True)
    display_name = models.CharField(max_length=80, blank=True, validators=[validate_visible_text])
    created_at = models.DateTimeField(auto_now_add=True)
    # Signed up but the address is not confirmed yet: inactive until the emailed link is opened
    # (accounts.services.sign_up). Accounts made any other way (admin, demo) start confirmed.
    is_signup_pending = models.BooleanField(default=False)

    objects = UserManager()

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.display_name or self.email

    @property
    def public_name(self) -> str:
        return self.display_name or self.email.split("@")[0]


class UndeliverableAddress(models.Model):
    """An address the email provider reported as hard-bounced or complaining: nothing more is sent to it."""

    class Reason(models.TextChoices):
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Marked as spam"

    email = models.EmailField(unique=True)  # lower-cased by accounts.services
    reason = models.CharField(max_length=20, choices=Reason.choices)
    provider = models.CharField(max_length=40, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"


class Address(models.Model):
    """A shipping address in a buyer's address book; at most one is the default (prefilled at checkout)."""

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="addresses")
    name = models.CharField("full name", max_length=120)
    line1 = models.CharField("street address", max_length=200)
    line2 = models.CharField("apartment, suite", max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField("state, province or region", max_length=100, blank=True)
    postal_code = models.CharField("ZIP / postal code", max_length=20)
    country = models.CharField("country code", max_length=2, default="US")
    phone = models.CharField(max_length=30, blank=True)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=models.Q(is_default=True), name="address_one_default_per_owner"
            ),
            models.CheckConstraint(condition=models.Q(country__regex=r"^[A-Z]{2}$"), name="address_country_iso2"),
        ]
        indexes = [models.Index(fields=["owner", "-created_at"], name="address_owner_idx")]

    def __str__(self) -> str:
        return f"{self.name}, {self.line1}, {self.city} ({self.country})"

    @property
    def lines(self) -> list[str]:
        """The address as printed on a label, one line each."""
        place = " ".join(p for p in (self.postal_code, self.city) if p)
        if self.region:
            place = f"{place}, {self.region}"
        return [line for line in (self.name, self.line1, self.line2, place, self.country) if line]
