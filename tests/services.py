"""Throw-away servers for tests and benches: a PostgreSQL 15 cluster and moto's S3 server, on loopback.

PostgreSQL: `initdb` refuses to run as root, so the cluster's folder belongs to the `postgres` user and its
programs run through `runuser`. The cluster listens on 127.0.0.1 and a Unix socket in its own folder, on a free
port, with password (scram) authentication over TCP, so the tests go through the same password path as a
province's deployment. fsync is off: the cluster is thrown away, and durability is PostgreSQL's job, not ours.

S3: `moto_server` (pip `moto[server]`, pinned) is a real HTTP server speaking the S3 API; it enforces Object Lock
on deletes (but lets a COMPLIANCE retention be shortened, where real S3 refuses; tests must not rely on that).
"""
from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PG_BIN_DIRS = [Path("/usr/lib/postgresql/15/bin")]
PG_USER = "postgres"
SUPERUSER = "yuetan_test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_bin(name: str) -> Path | None:
    for folder in PG_BIN_DIRS:
        if (folder / name).is_file():
            return folder / name
    found = shutil.which(name)
    return Path(found) if found else None


def postgres_available() -> str | None:
    """None when a cluster can be made here, else why not (said in the skip/fail message)."""
    if pg_bin("initdb") is None or pg_bin("pg_ctl") is None:
        return "PostgreSQL 15 的 initdb/pg_ctl 未安装（make test 会用 apt 安装 postgresql-15）"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "以 root 运行却没有 runuser，无法以 postgres 用户运行 initdb"
    return None


@dataclass
class PostgresCluster:
    """A running cluster; `url(database)` gives a SQLAlchemy URL without the password (it is in `password`)."""

    folder: Path
    port: int
    password: str
    user: str = SUPERUSER

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}:{self.password}@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str, database: str = "postgres") -> list[tuple]:
        """Run a statement outside a transaction (CREATE DATABASE needs that); the rows it returns, if any."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, password=self.password,
                             dbname=database, autocommit=True) as conn:
            cursor = conn.execute(sql)
            return cursor.fetchall() if cursor.description else []

    def create_database(self, name: str, template: str | None = None) -> str:
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def stop(self) -> None:
        _as_postgres([str(pg_bin("pg_ctl")), "-D", str(self.data), "-m", "immediate", "-w", "stop"],
                     check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def start_postgres() -> PostgresCluster:
    """initdb in a fresh temp folder owned by postgres, then pg_ctl start on a free port."""
    why = postgres_available()
    if why:
        raise RuntimeError(why)
    folder = Path(tempfile.mkdtemp(prefix="yuetan-pg-"))
    password = secrets.token_urlsafe(16)
    pwfile = folder / "pwfile"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        shutil.chown(folder, PG_USER, PG_USER)
        shutil.chown(pwfile, PG_USER, PG_USER)
    os.chmod(folder, 0o700)
    cluster = PostgresCluster(folder=folder, port=free_port(), password=password)
    try:
        _as_postgres([str(pg_bin("initdb")), "-D", str(cluster.data), "-U", SUPERUSER, "--pwfile", str(pwfile),
                      "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8",
                      "--no-sync"])
        options = (f"-k {folder} -p {cluster.port} -h 127.0.0.1 -c fsync=off -c synchronous_commit=off "
                   "-c full_page_writes=off -c max_connections=200")
        _as_postgres([str(pg_bin("pg_ctl")), "-D", str(cluster.data), "-o", options, "-l", str(folder / "log"),
                      "-w", "-t", "60", "start"])
    except BaseException:
        log = folder / "log"
        detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        if detail:
            sys.stderr.write(detail)
        raise
    return cluster


def _as_postgres(argv: list[str], check: bool = True) -> subprocess.CompletedProcess:
    if os.geteuid() == 0:
        argv = ["runuser", "-u", PG_USER, "--", *argv]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd="/")
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr[-2000:]}")
    return result


# --- S3 ------------------------------------------------------------------------------------------------------

MOTO_KEY_ID = "yuetan-test"
MOTO_SECRET = "yuetan-test-secret"


@dataclass
class MotoServer:
    process: subprocess.Popen
    port: int

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=MOTO_KEY_ID, aws_secret_access_key=MOTO_SECRET)

    def create_locked_bucket(self, name: str) -> str:
        """A bucket with Object Lock (and so versioning), as a province's store must have."""
        self.client().create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        return name

    def env(self) -> dict[str, str]:
        """The environment a yuetan process needs to reach the server (credentials never go into yuetan.toml)."""
        return {"AWS_ACCESS_KEY_ID": MOTO_KEY_ID, "AWS_SECRET_ACCESS_KEY": MOTO_SECRET}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def moto_server_path() -> Path | None:
    beside = Path(sys.executable).parent / "moto_server"
    if beside.is_file():
        return beside
    found = shutil.which("moto_server")
    return Path(found) if found else None


def start_moto() -> MotoServer:
    program = moto_server_path()
    if program is None:
        raise RuntimeError("moto_server 未安装（pip 安装 moto[server]；make test 会装好）")
    port = free_port()
    log = open(Path(tempfile.gettempdir()) / f"yuetan-moto-{port}.log", "wb")
    process = subprocess.Popen([str(program), "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                               stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    server = MotoServer(process, port)
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(server.endpoint + "/moto-api/", timeout=1).close()
            return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"moto_server did not start on port {port}") from None
            time.sleep(0.1)
