"""The `keel` command, run as a user runs it: a subprocess per call, a fresh SQLite file per test."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

QUICKSTART = str(Path(__file__).resolve().parents[2] / "examples" / "quickstart.py")
ONBOARD = f"{QUICKSTART}:onboard"
# A hang guard only: every wait below ends as soon as its condition holds.
HANG_GUARD_S = 90.0

SHOP = textwrap.dedent(
    '''
    """A checkout whose payment step fails for good while the file `card_declined` exists."""
    import pathlib

    from keel import App, Context, RetryPolicy

    app = App("shop")
    HERE = pathlib.Path(__file__).parent


    @app.step()
    def release_stock(item: str, *, result: str) -> None:
        with (HERE / "released.log").open("a") as f:
            f.write(result + "\\n")


    @app.step(compensate=release_stock)
    def reserve_stock(item: str) -> str:
        return f"reservation-{item}"


    @app.step(retry=RetryPolicy(max_attempts=1))
    def charge_card(item: str) -> str:
        if (HERE / "card_declined").exists():
            raise RuntimeError("card declined")
        return f"charged for {item}"


    @app.workflow()
    async def checkout(ctx: Context, item: str) -> str:
        await ctx.run(reserve_stock, item)
        return await ctx.run(charge_card, item)
    '''
)


class Cli:
    """Runs `python -m keel.cli` in a directory, against one SQLite database file."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.db_path = cwd / "keel.db"
        self.env = {**os.environ, "KEEL_DATABASE_URL": f"sqlite:///{self.db_path}", "NO_COLOR": "1"}
        self.env.pop("FORCE_COLOR", None)

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "keel.cli", *args]

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.argv(*args), cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=HANG_GUARD_S
        )

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = self(*args)
        assert proc.returncode == 0, f"keel {' '.join(args)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
        return proc

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json").stdout)

    def show(self, run_id: str) -> dict[str, Any]:
        return self.json("runs", "show", run_id)  # type: ignore[no-any-return]

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every Keel table: equal snapshots mean the command changed nothing."""
        with sqlite3.connect(self.db_path) as conn:
            query = "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'keel_%'"
            tables = [row[0] for row in conn.execute(query)]
            return {t: sorted(map(tuple, conn.execute(f"SELECT * FROM {t}")), key=repr) for t in tables}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path)


@pytest.fixture
def shop(cli: Cli) -> str:
    """The path of the checkout workflow file, with the card declined until the test says otherwise."""
    (cli.cwd / "shop.py").write_text(SHOP)
    (cli.cwd / "card_declined").touch()
    return "shop.py"


def parked_checkout(cli: Cli, shop: str, item: str = "book") -> str:
    proc = cli("run", f"{shop}:checkout", "--input", json.dumps({"item": item}), "--json")
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "dead_letter"
    return str(out["run_id"])


def wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD_S
    while not predicate():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.2)


# -- help ------------------------------------------------------------------------------------------


def test_help_lists_every_command_group(cli: Cli) -> None:
    out = cli.ok("--help").stdout
    for group in ("run", "worker", "runs", "dlq", "workflows", "db"):
        assert f" {group} " in out, group
    runs_help = cli.ok("runs", "--help").stdout
    for command in ("list", "show", "resume", "abort", "cancel", "pause", "unpause"):
        assert f" {command} " in runs_help, command


# -- keel run --------------------------------------------------------------------------------------


def test_run_inline_prints_each_step_then_the_result(cli: Cli) -> None:
    proc = cli.ok("run", ONBOARD, "--input", '{"customer": "Ada"}')
    lines = proc.stdout.splitlines()
    run_id = lines[0].split()[1]
    steps = [line.split() for line in lines if line.startswith("  ") and "attempt" in line]
    # seq, name, status for every step event, in order; the mail step fails once, then succeeds.
    assert [(s[0], s[1], s[2]) for s in steps] == [
        ("0", "check_customer", "succeeded"),
        ("1", "create_workspace", "succeeded"),
        ("2", "keel.sleep", "succeeded"),
        ("3", "send_welcome_email", "retrying"),
        ("3", "send_welcome_email", "succeeded"),
        ("5", "activate_account", "succeeded"),
    ]
    assert "attempt 2" in next(line for line in lines if "send_welcome_email" in line and "succeeded" in line)
    done = lines.index(f"run {run_id} succeeded")
    result = json.loads("\n".join(lines[done + 1 :]))
    assert result["customer"] == "Ada" and result["plan"] == "starter" and result["status"] == "active"
    assert cli.show(run_id)["status"] == "succeeded"


def test_run_json_prints_one_object(cli: Cli) -> None:
    out = cli.json("run", ONBOARD, "--input", '{"customer": "Grace", "plan": "team"}', "--org", "acme", "--user", "u1")
    assert out["status"] == "succeeded"
    assert out["result"]["customer"] == "Grace" and out["result"]["plan"] == "team"
    assert out["error"] is None and out["created"] is True
    run = cli.show(out["run_id"])
    assert run["target"] == ONBOARD
    assert (run["org_id"], run["user_id"]) == ("acme", "u1")
    assert run["result"] == out["result"]


def test_run_takes_a_module_target_and_positional_input(cli: Cli) -> None:
    (cli.cwd / "greetings.py").write_text(
        textwrap.dedent(
            """
        from keel import App, Context

        app = App("greetings")

        @app.workflow()
        async def greet(ctx: Context, name: str, times: int) -> str:
            return " ".join([f"hello {name}"] * times)
        """
        )
    )
    out = cli.json("run", "greetings:greet", "--input", '["Ada", 2]')
    assert out["status"] == "succeeded" and out["result"] == "hello Ada hello Ada"


def test_enqueue_prints_the_id_and_leaves_the_run_pending(cli: Cli) -> None:
    proc = cli.ok("run", ONBOARD, "--input", '{"customer": "Ada"}', "--enqueue")
    run_id = proc.stdout.strip()
    run = cli.show(run_id)
    assert run["run_id"] == run_id
    assert run["status"] == "pending" and run["steps"] == []
    assert "worker" in proc.stderr


def test_idempotency_key_returns_the_same_run(cli: Cli) -> None:
    first = cli.json("run", ONBOARD, "--input", '{"customer": "Ada"}', "--idempotency-key", "signup-42")
    second = cli("run", ONBOARD, "--input", '{"customer": "Ada"}', "--idempotency-key", "signup-42", "--json")
    assert second.returncode == 0
    again = json.loads(second.stdout)
    assert again["run_id"] == first["run_id"] and again["created"] is False
    assert again["result"] == first["result"]
    assert "already started run" in second.stderr
    assert len(cli.json("runs", "list")) == 1


# -- keel worker -----------------------------------------------------------------------------------


def test_worker_runs_an_enqueued_run_and_drains_on_sigterm(cli: Cli) -> None:
    run_id = cli.ok("run", ONBOARD, "--input", '{"customer": "Ada"}', "--enqueue").stdout.strip()
    log_path = cli.cwd / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            cli.argv("--log-format", "console", "worker", QUICKSTART, "--concurrency", "2"),
            cwd=cli.cwd,
            env=cli.env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            wait_for(lambda: cli.show(run_id)["status"] == "succeeded", "the worker to finish the run")
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=HANG_GUARD_S) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    log_text = log_path.read_text()
    assert "serving onboard v1" in log_text
    assert f"run_id={run_id}" in log_text and "step succeeded" in log_text
    assert "received SIGTERM: draining" in log_text
    run = cli.show(run_id)
    assert run["lease_owner"] is None
    assert [s["name"] for s in run["steps"] if s["kind"] == "step"] == [
        "check_customer",
        "create_workspace",
        "send_welcome_email",
        "activate_account",
    ]


# -- keel runs -------------------------------------------------------------------------------------


def test_runs_list_and_show(cli: Cli, shop: str) -> None:
    parked = parked_checkout(cli, shop)
    done = cli.json("run", ONBOARD, "--input", '{"customer": "Ada"}')["run_id"]

    listed = cli.json("runs", "list")
    assert [r["run_id"] for r in listed] == [done, parked]  # newest first
    assert [r["run_id"] for r in cli.json("runs", "list", "--status", "dead_letter")] == [parked]
    assert [r["run_id"] for r in cli.json("runs", "list", "--workflow", "onboard")] == [done]
    assert len(cli.json("runs", "list", "--limit", "1")) == 1
    assert parked[:8] in cli.ok("runs", "list").stdout

    run = cli.show(parked[:8])  # an unambiguous prefix is enough
    assert run["run_id"] == parked
    assert run["workflow_name"] == "checkout" and run["workflow_version"] == "1"
    assert run["input"] == {"args": [], "kwargs": {"item": "book"}}
    assert run["failed_step"] == "charge_card"
    assert "card declined" in run["error"]["message"]
    assert [(s["seq"], s["name"], s["kind"], s["status"], s["attempts"]) for s in run["steps"]] == [
        (0, "reserve_stock", "step", "succeeded", 1)
    ]
    assert [(t["from"], t["to"]) for t in run["transitions"]] == [
        (None, "pending"),
        ("pending", "running"),
        ("running", "dead_letter"),
    ]
    assert all(t["at"] and t["cause"] for t in run["transitions"])

    human = cli.ok("runs", "show", parked).stdout
    for text in ("checkout v1", "reserve_stock", "dead_letter", "card declined", "started"):
        assert text in human, text


def test_dlq_list_then_resume_with_app(cli: Cli, shop: str) -> None:
    run_id = parked_checkout(cli, shop)
    (parked,) = cli.json("dlq", "list")
    assert parked["run_id"] == run_id
    assert parked["failed_step"] == "charge_card"
    assert "RuntimeError: card declined" in parked["error_message"]
    assert "charge_card" in cli.ok("dlq", "list").stdout

    (cli.cwd / "card_declined").unlink()  # the operator fixes the cause
    proc = cli("runs", "resume", run_id, "--app", shop)
    assert proc.returncode == 0, proc.stderr
    assert "reserve_stock" in proc.stdout and "replayed" in proc.stdout  # not executed again
    run = cli.show(run_id)
    assert run["status"] == "succeeded" and run["result"] == "charged for book"
    assert cli.json("dlq", "list") == []


def test_resume_without_app_only_records_the_request(cli: Cli, shop: str) -> None:
    run_id = parked_checkout(cli, shop)
    proc = cli.ok("runs", "resume", run_id)
    assert "worker" in proc.stdout
    run = cli.show(run_id)
    assert run["status"] == "pending" and run["error"] is None
    assert run["transitions"][-1]["cause"] == "operator resumed the run"


def test_abort_compensates_completed_steps(cli: Cli, shop: str) -> None:
    run_id = parked_checkout(cli, shop)
    proc = cli.ok("runs", "abort", run_id)  # recorded for a worker ...
    assert "worker" in proc.stdout
    assert cli.show(run_id)["status"] == "compensating"
    assert not (cli.cwd / "released.log").exists()

    proc = cli("runs", "abort", run_id, "--app", shop)  # ... or carried out here
    assert proc.returncode == 0, proc.stderr
    run = cli.show(run_id)
    assert run["status"] == "failed"
    assert [(s["name"], s["kind"]) for s in run["steps"]] == [
        ("reserve_stock", "step"),
        ("release_stock", "compensation"),
    ]
    assert (cli.cwd / "released.log").read_text().splitlines() == ["reservation-book"]


def test_cancel_and_pause_a_pending_run(cli: Cli, shop: str) -> None:
    run_id = cli.ok("run", f"{shop}:checkout", "--input", '{"item": "pen"}', "--enqueue").stdout.strip()
    assert cli.json("runs", "pause", run_id)["paused"] is True
    assert cli.json("runs", "unpause", run_id)["paused"] is False

    assert cli.json("runs", "cancel", run_id)["control"] == "cancel"
    assert cli.show(run_id)["status"] == "pending"
    out = cli.json("runs", "cancel", run_id, "--app", shop)
    assert out["status"] == "cancelled"
    assert cli.show(run_id)["steps"] == []  # cancelled before its first step


# -- keel workflows, keel db -----------------------------------------------------------------------


def test_workflows_pause_and_unpause(cli: Cli, shop: str) -> None:
    cli.ok("workflows", "pause", "checkout")
    (row,) = cli.json("workflows", "list")
    assert row["name"] == "checkout" and row["paused"] is True and row["total"] == 0

    # A run of a paused workflow is queued, not driven, and `keel run` says so instead of waiting.
    (cli.cwd / "card_declined").unlink()
    proc = cli("run", f"{shop}:checkout", "--input", '{"item": "pen"}', "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "pending"
    assert "paused" in proc.stderr

    cli.ok("workflows", "unpause", "checkout")
    (row,) = cli.json("workflows", "list")
    assert row["paused"] is False and row["version"] == "1" and row["runs"] == {"pending": 1}


def test_db_upgrade_reports_the_revision(cli: Cli) -> None:
    out = cli.json("db", "upgrade")
    assert out["revision"]
    assert out["database"].endswith("keel.db")
    assert cli.json("runs", "list") == []
    assert out["revision"] in cli.ok("db", "upgrade").stdout  # idempotent


APPROVAL = textwrap.dedent(
    """
    from keel import App, Context

    app = App("approval")


    @app.workflow()
    async def approve(ctx: Context, item: str) -> dict:
        return {"item": item, "verdict": await ctx.wait_for_signal("decision", timeout=3600)}
    """
)


def test_signal_wakes_a_waiting_run(cli: Cli) -> None:
    (cli.cwd / "approval.py").write_text(APPROVAL)
    args = ("run", "approval.py:approve", "--input", '{"item": "invoice-7"}', "--idempotency-key", "inv-7")
    run_id = cli.ok(*args, "--enqueue").stdout.strip()
    out = cli.ok("runs", "signal", run_id, "decision", "--payload", '{"approved": true}')
    assert f"signal 'decision' delivered to run {run_id}" in out.stdout
    # The same idempotency key returns the existing run, which `keel run` then drives here.
    done = cli.json(*args)
    assert done["run_id"] == run_id and done["created"] is False
    assert done["status"] == "succeeded"
    assert done["result"] == {"item": "invoice-7", "verdict": {"approved": True}}


# -- bad input: exit non-zero, one line on stderr, nothing changed -------------------------------------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Cli, dict[str, str]]:
    """A database with a succeeded and a parked run, shared by the cases that must not change it."""
    cli = Cli(tmp_path_factory.mktemp("bad-input"))
    (cli.cwd / "shop.py").write_text(SHOP)
    (cli.cwd / "card_declined").touch()
    (cli.cwd / "broken.py").write_text("from keel import App\napp = App('broken')\nraise RuntimeError('boom')\n")
    (cli.cwd / "noapp.py").write_text("VALUE = 1\n")
    ids = {
        SUCCEEDED: cli.json("run", ONBOARD, "--input", '{"customer": "Ada"}')["run_id"],
        PARKED: parked_checkout(cli, "shop.py"),
    }
    return cli, ids


# Stand-ins in the cases below for the ids of the seeded runs.
SUCCEEDED, PARKED = "<succeeded run id>", "<parked run id>"

BAD_INPUT = [
    pytest.param(["run", "no_such_module:onboard"], 2, "no module named 'no_such_module'", id="unknown-module"),
    pytest.param(["run", "missing.py:onboard"], 2, "no such file: missing.py", id="unknown-file"),
    pytest.param(["run", f"{QUICKSTART}:nope"], 2, "no workflow 'nope' in", id="unknown-workflow"),
    pytest.param(["run", "noapp.py:main"], 2, "no keel.App in noapp.py", id="no-app"),
    pytest.param(["run", "broken.py:main"], 1, "RuntimeError: boom (broken.py:3)", id="module-raises"),
    pytest.param(["run", QUICKSTART], 2, "TARGET must be", id="target-without-workflow"),
    pytest.param(["run", ONBOARD, "--input", "{customer: Ada}"], 2, "--input is not valid JSON", id="input-not-json"),
    pytest.param(["run", ONBOARD, "--input", "42"], 2, "must be a JSON object", id="input-scalar"),
    pytest.param(
        ["run", ONBOARD, "--input", '{"customr": "Ada"}'], 2, "input does not match onboard", id="input-unknown-arg"
    ),
    pytest.param(
        ["run", ONBOARD, "--input", '{"customer": "Ada", "plan": 3}'],
        2,
        "input 'plan' of onboard",
        id="input-wrong-type",
    ),
    pytest.param(
        ["run", ONBOARD, "--input", '["a", "b", "c"]'], 2, "too many positional arguments", id="input-too-many"
    ),
    pytest.param(["run", "--enqueue"], 2, "Missing argument", id="missing-target"),
    pytest.param(["runs", "show", "no-such-run"], 1, "no run with id 'no-such-run'", id="show-unknown-run"),
    pytest.param(["runs", "resume", "no-such-run"], 1, "no run with id", id="resume-unknown-run"),
    pytest.param(["runs", "resume", SUCCEEDED], 1, "only dead_letter runs can be resumed", id="resume-succeeded"),
    pytest.param(
        ["runs", "abort", SUCCEEDED, "--app", QUICKSTART],
        1,
        "abort applies to runs that are dead_letter",
        id="abort-succeeded-with-app",
    ),
    pytest.param(["runs", "cancel", SUCCEEDED], 1, "cancel applies to runs that are", id="cancel-succeeded"),
    pytest.param(["runs", "pause", SUCCEEDED], 1, "cannot be paused", id="pause-succeeded"),
    pytest.param(["runs", "resume", PARKED, "--app", QUICKSTART], 2, "does not register", id="resume-with-wrong-app"),
    pytest.param(["runs", "list", "--status", "bogus"], 2, "'bogus' is not one of", id="bad-status"),
    pytest.param(["worker", "noapp.py"], 2, "no keel.App in noapp.py", id="worker-no-app"),
    pytest.param(["runs", "signal", "no-such-run", "go"], 1, "no run with id", id="signal-unknown-run"),
    pytest.param(["runs", "signal", SUCCEEDED, "go"], 1, "takes no more signals", id="signal-finished-run"),
    pytest.param(
        ["runs", "signal", PARKED, "go", "--payload", "{x"],
        2,
        "--payload is not valid JSON",
        id="signal-payload-not-json",
    ),
    pytest.param(
        ["--database-url", "mysql://db/keel", "runs", "list"],
        2,
        "unsupported database URL scheme",
        id="bad-database-url",
    ),
]


@pytest.mark.parametrize(("args", "code", "message"), BAD_INPUT)
def test_bad_input_exits_with_one_line_and_changes_nothing(
    seeded: tuple[Cli, dict[str, str]], args: list[str], code: int, message: str
) -> None:
    cli, ids = seeded
    before = cli.snapshot()
    proc = cli(*[ids.get(a, a) for a in args])
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert proc.stdout == ""
    assert cli.snapshot() == before


# -- structured logs -------------------------------------------------------------------------------

LOG_KEYS = {"timestamp", "level", "event_type", "message", "logger", "run_id", "trace_id", "span_id"}


def test_worker_logs_only_json_lines_by_default(cli: Cli) -> None:
    run_id = cli.ok("run", ONBOARD, "--input", '{"customer": "Ada"}', "--enqueue").stdout.strip()
    env = {k: v for k, v in cli.env.items() if k != "KEEL_LOG_FORMAT"}
    log_path = cli.cwd / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            cli.argv("worker", QUICKSTART), cwd=cli.cwd, env=env, stdout=subprocess.DEVNULL, stderr=log
        )
        try:
            wait_for(lambda: cli.show(run_id)["status"] == "succeeded", "the worker to finish the run")
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=HANG_GUARD_S) == 0
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    records = [json.loads(line) for line in log_path.read_text().splitlines()]  # every line, nothing but JSON
    for record in records:
        assert LOG_KEYS <= set(record), record
        assert isinstance(record["event_type"], str) and record["event_type"], record

    def having(**fields: Any) -> list[dict[str, Any]]:
        return [r for r in records if all(r.get(k) == v for k, v in fields.items())]

    [serving] = having(event_type="worker.serving")
    assert serving["message"].startswith("serving onboard v1") and serving["concurrency"] == 8
    [started] = having(message="worker started", logger="keel.worker")
    assert started["worker_id"] == serving["worker_id"]
    steps = having(event_type="step.succeeded", run_id=run_id)
    names = [s["step"] for s in steps if not s["step"].startswith("keel.")]  # keel.sleep is the durable sleep
    assert names == ["check_customer", "create_workspace", "send_welcome_email", "activate_account"]
    assert having(event_type="run.succeeded", run_id=run_id)
    assert having(event_type="worker.draining", signal="SIGTERM")
    assert records[-1]["event_type"] == "worker.exited"


def test_a_bad_log_format_is_refused_in_one_line(cli: Cli) -> None:
    by_option = cli("--log-format", "xml", "runs", "list")
    cli.env["KEEL_LOG_FORMAT"] = "xml"
    by_envvar = cli("runs", "list")
    for proc in (by_option, by_envvar):
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.splitlines() == ["error: --log-format must be json or console, got 'xml'"]


def _descendants(pid: int) -> set[int]:
    """Every live process below `pid` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def test_a_worker_keeps_warm_sandboxes_for_its_tools_and_leaves_none_behind(cli: Cli) -> None:
    from needs import unavailable

    from keel.tools import Sandbox

    if Sandbox.isolation() is None:
        unavailable(f"no sandbox here: {Sandbox.unavailable_reason()}")
    orders = str(Path(__file__).resolve().parents[2] / "examples" / "tools" / "orders.py")
    run_id = cli.ok("run", orders + ":probe", "--input", '{"order_id": "A1"}', "--enqueue").stdout.strip()
    worker = subprocess.Popen(
        cli.argv("worker", orders, "--concurrency", "2"),
        cwd=cli.cwd,
        env={**cli.env, "KEEL_TOOL_POOL_SIZE": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: cli.show(run_id)["status"] == "succeeded", "the worker to finish the run")
        # Warm sandboxes wait for the next calls (one per tool), as processes under the worker.
        wait_for(lambda: len(_descendants(worker.pid)) >= 2, "the pool to refill")
        warm = _descendants(worker.pid)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=HANG_GUARD_S) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    result = cli.show(run_id)["result"]
    assert result["allowed"]["status"] == 200 and result["cloud metadata"]["status"] == 403
    # Every sandbox process the worker had is gone with it (none orphaned). A killed process can
    # linger a moment as a zombie when its parent exited first: dead, so it does not count.
    wait_for(lambda: not [pid for pid in warm if _running(pid)], "the worker's sandboxes to be gone")


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")
