"""`irax.numpy.fft`: discrete Fourier transforms, as `jax.numpy.fft`, built from
irax ops (so they run eagerly and under jit on every backend, differentiate
and vmap like any other irax code).

Along one axis of length n the forward transform is

    X[k] = sum_j x[j] w^(j k),   w = exp(-2 pi i / n),

and the inverse uses w = exp(+2 pi i / n) and a factor 1/n. For n = n1 n2
(mixed-radix Cooley-Tukey), write j = n2 j1 + j2 and k = k1 + n1 k2:

    X[k1 + n1 k2] = sum_j2 w_n2^(j2 k2) · w^(j2 k1) · sum_j1 x[n2 j1 + j2] w_n1^(j1 k1)

that is: reshape x to (n1, n2), take the size-n1 DFT along j1 (a product with
the n1 x n1 DFT matrix), multiply by the twiddles w^(j2 k1), take size-n2 DFTs
along j2 (recursively, the same way) and read the result out transposed.
n is split into radices of at most _MAX_RADIX (products of its prime
factors), so a transform costs O(n · sum of the radices) multiply-adds:
O(n log n) for smooth n. A prime factor p > _MAX_RADIX is one p x p matrix
product, O(n p), up to _MAX_DIRECT; a larger one goes through Bluestein's
chirp-z convolution: with j k = (j² + k² - (k - j)²) / 2 and c[j] = w^(j²/2),

    X[k] = c[k] · sum_j (x[j] c[j]) · conj(c[k - j]),

a convolution done as three transforms of a power of two M >= 2p - 1 (the
kernel's is a constant), O(n M log M / p).

Complex data travel as real arrays with a trailing axis of (real, imaginary)
parts, so that each DFT stage is a single real `dot_general` (the parts of a
complex matrix entry c + i s are the 2x2 block [[c, s], [-s, c]]) and a real
input (rfft) is a trailing axis of one part. Constants are computed in
float64 and rounded once to the working precision: float32 (complex64), or
float64 (complex128) for 64-bit inputs in x64 mode.
"""
from __future__ import annotations

import functools
import operator
from collections.abc import Sequence

import numpy as np

from irax.frontend import dtypes, lax_elementwise, lax_structural
from irax.frontend.numpy import creation, layout
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy.util import asarray, canonicalize_axis, check_arraylike, convert
from irax.typing import Array, ArrayLike, DeviceLike, DTypeLike

__all__ = ["fft", "fft2", "fftfreq", "fftn", "fftshift", "hfft", "ifft", "ifft2", "ifftn", "ifftshift", "ihfft",
           "irfft", "irfft2", "irfftn", "rfft", "rfft2", "rfftfreq", "rfftn"]

_MAX_RADIX = 16  # the largest DFT stage done as one matrix product (but for a larger prime factor)
_MAX_DIRECT = 64  # a larger prime factor goes through Bluestein's convolution


# ---------------------------------------------------------------------------
# The transform along axis -2 of a (..., n, parts) real array

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


def _roots(rows: int, cols: int, n: int, inverse: bool):
    """cos and sin of ∓2 pi (r c mod n) / n for r < rows, c < cols (the exponent reduced exactly first)."""
    angle = (-1, 1)[inverse] * 2 * np.pi / n * (np.outer(np.arange(rows), np.arange(cols)) % n)
    return np.cos(angle), np.sin(angle)


@functools.lru_cache(maxsize=None)
def _dft_matrix(m: int, parts: int, inverse: bool, dtype: np.dtype) -> np.ndarray:
    """G[j, p, k, q]: y[k, q] = sum_{j, p} x[j, p] G[j, p, k, q] is the size-m DFT
    in parts, (a + i b)(c + i s) = (a c - b s) + i (a s + b c); `parts` = 1 reads only a."""
    c, s = _roots(m, m, m, inverse)
    blocks = np.stack([np.stack([c, s], -1), np.stack([-s, c], -1)], 1)  # (j, p, k, q)
    return blocks[:, :parts].astype(dtype)


def _rotate(x: Array, c: np.ndarray, s: np.ndarray) -> Array:
    """x (..., parts) times c + i s elementwise: (a + i b)(c + i s) = (a, b) c + (b, a)(-s, s),
    or (a c, a s) for a real x."""
    if x.shape[-1] == 1:
        return x * np.stack([c, s], -1).astype(x.dtype)
    return x * c[..., None].astype(x.dtype) + shape_ops.flip(x, -1) * np.stack([-s, s], -1).astype(x.dtype)


@functools.lru_cache(maxsize=None)
def _chirp(m: int, inverse: bool) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Bluestein's constants for a size-m DFT: c = w^(j²/2) (j² reduced mod 2m), the power of two
    M >= 2m - 1, and the length-M DFT of the kernel conj(c[t]) at t and M - t (circular)."""
    angle = (-1, 1)[inverse] * np.pi / m * (np.arange(m) ** 2 % (2 * m))
    kernel = np.zeros(1 << (2 * m - 2).bit_length(), complex)
    kernel[:m] = np.exp(-1j * angle)
    kernel[len(kernel) - m + 1:] = kernel[m - 1:0:-1]
    return np.cos(angle), np.sin(angle), len(kernel), np.fft.fft(kernel)


def _bluestein(x: Array, inverse: bool) -> Array:
    """The DFT along axis -2 of x (..., m, parts) by Bluestein's convolution (the module docstring)."""
    c, s, size, kernel = _chirp(x.shape[-2], inverse)
    a = _dft(_resize(_rotate(x, c, s), size), False)
    b = _dft(_rotate(a, kernel.real, kernel.imag), True)[..., : x.shape[-2], :]
    return _rotate(b, c / size, s / size)


def _stage(x: Array, inverse: bool) -> Array:
    """The size-m DFTs along axis -3 of x (..., m, n2, parts): (..., n2, m, 2)."""
    m, b = x.shape[-3], x.ndim - 3
    if m > _MAX_DIRECT:
        return _bluestein(shape_ops.swapaxes(x, b, b + 1), inverse)
    matrix = _dft_matrix(m, x.shape[-1], inverse, x.dtype)
    return lax_structural.dot_general(x, matrix, (((b, b + 2), (0, 1)), ((), ())))


def _dft(x: Array, inverse: bool) -> Array:
    """The unnormalized DFT along axis -2 of x, shaped (..., n, parts): (..., n, 2)."""
    *batch, n, parts = x.shape
    if n == 0:
        return creation.zeros((*batch, 0, 2), x.dtype)
    n1 = _radices(n)[0]
    n2 = n // n1
    b = len(batch)
    y = _stage(shape_ops.reshape(x, (*batch, n1, n2, parts)), inverse)  # [j1, j2] -> [j2, k1]
    if n2 == 1:
        return shape_ops.reshape(y, (*batch, n, 2))
    y = _rotate(y, *_roots(n2, n1, n, inverse))  # the twiddles w^(j2 k1)
    z = _dft(shape_ops.swapaxes(y, b, b + 1), inverse)  # [k1, k2]
    return shape_ops.reshape(shape_ops.swapaxes(z, b, b + 1), (*batch, n, 2))


def _resize(x: Array, n: int) -> Array:
    """x cut or zero-padded to length n along axis -2."""
    m = x.shape[-2]
    if n <= m:
        return x[..., :n, :]
    return shape_ops.pad(x, [(0, 0)] * (x.ndim - 2) + [(0, n - m), (0, 0)])


def _along(x: Array, axis: int, fn) -> Array:
    """fn applied to x with `axis` moved to -2 (the parts stay last)."""
    return shape_ops.moveaxis(fn(shape_ops.moveaxis(x, axis, -2)), -2, axis)


# One step per transformed axis, on the parts array: (input length along the axis, output length) -> output.
def _c2c(inverse):
    def step(x, n):
        y = _dft(_resize(x, n), inverse)
        return y * (1 / n) if inverse and n else y
    return step


def _r2c(x, n):
    return _dft(_resize(x, n), False)[..., : n // 2 + 1, :]


def _c2r(x, n):
    """The real inverse of the Hermitian spectrum whose first n // 2 + 1 terms are x:
    X[n - k] = conj(X[k]), and only the real part of the result is kept, so that the
    imaginary parts of X[0] (and X[n/2]) are ignored, as in NumPy."""
    half = _resize(x, n // 2 + 1)
    mirrored = shape_ops.flip(half[..., 1 : n - n // 2, :], -2) * np.array([1, -1], x.dtype)
    full = shape_ops.concatenate([half, mirrored], -2)[..., :n, :]
    return _dft(full, True)[..., :1] * (1 / n) if n else full[..., :1]


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

    parts = shape_ops.expand_dims(x, -1) if kind == "rfft" else \
        shape_ops.stack([lax_elementwise.real(x), lax_elementwise.imag(x)], -1)
    # rfft does its real axis first, irfft last; the other axes are complex transforms.
    steps = [(ax, n, _c2c(kind in ("ifft", "irfft"))) for ax, n in zip(axes, s)]
    if kind == "rfft":
        steps = [(axes[-1], s[-1], _r2c)] + steps[:-1]
    elif kind == "irfft":
        steps = steps[:-1] + [(axes[-1], s[-1], _c2r)]
    for ax, n, step in steps:
        parts = _along(parts, ax, functools.partial(step, n=n))
    out = parts[..., 0] if kind == "irfft" else lax_elementwise.complex(parts[..., 0], parts[..., 1])
    factor = _norm_factor(s, func_name, norm)
    return out * factor if factor != 1.0 else out


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
