"""Every `bench train` setting a user runs, ours and PyTorch's, side by side
in one run (not run by CI): for each setting, `dropout-lab bench train` and
`bench/torch_mlp.py` back to back, `--rounds` times alternating which goes
first, and the median ratio ours / PyTorch.

    cargo build --release && pip install torch
    python bench/compare_train.py [--rounds 2] [--reps 6] [--threads 2]
"""

import argparse
import json
import statistics
import subprocess
import sys

SETTINGS = [
    ("784-1024-1024-10", "none", "sgd", 0.0),
    ("784-1024-1024-10", "none", "adam", 0.0),
    ("784-1024-1024-10", "none", "adamw", 0.0),
    ("784-1024-1024-10", "bn", "sgd", 0.0),
    ("784-1024-1024-10", "ln", "sgd", 0.0),
    ("c16-p-c32-p-128-10", "none", "sgd", 0.1),
    ("c16-p-c32-p-128-10", "bn", "sgd", 0.1),
]


def run(cmd):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return {r["p"]: r for r in (json.loads(l) for l in out.splitlines() if l.strip())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--reps", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bin", default="target/release/dropout-lab")
    a = ap.parse_args()
    print(f"{'arch':<20} {'norm':<5} {'opt':<6} {'p':>4} {'ours/s':>8} {'torch/s':>8} {'ratio':>6} {'of GEMM bound':>14} {'dropout overhead':>17}")
    for arch, norm, opt, conv_p in SETTINGS:
        common = ["--arch", arch, "--norm", norm, "--optimizer", opt, "--conv-dropout", str(conv_p),
                  "--threads", str(a.threads), "--reps", str(a.reps), "--p", "0.5,0", "--json"]
        ours_cmd = [a.bin, "bench", "train"] + common
        torch_cmd = [sys.executable, "bench/torch_mlp.py"] + common
        ours, theirs = [], []
        for r in range(a.rounds):
            first, second = (ours_cmd, torch_cmd) if r % 2 == 0 else (torch_cmd, ours_cmd)
            x, y = run(first), run(second)
            o, t = (x, y) if r % 2 == 0 else (y, x)
            ours.append(o)
            theirs.append(t)
        for p in (0.5, 0.0):
            os_ = statistics.median(o[p]["samples_per_s"] for o in ours)
            ts = statistics.median(t[p]["samples_per_s"] for t in theirs)
            bound = statistics.median(o[p]["of_gemm_bound"] for o in ours)
            ratios = statistics.median(o[p]["samples_per_s"] / t[p]["samples_per_s"] for o, t in zip(ours, theirs))
            over = statistics.median(o[0.5]["step_ms"] / o[0.0]["step_ms"] - 1 for o in ours)
            print(f"{arch:<20} {norm:<5} {opt:<6} {p:>4} {os_:>8.0f} {ts:>8.0f} {ratios:>6.2f} {bound:>14.2f} {100 * over:>+16.1f}%")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
