"""`keel guard eval`: how well the guard's detectors do on a labelled set (injection and PII);
`keel guard scan`: one text's injection verdict and why."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from keel.cli._output import console, print_json
from keel.errors import UsageError

app = typer.Typer(help="The guard: PII redaction and prompt-injection detection.", no_args_is_help=True)

# The quality gates (`--gate`): what the held-back sets must reach.
GATE_DETECTION = 0.995
GATE_FALSE_POSITIVES = 0.01
GATE_STRUCTURED_RECALL = 1.0
GATE_NER_RECALL = 0.95
STRUCTURED = ("EMAIL", "PHONE", "CREDIT_CARD", "SSN", "IBAN", "IP_ADDRESS", "DATE_OF_BIRTH")
NER_TYPES = ("PERSON", "ADDRESS")
# The sets kept in the repository: parts of the development data that training and tuning never saw.
HELD_BACK = ("injection_heldback.jsonl", "pii_heldback.jsonl")


def _default_sets() -> list[Path]:
    here = Path.cwd() / "tests" / "guard" / "data"
    found = [here / name for name in HELD_BACK if (here / name).is_file()]
    if not found:
        raise UsageError("give a labelled set with --set FILE (JSONL: lines with `label` or with `entities`)")
    return found


def _load(paths: list[Path]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    injection: list[dict[str, Any]] = []
    pii: list[dict[str, Any]] = []
    for path in paths:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                raise UsageError(f"{path.name}:{number}: not a JSON object") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise UsageError(f'{path.name}:{number}: each line needs "text" and "label" or "entities"')
            if "label" in record:
                if record["label"] not in ("injection", "benign"):
                    raise UsageError(f"{path.name}:{number}: label must be injection or benign")
                injection.append(record)
            elif isinstance(record.get("entities"), list):
                pii.append(record)
            else:
                raise UsageError(f'{path.name}:{number}: each line needs "label" or "entities"')
    return injection, pii


def _progress(records: list[dict[str, Any]], what: str, quiet: bool) -> Iterator[dict[str, Any]]:
    """The records, with a line on stderr every few seconds (a set takes tens of seconds on 2 cores)."""
    started = last = time.monotonic()
    for index, record in enumerate(records, start=1):
        yield record
        now = time.monotonic()
        if not quiet and (now - last > 3 or index == len(records)):
            print(f"  {what}: {index}/{len(records)} ({now - started:.0f} s)", file=sys.stderr, flush=True)
            last = now


def _gate(report: dict[str, Any]) -> list[str]:
    misses: list[str] = []
    injection = report.get("injection")
    if injection:
        if injection["detection_rate"] is not None and injection["detection_rate"] < GATE_DETECTION:
            misses.append(f"injection detection {injection['detection_rate']:.4f} < {GATE_DETECTION}")
        if injection["false_positive_rate"] is not None and injection["false_positive_rate"] > GATE_FALSE_POSITIVES:
            misses.append(f"false positives {injection['false_positive_rate']:.4f} > {GATE_FALSE_POSITIVES}")
    recall = (report.get("pii") or {}).get("recall", {})
    for kind in STRUCTURED:
        if recall.get(kind) is not None and recall[kind] < GATE_STRUCTURED_RECALL:
            misses.append(f"{kind} recall {recall[kind]:.4f} < {GATE_STRUCTURED_RECALL}")
    for kind in NER_TYPES:
        if recall.get(kind) is not None and recall[kind] < GATE_NER_RECALL:
            misses.append(f"{kind} recall {recall[kind]:.4f} < {GATE_NER_RECALL}")
    return misses


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.2%}"


def _show(report: dict[str, Any]) -> None:
    injection = report.get("injection")
    if injection:
        table = Table(title="Prompt injection", title_justify="left")
        for column in ("slice", "n", "detection", "false positives"):
            table.add_column(column, justify="left" if column == "slice" else "right")
        table.add_row("all", "", _rate(injection["detection_rate"]), _rate(injection["false_positive_rate"]))
        for group in ("by_vector", "by_source"):
            for name, row in sorted(injection[group].items()):
                detection, false_positives = _rate(row["detection_rate"]), _rate(row["false_positive_rate"])
                table.add_row(f"{group[3:]} {name}", str(row["n"]), detection, false_positives)
        console.print(table)
    pii = report.get("pii")
    if pii:
        table = Table(title="PII", title_justify="left")
        for column in ("type", "labelled", "recall", "precision"):
            table.add_column(column, justify="left" if column == "type" else "right")
        for kind in sorted(set(pii["recall"]) | set(pii["precision"])):
            table.add_row(
                kind,
                str(pii.get("support", {}).get(kind, "")),
                _rate(pii["recall"].get(kind)),
                _rate(pii["precision"].get(kind)),
            )
        console.print(table)


@app.command("eval")
def eval_command(
    sets: Annotated[
        list[Path] | None,
        typer.Option("--set", help="A labelled JSONL set (repeatable); default: the repository's held-back sets."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    gate: Annotated[bool, typer.Option("--gate", help="Exit 1 when a quality gate is missed.")] = False,
) -> None:
    """Measure injection detection and PII recall/precision on a labelled set."""
    from keel.guard._evaluate_injection import evaluate_injection
    from keel.guard._evaluate_pii import evaluate_pii
    from keel.guard.injection import default_detector as injection_detector
    from keel.guard.pii import default_detector as pii_detector

    injection_records, pii_records = _load(list(sets) if sets else _default_sets())
    report: dict[str, Any] = {}
    if injection_records:
        found = evaluate_injection(_progress(injection_records, "injection", as_json), injection_detector())
        report["injection"] = {k: found[k] for k in ("detection_rate", "false_positive_rate", "by_vector", "by_source")}
    if pii_records:
        found = evaluate_pii(_progress(pii_records, "pii", as_json), pii_detector())
        report["pii"] = {k: found[k] for k in ("recall", "precision", "support") if k in found}
    misses = _gate(report)
    if as_json:
        print_json(report)
    else:
        _show(report)
        for miss in misses:
            console.print(f"[red]gate missed:[/red] {miss}")
    if gate and misses:
        raise typer.Exit(1)


@app.command("scan")
def scan_command(
    text: Annotated[str, typer.Argument(help='The text to scan; "-" reads it from standard input.')],
    source: Annotated[
        str, typer.Option("--source", help="user (typed by a user), tool (a tool's output) or model (an answer).")
    ] = "user",
    instructions: Annotated[
        Path | None,
        typer.Option(
            "--instructions",
            help="With --source model: a file holding the system prompt the answer must not give away.",
            dir_okay=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Scan one text for prompt injection: the decision, the score and the reasons (never the text)."""
    from keel.guard.injection import SOURCES, InjectionVerdict, default_detector
    from keel.guard.leak import Instructions

    if source not in SOURCES:
        raise UsageError(f"--source must be one of {', '.join(SOURCES)}, not {source!r}")
    if instructions is not None and source != "model":
        raise UsageError("--instructions checks a model's answer for its system prompt: add --source model")
    prompt = None
    if instructions is not None:
        try:
            prompt = Instructions.of([instructions.read_text(encoding="utf-8")])
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read the instructions in {instructions}: {exc}") from exc
        if prompt is None:
            raise UsageError(f"{instructions} holds nothing to give away: under a dozen words and no secret")
    if text == "-":
        text = sys.stdin.read()
    if not text.strip():
        raise UsageError("nothing to scan: the text is empty")
    verdict = default_detector().scan(text, source=source)
    leak = prompt.given_away(text) if prompt is not None else None
    if leak:
        verdict = InjectionVerdict(1.0, "block", (leak, *verdict.reasons))
    if as_json:
        print_json({"decision": verdict.decision, "score": verdict.score, "reasons": list(verdict.reasons)})
        return
    colour = {"allow": "green", "flag": "yellow", "block": "red"}[verdict.decision]
    console.print(f"[{colour}]{verdict.decision}[/{colour}] score {verdict.score:.4f}")
    for reason in verdict.reasons:
        console.print(f"  {reason}")
