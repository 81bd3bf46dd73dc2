"""Window functions of `irax.numpy` (signal tapers of M points, n = 0..M-1):

    bartlett   1 - |2n - (M - 1)| / (M - 1)
    blackman   0.42 - 0.5 cos(2 pi n / (M - 1)) + 0.08 cos(4 pi n / (M - 1))
    hamming    0.54 - 0.46 cos(2 pi n / (M - 1))
    hanning    0.5 - 0.5 cos(2 pi n / (M - 1))
    kaiser     I0(beta sqrt(1 - (2n / (M - 1) - 1)^2)) / I0(beta)
M <= 1 gives ones(M), as in NumPy; a float M is truncated to an int, as by JAX.
"""
from __future__ import annotations

import numpy as np

from irax.frontend import dtypes
from irax.frontend.numpy import creation, math_extra, ufuncs
from irax.typing import Array, ArrayLike


def _points(M):
    """(n = 0..M-1 in the default float, M - 1)."""
    M = int(M)
    return creation.arange(M, dtype=dtypes.default_float_dtype()), M - 1


def _cosine_window(name, coefficients):
    def fn(M: int) -> Array:
        n, m = _points(M)
        if m < 1:
            return creation.ones(max(m + 1, 0), dtypes.default_float_dtype())
        out = coefficients[0]
        for k, c in enumerate(coefficients[1:], start=1):
            out = ufuncs.add(out, ufuncs.multiply(c, ufuncs.cos(ufuncs.multiply(n, 2 * np.pi * k / m))))
        return out

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"The {name} window of M points: sum_k c_k cos(2 pi k n / (M - 1)), c = {coefficients}."
    return fn


blackman = _cosine_window("blackman", (0.42, -0.5, 0.08))
hamming = _cosine_window("hamming", (0.54, -0.46))
hanning = _cosine_window("hanning", (0.5, -0.5))


def bartlett(M: int) -> Array:
    """The triangular window 1 - |2n - (M - 1)| / (M - 1)."""
    n, m = _points(M)
    if m < 1:
        return creation.ones(max(m + 1, 0), dtypes.default_float_dtype())
    return ufuncs.subtract(1, ufuncs.divide(ufuncs.abs(ufuncs.subtract(ufuncs.multiply(n, 2), m)), m))


def kaiser(M: int, beta: ArrayLike) -> Array:
    """The Kaiser window I0(beta sqrt(1 - (2n / (M - 1) - 1)^2)) / I0(beta)."""
    n, m = _points(M)
    if m < 1:
        return creation.ones(max(m + 1, 0), dtypes.default_float_dtype())
    r = ufuncs.subtract(ufuncs.divide(ufuncs.multiply(n, 2), m), 1)
    return ufuncs.divide(math_extra.i0(ufuncs.multiply(beta, ufuncs.sqrt(ufuncs.subtract(1, ufuncs.square(r))))),
                         math_extra.i0(beta))


__all__ = ["bartlett", "blackman", "hamming", "hanning", "kaiser"]
