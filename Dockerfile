# One image for every process: web (gunicorn), worker and beat (Celery), one-off commands.
# Build: docker compose build   (see docs/operations.md)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Runtime dependencies only, exactly as locked (hashes checked): the embedded dev services and the
# test tools are in requirements-dev.lock, not here.
COPY requirements.lock .
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY . .

# Static files are fingerprinted and compressed at build time (whitenoise serves them).
RUN ETSY_ENV=production SECRET_KEY=build-only-not-a-secret ALLOWED_HOSTS=localhost \
        python manage.py collectstatic --no-input --verbosity 0 \
    && useradd --system --uid 10001 --home-dir /app etsy \
    && mkdir -p /app/.data/media /tmp/prometheus \
    && chown -R etsy /app/.data /tmp/prometheus \
    && chmod +x deploy/entrypoint.sh

USER etsy
ENV ETSY_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus
EXPOSE 8000

ENTRYPOINT ["deploy/entrypoint.sh"]
CMD ["gunicorn", "etsy.wsgi", "--config", "etsy/gunicorn.conf.py"]
