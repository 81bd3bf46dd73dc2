"""`irax.numpy.fft`: discrete Fourier transforms, as `jax.numpy.fft`, built from
irax ops (so they run eagerly and under jit on every backend, differentiate
and vmap like any other irax code).

Along one axis of length n the forward transform is

    X[k] = sum_j x[j] w^(j k),   w = exp(-2 pi i / n),

and the inverse uses w = exp(+2 pi i / n) and a factor 1/n. For n = p m
(mixed-radix Cooley-Tukey, decimation in frequency), write j = j1 + m j2 and
k = p k1 + k2:

    X[p k1 + k2] = sum_j1 w_m^(j1 k1) · w^(j1 k2) · sum_j2 x[j1 + m j2] w_p^(j2 k2)

that is: reshape x to (p, m) (no data moves), take the size-p DFTs along j2,
multiply by the twiddles w^(j1 k2), and take the size-m DFTs along j1 the same
way, one stage per radix. Each stage is elementwise code: output row k2 is
sum_j2 row j2 · w_p^(j2 k2), p broadcast multiply-adds that IREE fuses with the
twiddles into one dispatch, with no transpose; after the last stage the result
is indexed by the digits (k2 of the first radix, of the second, ...), and a
single transpose puts them in order. n is split into radices of at most
_MAX_RADIX (4: radix 4 needs few stages and cheap ones, and measured fastest),
so a transform costs O(n · sum of the radices) multiply-adds: O(n log n) for
smooth n. A larger prime factor p is one stage of p multiply-adds, O(n p):
elementwise (summed pairwise, for accuracy) up to _MAX_ELEMENTWISE, above that
one real `dot_general` with the p x p DFT matrix in 2x2 blocks of (real,
imaginary) parts (p terms of elementwise code compile slowly: 0.8 s against
0.35 s for p = 61). Above _MAX_DIRECT it goes through Bluestein's chirp-z
convolution: with j k = (j² + k² - (k - j)²) / 2 and c[j] = w^(j²/2),

    X[k] = c[k] · sum_j (x[j] c[j]) · conj(c[k - j]),

a convolution done as three transforms of a power of two M >= 2p - 1 (the
kernel's is a constant), O(n M log M / p).

The stages work on complex arrays. A real transform of even length n is a
complex one of n/2 (rfft's "packing"): z[j] = x[2j] + i x[2j+1] (its parts
are strided slices of x) has the DFT Z = E + i O, E and O those of x's even
and odd points, which the symmetry of a real signal's DFT separates:

    E[k] = (Z[k] + conj Z[n/2 - k]) / 2,   O[k] = (Z[k] - conj Z[n/2 - k]) / 2i,
    X[k] = E[k] + w^k O[k]   (k = 0 .. n/2, Z[n/2] = Z[0]),

and irfft runs the same steps backwards (E and O from X, one inverse transform
of n/2, whose parts are the even and odd points). A real input of odd length
takes the complex transform of n, turning complex in its first stage.
Constants are computed in float64 and rounded once to the working precision:
complex64, or complex128 for 64-bit inputs in x64 mode.
"""
from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence

import numpy as np

from irax.frontend import dtypes, lax_elementwise, lax_structural
from irax.frontend.numpy import creation, indexing, layout, ufuncs
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy.util import asarray, canonicalize_axis, check_arraylike, convert
from irax.frontend.jit import jit
from irax.typing import Array, ArrayLike, DeviceLike, DTypeLike

__all__ = ["fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn", "ifftshift", "ihfft",
           "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn"]

_MAX_RADIX = 4  # prime factors are multiplied together into radices up to this
_MAX_ELEMENTWISE = 16  # a larger prime factor is a matrix product
_MAX_DIRECT = 64  # a larger prime factor goes through Bluestein's convolution


# ---------------------------------------------------------------------------
# The transform along the last axis

@functools.lru_cache(maxsize=None)
def _radices(n: int) -> tuple[int, ...]:
    """n's prime factors, largest first, multiplied together greedily into radices <= _MAX_RADIX."""
    primes, p, m = [], 2, n
    while p * p <= m:
        while m % p == 0:
            primes.append(p)
            m //= p
        p += 1
    primes += [m] if m > 1 else []
    radices = []
    for p in sorted(primes, reverse=True):
        if radices and radices[-1] * p <= _MAX_RADIX:
            radices[-1] *= p
        else:
            radices.append(p)
    return tuple(radices) or (1,)


def _roots(rows: int, cols: int, n: int, inverse: bool, dtype: np.dtype) -> np.ndarray:
    """w^(r c) = exp(∓2 pi i (r c mod n) / n) for r < rows, c < cols (the exponent reduced exactly first)."""
    angle = (-1, 1)[inverse] * 2 * np.pi / n * (np.outer(np.arange(rows), np.arange(cols)) % n)
    return (np.cos(angle) + 1j * np.sin(angle)).astype(dtype)


@functools.lru_cache(maxsize=None)
def _dft_blocks(p: int, inverse: bool, dtype: np.dtype) -> np.ndarray:
    """G[j, a, k, b]: y[k, b] = sum_{j, a} x[j, a] G[j, a, k, b] is the size-p DFT of x in
    (real, imaginary) parts a, b: (x_r + i x_i)(c + i s) = (x_r c - x_i s) + i (x_r s + x_i c)."""
    w = _roots(p, p, p, inverse, np.complex128)
    c, s = w.real, w.imag
    return np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], 1).astype(dtype)


def _complex_dtype(x: Array) -> np.dtype:
    """The transform's dtype for x: complex64, or complex128 for a 64-bit x."""
    return np.result_type(x.dtype, np.complex64)


@functools.lru_cache(maxsize=None)
def _chirp(m: int, inverse: bool) -> tuple[np.ndarray, int, np.ndarray]:
    """Bluestein's constants for a size-m DFT: c = w^(j²/2) (j² reduced mod 2m), the power of two
    M >= 2m - 1, and the length-M DFT of the kernel conj(c[t]) at t and M - t (circular)."""
    angle = (-1, 1)[inverse] * np.pi / m * (np.arange(m) ** 2 % (2 * m))
    kernel = np.zeros(1 << (2 * m - 2).bit_length(), complex)
    kernel[:m] = np.exp(-1j * angle)
    kernel[len(kernel) - m + 1:] = kernel[m - 1:0:-1]
    return np.exp(1j * angle), len(kernel), np.fft.fft(kernel)


def _bluestein(x: Array, inverse: bool) -> Array:
    """The DFT along the last axis of x (..., m) by Bluestein's convolution (the module docstring)."""
    chirp, size, kernel = _chirp(x.shape[-1], inverse)
    dtype = _complex_dtype(x)
    a = _dft(_resize(x * chirp.astype(dtype), size), False)
    b = _dft(a * kernel.astype(dtype), True)[..., : x.shape[-1]]
    return b * (chirp / size).astype(dtype)


def _stage(x: Array, inverse: bool) -> Array:
    """The size-p DFTs along axis -2 of x (..., p, m), times the twiddles w_(p m)^(k j) of
    output k, column j. A radix up to _MAX_ELEMENTWISE is p broadcast multiply-adds of rows
    of x: elementwise code that IREE fuses with the twiddles into one dispatch, with no
    transpose. Larger primes are a matrix product, or Bluestein's convolution (the module docstring)."""
    p, m = x.shape[-2:]
    dtype = _complex_dtype(x)
    if p > _MAX_DIRECT:
        y = shape_ops.swapaxes(_bluestein(shape_ops.swapaxes(x, -2, -1), inverse), -2, -1)
    elif p > _MAX_ELEMENTWISE:  # one real product with the DFT matrix in 2x2 blocks: quicker to compile
        parts = shape_ops.expand_dims(x, -1) if x.dtype != dtype else \
            shape_ops.stack([lax_elementwise.real(x), lax_elementwise.imag(x)], -1)  # (rows, p, m, 1 or 2)
        blocks = _dft_blocks(p, inverse, parts.dtype)[:, : parts.shape[-1]]  # a real x has no imaginary part
        y = lax_structural.dot_general(parts, blocks, (((1, 3), (0, 1)), ((), ())))
        y = shape_ops.swapaxes(lax_elementwise.complex(y[..., 0], y[..., 1]), -2, -1)  # (rows, m, p) -> (rows, p, m)
    else:
        rows = _roots(p, p, p, inverse, dtype)  # row j: what input row j adds to each output row
        terms = [x[..., :1, :]] + [x[..., j:j + 1, :] * rows[j][:, None] for j in range(1, p)]  # row 0: ones
        while len(terms) > 1:  # summed pairwise: the rounding error grows as log p, not p
            terms = [a + b for a, b in zip(terms[::2], terms[1::2])] + terms[len(terms) & ~1:]
        y = terms[0]
    return y if m == 1 else y * _roots(p, m, p * m, inverse, dtype)


def _dft(x: Array, inverse: bool) -> Array:
    """The unnormalized DFT along the last axis of x (complex, or real): complex."""
    *batch, n = x.shape
    if n == 0:
        return creation.zeros(x.shape, _complex_dtype(x))
    radices = _radices(n)
    rows = math.prod(batch)
    for p in radices:  # each stage splits the last axis: (rows, p m) -> (rows, p, m) -> (rows p, m)
        x = _stage(shape_ops.reshape(x, (rows, p, x.shape[-1] // p)), inverse)
        rows *= p
    # The outputs' digits d1, ..., dk index X[d1 + p1 (d2 + p2 (...))]: their axes reversed
    # put them in order.
    b, k = len(batch), len(radices)
    digits = shape_ops.reshape(x[..., 0], (*batch, *radices))
    digits = shape_ops.transpose(digits, [*range(b), *range(b + k - 1, b - 1, -1)])
    return convert(shape_ops.reshape(digits, (*batch, n)), _complex_dtype(x), False)  # (real for n = 1)


def _resize(x: Array, n: int) -> Array:
    """x cut or zero-padded to length n along the last axis."""
    m = x.shape[-1]
    if n <= m:
        return x[..., :n]
    return shape_ops.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, n - m)])


def _along(x: Array, axis: int, fn) -> Array:
    """fn applied to x with `axis` moved last."""
    return shape_ops.moveaxis(fn(shape_ops.moveaxis(x, axis, -1)), -1, axis)


# One step per transformed axis: (input along the last axis, output length) -> output.
def _c2c(inverse):
    def step(x, n):
        y = _dft(_resize(x, n), inverse)
        return y * (1 / n) if inverse and n else y
    return step


def _r2c(x, n):
    """The first n // 2 + 1 terms of the DFT of the real x; for even n through the complex DFT
    of n/2 points (the module docstring)."""
    x = _resize(x, n)
    if n % 2:
        return _dft(x, False)[..., : n // 2 + 1]
    half, k = n // 2, np.arange(n // 2 + 1)
    pairs = shape_ops.reshape(x, (*x.shape[:-1], half, 2))
    z = _dft(lax_elementwise.complex(pairs[..., 0], pairs[..., 1]), False)
    a = indexing.take(z, k % half, axis=-1, mode="clip")  # Z[k], Z[n/2] = Z[0]
    b = lax_elementwise.conj(indexing.take(z, (half - k) % half, axis=-1, mode="clip"))  # conj Z[n/2 - k]
    odd_factor = (_roots(2, half + 1, n, False, np.complex128)[1] * -0.5j).astype(z.dtype)  # w^k / 2i
    return (a + b) * 0.5 + (a - b) * odd_factor  # E[k] + w^k O[k]


def _c2r(x, n):
    """The real inverse of the Hermitian spectrum whose first n // 2 + 1 terms are x:
    X[n - k] = conj(X[k]), and the imaginary parts of X[0] (and X[n/2]) are ignored, as in
    NumPy. For even n through the inverse complex DFT of n/2 points (the module docstring)."""
    half = _resize(x, n // 2 + 1)
    if n == 0:  # irfft of one term: no points, as in JAX
        return lax_elementwise.real(half[..., :0])
    if n % 2:
        mirrored = lax_elementwise.conj(shape_ops.flip(half[..., 1 : n - n // 2], -1))
        full = shape_ops.concatenate([half, mirrored], -1)
        return lax_elementwise.real(_dft(full, True) * (1 / n))
    h, k = n // 2, np.arange(n // 2)
    real_ends = np.ones(h + 1, np.finfo(half.dtype).dtype)
    real_ends[[0, -1]] = 0
    half = lax_elementwise.complex(lax_elementwise.real(half), lax_elementwise.imag(half) * real_ends)
    a = half[..., :h]  # X[k]
    b = lax_elementwise.conj(indexing.take(half, h - k, axis=-1, mode="clip"))  # conj X[n/2 - k]
    # (E + i O) / (n/2), E = (X[k] + conj X[n/2 - k]) / 2 and O = (X[k] - conj X[n/2 - k]) w^-k / 2;
    # 1 / (n/2) is the inverse transform's factor.
    odd_factor = (_roots(2, h, n, True, np.complex128)[1] * (1j / n)).astype(half.dtype)  # i w^-k / n
    z = _dft((a + b) * (1 / n) + (a - b) * odd_factor, True)
    # Its parts are the even and odd points: interleaved by a select broadcast along the pairs,
    # which IREE fuses with the transform's last stage (a stack copies each part apart, 2x slower).
    pairs = ufuncs.where(np.array([True, False]), *(shape_ops.expand_dims(part(z), -1)
                                                  for part in (lax_elementwise.real, lax_elementwise.imag)))
    return shape_ops.reshape(pairs, (*z.shape[:-1], n))


# ---------------------------------------------------------------------------
# Arguments, dtypes and norms, as jax.numpy.fft takes them

_NORMS = ("backward", "ortho", "forward")


def _norm_factor(s: Sequence[int], func_name: str, norm: str | None) -> float:
    """JAX's factor for `norm`, on top of the unnormalized forward / 1/n inverse transforms."""
    if norm is None or norm == "backward":
        return 1.0
    if norm not in _NORMS:
        raise ValueError(f'Invalid norm value {norm}; should be "backward","ortho" or "forward".')
    size = float(np.prod(s))
    scale = np.sqrt(size) if norm == "ortho" else size
    return scale if func_name.startswith("i") else 1 / scale


def _input(full_name: str, a: ArrayLike, real: bool) -> Array:
    """a in the transform's dtype: complex, or for rfft a real float32/float64."""
    check_arraylike(full_name, a)
    x = asarray(a)
    if not real:
        if dtypes.is_complex(x.dtype):
            return x
        wide = dtypes.to_inexact_dtype(x.dtype) == dtypes.float64  # float16 and bfloat16 widen to complex64
        return convert(x, dtypes.complex128 if wide else dtypes.complex64, False)
    if dtypes.is_complex(x.dtype):
        raise ValueError("only real valued inputs supported for rfft")
    dtype = dtypes.to_inexact_dtype(x.dtype)
    if dtype not in (dtypes.float32, dtypes.float64):
        raise ValueError(f"RFFT input must be float32 or float64, got {np.dtype(dtype).name}")
    return convert(x, dtype, False) if dtype != x.dtype else x


def _fft_core(func_name: str, kind: str, a: ArrayLike, s: Sequence[int] | None, axes: Sequence[int] | None,
              norm: str | None) -> Array:
    """The transform `kind` ("fft", "ifft", "rfft", "irfft") of a over `axes`, with output lengths s,
    as jax.numpy.fft's _fft_core: the real axis of rfft/irfft is the last of `axes`."""
    full_name = f"jax.numpy.fft.{func_name}"
    x = _input(full_name, a, kind == "rfft")
    if s is not None:
        s = tuple(map(operator.index, s))
        if any(n <= 0 for n in s):
            raise ValueError("Shape should be positive.")
    if s is not None and axes is not None and len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    if axes is None:
        axes = range(x.ndim) if s is None else range(x.ndim - len(s), x.ndim)
    axes = tuple(axes)
    if len(axes) != len(set(axes)):
        raise ValueError(f"{full_name} does not support repeated axes. Got axes {axes}.")
    axes = tuple(canonicalize_axis(full_name, ax, x.ndim) for ax in axes)
    if s is None:
        s = [x.shape[ax] for ax in axes]
        if kind == "irfft" and axes:
            s[-1] = max(0, 2 * (x.shape[axes[-1]] - 1))
    _norm_factor(s, func_name, norm)  # a bad norm fails before the work

    out = _transform(x, kind, axes, tuple(s))
    factor = _norm_factor(s, func_name, norm)
    return out * factor if factor != 1.0 else out


@functools.partial(jit, static_argnums=(1, 2, 3))
def _transform(x: Array, kind: str, axes: tuple[int, ...], lengths: tuple[int, ...]) -> Array:
    """The unnormalized transform `kind` of x over `axes` to `lengths`: one compiled program even
    when called eagerly (op by op, each stage's few ops would compile kernels for its shapes)."""
    # rfft does its real axis first, irfft last; the other axes are complex transforms.
    steps = [(ax, n, _c2c(kind in ("ifft", "irfft"))) for ax, n in zip(axes, lengths)]
    if kind == "rfft":
        steps = [(axes[-1], lengths[-1], _r2c)] + steps[:-1]
    elif kind == "irfft":
        steps = steps[:-1] + [(axes[-1], lengths[-1], _c2r)]
    for ax, n, step in steps:
        x = _along(x, ax, functools.partial(step, n=n))
    return x


def _axis_check_1d(func_name: str, axis) -> None:
    if isinstance(axis, (list, tuple)):
        full_name = f"jax.numpy.fft.{func_name}"
        raise ValueError(f"{full_name} does not support multiple axes. Please use {full_name}n. Got axis = {axis!r}.")


def _fft_core_1d(func_name, kind, a, n, axis, norm):
    _axis_check_1d(func_name, axis)
    return _fft_core(func_name, kind, a, None if n is None else [n], None if axis is None else [axis], norm)


def _fft_core_2d(func_name, kind, a, s, axes, norm):
    if len(axes) != 2:
        raise ValueError(f"jax.numpy.fft.{func_name} only supports 2 axes. Got axes = {axes!r}.")
    return _fft_core(func_name, kind, a, s, axes, norm)


# ---------------------------------------------------------------------------
# The API

def fft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The 1-D DFT of a along `axis`, cut or zero-padded to n points: X[k] = sum_j a[j] exp(-2 pi i j k / n)."""
    return _fft_core_1d("fft", "fft", a, n, axis, norm)


def ifft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The 1-D inverse DFT: x[j] = (1/n) sum_k a[k] exp(2 pi i j k / n)."""
    return _fft_core_1d("ifft", "ifft", a, n, axis, norm)


def rfft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The DFT of a real a, its n // 2 + 1 non-negative frequencies (the rest are their conjugates)."""
    return _fft_core_1d("rfft", "rfft", a, n, axis, norm)


def irfft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The real inverse of rfft: n real points (n = 2 (m - 1) for m input points by default)."""
    return _fft_core_1d("irfft", "irfft", a, n, axis, norm)


def hfft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The real DFT of a signal with Hermitian symmetry given by its first half a: irfft(conj(a)) · n."""
    _axis_check_1d("hfft", axis)
    conj_a = lax_elementwise.conj(_input("jax.numpy.fft.hfft", a, False))
    nn = (conj_a.shape[axis] - 1) * 2 if n is None else n
    return _fft_core_1d("hfft", "irfft", conj_a, n, axis, norm) * nn


def ihfft(a: ArrayLike, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The inverse of hfft, for real a: conj(rfft(a)) / n."""
    _axis_check_1d("ihfft", axis)
    check_arraylike("jax.numpy.fft.ihfft", a)
    nn = asarray(a).shape[axis] if n is None else n
    return lax_elementwise.conj(_fft_core_1d("ihfft", "rfft", a, n, axis, norm)) * (1 / nn)


def fft2(a: ArrayLike, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
         norm: str | None = None) -> Array:
    """The 2-D DFT over `axes`."""
    return _fft_core_2d("fft2", "fft", a, s, axes, norm)


def ifft2(a: ArrayLike, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Array:
    """The 2-D inverse DFT over `axes`."""
    return _fft_core_2d("ifft2", "ifft", a, s, axes, norm)


def rfft2(a: ArrayLike, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
          norm: str | None = None) -> Array:
    """The 2-D DFT of a real a; the last of `axes` keeps its non-negative frequencies."""
    return _fft_core_2d("rfft2", "rfft", a, s, axes, norm)


def irfft2(a: ArrayLike, s: Sequence[int] | None = None, axes: Sequence[int] = (-2, -1),
           norm: str | None = None) -> Array:
    """The real inverse of rfft2."""
    return _fft_core_2d("irfft2", "irfft", a, s, axes, norm)


def fftn(a: ArrayLike, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str | None = None) -> Array:
    """The N-D DFT over `axes` (all, or the last len(s)), one axis after another."""
    return _fft_core("fftn", "fft", a, s, axes, norm)


def ifftn(a: ArrayLike, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None) -> Array:
    """The N-D inverse DFT over `axes`."""
    return _fft_core("ifftn", "ifft", a, s, axes, norm)


def rfftn(a: ArrayLike, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None) -> Array:
    """The N-D DFT of a real a; the last of `axes` keeps its non-negative frequencies."""
    return _fft_core("rfftn", "rfft", a, s, axes, norm)


def irfftn(a: ArrayLike, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
           norm: str | None = None) -> Array:
    """The real inverse of rfftn."""
    return _fft_core("irfftn", "irfft", a, s, axes, norm)


def _scalar_args(func_name: str, n, d) -> None:
    if isinstance(n, (list, tuple)):
        raise ValueError(f"The n argument of jax.numpy.fft.{func_name} only takes an int. Got n = {list(n)}.")
    if isinstance(d, (list, tuple)):
        raise ValueError(f"The d argument of jax.numpy.fft.{func_name} only takes a single value. Got d = {list(d)}.")


def fftfreq(n: int, d: ArrayLike = 1.0, *, dtype: DTypeLike | None = None,
            device: DeviceLike | None = None) -> Array:
    """The frequencies of fft's outputs for a sample spacing d:
    [0, 1, ..., ceil(n/2) - 1, -floor(n/2), ..., -1] / (d n), on `device`
    (committed to it) when given."""
    _scalar_args("fftfreq", n, d)
    out_dtype = dtype or dtypes.default_float_dtype()
    dtype = dtypes.to_inexact_dtype(out_dtype)

    def make():
        k = (creation.arange(n, dtype=dtype) + n // 2) % n - n // 2
        return (k / creation.array(d * n, dtype=dtype)).astype(out_dtype)

    return creation._placed(device, make)


def rfftfreq(n: int, d: ArrayLike = 1.0, *, dtype: DTypeLike | None = None,
             device: DeviceLike | None = None) -> Array:
    """The frequencies of rfft's outputs: [0, 1, ..., n // 2] / (d n), on `device` when given."""
    _scalar_args("rfftfreq", n, d)
    dtype = dtype or dtypes.default_float_dtype()
    return creation._placed(device, lambda: creation.arange(0, n // 2 + 1, dtype=dtype)
                            / creation.array(d * n, dtype=dtype))


def _shifted(name: str, x: ArrayLike, axes, sign: int) -> Array:
    check_arraylike(name, x)
    x = asarray(x)
    if axes is None:
        axes = tuple(range(x.ndim))
    if isinstance(axes, int):
        return layout.roll(x, sign * (x.shape[axes] // 2), axes)
    return layout.roll(x, [sign * (x.shape[ax] // 2) for ax in axes], axes)


def fftshift(x: ArrayLike, axes: None | int | Sequence[int] = None) -> Array:
    """x rolled by half its length along `axes` (all by default): the zero frequency to the centre."""
    return _shifted("fftshift", x, axes, 1)


def ifftshift(x: ArrayLike, axes: None | int | Sequence[int] = None) -> Array:
    """The inverse of fftshift: x rolled back by half its length."""
    return _shifted("ifftshift", x, axes, -1)
