#!/bin/sh
# Container entrypoint for every process type.
# Prometheus multiprocess files belong to one run of one container: start from an
# empty directory so samples of processes from an earlier run are not added in.
set -eu
if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
    mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
    find "$PROMETHEUS_MULTIPROC_DIR" -mindepth 1 -delete
fi
exec "$@"
