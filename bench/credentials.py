"""Credential benchmark: what minting and verifying a tool credential costs over a bare Ed25519 sign + verify.

    python bench/credentials.py                       # readable table
    python bench/credentials.py --json                # one JSON object on stdout
    python bench/credentials.py --postgres postgresql://postgres@127.0.0.1:5432/test

Variants, each timed over --ops operations per round, rounds interleaved (order rotating), medians
over --rounds; every ratio compares with the baseline of the same round:

- bare: Ed25519 sign then verify of a payload the size of a token's claims (the floor);
- mint+verify: CredentialBroker.mint then Verifier.verify on a SQLite store, no quota (a mint is
  one read for the revoke-all generations, a verify one read for revocation);
- mint(quota)+verify: the same with a per-org quota, so each mint is also a write transaction;
- verify: Verifier.verify alone (parsing, signature, claims, the revocation read);
- verify(no db): the same with the revocation read answered from memory: the price of reading
  revocation on every verification, which is what makes revoke_all immediate everywhere.

With --postgres URL the store variants also run on PostgreSQL (a fresh schema, dropped after).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
try:
    import keel  # noqa: F401 - only to learn whether the package is importable
except ImportError:  # run from a checkout without `pip install -e .`
    sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from keel.store import Store, open_store  # noqa: E402
from keel.tools.credentials import CredentialBroker, Verifier  # noqa: E402


class _NoRevocations:
    """A store stand-in whose revocation read costs nothing: what a cached check would cost."""

    def __init__(self, store: Store) -> None:
        self.url = store.url
        self._store = store

    def credential_public_key(self, kid: str) -> tuple[str, str] | None:
        return self._store.credential_public_key(kid)

    def credential_revocation(self, *, org_id: str, jti: str, kid: str) -> tuple[int, int, bool]:
        return 0, 0, False


def _variants(store: Store, label: str) -> dict[str, Callable[[], object]]:
    key = Ed25519PrivateKey.generate()
    broker = CredentialBroker(store, key=key)
    limited = CredentialBroker(store, key=key, quota=10**9)
    token = broker.mint("orders", ["read:orders"], org_id="acme", run_id=str(uuid.uuid4()), step=1)
    no_db = Verifier(_NoRevocations(store))  # type: ignore[arg-type]
    no_db.trust(key.public_key())

    def mint_verify(b: CredentialBroker) -> Callable[[], object]:
        return lambda: b.verify(b.mint("orders", ["read:orders"], org_id="acme", run_id="r", step=1), "read:orders")

    return {
        f"mint+verify[{label}]": mint_verify(broker),
        f"mint(quota)+verify[{label}]": mint_verify(limited),
        f"verify[{label}]": lambda: broker.verify(token, "read:orders"),
        f"verify(no db)[{label}]": lambda: no_db.verify(token, "read:orders"),
    }


def _bare() -> Callable[[], object]:
    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    payload = b"v1." + b"x" * 340  # a token's signed part is about this long

    def run() -> None:
        public.verify(key.sign(payload), payload)

    return run


def _time(fn: Callable[[], object], ops: int) -> float:
    start = time.perf_counter()
    for _ in range(ops):
        fn()
    return (time.perf_counter() - start) / ops * 1e6  # microseconds per op


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres", metavar="URL", help="also measure on this PostgreSQL server")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()

    stores: list[Store] = []
    cleanup: list[Callable[[], None]] = []
    with tempfile.TemporaryDirectory() as tmp:
        stores.append(open_store(f"sqlite:///{tmp}/bench.db"))
        if args.postgres:
            sys.path.insert(0, str(ROOT / "tests"))
            import conftest  # the tests' helpers make and drop a throwaway schema

            url, schema = conftest.fresh_postgres_url()
            stores.append(open_store(url, migrate=True))
            cleanup.append(lambda: conftest.drop_postgres_schema(schema))
        try:
            variants: dict[str, Callable[[], object]] = {"bare": _bare()}
            for store in stores:
                variants.update(_variants(store, store.dialect_name))
            for fn in variants.values():  # warm up: key publication, statement caches, pools
                _time(fn, 20)
            samples: dict[str, list[float]] = {name: [] for name in variants}
            ratios: dict[str, list[float]] = {name: [] for name in variants}
            names = list(variants)
            for r in range(args.rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                measured = {name: _time(variants[name], args.ops) for name in order}
                for name, us in measured.items():
                    samples[name].append(us)
                    ratios[name].append(us / measured["bare"])
        finally:
            for store in stores:
                store.close()
            for fn in cleanup:
                fn()

    result: dict[str, Any] = {
        "ops": args.ops,
        "rounds": args.rounds,
        "variants": {
            name: {
                "median_us": round(statistics.median(samples[name]), 1),
                "x_bare": round(statistics.median(ratios[name]), 2),
            }
            for name in names
        },
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{'variant':32} {'median us/op':>13} {'x bare':>8}")
    for name, figures in result["variants"].items():
        print(f"{name:32} {figures['median_us']:>13.1f} {figures['x_bare']:>8.2f}")


if __name__ == "__main__":
    main()
