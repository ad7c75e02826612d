"""PyTorch training throughput of the reference MLP, for a side-by-side
comparison with `dropout-lab bench train` (not run by CI).

    pip install torch
    python bench/torch_mlp.py [--threads 2] [--p 0.5,0] [--json]

The identical setting: 784-1024-1024-10, ReLU, dropout p after each hidden
layer, batch 128, SGD momentum 0.9, random data, torch.set_num_threads(threads).
Timed blocks of `steps` steps alternate between the rates in ABBA order (as
ours do); the median block gives samples/s.
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def make(p):
    layers = [nn.Linear(784, 1024), nn.ReLU(), nn.Dropout(p), nn.Linear(1024, 1024), nn.ReLU(), nn.Dropout(p), nn.Linear(1024, 10)]
    model = nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    return model, opt


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    x = torch.rand(a.batch, 784)
    y = torch.randint(0, 10, (a.batch,))
    loss_fn = nn.CrossEntropyLoss()
    setups = []
    for p in ps:
        model, opt = make(p)
        model.train()
        setups.append((p, model, opt, []))

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
        results.append({"p": p, "threads": a.threads, "batch": a.batch, "samples_per_s": a.batch / s, "step_ms": s * 1e3, "torch": torch.__version__})
    if a.json:
        for r in results:
            print(json.dumps(r))
        return
    print(f"torch {torch.__version__}: 784-1024-1024-10 batch {a.batch}, SGD momentum 0.9, {a.threads} thread(s); medians of {a.reps} x {a.steps} steps")
    print(f"{'p':>6} {'samples/s':>12} {'step ms':>10}")
    for r in results:
        print(f"{r['p']:>6} {r['samples_per_s']:>12.0f} {r['step_ms']:>10.2f}")
    d = [r for r in results if r["p"] > 0]
    z = [r for r in results if r["p"] == 0]
    if d and z:
        print(f"dropout overhead (p = {d[0]['p']} vs 0): {100 * (d[0]['step_ms'] / z[0]['step_ms'] - 1):+.1f} % step time")


if __name__ == "__main__":
    main()
