"""PyTorch training throughput of the same nets as `dropout-lab bench train`,
for a side-by-side comparison (not run by CI).

    pip install torch
    python bench/torch_mlp.py [--arch 784-1024-1024-10] [--norm none|bn|ln]
                              [--optimizer sgd|adam|adamw] [--conv-dropout P]
                              [--threads 2] [--p 0.5,0] [--json]

The identical settings: the architecture string of `bench train` — MLP
`784-1024-1024-10` or CNN `c16-p-c32-p-128-10` (cK: 3x3 conv, padding 1, K
channels; p: 2x2 max pool; 1x28x28 inputs) — each hidden block
Linear/Conv -> [BatchNorm/LayerNorm] -> ReLU -> Dropout, batch 128, SGD with
momentum 0.9 or Adam/AdamW (lr 1e-3, betas 0.9/0.999, eps 1e-8), random data,
torch.set_num_threads(threads). Timed blocks of `steps` steps alternate
between the rates in ABBA order (as ours do); the median block gives
samples/s.
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def make(arch, p, norm, conv_p, optimizer):
    toks = arch.split("-")
    cnn = any(t.startswith("c") or t == "p" for t in toks)
    layers = []
    if cnn:
        shape = [1, 28, 28]
        dense = []
        for t in toks:
            if t == "p":
                layers.append(nn.MaxPool2d(2))
                shape = [shape[0], shape[1] // 2, shape[2] // 2]
            elif t.startswith("c"):
                k = int(t[1:])
                layers.append(nn.Conv2d(shape[0], k, 3, padding=1))
                if norm == "bn":
                    layers.append(nn.BatchNorm2d(k))
                layers.append(nn.ReLU())
                if conv_p > 0:
                    layers.append(nn.Dropout(conv_p))
                shape = [k, shape[1], shape[2]]
            else:
                dense.append(int(t))
        layers.append(nn.Flatten())
        sizes = [shape[0] * shape[1] * shape[2]] + dense
        inputs = (1, 28, 28)
    else:
        sizes = [int(t) for t in toks]
        inputs = (sizes[0],)
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            if norm == "bn":
                layers.append(nn.BatchNorm1d(sizes[i + 1]))
            elif norm == "ln":
                layers.append(nn.LayerNorm(sizes[i + 1]))
            layers.append(nn.ReLU())
            if p > 0:
                layers.append(nn.Dropout(p))
    model = nn.Sequential(*layers)
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    elif optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    return model, opt, inputs, sizes[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="784-1024-1024-10")
    ap.add_argument("--norm", default="none", choices=["none", "bn", "ln"])
    ap.add_argument("--optimizer", default="sgd", choices=["sgd", "adam", "adamw"])
    ap.add_argument("--conv-dropout", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--p", default="0.5,0")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    ps = [float(v) for v in a.p.split(",")]
    loss_fn = nn.CrossEntropyLoss()
    setups = []
    for p in ps:
        model, opt, inputs, classes = make(a.arch, p, a.norm, a.conv_dropout, a.optimizer)
        model.train()
        setups.append((p, model, opt, []))
    x = torch.rand(a.batch, *inputs)
    y = torch.randint(0, classes, (a.batch,))

    def step(model, opt):
        opt.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        opt.step()

    for _, model, opt, _ in setups:
        for _ in range(3):
            step(model, opt)
    for rep in range(a.reps):
        order = setups if rep % 2 == 0 else list(reversed(setups))
        for _, model, opt, times in order:
            t = time.perf_counter()
            for _ in range(a.steps):
                step(model, opt)
            times.append((time.perf_counter() - t) / a.steps)
    results = []
    for p, _, _, times in setups:
        s = statistics.median(times)
        results.append({"arch": a.arch, "norm": a.norm, "optimizer": a.optimizer, "p": p, "threads": a.threads, "batch": a.batch,
                        "samples_per_s": a.batch / s, "step_ms": s * 1e3, "torch": torch.__version__})
    if a.json:
        for r in results:
            print(json.dumps(r))
        return
    print(f"torch {torch.__version__}: {a.arch} (norm {a.norm}) batch {a.batch}, {a.optimizer}, {a.threads} thread(s); medians of {a.reps} x {a.steps} steps")
    print(f"{'p':>6} {'samples/s':>12} {'step ms':>10}")
    for r in results:
        print(f"{r['p']:>6} {r['samples_per_s']:>12.0f} {r['step_ms']:>10.2f}")
    d = [r for r in results if r["p"] > 0]
    z = [r for r in results if r["p"] == 0]
    if d and z:
        print(f"dropout overhead (p = {d[0]['p']} vs 0): {100 * (d[0]['step_ms'] / z[0]['step_ms'] - 1):+.1f} % step time")


if __name__ == "__main__":
    main()
