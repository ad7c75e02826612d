"""The PyTorch twin of `dropout-lab train --arch gpt` (nanoGPT's CPU character
model on the shipped Shakespeare), trained beside ours to check that our
engine learns as well as the reference (not run by CI).

    pip install torch numpy
    python bench/gpt_twin.py --seed 1 --dropout 0.2 [--iters 2000] [--json OUT]

Everything our run does, the same way:
- data: data/shakespeare/shakespeare.txt.gz, blocks 90 % / 5 % / 5 % of the
  characters (train, validation, test), the vocabulary the training block's
  characters in code-point order plus one reserved id for unseen ones;
  batches of 12 random windows of 64 (offsets uniform in [0, n_train - 65]);
- model: token + position embeddings, 4 pre-LN blocks (LayerNorm eps 1e-5;
  causal attention with 4 heads through F.scaled_dot_product_attention, its
  dropout_p the attention dropout; output projection; GELU tanh MLP of width
  512), a final LayerNorm and a linear head with a bias (not tied); dropout at
  the embedding, attention probabilities, after each projection back to the
  residual stream and on the MLP's hidden layer, all at --dropout;
- init: weights and embeddings N(0, 0.02^2), the two residual projections
  N(0, (0.02/sqrt(2L))^2), biases 0, LayerNorm 1 and 0;
- AdamW (betas 0.9/0.999, eps 1e-8) with weight decay 0.1 on every 2-D
  tensor, lr 1e-3 with 100 warm-up steps then a cosine to 1e-4 at the last
  step, gradients clipped to global norm 1; 2 threads;
- evaluation halfway and at the end (iterations 1000 and 2000) on the whole
  validation and test blocks in non-overlapping windows of 64 (the last
  (n - 1) mod 64 characters left out); the evaluation with the lower
  validation loss is kept — as ours with `--eval-every 4 --keep best`.

nanoGPT's sizes and schedule; unlike nanoGPT's Shakespeare config, the head
is not tied to the token embedding, every linear layer has a bias and Adam's
beta2 is 0.999 — on both sides.
"""

import argparse
import gzip
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def data():
    with gzip.open(os.path.join(ROOT, "data/shakespeare/shakespeare.txt.gz"), "rt") as f:
        text = f.read()
    n = len(text)
    n_train, n_val = n * 9 // 10, n * 5 // 100
    blocks = text[:n_train], text[n_train : n_train + n_val], text[n_train + n_val :]
    vocab = sorted(set(blocks[0]))
    index = {c: i for i, c in enumerate(vocab)}
    unknown = len(vocab)
    ids = [torch.tensor([index.get(c, unknown) for c in b], dtype=torch.long) for b in blocks]
    return ids, len(vocab) + 1


class Block(nn.Module):
    def __init__(self, d, h, m, p, causal=True):
        super().__init__()
        self.h, self.p, self.causal = h, p, causal
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc1, self.fc2 = nn.Linear(d, m), nn.Linear(m, d)
        self.drop = nn.Dropout(p)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.h, d // self.h).transpose(1, 2) for z in (q, k, v))
        a = F.scaled_dot_product_attention(
            q, k, v, is_causal=self.causal, dropout_p=self.p if self.training else 0.0
        )
        x = x + self.drop(self.proj(a.transpose(1, 2).reshape(b, t, d)))
        hdn = self.drop(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))
        return x + self.drop(self.fc2(hdn))


class Gpt(nn.Module):
    def __init__(self, vocab, t=64, d=128, h=4, layers=4, m=512, p=0.0):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(t, d)
        self.drop = nn.Dropout(p)
        self.blocks = nn.ModuleList(Block(d, h, m, p) for _ in range(layers))
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, vocab)
        for name, w in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(w)
            elif w.dim() == 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("proj.weight", "fc2.weight")) else 0.02
                nn.init.normal_(w, 0.0, std)

    def forward(self, idx):
        pos = torch.arange(idx.shape[1])
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln_f(x))


def lr_at(step, total, lr=1e-3, warmup=100, floor=0.1):
    if step < warmup:
        return lr * (step + 1) / (warmup + 1)
    last = total - 1
    if step > last or last <= warmup:
        return lr * floor
    f = (step - warmup) / (last - warmup)
    return lr * floor + 0.5 * (1 + math.cos(math.pi * f)) * (lr - lr * floor)


@torch.no_grad()
def evaluate(model, ids, t=64, batch=500):
    model.eval()
    count = (len(ids) - 1) // t
    x = ids[: count * t].view(count, t)
    y = ids[1 : count * t + 1].view(count, t)
    total = 0.0
    for i in range(0, count, batch):
        logits = model(x[i : i + batch])
        total += F.cross_entropy(logits.flatten(0, 1), y[i : i + batch].flatten(), reduction="sum").item()
    model.train()
    return total / (count * t)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--iters", type=int, default=2000)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    (train, val, test), vocab = data()
    model = Gpt(vocab, p=a.dropout)
    decay = [w for w in model.parameters() if w.dim() >= 2]
    plain = [w for w in model.parameters() if w.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": plain, "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.999),
        eps=1e-8,
    )
    t, b = 64, 12
    evals, t0 = [], time.time()
    train_s = 0.0
    for step in range(a.iters):
        s0 = time.time()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, a.iters)
        o = torch.randint(len(train) - t, (b,))
        x = torch.stack([train[i : i + t] for i in o])
        y = torch.stack([train[i + 1 : i + t + 1] for i in o])
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        train_s += time.time() - s0
        if step + 1 in (a.iters // 2, a.iters):
            v, te = evaluate(model, val), evaluate(model, test)
            evals.append({"iter": step + 1, "val": v, "test": te})
            print(f"iter {step + 1}: val {v:.4f} test {te:.4f} nats/char", flush=True)
    best = min(evals, key=lambda e: e["val"])
    out = {
        "seed": a.seed,
        "dropout": a.dropout,
        "iters": a.iters,
        "evals": evals,
        "kept": best,
        "val_bits": best["val"] / math.log(2),
        "test_bits": best["test"] / math.log(2),
        "tokens_per_s": a.iters * b * t / train_s,
        "wall_s": time.time() - t0,
        "torch": torch.__version__,
    }
    report(out, a.json)


def report(out, path):
    """Print the result as one JSON line, and save it to `path` if given."""
    print(json.dumps(out))
    if path:
        with open(path, "w") as f:
            json.dump(out, f)


if __name__ == "__main__":
    main()
