"""PyTorch's CPU dropout on the sizes of `dropout-lab bench kernel`, for a
side-by-side comparison on the same machine (not run by CI).

    pip install torch
    python bench/torch_dropout.py [--threads 2] [--reps 9] [--variant plain|alpha|gaussian|noise] [--json]

For each size it times, with torch.set_num_threads(threads):
  forward   y = F.dropout(x, p, training=True)   (--variant alpha: F.alpha_dropout,
            the twin of `dropout-lab bench kernel --variant alpha`; PyTorch has no
            Gaussian dropout, so --variant gaussian times x * empty_like(x).normal_(1, σ)
            and --variant noise x + σ·randn_like(x), σ = √(p/(1 − p)), the twins of
            `bench kernel --variant gaussian|noise`)
  backward  x.grad from y.backward(g) (autograd: applies the stored mask)
  memcpy    y.copy_(x)
and prints medians, GB/s (8 bytes per element) and ratio = memcpy / kernel.
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn.functional as F


def median_ms(fn, reps):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=9)
    ap.add_argument("--p", type=float, default=0.5)
    ap.add_argument("--sizes", default="1,16,64", help="sizes in Mi elements")
    ap.add_argument("--variant", choices=["plain", "alpha", "gaussian", "noise"], default="plain")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    sigma = (a.p / (1 - a.p)) ** 0.5 if a.p < 1 else float("inf")

    def gaussian_dropout(x, p, training=True):
        return x * torch.empty_like(x).normal_(1.0, sigma)

    def gaussian_noise(x, p, training=True):
        return x + sigma * torch.randn_like(x)

    drop = {"plain": F.dropout, "alpha": F.alpha_dropout, "gaussian": gaussian_dropout, "noise": gaussian_noise}[a.variant]
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if not a.json:
        print(f"torch {torch.__version__}, {drop.__name__} p = {a.p}, {a.threads} thread(s); medians of {a.reps} reps")
        print(f"{'elements':>9} {'memcpy ms':>10} {'fwd ms':>10} {'GB/s':>7} {'fwd+bwd ms':>11} {'fwd/cpy':>8}")
    for m in [int(s) for s in a.sizes.split(",")]:
        n = m << 20
        x = torch.randn(n)
        y = torch.empty(n)
        g = torch.ones(n)
        cpy = median_ms(lambda: y.copy_(x), a.reps)
        fwd = median_ms(lambda: drop(x, a.p, training=True), a.reps)
        xr = x.clone().requires_grad_(True)

        def fwd_bwd():
            xr.grad = None
            drop(xr, a.p, training=True).backward(g)

        both = median_ms(fwd_bwd, a.reps)
        r = {
            "elements": n,
            "threads": a.threads,
            "p": a.p,
            "variant": a.variant,
            "torch": torch.__version__,
            "memcpy_ms": cpy,
            "forward_ms": fwd,
            "forward_backward_ms": both,
            "forward_gbs": 8 * n / (fwd * 1e-3) / 1e9,
            "forward_ratio": cpy / fwd,
        }
        if a.json:
            print(json.dumps(r))
        else:
            print(f"{m:>8}M {cpy:>10.3f} {fwd:>10.3f} {r['forward_gbs']:>7.2f} {both:>11.3f} {r['forward_ratio']:>8.2f}")


if __name__ == "__main__":
    main()
