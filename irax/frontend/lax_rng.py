"""`lax.rng_bit_generator`: XLA's RngBitGenerator, bit for bit as JAX's on CPU.

The key is uint32[4] (or, in 64-bit mode, uint64[2]): XLA's state u64[2] =
(s0, s1), s0 = k[0] | k[1] << 32 the generator's key and s1 = k[2] | k[3] << 32
its counter. A draw returns the key with s1 advanced past the counters it
used (wrapping at 2**64), so that the next draw gives new bits.

RNG_PHILOX (RNG_DEFAULT on CPU): Philox-4x32 (Salmon et al., SC 2011), 10
rounds, under the key (k[0], k[1]), of the 128-bit counters s1 + 2**64 s0 + j
(XLA lays a u64[2] state's counter out that way) for blocks j = 0, 1, ...;
each block gives 4 words in order, and a draw takes the first m words of
ceil(m / 4) blocks, advancing s1 by that many. 32-bit values take m = n
words, 8- and 16-bit ones the same words truncated, 64-bit ones m = 2n
words, each pair low word first.

RNG_THREE_FRY: Threefry-2x32, 20 rounds, under (k[0], k[1]) of the counters
s1 + i, as (low, high) words, giving (y0, y1). A 64-bit value i is
y0 | y1 << 32 of counter i (s1 advances by n). For 32 bits (8 and 16
truncate them) XLA halves the shape: the first even dimension d (else the
largest, the first of equals) becomes ceil(d / 2); the counters are the
row-major indices of that half shape, and element (.., 2j + h, ..) along
that dimension is y_h of half index (.., j, ..), cut back to d where d is
odd; s1 advances by the half shape's size. A scalar is y0 of one counter.

The bits are the hashes of frontend/prng_hashes.py on counters made by
irax's elementwise ops on uint32 words (adds carried by hand), so jit and grad
(integer outputs: no derivative) see ordinary ops. Under vmap over a batch
of keys the draw batches as JAX's primitive does (`_drawn_as_jax`, a
custom_vmap): the batch draws (batch, *shape) bits from its *first* key
alone and advances only that key.
"""
import enum
import functools
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from iree.compiler import ir

from irax.frontend import dtypes
from irax.frontend.custom_batching import custom_vmap
from irax.frontend.jit import jit
from irax.frontend.lax_structural import iota
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy.creation import canonicalize_shape
from irax.frontend.numpy.util import asarray, convert, is_array
from irax.frontend.prng_hashes import hash_words, philox4x32_p, threefry2x32_p, uint64_of
from irax.typing import Array, DTypeLike

_UINT32 = np.dtype(np.uint32)
_UINT64 = np.dtype(np.uint64)
_BIT_DTYPES = tuple(np.dtype(f"uint{bits}") for bits in (8, 16, 32, 64))



class RandomAlgorithm(enum.IntEnum):
    """Describes which PRNG algorithm to use for rng_bit_generator."""

    RNG_DEFAULT = 0
    "The platform's default algorithm."

    RNG_THREE_FRY = 1
    "The Threefry-2x32 PRNG algorithm."

    RNG_PHILOX = 2
    "The Philox-4x32 PRNG algorithm."

    def __str__(self):
        return self.name


def _carried_sum(words, count):
    """The unsigned integer of uint32 `words` (lowest first) plus `count`,
    word by word with the carry, wrapping past the top word."""
    total = []
    for word in words:
        word_sum = word + count
        count = convert(word_sum < word, _UINT32, False)
        total.append(word_sum)
    return total


def _philox_words(k, count):
    """The first `count` Philox words under the key words `k`, and the
    counter's new low words."""
    blocks = -(-count // 4)
    counters = _carried_sum([k[2], k[3], k[0], k[1]], iota(_UINT32, blocks))
    words = shape_ops.reshape(shape_ops.stack(hash_words(philox4x32_p, k[0], k[1], *counters), axis=1),
                              (4 * blocks,))
    return words[:count], _carried_sum([k[2], k[3]], np.uint32(blocks))


def _threefry_hash(k, size):
    """(y0, y1) of the `size` counters after k's, and the counter's new words."""
    low, high = _carried_sum([k[2], k[3]], iota(_UINT32, size))
    return hash_words(threefry2x32_p, k[0], k[1], low, high), _carried_sum([k[2], k[3]], np.uint32(size))


def _threefry_32(k, shape):
    """XLA's 32-bit ThreeFry draw of `shape`: the halved layout (module docstring)."""
    if not shape:
        (y0, _), new = _threefry_hash(k, 1)
        return shape_ops.reshape(y0, ()), new
    even = [axis for axis, d in enumerate(shape) if d % 2 == 0]
    split = even[0] if even else int(np.argmax(shape))
    half = -(-shape[split] // 2)
    half_shape = (*shape[:split], half, *shape[split + 1:])
    ys, new = _threefry_hash(k, int(np.prod(half_shape)))
    paired = shape_ops.stack([shape_ops.reshape(y, half_shape) for y in ys], axis=split + 1)
    bits = shape_ops.reshape(paired, (*shape[:split], 2 * half, *shape[split + 1:]))
    return bits[(slice(None),) * split + (slice(0, shape[split]),)], new


def _philox(k, shape, dtype):
    size = int(np.prod(shape))
    if dtype == _UINT64:
        words, new = _philox_words(k, 2 * size)
        pairs = shape_ops.reshape(words, (size, 2))
        return shape_ops.reshape(uint64_of(pairs[:, 1], pairs[:, 0]), shape), new
    words, new = _philox_words(k, size)
    return shape_ops.reshape(words, shape), new


def _threefry(k, shape, dtype):
    if dtype == _UINT64:
        (y0, y1), new = _threefry_hash(k, int(np.prod(shape)))
        return shape_ops.reshape(uint64_of(y1, y0), shape), new
    return _threefry_32(k, shape)


_GENERATORS = {RandomAlgorithm.RNG_DEFAULT: _philox,  # XLA's default on CPU
               RandomAlgorithm.RNG_PHILOX: _philox,
               RandomAlgorithm.RNG_THREE_FRY: _threefry}


@functools.partial(jit, static_argnums=(1, 2, 3))
def _generate(key, shape, dtype, generator):
    """(new key, bits) from a uint32[4] or uint64[2] key, by one of _GENERATORS
    (static: RNG_DEFAULT and RNG_PHILOX share a program)."""
    if key.dtype == _UINT64:
        words = [convert(w, _UINT32, False) for half in (key[0], key[1]) for w in (half, half >> np.uint64(32))]
    else:
        words = [key[i] for i in range(4)]
    bits, (low, high) = generator(words, shape, dtype)
    if key.dtype == _UINT64:
        new_key = shape_ops.stack([key[0], uint64_of(high, low)])
    else:
        new_key = shape_ops.stack([words[0], words[1], low, high])
    return new_key, convert(bits, dtype, False)


def _mlir_type_repr(dtype) -> str:
    """How JAX's lowering assertion shows a key's element type: `IntegerType(ui32)`."""
    if dtypes.is_int(dtype) or dtype == np.bool_:
        name = f"{'ui' if dtypes.is_unsigned(dtype) else 'i'}{1 if dtype == np.bool_ else 8 * dtype.itemsize}"
    else:
        name = dtypes.to_mlir_name(dtype)
    with ir.Context():
        return repr(ir.Type.parse(name))


def _check_key(key):
    if not (is_array(key) or isinstance(key, (np.ndarray, np.generic, int, float, complex, bool))):
        raise TypeError(f"Error interpreting argument to rng_bit_generator as a JAX value. The problematic value is "
                        f"of type {type(key)} and was passed to rng_bit_generator at position 0.\n")
    key = asarray(key)
    if (key.shape, key.dtype) not in (((4,), _UINT32), ((2,), _UINT64)):
        # (JAX's lowering asserts the key's MLIR type, and says no more)
        raise AssertionError(f"({list(key.shape)}, {_mlir_type_repr(key.dtype)})")
    return key


def _bits_dtype(dtype) -> np.dtype:
    if dtype is None:
        raise ValueError("dtype must be specified.")
    canonical = dtypes.canonicalize_dtype(dtype)
    if canonical != np.dtype(dtype) and dtype not in (int, float, complex):
        warnings.warn(f"Explicitly requested dtype {np.dtype(dtype)} requested in rng_bit_generator is not available, "
                      f"and will be truncated to dtype {canonical}. To enable more dtypes, set the jax_enable_x64 "
                      "configuration option or the JAX_ENABLE_X64 shell environment variable. See "
                      "https://github.com/jax-ml/jax#current-gotchas for more.", stacklevel=3)
    if canonical not in _BIT_DTYPES:
        raise TypeError(f"rng_bit_generator: unsupported dtype {canonical}")
    return canonical


def rng_bit_generator(key: Any, shape: Sequence[int], dtype: DTypeLike = np.uint32,
                      algorithm: RandomAlgorithm = RandomAlgorithm.RNG_DEFAULT, *,
                      out_sharding: Any = None) -> tuple[Array, Array]:
    """(new key, bits): uniformly random bits of `shape` and unsigned `dtype`
    from the uint32[4] `key` by XLA's RngBitGenerator (module docstring), as
    `jax.lax.rng_bit_generator`. `out_sharding` is accepted; irax places
    the bits as it places any result."""
    del out_sharding
    shape = canonicalize_shape(shape, "rng_bit_generator")
    dtype = _bits_dtype(dtype)
    try:
        algorithm = RandomAlgorithm(algorithm)
    except ValueError:
        raise AssertionError() from None  # (JAX's lowering asserts it, with no message)
    return tuple(_drawn_as_jax(shape, dtype, _GENERATORS[algorithm])(_check_key(key)))


@functools.cache
def _drawn_as_jax(shape: tuple, dtype: np.dtype, generator) -> custom_vmap:
    """key -> _generate(key, shape, dtype, generator), batched by JAX's
    rule of rng_bit_generator: a batch of keys draws (B, *shape) bits from
    keys[0] and advances keys[0] alone. The rule draws by this function
    again, so an outer vmap over keys[0] applies the rule once more, as
    JAX's nested vmaps do."""
    draw = custom_vmap(lambda key: _generate(key, shape, dtype, generator))

    @draw.def_vmap
    def first_key_draws(axis_size, in_batched, keys):
        new_key, bits = _drawn_as_jax((axis_size, *shape), dtype, generator)(keys[0])
        return (keys.at[0].set(new_key), bits), (True, True)

    return draw


__all__ = ["RandomAlgorithm", "rng_bit_generator"]
