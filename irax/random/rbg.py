"""JAX's "rbg" and "unsafe_rbg" PRNG implementations: random bits from
XLA's RngBitGenerator (`lax.rng_bit_generator`, Philox on the CPU) under a
uint32[4] key; keys made, split and folded by threefry2x32 on each half:

    seed(s)            = (t, t)                  t = threefry's key of s
    split(k, shape)[i] = (threefry split of k[:2], threefry split of k[2:])[i]
    fold_in(k, d)      = (threefry fold_in(k[:2], d), threefry fold_in(k[2:], d))
    random_bits(k, w, shape) = rng_bit_generator(k, shape, uint{w})'s bits

unsafe_rbg splits and folds by the generator too (faster, weaker):
split(k, shape) takes every tenth row of rng_bit_generator(k, (10 n, 4)),
and fold_in(k, d) = k ^ the last row of rng_bit_generator(seed(d), (10, 4)).
As JAX warns, XLA does not promise these bits stay the same across
backends or versions; irax's are JAX 0.10's on the CPU.

Under vmap over a batch of keys, the generator batches as JAX's
rng_bit_generator does (lax_rng.py's custom_vmap rule): the batch draws
(B, *shape) bits from its *first* key alone, and only that key advances.
So `vmap(lambda k: random.uniform(k, (2,)))(keys)` is JAX's, not the draws
of each key alone.
"""
import math

import numpy as np

from irax.frontend.lax_rng import rng_bit_generator
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.vmap import vmap
from irax.random.keys import threefry_fold_in, threefry_seed, threefry_split
from irax.random.prng import PRNGImpl, register_prng


def _seed(seed):
    half = threefry_seed(seed)
    return shape_ops.concatenate([half, half])


def _split(key, shape):
    halves = shape_ops.reshape(key, (2, 2))
    return shape_ops.reshape(vmap(lambda half: threefry_split(half, shape), 0, len(shape))(halves), (*shape, 4))


def _fold_in(key, data):
    return shape_ops.reshape(vmap(lambda half: threefry_fold_in(half, data))(shape_ops.reshape(key, (2, 2))), (4,))


def _random_bits(key, bit_width, shape):
    return rng_bit_generator(key, shape, dtype=np.dtype(f"uint{bit_width}"))[1]


def _unsafe_split(key, shape):
    n = math.prod(shape)
    _, rows = rng_bit_generator(key, (10 * n, 4), dtype=np.dtype(np.uint32))
    return shape_ops.reshape(rows[::10], (*shape, 4))


def _unsafe_fold_in(key, data):
    _, rows = rng_bit_generator(_seed(data), (10, 4), dtype=np.dtype(np.uint32))
    return key ^ rows[-1]


register_prng(PRNGImpl(key_shape=(4,), seed=_seed, split=_split, random_bits=_random_bits, fold_in=_fold_in,
                       name="rbg", tag="rbg"))
register_prng(PRNGImpl(key_shape=(4,), seed=_seed, split=_unsafe_split, random_bits=_random_bits,
                       fold_in=_unsafe_fold_in, name="unsafe_rbg", tag="urbg"))
