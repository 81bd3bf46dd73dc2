"""The counter-based hashes of JAX's PRNGs, as primitives: each hashes a
counter under a key, all arithmetic on uint32 words modulo 2**32, with its
rounds the scalar body of one `linalg.generic` that broadcasts its operands
as an elementwise op does (so `vmap` over keys batches it like an add).
irax.random's implementations and lax.rng_bit_generator compute with them.

Threefry-2x32 (Salmon et al., "Parallel random numbers: as easy as 1, 2,
3", SC 2011), 20 rounds, key (k1, k2), counter (x1, x2):

    ks = (k1, k2, k1 ^ k2 ^ 0x1BD11BDA)
    a, b = x1 + ks[0], x2 + ks[1]
    five times, i = 0..4:
        four rounds, with rotations R = (13, 15, 26, 6) for even i, (17, 29, 16, 24) for odd:
            a += b;  b = rotl(b, r) ^ a
        a += ks[(i + 1) % 3];  b += ks[(i + 2) % 3] + i + 1
    (y1, y2) = (a, b)

Threefry-4x32, 20 rounds, key (k0, k1, k2, k3), counter (x0, x1, x2, x3),
with the rotations R = ((10, 26), (11, 21), (13, 27), (23, 5), (6, 20),
(17, 11), (25, 10), (18, 20)):

    ks = (k0, k1, k2, k3, k0 ^ k1 ^ k2 ^ k3 ^ 0x1BD11BDA);  x[i] += ks[i]
    round r = 0..19, with rotations (a, b) = R[r % 8]:
        even r:  x0 += x1;  x1 = rotl(x1, a) ^ x0;  x2 += x3;  x3 = rotl(x3, b) ^ x2
        odd r:   x0 += x3;  x3 = rotl(x3, a) ^ x0;  x2 += x1;  x1 = rotl(x1, b) ^ x2
        after every fourth round, j = r // 4:
            x[i] += ks[(i + 1 + j) % 5] for i = 0..3;  x3 += j + 1

Philox-4x32, 10 rounds of multiplications keeping both halves of each
64-bit product (mulhilo), key (k0, k1), counter (x0, x1, x2, x3):

    round r = 0..9:
        if r > 0:  k0 += 0x9E3779B9;  k1 += 0xBB67AE85      (Weyl key bumps)
        lo0, hi0 = mulhilo(0xD2511F53, x0);  lo1, hi1 = mulhilo(0xCD9E8D57, x2)
        (x0, x1, x2, x3) = (hi1 ^ x1 ^ k0, lo1, hi0 ^ x3 ^ k1, lo0)

Philox-2x32, key k0, counter (x0, x1):

    round r = 0..9:
        if r > 0:  k0 += 0x9E3779B9
        lo, hi = mulhilo(0xD256D193, x0)
        (x0, x1) = (hi ^ x1 ^ k0, lo)
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from iree.compiler.dialects import arith

from irax.frontend.core import ShapedArray
from irax.frontend.numpy import ufuncs
from irax.frontend.numpy.util import asarray, convert
from irax.frontend.primitives import Primitive
from irax.frontend.primitives.elementwise import broadcast_shapes, emit_elementwise
from irax.ir import mlir

_PARITY = 0x1BD11BDA  # Threefish's key-schedule constant
_THREEFRY2X32_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_THREEFRY4X32_ROTATIONS = ((10, 26), (11, 21), (13, 27), (23, 5), (6, 20), (17, 11), (25, 10), (18, 20))
_WEYL = (0x9E3779B9, 0xBB67AE85)  # Philox's key bumps: the golden ratio's and sqrt(3) - 1's fractions
_MULTIPLIERS_4X32 = (0xD2511F53, 0xCD9E8D57)
_MULTIPLIER_2X32 = 0xD256D193


def _u32(value):
    return mlir.scalar_constant(value, np.uint32)


def _rotl(x, r):
    return arith.ori(arith.shli(x, _u32(r)), arith.shrui(x, _u32(32 - r)))


def _mulhilo(multiplier, x):
    """(low, high) words of the 64-bit product of a constant and x. (Not
    arith.mului_extended: IREE's CPU backend cannot legalize it vectorized.)"""
    u32, u64 = mlir.element_type(np.uint32), mlir.element_type(np.uint64)
    product = arith.muli(arith.extui(u64, x), mlir.scalar_constant(multiplier, np.uint64))
    return arith.trunci(u32, product), arith.trunci(u32, arith.shrui(product, mlir.scalar_constant(32, np.uint64)))


def _threefry2x32_rounds(k1, k2, x1, x2):
    ks = [k1, k2, arith.xori(arith.xori(k1, k2), _u32(_PARITY))]
    a, b = arith.addi(x1, ks[0]), arith.addi(x2, ks[1])
    for i in range(5):
        for r in _THREEFRY2X32_ROTATIONS[i % 2]:
            a = arith.addi(a, b)
            b = arith.xori(_rotl(b, r), a)
        a = arith.addi(a, ks[(i + 1) % 3])
        b = arith.addi(b, arith.addi(ks[(i + 2) % 3], _u32(i + 1)))
    return [a, b]


def _threefry4x32_rounds(k0, k1, k2, k3, x0, x1, x2, x3):
    ks = [k0, k1, k2, k3, arith.xori(arith.xori(arith.xori(arith.xori(k0, k1), k2), k3), _u32(_PARITY))]
    x = [arith.addi(xi, ki) for xi, ki in zip((x0, x1, x2, x3), ks)]
    for r in range(20):
        a, b = _THREEFRY4X32_ROTATIONS[r % 8]
        # (first, second) word pairs mixed: (0, 1) and (2, 3) in even rounds, (0, 3) and (2, 1) in odd
        for first, second, rotation in ((0, 1 + 2 * (r % 2), a), (2, 3 - 2 * (r % 2), b)):
            x[first] = arith.addi(x[first], x[second])
            x[second] = arith.xori(_rotl(x[second], rotation), x[first])
        if r % 4 == 3:
            j = r // 4
            x = [arith.addi(xi, ks[(i + 1 + j) % 5]) for i, xi in enumerate(x)]
            x[3] = arith.addi(x[3], _u32(j + 1))
    return x


def _philox4x32_rounds(k0, k1, x0, x1, x2, x3):
    for r in range(10):
        if r:
            k0, k1 = arith.addi(k0, _u32(_WEYL[0])), arith.addi(k1, _u32(_WEYL[1]))
        lo0, hi0 = _mulhilo(_MULTIPLIERS_4X32[0], x0)
        lo1, hi1 = _mulhilo(_MULTIPLIERS_4X32[1], x2)
        x0, x1, x2, x3 = arith.xori(arith.xori(hi1, x1), k0), lo1, arith.xori(arith.xori(hi0, x3), k1), lo0
    return [x0, x1, x2, x3]


def _philox2x32_rounds(k0, x0, x1):
    for r in range(10):
        if r:
            k0 = arith.addi(k0, _u32(_WEYL[0]))
        lo, hi = _mulhilo(_MULTIPLIER_2X32, x0)
        x0, x1 = arith.xori(arith.xori(hi, x1), k0), lo
    return [x0, x1]


def uint32_hash_primitive(name: str, arity: int, outputs: int, rounds: Callable) -> Primitive:
    """The primitive of a counter hash of `arity` uint32 operands (key words,
    then counter words) that broadcast together, to `outputs` uint32 words,
    `rounds(*scalars)` its scalar body; JAX's checks and wording."""
    def abstract_eval(*avals):
        if len(avals) != arity:
            raise TypeError(f"{name}_p expects {arity} arguments, got {len(avals)}.")
        if any(a.dtype != np.uint32 for a in avals):
            raise TypeError(f"Arguments to {name} must have uint32 type, got {[a.dtype.name for a in avals]}")
        return (ShapedArray(broadcast_shapes(name, *(a.shape for a in avals)), np.dtype(np.uint32)),) * outputs

    return Primitive(name, abstract_eval, lambda ctx, *values: emit_elementwise(ctx, *values, body=rounds),
                     dynamic_shapes=True, multiple_results=True)


threefry2x32_p = uint32_hash_primitive("threefry2x32", 4, 2, _threefry2x32_rounds)
threefry4x32_p = uint32_hash_primitive("threefry4x32", 8, 4, _threefry4x32_rounds)
philox4x32_p = uint32_hash_primitive("philox4x32", 6, 4, _philox4x32_rounds)
philox2x32_p = uint32_hash_primitive("philox2x32", 3, 2, _philox2x32_rounds)


def hash_words(primitive: Primitive, *words) -> list:
    """The primitive's uint32 outputs for `words` (uint32 arrays or Python ints)."""
    return primitive.bind(*(asarray(w, np.uint32) for w in words))


def uint64_of(high, low):
    """high << 32 | low, of uint32 words, as uint64."""
    unsigned = np.dtype(np.uint64)
    return ufuncs.bitwise_or(ufuncs.left_shift(convert(high, unsigned, False), np.uint64(32)),
                             convert(low, unsigned, False))
