"""PyTorch MC-dropout inference throughput of the same net as
`dropout-lab bench mc`, for a side-by-side comparison (not run by CI).

    pip install torch
    python bench/torch_mc.py [--arch 784-1024-1024-10] [--inputs 1000] [--t 50]
                             [--batch 1000] [--reps 5] [--threads 2] [--json]

The net: Dropout(0.2) on the input, then Linear -> ReLU -> Dropout(0.5) per
hidden layer, Linear out; random inputs; torch.set_num_threads(threads);
torch.no_grad(), model.train() so dropout samples. Two ways, timed in
alternating (ABBA) rounds, medians reported as sample-passes per second
(inputs x T / seconds):

  loop     for each batch of `batch` inputs: T forward passes, softmax, mean
           (the straightforward MC loop users write)
  batched  each batch repeated T times into one forward pass (x.repeat(T, 1))
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def make(arch):
    sizes = [int(t) for t in arch.split("-")]
    layers = [nn.Dropout(0.2)]
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            layers += [nn.ReLU(), nn.Dropout(0.5)]
    return nn.Sequential(*layers), sizes[0]


def mc_loop(model, x, t, batch):
    out = []
    for s in range(0, x.shape[0], batch):
        xb = x[s : s + batch]
        p = torch.zeros(xb.shape[0], 10)
        for _ in range(t):
            p += torch.softmax(model(xb), dim=1)
        out.append(p / t)
    return torch.cat(out)


def mc_batched(model, x, t, batch):
    out = []
    m = max(1, batch // t)
    for s in range(0, x.shape[0], m):
        xb = x[s : s + m]
        p = torch.softmax(model(xb.repeat(t, 1)), dim=1).view(t, xb.shape[0], -1).mean(0)
        out.append(p)
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", default="784-1024-1024-10")
    ap.add_argument("--inputs", type=int, default=1000)
    ap.add_argument("--t", type=int, default=50)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model, d = make(a.arch)
    model.train()
    x = torch.rand(a.inputs, d)
    times = {"loop": [], "batched": []}
    with torch.no_grad():
        mc_loop(model, x, a.t, a.batch)
        mc_batched(model, x, a.t, a.batch)
        for r in range(a.reps):
            order = ["loop", "batched"] if r % 2 == 0 else ["batched", "loop"]
            for name in order:
                f = mc_loop if name == "loop" else mc_batched
                t0 = time.perf_counter()
                f(model, x, a.t, a.batch)
                times[name].append(time.perf_counter() - t0)
    per_s = {k: a.inputs * a.t / statistics.median(v) for k, v in times.items()}
    res = {"arch": a.arch, "inputs": a.inputs, "t": a.t, "threads": a.threads,
           "loop_per_s": per_s["loop"], "batched_per_s": per_s["batched"], "torch": torch.__version__}
    if a.json:
        print(json.dumps(res))
    else:
        print(f"PyTorch {torch.__version__} MC dropout, {a.arch}, {a.inputs} inputs x T = {a.t}, {a.threads} thread(s)")
        print(f"loop     {per_s['loop']:12.0f} sample-passes/s")
        print(f"batched  {per_s['batched']:12.0f} sample-passes/s")


if __name__ == "__main__":
    main()
