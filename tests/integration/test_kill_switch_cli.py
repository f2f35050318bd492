"""`keel kill-switch` as an operator runs it, against a running `keel worker` process and a local
webhook receiver: engage drains the worker and refuses new runs, the release takes two people."""

from __future__ import annotations

import hashlib
import hmac
import json
import signal
import socket
import sqlite3
import subprocess
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_servers import WebhookReceiver
from test_cli import HANG_GUARD_S, Cli, wait_for

SECRET = "test-only-kill-switch-webhook-secret"

SLOW = textwrap.dedent(
    '''
    """Runs of quarter-second steps: long enough to be caught in flight."""
    import asyncio

    from keel import App, Context

    app = App("slow")


    @app.step()
    async def work(i: int) -> int:
        await asyncio.sleep(0.25)
        return i


    @app.workflow()
    async def crunch(ctx: Context, n: int) -> int:
        total = 0
        for i in range(n):
            total += await ctx.run(work, i)
        return total
    '''
)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def scrape(port: int, name: str) -> float | None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as resp:
        for line in resp.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def rows(cli: Cli, run_ids: list[str]) -> dict[str, tuple[str, str | None, int]]:
    """(status, lease owner, journal entries) of each run, read straight from the file: `keel runs show`
    is a process start per run, slower than the runs themselves."""
    with sqlite3.connect(cli.db_path) as conn:
        return {
            r: conn.execute(
                "SELECT status, lease_owner, (SELECT count(*) FROM keel_steps s WHERE s.run_id = keel_runs.run_id) "
                "FROM keel_runs WHERE run_id = ?",
                (r,),
            ).fetchone()
            for r in run_ids
        }


def signed_json(body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["x-keel-signature"], expected)
    return json.loads(body)  # type: ignore[no-any-return]


def test_kill_switch_drains_a_worker_refuses_runs_and_releases_with_two_approvers(
    tmp_path: Path, receiver: WebhookReceiver
) -> None:
    cli = Cli(tmp_path)
    cli.env.update(
        KEEL_ALERT_WEBHOOK_URL=receiver.url,
        KEEL_ALERT_WEBHOOK_SECRET_ENV="KS_WEBHOOK_SECRET",
        KS_WEBHOOK_SECRET=SECRET,
        KEEL_POLL_INTERVAL_S="0.1",
    )
    (tmp_path / "slow.py").write_text(SLOW)
    assert json.loads(cli.ok("kill-switch", "status", "--json").stdout)["engaged"] is False
    run_ids = [cli.ok("run", "slow.py:crunch", "--input", '{"n": 20}', "--enqueue").stdout.strip() for _ in range(3)]
    port = free_port()
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            cli.argv("worker", "slow.py", "--concurrency", "4", "--metrics-port", str(port)),
            cwd=tmp_path,
            env=cli.env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            wait_for(
                lambda: all(st == "running" and n >= 1 for st, _, n in rows(cli, run_ids).values()),
                "every run to be in flight",
            )
            assert scrape(port, "agent_kill_switch_active") in (None, 0.0)

            engaged = json.loads(
                cli.ok("kill-switch", "engage", "--reason", "drill 7", "--by", "alice", "--json").stdout
            )
            assert engaged["state"]["engaged"] is True and engaged["operator"] == "alice"
            assert engaged["webhook"] == "sent" and engaged["audit_error"] is None
            # The runs' own state changes are sealed into the same chain in the background, before or
            # after the engage: its entry is found by the seq the command reports.
            with sqlite3.connect(cli.db_path) as conn:
                entry = conn.execute(
                    "SELECT event_type, actor_id FROM keel_audit_entries WHERE seq = ?", (engaged["audit_seq"],)
                ).fetchone()
            assert entry == ("kill_switch.engaged", "alice")
            assert engaged["credentials_generation"] == 1

            body, headers = receiver.received[0]
            alert = signed_json(body, headers)
            assert alert["event"] == "kill_switch.engaged"
            assert alert["reason"] == "drill 7" and alert["operator"] == "alice" and alert["incident"] == 1

            def drained() -> bool:
                return all(st == "waiting" and owner is None for st, owner, _ in rows(cli, run_ids).values())

            wait_for(drained, "the worker to drain every run")
            steps_when_held = {r: n for r, (_, _, n) in rows(cli, run_ids).items()}
            assert all(0 < n < 20 for n in steps_when_held.values())
            assert scrape(port, "agent_kill_switch_active") == 1.0

            refused = cli("run", "slow.py:crunch", "--input", '{"n": 1}', "--enqueue")
            assert refused.returncode == 1
            assert "kill switch is engaged (drill 7)" in refused.stderr

            status = json.loads(cli.ok("kill-switch", "status", "--json").stdout)
            assert status["engaged"] is True and status["reason"] == "drill 7" and status["engaged_by"] == "alice"
            human = cli.ok("kill-switch", "status").stdout
            assert "ENGAGED" in human and "drill 7" in human

            first = cli.ok("kill-switch", "release", "--by", "alice")
            assert "1 of 2" in first.stdout
            twice = cli("kill-switch", "release", "--by", "alice")
            assert twice.returncode == 1
            assert "alice already approved this release" in twice.stderr
            time.sleep(0.5)  # one approval releases nothing: the runs are still held
            assert rows(cli, run_ids) == {r: ("waiting", None, n) for r, n in steps_when_held.items()}

            second = cli.ok("kill-switch", "release", "--by", "bob")
            assert "released" in second.stdout and "alice and bob" in second.stdout
            wait_for(lambda: all(st == "succeeded" for st, _, _ in rows(cli, run_ids).values()), "the runs to finish")
            assert all(cli.show(r)["result"] == sum(range(20)) for r in run_ids)
            wait_for(lambda: scrape(port, "agent_kill_switch_active") == 0.0, "the gauge to drop")

            body, headers = receiver.received[-1]
            released = signed_json(body, headers)
            assert released["event"] == "kill_switch.released" and released["approvers"] == ["alice", "bob"]
            assert len(receiver.received) == 2  # engage and release; the first approval alerts nobody

            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=HANG_GUARD_S) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    log_text = log_path.read_text()
    assert "kill switch engaged: drill 7" in log_text  # the hold's cause, logged by the worker

    # Engage, the first approval, the refused repeat and the release: audited, and the chain verifies.
    cli.ok("audit", "verify")
    cli.ok("run", "slow.py:crunch", "--input", '{"n": 1}', "--enqueue")  # runs start again


def test_engage_without_a_reason_is_a_usage_error(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    proc = cli("kill-switch", "engage", "--reason", "  ")
    assert proc.returncode == 2
    assert "needs a reason" in proc.stderr
    assert json.loads(cli.ok("kill-switch", "status", "--json").stdout)["engaged"] is False


def test_an_unreachable_webhook_does_not_stop_the_switch(tmp_path: Path) -> None:
    cli = Cli(tmp_path)
    cli.env["KEEL_ALERT_WEBHOOK_URL"] = f"http://127.0.0.1:{free_port()}/nobody"
    proc = cli("kill-switch", "engage", "--reason", "drill", "--by", "alice", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["state"]["engaged"] is True and out["webhook"].startswith("failed")
