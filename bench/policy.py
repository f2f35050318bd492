"""Policy benchmark: one Cedar decision with Keel's pre-parsed engine, against re-parsing every call.

    python bench/policy.py                 # readable table (progress on stderr)
    python bench/policy.py --json          # one JSON object on stdout
    python bench/policy.py --calls 5000 --rounds 5

Two policy sets: `example` (examples/governance/policies: 5 policies) and `large` (the example plus
200 generated per-tool permits and forbids, as a bigger organisation's set might be). Requests
cycle through 64 distinct (principal, action, resource) combinations with varying contexts, a mix of
allows and denies. Variants, interleaved in rounds (the order rotating), every call timed alone:

- engine: `PolicyEngine.decide` (Cedar's policy handle parsed once; entity handles cached per
  principal, action and resource, so after the first call of a combination only the context is new);
- engine-new-entities: the same engine with the entity cache bypassed (a principal or resource
  seen for the first time: the entity graph is parsed on that call);
- reparse: `cedarpy.is_authorized(request, policy_text, entities_list)`, cedarpy's plain call
  with the policy text and the entities as a list, which parses both on every call (fewer calls:
  `--reparse-calls`, 300 per round, since one costs up to tens of ms on the large set).

Reported per set and variant: median and p99 microseconds per decision (median over rounds), and
the ratio of reparse's median to the engine's. Also the cost of `Store.policy_active_version()` on
SQLite (the one-row read `active_engine` does to notice a new version). Target: engine median
under 0.5 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import cedarpy  # noqa: E402

from keel.governance.policy import (  # noqa: E402
    PRINCIPAL_KINDS,
    PolicyEngine,
    PolicyRequest,
    PolicySet,
    Principal,
    Resource,
    _entities,
)
from keel.store import open_store  # noqa: E402

EXAMPLES = HERE.parent / "examples" / "governance" / "policies"
TARGET_MEDIAN_US = 500.0


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def large_set() -> PolicySet:
    files = {p.relative_to(EXAMPLES).as_posix(): p.read_text() for p in sorted(EXAMPLES.rglob("*.cedar"))}
    generated = []
    for i in range(100):
        generated.append(
            f'@id("gen-permit-{i}")\npermit (principal, action == Action::"tool:t{i}", resource)\n'
            f'when {{ principal.role == "role{i % 7}" && principal.org == resource.org && '
            f"context has risk_score && context.risk_score < {20 + i % 60} }};\n"
        )
        generated.append(
            f'@id("gen-forbid-{i}")\nforbid (principal, action == Action::"tool:t{i}", resource)\n'
            f'when {{ resource.sensitivity_level >= {1 + i % 3} && principal.role != "admin" }};\n'
        )
    files["generated.cedar"] = "\n".join(generated)
    return PolicySet(files)


def requests() -> list[PolicyRequest]:
    out = []
    orgs, roles = ("acme", "globex"), ("support", "sales", "admin", "role3")
    sensitivities = ("public", "internal", "confidential", "restricted")
    actions = ("tool:refund", "tool:lookup_order", "tool:t5", "tool:t42")
    for i in range(64):
        principal = Principal("agent" if i % 3 else "user", f"p{i % 16}", orgs[i % 2], roles[i % 4])
        resource = Resource("order", str(1000 + i), orgs[(i // 2) % 2], sensitivities[(i // 4) % 4])
        out.append(PolicyRequest(principal, actions[i % 4], resource, {"risk_score": (i * 7) % 100, "hour": i % 24}))
    return out


def cedar_request(r: PolicyRequest) -> dict[str, Any]:
    return {
        "principal": {"type": PRINCIPAL_KINDS[r.principal.kind], "id": r.principal.id},
        "action": {"type": "Action", "id": r.action},
        "resource": {"type": "Resource", "id": f"{r.resource.kind}:{r.resource.id}"},
        "context": dict(r.context),
    }


def entity_list(r: PolicyRequest) -> list[dict[str, Any]]:
    return json.loads(str(_entities(r.principal, r.action, r.resource)))  # type: ignore[no-any-return]


def variants(policies: PolicySet, reqs: list[PolicyRequest]) -> dict[str, Callable[[int], object]]:
    engine = PolicyEngine(policies)
    bypass = PolicyEngine(policies)
    bypass._entities = _entities  # type: ignore[assignment]  # no cache: a new graph every call
    raw = [(cedar_request(r), entity_list(r)) for r in reqs]
    text = policies.text
    # Both paths must agree on every request, or the comparison means nothing.
    for r, (req, ents) in zip(reqs, raw, strict=True):
        plain = cedarpy.is_authorized(req, text, ents)
        assert engine.decide(r).allowed == (plain.allowed and not plain.diagnostics.errors), r
    n = len(reqs)
    return {
        "engine": lambda i: engine.decide(reqs[i % n]),
        "engine-new-entities": lambda i: bypass.decide(reqs[i % n]),
        "reparse": lambda i: cedarpy.is_authorized(raw[i % n][0], text, raw[i % n][1]),
    }


def time_calls(fn: Callable[[int], object], calls: int) -> list[float]:
    samples = []
    clock = time.perf_counter_ns
    for i in range(calls):
        t0 = clock()
        fn(i)
        samples.append((clock() - t0) / 1000)
    return samples


def p99(samples: list[float]) -> float:
    return sorted(samples)[min(len(samples) - 1, int(len(samples) * 0.99))]


def active_read_us(calls: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        try:
            samples = time_calls(lambda _: store.policy_active_version(), calls)
        finally:
            store.close()
    return {"median_us": statistics.median(samples), "p99_us": p99(samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed decisions per variant and round")
    parser.add_argument(
        "--reparse-calls", type=int, default=300, help="timed calls of the slow reparse variant per round"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()

    reqs = requests()
    sets = {"example": PolicySet.from_dir(EXAMPLES), "large": large_set()}
    params = {"calls": args.calls, "reparse_calls": args.reparse_calls, "rounds": args.rounds, "requests": len(reqs)}
    result: dict[str, Any] = {"params": params, "sets": {}}
    for set_name, policies in sets.items():
        fns = variants(policies, reqs)
        for fn in fns.values():  # warm-up: caches filled, code paths hot
            time_calls(fn, len(reqs))
        per_round: dict[str, list[tuple[float, float]]] = {name: [] for name in fns}
        names = list(fns)
        for rnd in range(args.rounds):
            order = names[rnd % len(names) :] + names[: rnd % len(names)]
            for name in order:
                samples = time_calls(fns[name], args.reparse_calls if name == "reparse" else args.calls)
                per_round[name].append((statistics.median(samples), p99(samples)))
                log(f"{set_name} round {rnd + 1} {name}: median {per_round[name][-1][0]:.1f} us")
        summary = {
            name: {
                "median_us": statistics.median(m for m, _ in rows),
                "p99_us": statistics.median(p for _, p in rows),
            }
            for name, rows in per_round.items()
        }
        engine_median = summary["engine"]["median_us"]
        result["sets"][set_name] = {
            "policies": len(policies.policy_ids),
            "variants": summary,
            "reparse_over_engine": summary["reparse"]["median_us"] / engine_median,
            "target_median_us": TARGET_MEDIAN_US,
            "target_met": engine_median < TARGET_MEDIAN_US,
        }
    result["active_version_read_sqlite"] = active_read_us(args.calls)

    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{'set':8} {'variant':22} {'median us':>10} {'p99 us':>10}")
    for set_name, data in result["sets"].items():
        for name, fig in data["variants"].items():
            print(f"{set_name:8} {name:22} {fig['median_us']:10.1f} {fig['p99_us']:10.1f}")
        met = "met" if data["target_met"] else "MISSED"
        print(
            f"{set_name:8} ({data['policies']} policies) reparse / engine = {data['reparse_over_engine']:.1f}x; "
            f"engine median under {TARGET_MEDIAN_US:.0f} us: {met}"
        )
    read = result["active_version_read_sqlite"]
    print(f"active version read (SQLite): median {read['median_us']:.1f} us, p99 {read['p99_us']:.1f} us")


if __name__ == "__main__":
    main()
