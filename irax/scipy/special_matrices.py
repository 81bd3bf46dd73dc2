"""SciPy's special matrices, as `jax.scipy.linalg` builds them. Those made
from vectors take leading batch dims, as JAX's (vectorized) do:

    block_diag(A, B, ...)   A, B, ... on the diagonal, zeros elsewhere
    toeplitz(c, r)          out_ij = c_{i-j} (i >= j), r_{j-i} (i < j); r = c̄ by default
    hankel(c, r)            out_ij = (c ++ r[1:])_{i+j}; r = 0 by default
    circulant(c)            out_ij = c_{(i-j) mod n}
    companion(a)            first row -a[1:]/a[0], ones below the diagonal
    leslie(f, s)            first row f, s on the subdiagonal
    fiedler(a)              |a_i - a_j|
    fiedler_companion(a)    Fiedler's pentadiagonal companion matrix of a
    convolution_matrix(a, n, mode)   the Toeplitz matrix of np.convolve(a, ·, mode) on length n
    hilbert(n), invhilbert(n)        1 / (i + j + 1) and its exact inverse
    pascal(n, kind), invpascal(n, kind)   binomial coefficients C(i, j) (lower), its transpose, or their product
    helmert(n, full), hadamard(n), dft(n, scale)
"""
from __future__ import annotations

import math
import operator

import numpy as np

from irax.frontend import dtypes
from irax.frontend.numpy import (abs, asarray, atleast_1d, atleast_2d, broadcast_to, concatenate, conj, eye, flip,
                                 pad, where, zeros, zeros_like)
from irax.frontend.numpy.util import check_arraylike, promote_args, promote_args_inexact
from irax.typing import Array, ArrayLike, DTypeLike


def block_diag(*arrs: ArrayLike) -> Array:
    """The block-diagonal matrix of the (at most 2-D) arrays, in order."""
    if not arrs:
        arrs = (zeros((1, 0)),)
    arrs = promote_args("block_diag", *arrs)
    for i, a in enumerate(arrs):
        if a.ndim > 2:
            raise ValueError("Arguments to jax.scipy.linalg.block_diag must have at most 2 dimensions, "
                             f"got {a} at argument {i}.")
    arrs = [atleast_2d(a) for a in arrs]
    total, before = sum(a.shape[1] for a in arrs), 0
    rows = []
    for a in arrs:
        rows.append(pad(a, [(0, 0), (before, total - before - a.shape[1])]))
        before += a.shape[1]
    return concatenate(rows, axis=0)


def _batched(name, c, r):
    """c [..., m] and r [..., n] of one dtype, their batch dims broadcast."""
    batch = np.broadcast_shapes(c.shape[:-1], r.shape[:-1])
    c, r = promote_args(name, c, r)
    return broadcast_to(c, batch + c.shape[-1:]), broadcast_to(r, batch + r.shape[-1:])


def toeplitz(c: ArrayLike, r: ArrayLike | None = None) -> Array:
    """The Toeplitz matrix with first column c and first row r (r[0] is
    ignored; r defaults to conj(c))."""
    if r is None:
        check_arraylike("toeplitz", c)
        r = conj(asarray(c))
    else:
        check_arraylike("toeplitz", c, r)
    c, r = _batched("toeplitz", atleast_1d(asarray(c)), atleast_1d(asarray(r)))
    m, n = c.shape[-1], r.shape[-1]
    # (reversed c ++ r[1:])[m - 1 - i + j]: c_{i-j} below the diagonal, r_{j-i} from it on
    elements = concatenate([flip(c, axis=-1), r[..., 1:]], axis=-1)
    if not (m and n):
        return zeros(c.shape[:-1] + (m, n), c.dtype)
    return elements[..., m - 1 - np.arange(m)[:, None] + np.arange(n)]


def hankel(c: ArrayLike, r: ArrayLike | None = None) -> Array:
    """The Hankel matrix with first column c and last row r (r[0] is ignored;
    r defaults to zeros)."""
    if r is None:
        check_arraylike("hankel", c)
        c = asarray(c)
        r = zeros_like(c)
    else:
        check_arraylike("hankel", c, r)
        c, r = asarray(c), asarray(r)
    if c.ndim == 0:
        raise ValueError("hankel: c must be at least 1-dimensional, got a scalar.")
    if r.ndim == 0:
        raise ValueError("hankel: r must be at least 1-dimensional, got a scalar.")
    c, r = _batched("hankel", c, r)
    m, n = c.shape[-1], r.shape[-1]
    elements = concatenate([c, r[..., 1:]], axis=-1)
    if not (m and n):
        return zeros(c.shape[:-1] + (m, n), c.dtype)
    return elements[..., np.arange(m)[:, None] + np.arange(n)]


def circulant(c: ArrayLike) -> Array:
    """The circulant matrix with first column c: out_ij = c_{(i - j) mod n}."""
    check_arraylike("circulant", c)
    c = atleast_1d(asarray(c))
    n = c.shape[-1]
    return c[..., (np.arange(n)[:, None] - np.arange(n)) % n]


def companion(a: ArrayLike) -> Array:
    """The companion matrix of the polynomial a (highest power first)."""
    (a,) = promote_args_inexact("companion", a)
    a = atleast_1d(a)
    if a.shape[-1] < 2:
        raise ValueError(f"The length of `a` along the last axis must be at least 2; got shape {a.shape}.")
    m = a.shape[-1] - 1
    first = (-a[..., 1:] / a[..., :1])[..., None, :]
    return where(np.arange(m)[:, None] == 0, first, eye(m, m, k=-1, dtype=first.dtype))


def leslie(f: ArrayLike, s: ArrayLike) -> Array:
    """The Leslie matrix: fecundities f on the first row, survival rates s below the diagonal."""
    check_arraylike("leslie", f, s)
    f, s = atleast_1d(asarray(f)), atleast_1d(asarray(s))
    if f.shape[-1] < 2:
        raise ValueError(f"The length of f along the last axis must be at least 2; got shape {f.shape}.")
    if s.shape[-1] != f.shape[-1] - 1:
        raise ValueError("Incorrect lengths for f and s. The length of s along the last axis must be one less than "
                         f"the length of f; got f shape {f.shape} and s shape {s.shape}.")
    f, s = promote_args("leslie", f, s)
    n = f.shape[-1]
    rows, cols = np.arange(n)[:, None], np.arange(n)
    below = pad(s, [(0, 0)] * (s.ndim - 1) + [(0, 1)])[..., None, :]  # s_j at (j + 1, j)
    return where(rows == 0, f[..., None, :], where(rows == cols + 1, below, 0).astype(f.dtype))


def fiedler(a: ArrayLike) -> Array:
    """The symmetric Fiedler matrix |a_i - a_j|."""
    check_arraylike("fiedler", a)
    a = atleast_1d(asarray(a))
    return abs(a[..., :, None] - a[..., None, :])


def fiedler_companion(a: ArrayLike) -> Array:
    """Fiedler's companion matrix of the polynomial a: pentadiagonal, with
    the eigenvalues of companion(a)."""
    (a,) = promote_args_inexact("fiedler_companion", a)
    a = atleast_1d(a)
    if a.shape[-1] == 0:
        raise ValueError("fiedler_companion requires the last axis of 'a' to have nonzero length, but got an "
                         f"array of shape {a.shape}.")
    n = a.shape[-1] - 1
    if n == 0:
        return zeros(a.shape[:-1] + (0, 0), a.dtype)
    a = a / a[..., :1]
    if n == 1:
        return -a[..., 1:, None]
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    even, odd = i % 2 == 0, i % 2 == 1
    above, below = -a[..., np.minimum(i + 2, n)], -a[..., np.minimum(i + 1, n)]  # [..., n, 1]
    # JAX's rules, first match wins: (condition, value)
    rules = [((i == 0) & (j == 0), -a[..., 1:2, None]), ((i == 1) & (j == 0), 1),
             ((j == i + 1) & even, above), ((j == i + 2) & even, 1),
             ((j == i - 1) & even & (i >= 2), below), ((j == i - 2) & odd & (i >= 3), 1)]
    out = zeros(a.shape[:-1] + (n, n), a.dtype)
    for condition, value in reversed(rules):
        out = where(condition, value, out)
    return out


_CONVOLUTION_MODES = ("full", "valid", "same")


def convolution_matrix(a: ArrayLike, n: int, mode: str = "full") -> Array:
    """The matrix A with A @ v = np.convolve(a, v, mode) for v of length n."""
    n = operator.index(n)
    if n <= 0:
        raise ValueError(f"n must be a positive integer; got {n}.")
    check_arraylike("convolution_matrix", a)
    a = asarray(a)
    if a.ndim == 0:
        raise ValueError("convolution_matrix: a must be at least 1-dimensional, got a scalar.")
    m = a.shape[-1]
    if m < 1:
        raise ValueError(f"len(a) must be at least 1; got shape {a.shape}.")
    if mode not in _CONVOLUTION_MODES:
        raise ValueError(f"mode must be one of 'full', 'valid', 'same'; got {mode!r}.")
    widths = [(0, 0)] * (a.ndim - 1) + [(0, n - 1)]
    padded, reversed_ = pad(a, widths), pad(flip(a, axis=-1), widths)
    length = m + n - 1
    trim = min(n, m) - 1
    start, end = {"full": (0, 0), "valid": (trim, trim), "same": (trim // 2, trim - trim // 2)}[mode]
    return toeplitz(padded[..., start:length - end], reversed_[..., length - n - start:length - start])


def hilbert(n: int) -> Array:
    """The n x n Hilbert matrix 1 / (i + j + 1)."""
    a = np.arange(n, dtype=np.float64)
    return asarray(1 / (a[:, None] + a + 1), dtypes.default_float_dtype())


def _binomial(n, k):
    """C(n, k) elementwise for integer arrays (0 where k > n), exactly in float64."""
    comb = np.vectorize(lambda a, b: float(math.comb(int(a), int(b))) if 0 <= b <= a else 0.0, otypes=[np.float64])
    return comb(n, k)


def invhilbert(n: int) -> Array:
    """The exact inverse of hilbert(n)."""
    i, j = np.arange(n)[:, None], np.arange(n)[None, :]
    s = i + j
    inverse = (-1.0) ** s * (s + 1.0) * _binomial(n + i, n - j - 1) * _binomial(n + j, n - i - 1) * _binomial(s, i) ** 2
    return asarray(inverse, dtypes.default_float_dtype())


_PASCAL_KINDS = ["symmetric", "lower", "upper"]


def _pascal_kind(kind, lower, what):
    """The matrix of `kind` from the lower triangular one L: L, Lᵀ, or `what`(L)."""
    if kind is None:
        kind = "symmetric"
    if kind not in _PASCAL_KINDS:
        raise ValueError(f"Expected kind to be one of: {_PASCAL_KINDS}; got {kind}")
    return {"lower": lower, "upper": lower.T, "symmetric": what(lower)}[kind]


def pascal(n: int, kind: str | None = None) -> Array:
    """The Pascal matrix: C(i + j, i) ("symmetric"), C(i, j) ("lower") or its transpose."""
    a = np.arange(n)
    lower = _binomial(a[:, None], a[None, :])
    return asarray(_pascal_kind(kind, lower, lambda L: L @ L.T), np.float32)


def invpascal(n: int, kind: str | None = None) -> Array:
    """The inverse of pascal(n, kind): (-1)^(i-j) C(i, j) for "lower"."""
    a = np.arange(n)
    lower = (-1.0) ** (a[:, None] - a[None, :]) * _binomial(a[:, None], a[None, :])
    return asarray(_pascal_kind(kind, lower, lambda L: L.T @ L), dtypes.default_float_dtype())


def helmert(n: int, full: bool = False) -> Array:
    """The Helmert matrix: n - 1 orthonormal rows orthogonal to ones(n)
    (with `full`, 1/√n ones(n) first)."""
    if n < 1:
        raise ValueError(f"n must be a positive integer; got {n}.")
    i, j = np.arange(n - 1)[:, None], np.arange(n)[None, :]
    k = i + 1.0
    denominator = np.sqrt(k * (k + 1))
    h = np.where(j <= i, 1 / denominator, np.where(j == i + 1, -k / denominator, 0.0))
    if full:
        h = np.concatenate([np.full((1, n), 1 / np.sqrt(n)), h])
    return asarray(h, dtypes.default_float_dtype())


def hadamard(n: int, dtype: DTypeLike = int) -> Array:
    """The n x n Hadamard matrix (n a power of 2), Sylvester's construction."""
    if n < 1 or not math.log2(n).is_integer():
        raise ValueError(f"n must be a positive power of 2; got {n}.")
    h = np.ones((1, 1))
    for _ in range(int(math.log2(n))):
        h = np.block([[h, h], [h, -h]])
    return asarray(h, dtypes.canonicalize_dtype(dtype))


_DFT_SCALES = (None, "sqrtn", "n")


def dft(n: int, scale: str | None = None, *, dtype: DTypeLike | None = None) -> Array:
    """The n x n discrete Fourier transform matrix exp(-2πi jk / n), divided
    by √n or n for scale "sqrtn" or "n"."""
    if scale not in _DFT_SCALES:
        raise ValueError(f"scale must be None, 'sqrtn', or 'n'; got {scale!r}.")
    dtype = dtypes.default_complex_dtype() if dtype is None else dtypes.canonicalize_dtype(dtype)
    if not dtypes.is_complex(dtype):
        raise ValueError(f"dtype must be a complex floating-point type; got {dtype}.")
    a = np.arange(n)
    omegas = np.exp(-2j * np.pi * ((a[:, None] * a[None, :]) % max(n, 1)) / max(n, 1))  # exact angles
    return asarray(omegas / {None: 1, "sqrtn": np.sqrt(n), "n": n}[scale], dtype)


__all__ = ["block_diag", "circulant", "companion", "convolution_matrix", "dft", "fiedler", "fiedler_companion",
           "hadamard", "hankel", "helmert", "hilbert", "invhilbert", "invpascal", "leslie", "pascal", "toeplitz"]
