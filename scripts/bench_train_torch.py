#!/usr/bin/env python3
"""PyTorch peer of `npm run bench:train`: the MLP 784-H-10 (ReLU) trained for one epoch on the data
split that nasx's engine uses, with the engine's hyper-parameters, timed the way the engine times it.

scripts/bench-train.ts writes the split to a directory (meta.json plus one raw file per array:
Float32 features, Int32 labels) and runs this script on it; the last line of stdout is one JSON
object with the figures. Progress goes to stderr.

Matching the engine (native/core/trainer.cc, optimizer.cc, network.cc):
  - He-uniform weights (limit sqrt(6 / fan_in)), zero biases;
  - AdamW (betas 0.9/0.999, eps 1e-8), decoupled weight decay on weights only, not biases;
  - learning rate per step: linear warm-up over the first 5% of steps, then cosine decay to 0;
  - each epoch a fresh shuffle, the last batch smaller when the count is not a multiple;
  - samples/s = training samples / wall time of training plus the validation and test passes.
"""

import argparse
import json
import math
import os
import sys
import time


def log(message):
    print(f"[torch] {message}", file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", required=True, help="directory written by bench-train.ts")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--warmup-fraction", type=float, default=0.05)
    p.add_argument("--schedule", choices=["cosine", "constant"], default="cosine")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.threads < 1:
        p.error(f"--threads must be an integer >= 1 but got {args.threads}")
    return args


def read_split(np, data_dir, meta, name):
    info = meta["splits"][name]
    count, features = info["count"], meta["features"]
    x = np.fromfile(os.path.join(data_dir, f"{name}_x.f32"), dtype="<f4")
    y = np.fromfile(os.path.join(data_dir, f"{name}_y.i32"), dtype="<i4")
    if x.size != count * features or y.size != count:
        raise SystemExit(
            f"{name} split in {data_dir} has {x.size} features and {y.size} labels "
            f"but meta.json says {count} samples of {features} features"
        )
    return x.reshape(count, features), y


def loaded_blas():
    """Paths of the BLAS libraries mapped into this process (resolved), from /proc/self/maps."""
    found = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path).lower()
                if ("blas" in base or "mkl" in base or "blis" in base) and path not in found:
                    found.append(path)
    except OSError:
        pass
    return [os.path.realpath(p) for p in found]


def blas_kind(paths):
    joined = " ".join(paths).lower()
    if "mkl" in joined:
        return "mkl"
    if "openblas" in joined:
        return "openblas"
    if "blis" in joined:
        return "blis"
    if "/blas/libblas" in joined:
        return "reference (netlib)"
    return "bundled/unknown" if not paths else "unknown"


def openblas_core(paths):
    """OpenBLAS's own name of the kernel set it chose (e.g. "Haswell", "SkylakeX"), if it is loaded."""
    import ctypes

    for path in paths:
        try:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return None


def lr_at(args, step, total, warmup):
    """The engine's cosine_lr (native/core/optimizer.cc), or a constant rate."""
    if args.schedule == "constant":
        return args.lr
    if warmup > 0 and step < warmup:
        return args.lr * (step + 1) / warmup
    span = total - warmup
    if span <= 0:
        return args.lr
    progress = min(1.0, (step - warmup) / span)
    return args.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def main():
    args = parse_args()
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    with open(os.path.join(args.data_dir, "meta.json")) as f:
        meta = json.load(f)
    features, classes = meta["features"], meta["classes"]
    x_train, y_train = read_split(np, args.data_dir, meta, "train")
    splits = {"train": (torch.from_numpy(x_train), torch.from_numpy(y_train.astype(np.int64)))}
    for name in ("validation", "test"):
        if meta["splits"].get(name, {}).get("count", 0) > 0:
            x, y = read_split(np, args.data_dir, meta, name)
            splits[name] = (torch.from_numpy(x), torch.from_numpy(y.astype(np.int64)))

    model = torch.nn.Sequential(
        torch.nn.Linear(features, args.hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(args.hidden, classes),
    )
    with torch.no_grad():
        for layer in (model[0], model[2]):
            limit = math.sqrt(6.0 / layer.in_features)
            layer.weight.uniform_(-limit, limit)
            layer.bias.zero_()
    decay = [p for n, p in model.named_parameters() if n.endswith("weight")]
    no_decay = [p for n, p in model.named_parameters() if not n.endswith("weight")]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": args.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.999),
        eps=1e-8,
    )

    x_all, y_all = splits["train"]
    n, bs = x_all.shape[0], args.batch_size
    steps_per_epoch = (n + bs - 1) // bs
    total = steps_per_epoch * args.epochs
    warmup = math.floor(args.warmup_fraction * total)
    generator = torch.Generator().manual_seed(args.seed)
    blas = loaded_blas()
    core = openblas_core(blas) if blas_kind(blas) == "openblas" else None
    log(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, BLAS {blas_kind(blas)}"
        f"{f' ({core})' if core else ''}; "
        f"{n} training samples, {steps_per_epoch} steps/epoch"
    )

    def evaluate(name):
        if name not in splits:
            return None, None
        x, y = splits[name]
        model.eval()
        loss_sum, correct = 0.0, 0
        with torch.no_grad():
            for start in range(0, x.shape[0], bs):
                out = model(x[start : start + bs])
                target = y[start : start + bs]
                loss_sum += F.cross_entropy(out, target, reduction="sum").item()
                correct += (out.argmax(dim=1) == target).sum().item()
        model.train()
        return loss_sum / x.shape[0], correct / x.shape[0]

    start = time.perf_counter()
    train_seconds = 0.0
    step = 0
    train_loss = float("nan")
    val_loss = val_acc = None
    for epoch in range(args.epochs):
        epoch_start = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        loss_sum = 0.0
        for s in range(steps_per_epoch):
            idx = order[s * bs : (s + 1) * bs]
            xb, yb = x_all.index_select(0, idx), y_all.index_select(0, idx)
            for group in opt.param_groups:
                group["lr"] = lr_at(args, step, total, warmup)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * idx.shape[0]
            step += 1
        train_seconds += time.perf_counter() - epoch_start
        train_loss = loss_sum / n
        val_loss, val_acc = evaluate("validation")
        log(f"epoch {epoch + 1}/{args.epochs}: train loss {train_loss:.4f}, validation accuracy {val_acc}")
    test_loss, test_acc = evaluate("test")
    seconds = time.perf_counter() - start
    samples = n * args.epochs

    print(
        json.dumps(
            {
                "torchVersion": torch.__version__,
                "numpyVersion": np.__version__,
                "python": sys.version.split()[0],
                "threads": torch.get_num_threads(),
                "blas": blas,
                "blasKind": blas_kind(blas),
                "openblasCore": core,
                "openblasOverridesSet": [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ],
                "schedule": "warmup+cosine" if args.schedule == "cosine" else "constant",
                "samples": samples,
                "seconds": seconds,
                "trainSeconds": train_seconds,
                "samplesPerSecond": samples / seconds,
                "trainSamplesPerSecond": samples / train_seconds,
                "trainLoss": train_loss,
                "valLoss": val_loss,
                "valAccuracy": val_acc,
                "testLoss": test_loss,
                "testAccuracy": test_acc,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
