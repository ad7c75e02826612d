"""`dropout-lab bench mc` and `bench/torch_mc.py` side by side in one run
(not run by CI): for each setting both back to back, `--rounds` times
alternating which goes first; the median ratios of our batched MC to
PyTorch's straightforward loop and to PyTorch batched.

    cargo build --release && pip install torch
    python bench/compare_mc.py [--rounds 3] [--reps 5] [--threads 2]
"""

import argparse
import json
import statistics
import subprocess
import sys

SETTINGS = [  # (arch, inputs, T, inputs per forward of the loop)
    ("784-1024-1024-10", 1000, 50, 1000),
    ("784-1024-1024-10", 1000, 10, 1000),
    ("784-1024-1024-1024-10", 1000, 50, 1000),
    ("784-1024-1024-10", 200, 50, 1),  # one input at a time: where batching the T passes matters
]


def run(cmd):
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bin", default="target/release/dropout-lab")
    a = ap.parse_args()
    print(f"{'arch':<22} {'batch':>5} {'T':>4} {'ours batched/s':>15} {'ours loop/s':>12} {'torch loop/s':>13} {'torch batched/s':>16} {'vs torch loop':>14} {'vs torch batched':>17}")
    for arch, inputs, t, batch in SETTINGS:
        common = ["--arch", arch, "--inputs", str(inputs), "--t", str(t), "--batch", str(batch), "--reps", str(a.reps),
                  "--threads", str(a.threads), "--json"]
        ours_cmd = [a.bin, "bench", "mc"] + common
        torch_cmd = [sys.executable, "bench/torch_mc.py"] + common
        rows = []
        for r in range(a.rounds):
            if r % 2 == 0:
                o, p = run(ours_cmd), run(torch_cmd)
            else:
                p, o = run(torch_cmd), run(ours_cmd)
            rows.append((o, p))
        med = lambda f: statistics.median(f(o, p) for o, p in rows)
        print(f"{arch:<22} {batch:>5} {t:>4} {med(lambda o, p: o['batched_per_s']):>15.0f} {med(lambda o, p: o['loop_per_s']):>12.0f}"
              f" {med(lambda o, p: p['loop_per_s']):>13.0f} {med(lambda o, p: p['batched_per_s']):>16.0f}"
              f" {med(lambda o, p: o['batched_per_s'] / p['loop_per_s']):>14.2f} {med(lambda o, p: o['batched_per_s'] / p['batched_per_s']):>17.2f}")
    print("sample-passes per second (inputs x T / s), medians over rounds; ratios are per round, then the median")


if __name__ == "__main__":
    main()
