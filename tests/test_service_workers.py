"""Several worker processes (``nianbao serve`` forks them): the rate limit and the admin jobs' status are shared
through the data directory's service.sqlite3, and no SQLite connection crosses a fork."""

from __future__ import annotations

import json
import multiprocessing
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from service.jobs import JobRunner
from service.ratelimit import RateLimiter
from service.statedb import FILE_NAME, StateDB, is_alive, process_identity

ROOT = Path(__file__).resolve().parent.parent
FORK = multiprocessing.get_context("fork")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _allow_in_child(path: str, per_minute: int, tries: int, out) -> None:
    db = StateDB(Path(path))
    limiter = RateLimiter(per_minute, db)
    out.put([limiter.allow("10.0.0.1")[0] for _ in range(tries)])


def test_the_limit_is_shared_by_processes(tmp_path):
    db = StateDB(tmp_path / FILE_NAME)
    limiter = RateLimiter(5, db)
    assert [limiter.allow("10.0.0.1")[0] for _ in range(3)] == [True, True, True]
    out = FORK.Queue()
    child = FORK.Process(target=_allow_in_child, args=(str(db.path), 5, 4, out))
    child.start()
    allowed_in_child = out.get(timeout=30)
    child.join(timeout=30)
    assert allowed_in_child == [True, True, False, False]  # 3 here + 2 there = the limit of 5
    allowed, retry_after = limiter.allow("10.0.0.1")
    assert not allowed and 1 <= retry_after <= 60
    assert limiter.allow("10.0.0.2") == (True, 0)  # per address


def test_the_window_slides(tmp_path):
    now = [1000.0]
    limiter = RateLimiter(2, StateDB(tmp_path / FILE_NAME), clock=lambda: now[0])
    assert [limiter.allow("a")[0] for _ in range(3)] == [True, True, False]
    now[0] += 30
    assert limiter.allow("a") == (False, 30)  # the first hit leaves the window in 30 s
    now[0] += 30.5
    assert limiter.allow("a") == (True, 0)


def _connection_in_child(db: StateDB, out) -> None:
    inherited = db._local.conn  # the parent's connection, copied by the fork
    conn = db.conn()
    out.put(conn is not inherited and conn.execute("SELECT count(*) FROM jobs").fetchone()[0] == 0)


def test_a_connection_is_not_inherited_across_fork(tmp_path):
    db = StateDB(tmp_path / FILE_NAME)
    parent_conn = db.conn()
    out = FORK.Queue()
    child = FORK.Process(target=_connection_in_child, args=(db, out))
    child.start()
    assert out.get(timeout=30) is True
    child.join(timeout=30)
    assert child.exitcode == 0
    assert db.conn() is parent_conn  # the parent keeps its own


def _job_status_in_child(path: str, job_id: str, out) -> None:
    runner = JobRunner(StateDB(Path(path)))
    for _ in range(200):
        job = runner.get(job_id)
        if job is not None and job.status == "done":
            break
        time.sleep(0.05)
    out.put(None if job is None else (job.status, job.result))


def test_job_status_is_seen_by_every_process(tmp_path):
    db = StateDB(tmp_path / FILE_NAME)
    runner = JobRunner(db)
    job = runner.submit("reindex", lambda: "3 report(s) indexed")
    # Spawned, not forked: the job runs on a thread of this process, and a fork copies whatever lock that thread
    # holds at that instant (the child then waits forever); a separate server worker starts clean, as here.
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    child = spawn.Process(target=_job_status_in_child, args=(str(db.path), job.id, out))
    child.start()
    assert out.get(timeout=30) == ("done", "3 report(s) indexed")
    child.join(timeout=30)
    assert runner.get("nope") is None
    runner.shutdown()


def test_a_job_whose_process_died_is_reported_failed(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(proc.pid)
    proc.wait()
    assert is_alive(process_identity()) and not is_alive(identity)
    db = StateDB(tmp_path / FILE_NAME)
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO jobs (id, kind, status, created, owner) VALUES ('j1', 'crawl', 'running', 'now', ?)",
            (identity,),
        )
    job = JobRunner(db).get("j1")
    assert job is not None and job.status == "failed" and "exited" in job.error


def test_two_gunicorn_workers_share_one_limit(tmp_path):
    port = free_port()
    env = dict(os.environ, NIANBAO_RATE_LIMIT_PER_MINUTE="5")
    cmd = [sys.executable, "-m", "nianbao.cli", "--data-dir", str(tmp_path / "data"), "serve", "--port", str(port)]
    proc = subprocess.Popen([*cmd, "--workers", "2"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert f":{port}/" in line and "2 worker processes" in line, line
        statuses: list[int] = []

        def get() -> None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=20) as resp:
                    statuses.append(resp.status)
                    assert json.load(resp)["status"] == "ok"
            except urllib.error.HTTPError as exc:
                statuses.append(exc.code)

        threads = [threading.Thread(target=get) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(statuses) == [200] * 5 + [429] * 7
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _established_by_pid(port: int) -> dict[int, int]:
    """Established server-side TCP connections on ``port``, counted per owning process (from /proc)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                cols = line.split()
                if int(cols[1].rsplit(":", 1)[1], 16) == port and cols[3] == "01":  # local port, ESTABLISHED
                    inodes.add(cols[9])
    counts: dict[int, int] = {}
    for pid_dir in Path("/proc").glob("[0-9]*"):
        try:
            links = [os.readlink(fd) for fd in (pid_dir / "fd").iterdir()]
        except OSError:
            continue
        n = sum(link.startswith("socket:[") and link[8:-1] in inodes for link in links)
        if n:
            counts[int(pid_dir.name)] = n
    return counts


def _serve(tmp_path: Path, port: int, workers: int) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "nianbao.cli", "--data-dir", str(tmp_path / "data"), "serve", "--port", str(port)]
    return subprocess.Popen(
        [*cmd, "--workers", str(workers)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_keep_alive_connections_are_spread_over_the_workers(tmp_path):
    # On one shared listening socket one gthread worker was seen taking all 32 connections of a load test.
    port = free_port()
    proc = _serve(tmp_path, port, 2)
    clients: list[socket.socket] = []
    try:
        assert "2 worker processes" in proc.stdout.readline()
        for _ in range(32):
            conn = socket.create_connection(("127.0.0.1", port), timeout=20)
            conn.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert conn.recv(65536).startswith(b"HTTP/1.1 200")  # answered, and kept alive
            clients.append(conn)
        counts = _established_by_pid(port)
        counts.pop(os.getpid(), None)  # this process's client ends, if the port matched them
        assert len(counts) == 2 and sum(counts.values()) == 32, counts
        assert min(counts.values()) >= 4, counts  # Binomial(32, ½): fewer than 4 on one side ~1e-5
    finally:
        for conn in clients:
            conn.close()
        proc.terminate()
        proc.wait(timeout=30)


def test_a_port_in_use_is_refused_not_shared(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = _serve(tmp_path, port, 1)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_workers_threads_and_socket_come_from_the_settings(tmp_path):
    from nianbao.settings import load_settings
    from service.server import _Gunicorn

    settings = load_settings(env={"NIANBAO_THREADS": "3", "NIANBAO_WORKERS": "2"}, data_dir=tmp_path)
    cfg = _Gunicorn(settings).cfg
    assert (cfg.workers, cfg.threads, cfg.worker_class_str, cfg.reuse_port) == (2, 3, "gthread", True)
    assert _Gunicorn(settings.replace(port=0)).cfg.reuse_port is False  # port 0: one shared socket
