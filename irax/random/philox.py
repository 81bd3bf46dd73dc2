"""The Philox-4x32 and Philox-2x32 PRNG implementations, as JAX's.

Philox (frontend/prng_hashes.py) hashes a counter under a key in 10 rounds
of multiplications. JAX's implementations (jax/_src/random/philox4x32.py,
philox2x32.py) use them thus, (hi, lo) the 64-bit row-major index of each
output element, as threefry2x32's partitionable scheme (they ignore
jax_threefry_partitionable):

                      philox4x32 (key: 2 words)      philox2x32 (key: 1 word)
    seed(s)           hash((0, 0), (s_hi, s_lo, 0, 0))[:2]   hash(0, (s_hi, s_lo))[:1]
    split             hash(key, (0, 0, hi, lo))[:2]  hash(key, (hi, lo))[:1]
    fold_in(d)        hash(key, (0, 0, 0, d))[:2]    hash(key, (0, d))[:1]
    random_bits       hash(key, (hi, lo, 0, 0))      hash(key, (hi, lo))
      64 bits           y0 << 32 | y1                  y0 << 32 | y1
      8, 16, 32 bits    y0 ^ y1 ^ y2 ^ y3, truncated   y0 ^ y1, truncated

(s_hi, s_lo: the seed's high and low words, s_hi 0 for a seed of 32 bits
or fewer.)
"""
from __future__ import annotations

import functools

import numpy as np

from irax.frontend.array import Array
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy import ufuncs
from irax.frontend.numpy.util import convert
from irax.frontend.prng_hashes import hash_words, philox2x32_p, philox4x32_p, uint64_of
from irax.random.keys import _counters, threefry_seed
from irax.random.prng import PRNGImpl, register_prng
from irax.typing import ArrayLike, Shape

def check_random_bits(name: str, key: ArrayLike, key_shape: tuple, bit_width: int) -> None:
    """JAX's checks of an implementation's random_bits arguments, and its wording."""
    if getattr(key, "shape", None) != key_shape or getattr(key, "dtype", None) != np.uint32:
        raise TypeError(f"{name}_random_bits got invalid prng key.")
    if bit_width not in (8, 16, 32, 64):
        raise TypeError("requires 8-, 16-, 32- or 64-bit field width.")


def seed_words(seed: Array) -> tuple:
    """(high, low) uint32 words of an integer scalar seed, with JAX's checks
    and wording (the high word is 0 for a seed of 32 bits or fewer)."""
    if seed.shape:
        raise TypeError(f"PRNG key seed must be a scalar; got {seed!r}.")
    if not np.issubdtype(seed.dtype, np.integer):
        raise TypeError(f"PRNG key seed must be an integer; got {seed!r}")
    words = threefry_seed(seed)  # (threefry2x32's key of a seed is its two words)
    return words[0], words[1]


def combine_bits(words: list, bit_width: int, high: Array, low: Array) -> Array:
    """Bits of `bit_width` from a hash's outputs: `high << 32 | low` for 64
    bits, else all the words xor-ed and truncated."""
    if bit_width == 64:
        return uint64_of(high, low)
    return convert(functools.reduce(ufuncs.bitwise_xor, words), np.dtype(f"uint{bit_width}"), False)


# ---------------------------------------------------------------------------
# Philox-4x32: a key of two words.

def philox4x32_seed(seed: ArrayLike) -> Array:
    """A philox4x32 key (uint32[2]) from an integer scalar seed."""
    high, low = seed_words(seed)
    return shape_ops.stack(hash_words(philox4x32_p, 0, 0, high, low, 0, 0)[:2])


def philox4x32_split(key: ArrayLike, shape: Shape) -> Array:
    """Keys of `shape` (uint32[*shape, 2]) from one philox4x32 key."""
    hi, lo = _counters(tuple(shape))
    return shape_ops.stack(hash_words(philox4x32_p, key[0], key[1], 0, 0, hi, lo)[:2], axis=-1)


def philox4x32_fold_in(key: ArrayLike, data: ArrayLike) -> Array:
    """The philox4x32 key of `key` and a uint32 scalar."""
    return shape_ops.stack(hash_words(philox4x32_p, key[0], key[1], 0, 0, 0, data)[:2])


def philox4x32_random_bits(key: ArrayLike, bit_width: int, shape: Shape) -> Array:
    """Uniform bits, uint{bit_width}[*shape], under one philox4x32 key."""
    check_random_bits("philox4x32", key, (2,), bit_width)
    hi, lo = _counters(tuple(shape))
    words = hash_words(philox4x32_p, key[0], key[1], hi, lo, 0, 0)
    return combine_bits(words, bit_width, words[0], words[1])


# ---------------------------------------------------------------------------
# Philox-2x32: a key of one word.

def philox2x32_seed(seed: ArrayLike) -> Array:
    """A philox2x32 key (uint32[1]) from an integer scalar seed."""
    high, low = seed_words(seed)
    return shape_ops.stack(hash_words(philox2x32_p, 0, high, low)[:1])


def philox2x32_split(key: ArrayLike, shape: Shape) -> Array:
    """Keys of `shape` (uint32[*shape, 1]) from one philox2x32 key."""
    hi, lo = _counters(tuple(shape))
    return shape_ops.stack(hash_words(philox2x32_p, key[0], hi, lo)[:1], axis=-1)


def philox2x32_fold_in(key: ArrayLike, data: ArrayLike) -> Array:
    """The philox2x32 key of `key` and a uint32 scalar."""
    return shape_ops.stack(hash_words(philox2x32_p, key[0], 0, data)[:1])


def philox2x32_random_bits(key: ArrayLike, bit_width: int, shape: Shape) -> Array:
    """Uniform bits, uint{bit_width}[*shape], under one philox2x32 key."""
    check_random_bits("philox2x32", key, (1,), bit_width)
    hi, lo = _counters(tuple(shape))
    words = hash_words(philox2x32_p, key[0], hi, lo)
    return combine_bits(words, bit_width, words[0], words[1])


register_prng(PRNGImpl(key_shape=(2,), seed=philox4x32_seed, split=philox4x32_split,
                       random_bits=philox4x32_random_bits, fold_in=philox4x32_fold_in,
                       name="philox4x32", tag="phx4"))
register_prng(PRNGImpl(key_shape=(1,), seed=philox2x32_seed, split=philox2x32_split,
                       random_bits=philox2x32_random_bits, fold_in=philox2x32_fold_in,
                       name="philox2x32", tag="phx2"))
