"""The database backend (``ENGINE = "etsy.postgresql"``): Django's PostgreSQL backend with django-prometheus's
metrics, made cheaper per request; see ``base.py``."""
