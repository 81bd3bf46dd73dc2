"""`irax.scipy.fft`, as `jax.scipy.fft`: the type-II discrete cosine transform
and its inverse, in one or several dimensions (JAX implements type 2 only).

    dct(x)[k]  = 2 sum_n x[n] cos(pi k (2n + 1) / (2N))         (norm None / 'backward')
    idct(dct(x)) = x; norm='ortho' scales both to an orthonormal transform.

Both go through one complex FFT of length N (Makhoul's algorithm): the even
samples, then the odd ones reversed, form a sequence whose FFT, turned by a
quarter-sample phase exp(-i pi k / 2N), has the DCT as twice its real part.
"""
from __future__ import annotations

import operator
from collections.abc import Sequence

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend.numpy.util import canonicalize_axis, canonicalize_axes, check_arraylike, promote_args_inexact
from irax.typing import Array, ArrayLike


def _complex_dtype(dtype) -> np.dtype:
    """The complex dtype whose parts hold `dtype` (JAX's to_complex_dtype): the
    narrow floats go to complex64."""
    return np.dtype(np.complex128) if np.dtype(dtype) in (np.float64, np.complex128) else np.dtype(np.complex64)


def _check(name: str, type: int, norm: str | None) -> None:
    if type != 2:
        raise NotImplementedError("Only DCT type 2 is implemented.")
    if norm is not None and norm not in ("backward", "ortho"):
        raise ValueError(f"jax.scipy.fft.{name}: {norm=!r} is not implemented")


def _even_then_odd_reversed(n: int) -> np.ndarray:
    """The permutation Makhoul's algorithm applies before the FFT:
    x[0], x[2], x[4], ..., then ..., x[5], x[3], x[1]."""
    return np.concatenate([np.arange(0, n, 2), np.arange(1, n, 2)[::-1]])


def _along(values, axis: int, ndim: int) -> np.ndarray:
    """A 1-d table shaped to broadcast along `axis` of an ndim array."""
    return np.reshape(values, [-1 if a == axis else 1 for a in range(ndim)])


def _ortho_scale(n: int) -> np.ndarray:
    """What the 'ortho' norm multiplies the unnormalized DCT-II by, per frequency:
    1 / sqrt(4N) at k = 0, 1 / sqrt(2N) elsewhere."""
    return 1 / np.sqrt(np.where(np.arange(n) == 0, 4.0, 2.0) * n)


def _resize(x: Array, n: int | None, axis: int) -> Array:
    """x cut or zero-padded to n along `axis`, as SciPy's `n=`."""
    if n is None or n == x.shape[axis]:
        return x
    if n > x.shape[axis]:
        return jnp.pad(x, [(0, n - x.shape[axis]) if a == axis else (0, 0) for a in range(x.ndim)])
    return lax.slice_in_dim(x, 0, n, axis=axis)


def _real_input(name: str, x: ArrayLike) -> Array:
    check_arraylike(name, x)
    return jnp.asarray(x)


def dct(x: ArrayLike, type: int = 2, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The type-II DCT of x along `axis` (cut or zero-padded to n first)."""
    x = _real_input("dct", x)
    _check("dct", type, norm)
    if jnp.iscomplexobj(x):  # the transform is real-linear: the parts separately
        return lax.complex(dct(jnp.real(x), type, n, axis, norm), dct(jnp.imag(x), type, n, axis, norm))
    (x,) = promote_args_inexact("dct", x)
    axis = canonicalize_axis("dct", axis, x.ndim)
    x = _resize(x, n, axis)
    size = x.shape[axis]
    v = jnp.take(x, _even_then_odd_reversed(size), axis=axis)
    phase = _along(np.exp(-0.5j * np.pi * np.arange(size) / size), axis, x.ndim)
    out = 2 * jnp.real(jnp.fft.fft(v, axis=axis) * jnp.asarray(phase, _complex_dtype(x.dtype)))
    if norm == "ortho":
        out = out * jnp.asarray(_along(_ortho_scale(size), axis, x.ndim), out.dtype)
    return out


def idct(x: ArrayLike, type: int = 2, n: int | None = None, axis: int = -1, norm: str | None = None) -> Array:
    """The inverse of the type-II DCT along `axis` (a scaled type-III DCT):
    undo the scaling and the quarter-sample phase, one inverse FFT, and put
    the samples back in their order."""
    x = _real_input("idct", x)
    _check("idct", type, norm)
    if jnp.iscomplexobj(x):
        return lax.complex(idct(jnp.real(x), type, n, axis, norm), idct(jnp.imag(x), type, n, axis, norm))
    (x,) = promote_args_inexact("idct", x)
    axis = canonicalize_axis("idct", axis, x.ndim)
    x = _resize(x, n, axis)
    size = x.shape[axis]
    # the unnormalized coefficients back from 'ortho' ones, or from 'backward' ones (which carry 1 / (2N) too)
    scale = _ortho_scale(size) * (1 if norm == "ortho" else _ortho_scale(size))
    k = np.arange(size)
    twist = _along(scale * 2 * size * np.exp(0.5j * np.pi * k / size), axis, x.ndim)
    spectrum = x * jnp.asarray(twist, _complex_dtype(x.dtype))
    v = jnp.real(jnp.fft.ifft(spectrum, axis=axis))
    return jnp.take(v, np.argsort(_even_then_odd_reversed(size)), axis=axis)


def _nd_axes(name: str, x: Array, s, axes) -> tuple[list[int] | None, tuple[int, ...]]:
    """(sizes, axes) of an n-d transform: `s` alone means the last len(s) axes."""
    if s is not None:
        try:
            s = list(s)
        except TypeError:
            s = [operator.index(s)]
        if len(s) > x.ndim:
            raise ValueError(f"s must have at most x.ndim ({x.ndim}) elements, got {len(s)}")
    if axes is None:
        axes = tuple(range(x.ndim - len(s), x.ndim)) if s is not None else tuple(range(x.ndim))
    else:
        axes = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
        axes = tuple(canonicalize_axis(name, a, x.ndim) for a in axes)
        if len(set(axes)) != len(axes):
            canonicalize_axes(name, axes, x.ndim)  # raises JAX's duplicate-axis error
    return s, axes


def _nd(one_d, name: str, x: ArrayLike, type: int, s, axes, norm) -> Array:
    """A separable n-d transform: the 1-d one along each axis in turn."""
    x = _real_input(name, x)
    _check(name, type, norm)
    s, axes = _nd_axes(name, x, s, axes)
    sizes = [None] * len(axes) if s is None else s
    for axis, n in zip(axes, sizes):
        x = one_d(x, type=type, n=n, axis=axis, norm=norm)
    return x


def dctn(x: ArrayLike, type: int = 2, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
         norm: str | None = None) -> Array:
    """The n-d type-II DCT over `axes` (all by default; the last len(s) with `s`)."""
    return _nd(dct, "dctn", x, type, s, axes, norm)


def idctn(x: ArrayLike, type: int = 2, s: Sequence[int] | None = None, axes: Sequence[int] | None = None,
          norm: str | None = None) -> Array:
    """The inverse of dctn."""
    return _nd(idct, "idctn", x, type, s, axes, norm)


__all__ = ["dct", "dctn", "idct", "idctn"]
