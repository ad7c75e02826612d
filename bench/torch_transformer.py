"""PyTorch training throughput of the Transformers of `dropout-lab bench train
--arch gpt|vit`, for a side-by-side comparison (not run by CI).

    pip install torch
    python bench/torch_transformer.py --arch gpt [--p 0.2,0] [--attn-only] [--threads 2] [--json]
    python bench/torch_transformer.py --arch vit [--batch 128]

The same models as ours (bench/gpt_twin.py's blocks): the default GPT
(4 layers, 4 heads, width 128, MLP 512, context 64, 85 symbols, batch 12) or
the default ViT (7 x 7 patches of 1 x 28 x 28 images through a stride-7 conv:
16 tokens, 4 layers, 4 heads, width 64, MLP 256, mean pool, 10 classes, batch
128); AdamW (lr 1e-3), random data, torch.set_num_threads(threads). The
attention runs two ways, F.scaled_dot_product_attention and
nn.MultiheadAttention; both are timed and the faster is the denominator of the
comparison. Timed blocks of `steps` steps alternate between the rates in ABBA
order; the median block gives samples/s (tokens/s = samples/s x context for
the GPT).
"""

import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt_twin import Block, Gpt


class MhaBlock(Block):
    """The same block with its attention through nn.MultiheadAttention."""

    def __init__(self, d, h, m, p, attn_p, causal):
        super().__init__(d, h, m, p, causal)
        del self.qkv, self.proj  # nn.MultiheadAttention has its own projections
        self.mha = nn.MultiheadAttention(d, h, dropout=attn_p, batch_first=True)
        self.causal = causal

    def forward(self, x):
        t = x.shape[1]
        mask = torch.ones(t, t, dtype=torch.bool).triu(1) if self.causal else None
        y = self.ln1(x)
        a, _ = self.mha(y, y, y, attn_mask=mask, need_weights=False)
        x = x + self.drop(a)
        hdn = self.drop(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))
        return x + self.drop(self.fc2(hdn))


class SdpaBlock(Block):
    """Block with separate attention-probability and other dropout rates."""

    def __init__(self, d, h, m, p, attn_p, causal):
        super().__init__(d, h, m, p, causal)
        self.p = attn_p

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal, dropout_p=self.p)
        x = x + self.drop(self.proj(a.transpose(1, 2).reshape(b, t, d)))
        hdn = self.drop(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))
        return x + self.drop(self.fc2(hdn))


class Vit(nn.Module):
    def __init__(self, blocks, d=64, patch=7, classes=10, p=0.0):
        super().__init__()
        self.patch = nn.Conv2d(1, d, patch, stride=patch)
        self.pos = nn.Parameter(torch.zeros(1, (28 // patch) ** 2, d))
        self.drop = nn.Dropout(p)
        self.blocks = nn.ModuleList(blocks)
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, classes)

    def forward(self, x):
        x = self.drop(self.patch(x).flatten(2).transpose(1, 2) + self.pos)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln_f(x).mean(1))


def make(arch, p, attn_p, kind):
    gpt = arch == "gpt"
    d, m = (128, 512) if gpt else (64, 256)
    cls = SdpaBlock if kind == "sdpa" else MhaBlock
    blocks = [cls(d, 4, m, p, attn_p, gpt) for _ in range(4)]
    if gpt:
        model = Gpt(85, p=p)
        model.blocks = nn.ModuleList(blocks)
    else:
        model = Vit(blocks, p=p)
    return model, torch.optim.AdamW(model.parameters(), lr=1e-3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=["gpt", "vit"], default="gpt")
    ap.add_argument("--p", default="0.2,0")
    ap.add_argument("--attn-only", action="store_true")
    ap.add_argument("--batch", type=int)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gpt = a.arch == "gpt"
    batch = a.batch or (12 if gpt else 128)
    if gpt:
        x = torch.randint(85, (batch, 64))
        y = torch.randint(85, (batch, 64))
    else:
        x = torch.rand(batch, 1, 28, 28)
        y = torch.randint(10, (batch,))
    setups = []
    for p in [float(v) for v in a.p.split(",")]:
        for kind in ("sdpa", "mha"):
            model, opt = make(a.arch, 0.0 if a.attn_only else p, p, kind)
            setups.append({"p": p, "kind": kind, "model": model, "opt": opt, "blocks": []})

    def step(s):
        out = s["model"](x)
        loss = F.cross_entropy(out.flatten(0, 1), y.flatten()) if gpt else F.cross_entropy(out, y)
        s["opt"].zero_grad(set_to_none=True)
        loss.backward()
        s["opt"].step()

    for s in setups:
        for _ in range(3):
            step(s)
    for rep in range(a.reps):
        order = setups if rep % 2 == 0 else setups[::-1]
        for s in order:
            t0 = time.perf_counter()
            for _ in range(a.steps):
                step(s)
            s["blocks"].append((time.perf_counter() - t0) / a.steps)
    tokens = 64 if gpt else 1
    rows = []
    for s in setups:
        sec = statistics.median(s["blocks"])
        rows.append({
            "arch": a.arch, "attention": s["kind"], "p": s["p"], "attn_only": a.attn_only,
            "batch": batch, "threads": a.threads, "samples_per_s": batch / sec,
            "tokens_per_s": batch * tokens / sec, "step_ms": sec * 1e3, "torch": torch.__version__,
        })
    if a.json:
        for r in rows:
            print(json.dumps(r))
        return
    print(f"PyTorch {torch.__version__} training throughput, {a.arch}, batch {batch}, {a.threads} thread(s); "
          f"medians of {a.reps} x {a.steps} steps")
    print(f"{'p':>6} {'attention':>10} {'samples/s':>12} {'tokens/s':>10} {'step ms':>9}")
    for r in rows:
        print(f"{r['p']:>6} {r['attention']:>10} {r['samples_per_s']:>12.0f} {r['tokens_per_s']:>10.0f} {r['step_ms']:>9.2f}")


if __name__ == "__main__":
    main()
