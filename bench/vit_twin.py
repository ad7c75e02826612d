"""The PyTorch twin of `dropout-lab train --arch vit` (the default ViT on MNIST
or Fashion-MNIST), trained beside ours to compare test accuracy (not run by CI).

    pip install torch numpy
    python bench/vit_twin.py --data mnist|fashion --seed 1 --dropout 0.1 [--epochs 10] [--json OUT]

The same model and recipe as ours:
- data: the shipped IDX files (data/mnist, data/fashion-mnist), pixels / 255,
  5,000 training images held out for validation (a seeded random split; ours is
  stratified), the 10,000 test images;
- model: 7 x 7 patches of the 1 x 28 x 28 image projected to 64 features (a
  stride-7 convolution, our patch layer's weight layout), a learned position
  embedding for the 16 tokens, 4 pre-LN blocks (4 heads, bidirectional
  attention through F.scaled_dot_product_attention, GELU tanh MLP of width
  256), a final LayerNorm, the mean over tokens and a linear layer to 10
  classes; dropout at the embedding, the attention probabilities, after each
  projection back to the residual stream and on the MLP's hidden layer;
- init: weights and embeddings N(0, 0.02^2), the residual projections
  N(0, (0.02/sqrt(8))^2), biases 0, LayerNorm 1 and 0;
- AdamW (betas 0.9/0.999, eps 1e-8, weight decay 0.05 on tensors of 2 or more
  dimensions), lr 1e-3 warmed up over 200 steps then a cosine to 1e-4 at the
  last step, gradients clipped to global norm 1, batch 128, 10 epochs, 2 threads;
- the last epoch's model is kept (ours: --keep last, the default); its test
  accuracy is reported with the validation accuracy.
"""

import argparse
import gzip
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gpt_twin import Block, lr_at, report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def data(name, seed):
    d = os.path.join(ROOT, "data", "mnist" if name == "mnist" else "fashion-mnist")
    x = idx(os.path.join(d, "train-images-idx3-ubyte.gz")).astype(np.float32) / 255
    y = idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    xt = idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).astype(np.float32) / 255
    yt = idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int64)
    perm = np.random.default_rng(seed).permutation(len(y))
    val, train = perm[:5000], perm[5000:]
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))
    return (t(x[train]), t(y[train])), (t(x[val]), t(y[val])), (t(xt), t(yt))


class Vit(nn.Module):
    def __init__(self, d=64, h=4, layers=4, m=256, patch=7, classes=10, p=0.0):
        super().__init__()
        self.patch = nn.Conv2d(1, d, patch, stride=patch)
        self.wpe = nn.Parameter(torch.zeros((28 // patch) ** 2, d))
        self.drop = nn.Dropout(p)
        self.blocks = nn.ModuleList(Block(d, h, m, p, causal=False) for _ in range(layers))
        self.ln_f, self.head = nn.LayerNorm(d), nn.Linear(d, classes)
        for name, w in self.named_parameters():
            if name.endswith("bias"):
                nn.init.zeros_(w)
            elif w.dim() >= 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith(("proj.weight", "fc2.weight")) else 0.02
                nn.init.normal_(w, 0.0, std)

    def forward(self, x):
        x = self.drop(self.patch(x.unsqueeze(1)).flatten(2).transpose(1, 2) + self.wpe)
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.ln_f(x).mean(1))


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = sum((model(x[i : i + batch]).argmax(1) == y[i : i + batch]).sum().item() for i in range(0, len(y), batch))
    model.train()
    return correct / len(y)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", choices=["mnist", "fashion"], default="mnist")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--train-size", type=int)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    (x, y), (xv, yv), (xt, yt) = data(a.data, a.seed)
    if a.train_size:
        x, y = x[: a.train_size], y[: a.train_size]
    model = Vit(p=a.dropout)
    decay = [w for w in model.parameters() if w.dim() >= 2]
    plain = [w for w in model.parameters() if w.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": plain, "weight_decay": 0.0}],
        lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    )
    b = 128
    steps = a.epochs * math.ceil(len(y) / b)
    step, t0, train_s = 0, time.time(), 0.0
    for epoch in range(a.epochs):
        s0 = time.time()
        order = torch.randperm(len(y))
        for i in range(0, len(y), b):
            for g in opt.param_groups:
                g["lr"] = lr_at(step, steps, warmup=200)
            idx_ = order[i : i + b]
            loss = F.cross_entropy(model(x[idx_]), y[idx_])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            step += 1
        train_s += time.time() - s0
        print(f"epoch {epoch + 1}: val {accuracy(model, xv, yv):.4f}", flush=True)
    out = {
        "data": a.data, "seed": a.seed, "dropout": a.dropout, "epochs": a.epochs,
        "val_acc": accuracy(model, xv, yv), "test_acc": accuracy(model, xt, yt),
        "samples_per_s": a.epochs * len(y) / train_s, "wall_s": time.time() - t0, "torch": torch.__version__,
    }
    report(out, a.json)


if __name__ == "__main__":
    main()
