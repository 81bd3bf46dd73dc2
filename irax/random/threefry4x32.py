"""The Threefry-4x32 PRNG implementation, as JAX's.

Threefry-4x32 (frontend/prng_hashes.py) hashes a counter of four uint32
words under a key of four. JAX's implementation
(jax/_src/random/threefry4x32.py) uses it thus, (hi, lo) the 64-bit
row-major index of each output element (it ignores
jax_threefry_partitionable):

    seed(s)        hash((s_hi, s_lo, 0, 0), (0, 0, 0, 0))
    split          hash(key, (0, 0, hi, lo))
    fold_in(d)     hash(key, (0, 0, 0, d))
    random_bits    hash(key, (hi, lo, 0, 0)):  (y0 ^ y2) << 32 | (y1 ^ y3)
                   for 64 bits, else y0 ^ y1 ^ y2 ^ y3 truncated

(s_hi, s_lo: the seed's high and low words, s_hi 0 for a seed of 32 bits or
fewer.)
"""
from __future__ import annotations

from irax.frontend.array import Array
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy import ufuncs
from irax.frontend.prng_hashes import hash_words, threefry4x32_p
from irax.random.keys import _counters
from irax.random.philox import check_random_bits, combine_bits, seed_words
from irax.random.prng import PRNGImpl, register_prng
from irax.typing import ArrayLike, Shape

def threefry4x32_seed(seed: ArrayLike) -> Array:
    """A threefry4x32 key (uint32[4]) from an integer scalar seed."""
    high, low = seed_words(seed)
    return shape_ops.stack(hash_words(threefry4x32_p, high, low, 0, 0, 0, 0, 0, 0))


def threefry4x32_split(key: ArrayLike, shape: Shape) -> Array:
    """Keys of `shape` (uint32[*shape, 4]) from one threefry4x32 key."""
    hi, lo = _counters(tuple(shape))
    return shape_ops.stack(hash_words(threefry4x32_p, key[0], key[1], key[2], key[3], 0, 0, hi, lo), axis=-1)


def threefry4x32_fold_in(key: ArrayLike, data: ArrayLike) -> Array:
    """The threefry4x32 key of `key` and a uint32 scalar."""
    return shape_ops.stack(hash_words(threefry4x32_p, key[0], key[1], key[2], key[3], 0, 0, 0, data))


def threefry4x32_random_bits(key: ArrayLike, bit_width: int, shape: Shape) -> Array:
    """Uniform bits, uint{bit_width}[*shape], under one threefry4x32 key."""
    check_random_bits("threefry4x32", key, (4,), bit_width)
    hi, lo = _counters(tuple(shape))
    y = hash_words(threefry4x32_p, key[0], key[1], key[2], key[3], hi, lo, 0, 0)
    return combine_bits(y, bit_width, ufuncs.bitwise_xor(y[0], y[2]), ufuncs.bitwise_xor(y[1], y[3]))


register_prng(PRNGImpl(key_shape=(4,), seed=threefry4x32_seed, split=threefry4x32_split,
                       random_bits=threefry4x32_random_bits, fold_in=threefry4x32_fold_in,
                       name="threefry4x32", tag="fry4"))
