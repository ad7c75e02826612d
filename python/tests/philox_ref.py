"""A slow, independent Philox4x32-10 and keep rule in plain Python integers.

Salmon et al. (SC'11): ten rounds of
    (hi0, lo0) = M0 * c0,  (hi1, lo1) = M1 * c2,
    c' = (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0),  k' = (k0 + W0, k1 + W1) mod 2**32.
dropout_lab's use: key = (low32(seed), high32(seed)); element e takes word e % 4
of the block with counter (low32(e // 4), high32(e // 4), stream, step); it is
kept iff that word >= t = round(p * 2**32) (p as float32; half away from zero).
"""

import math

import numpy as np

M0, M1, W0, W1 = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85
MASK32 = 0xFFFFFFFF


def philox4x32_10(counter, key):
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + W0) & MASK32, (k1 + W1) & MASK32
        p0, p1 = M0 * c0, M1 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK32, (p0 >> 32) ^ c3 ^ k1, p0 & MASK32
    return (c0, c1, c2, c3)


def word(seed, stream, step, e):
    j = e // 4
    block = philox4x32_10((j & MASK32, j >> 32, stream, step), (seed & MASK32, seed >> 32))
    return block[e % 4]


def keep(p, seed, stream, step, n):
    """The keep mask of n elements as a list of bools."""
    p = float(np.float32(p))
    if p == 0.0:
        return [True] * n
    t = math.floor(p * 2**32 + 0.5)
    if t >= 2**32:
        return [False] * n
    return [word(seed, stream, step, e) >= t for e in range(n)]
