"""`irax.nn`: common neural-network functions, as `jax.nn`.

All are compositions of `irax.numpy` ufuncs and reductions, except
`one_hot`, which is one primitive (a comparison with the loop index).
"""
from __future__ import annotations

import numpy as np

from irax.frontend import dtypes
from irax.frontend.lax import stop_gradient
from irax.frontend.numpy import reductions, ufuncs
from irax.frontend.numpy.util import asarray, canonicalize_axis, check_arraylike, convert, promote_args_inexact
from irax.frontend.primitives.elementwise import unary
from irax.frontend.primitives.reductions import one_hot as one_hot_p
from irax.scipy.special import logsumexp
from irax.typing import Array, ArrayLike, Axis, DTypeLike


def relu(x: ArrayLike) -> Array:
    """max(x, 0)."""
    return ufuncs.maximum(x, 0)


def sigmoid(x: ArrayLike) -> Array:
    """1 / (1 + exp(-x)): exact in both tails (exp(-x) overflows to inf,
    giving 0, rather than losing the small values as 1 - ... would)."""
    check_arraylike("sigmoid", x)
    x = asarray(x)
    if not dtypes.is_float(x.dtype):
        raise TypeError(f"sigmoid does not accept dtype {x.dtype.name}. Accepted dtypes are subtypes of floating.")
    return ufuncs.reciprocal(ufuncs.add(1, ufuncs.exp(ufuncs.negative(x))))


def softplus(x: ArrayLike) -> Array:
    """log(1 + exp(x)) = logaddexp(x, 0), computed as max(x, 0) + log1p(exp(-|x|))
    so that neither tail overflows. (Promoted with the 0, as logaddexp does.)"""
    x, _ = promote_args_inexact("softplus", x, 0)
    return ufuncs.add(ufuncs.maximum(x, 0), ufuncs.log1p(ufuncs.exp(ufuncs.negative(ufuncs.abs(x)))))

_SQRT_2_OVER_PI = float(np.sqrt(2 / np.pi))  # Python floats: weak, they keep x's dtype
_SQRT_HALF = float(np.sqrt(0.5))


def gelu(x: ArrayLike, approximate: bool = True) -> Array:
    """x * Phi(x), Phi the standard normal CDF; with `approximate` (the
    default, as in jax.nn.gelu) the tanh form

        x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))

    else the exact x/2 * (1 + erf(x / sqrt(2)))."""
    (x,) = promote_args_inexact("gelu", x)
    half_x = ufuncs.multiply(x, convert(0.5, x.dtype, False))  # a strong constant: the result is strong, as in JAX
    if approximate:
        cubic = ufuncs.multiply(x, ufuncs.square(x))  # x**3 as two multiplies (cheaper than pow)
        inner = ufuncs.multiply(_SQRT_2_OVER_PI, ufuncs.add(x, ufuncs.multiply(0.044715, cubic)))
        return ufuncs.multiply(half_x, ufuncs.add(1, ufuncs.tanh(inner)))
    return ufuncs.multiply(half_x, ufuncs.add(1, unary["erf"].bind(ufuncs.multiply(x, _SQRT_HALF))))


def _shifted(name, x, axis):
    """x - max(x) over `axis` (kept): every exp of it is at most 1. The shift
    cancels out of softmax and log_softmax, so as in JAX it carries no
    gradient: the backward pass has no max adjoint (its reductions, its ties)."""
    (x,) = promote_args_inexact(name, x)
    return ufuncs.subtract(x, stop_gradient(reductions.max(x, axis, keepdims=True, initial=-np.inf)))


def softmax(x: ArrayLike, axis: Axis = -1) -> Array:
    """exp(x) / sum(exp(x)) over `axis`, computed on x - max(x) so nothing overflows."""
    unnormalized = ufuncs.exp(_shifted("softmax", x, axis))
    return ufuncs.true_divide(unnormalized, reductions.sum(unnormalized, axis, keepdims=True))


def log_softmax(x: ArrayLike, axis: Axis = -1) -> Array:
    """x - logsumexp(x) over `axis`, computed on x - max(x)."""
    shifted = _shifted("log_softmax", x, axis)
    return ufuncs.subtract(shifted, ufuncs.log(reductions.sum(ufuncs.exp(shifted), axis, keepdims=True)))


def one_hot(x: ArrayLike, num_classes: int, *, dtype: DTypeLike | None = None, axis: int = -1) -> Array:
    """out[..., c, ...] = (x[...] == c) at a new axis `axis` of length
    `num_classes`; indices outside [0, num_classes) give all zeros."""
    check_arraylike("one_hot", x)
    x = asarray(x)
    dtype = dtypes.default_float_dtype() if dtype is None else dtypes.canonicalize_dtype(dtype)
    axis = canonicalize_axis("one_hot", axis, x.ndim + 1)
    return one_hot_p.bind(x, num_classes=int(num_classes), axis=axis, dtype=dtype)


__all__ = ["gelu", "log_softmax", "logsumexp", "one_hot", "relu", "sigmoid", "softmax", "softplus"]
