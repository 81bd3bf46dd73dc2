"""`irax.nn.initializers`, as `jax.nn.initializers`: functions that build
*initializers*, `init(key, shape, dtype) -> Array`, drawing with
`irax.random`, so the same key gives JAX's weights.

Variance scaling draws with variance `scale / n`, where n counts the inputs
(`fan_in`), the outputs (`fan_out`), their mean (`fan_avg`) or geometric mean
(`fan_geo_avg`) of one unit of a layer whose weights have this shape:

    fan_in  = shape[in_axis]  * receptive field      receptive field = the product
    fan_out = shape[out_axis] * receptive field      of the other (non-batch) axes

    truncated_normal   truncated_normal(-2, 2) * sqrt(variance) / 0.8796...
                       (0.8796... is the standard deviation of a standard
                       normal truncated to [-2, 2])
    normal             normal * sqrt(variance)
    uniform            uniform(-1, 1) * sqrt(3 * variance)

Complex weights (as JAX's) are drawn in polar form: uniform in the disk of
radius sqrt(2), or a complex normal whose modulus is truncated to 2 (over
0.9531..., its standard deviation then).

Glorot (Xavier) is scale 1 over fan_avg, LeCun scale 1 over fan_in, He
(Kaiming) scale 2 over fan_in; their `_normal` forms are truncated normal.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import irax.numpy as jnp
from irax import random
from irax.frontend import dtypes
from irax.typing import Array, ArrayLike, DTypeLike

Initializer = Callable[..., Array]

# The standard deviation of a standard normal truncated to [-2, 2].
TRUNCATED_STDDEV = .87962566103423978


def _float_dtype(dtype: DTypeLike | None) -> np.dtype:
    return dtypes.default_float_dtype() if dtype is None else np.dtype(dtype)


def zeros(key: Any, shape: Sequence[int], dtype: DTypeLike | None = None) -> Array:
    """An array of zeros (the key is ignored)."""
    return jnp.zeros(shape, _float_dtype(dtype))


def ones(key: Any, shape: Sequence[int], dtype: DTypeLike | None = None) -> Array:
    """An array of ones (the key is ignored)."""
    return jnp.ones(shape, _float_dtype(dtype))


def constant(value: ArrayLike, dtype: DTypeLike | None = None) -> Initializer:
    """An initializer of arrays full of `value`."""
    def init(key: Any, shape: Sequence[int], dtype: DTypeLike | None = dtype) -> Array:
        return jnp.full(shape, value, dtype=_float_dtype(dtype))
    return init


def uniform(scale: float = 1e-2, dtype: DTypeLike | None = None) -> Initializer:
    """An initializer of uniform draws in [0, scale)."""
    def init(key: Any, shape: Sequence[int], dtype: DTypeLike | None = dtype) -> Array:
        dtype = _float_dtype(dtype)
        return random.uniform(key, shape, dtype) * jnp.array(scale, dtype)
    return init


def normal(stddev: float = 1e-2, dtype: DTypeLike | None = None) -> Initializer:
    """An initializer of normal draws with mean 0 and standard deviation `stddev`."""
    def init(key: Any, shape: Sequence[int], dtype: DTypeLike | None = dtype) -> Array:
        dtype = _float_dtype(dtype)
        return random.normal(key, shape, dtype) * jnp.array(stddev, dtype)
    return init


def truncated_normal(stddev: float = 1e-2, dtype: DTypeLike | None = None, lower: float = -2.0,
                     upper: float = 2.0) -> Initializer:
    """An initializer of standard normal draws truncated to [lower, upper],
    times `stddev` (no correction of the standard deviation, as in JAX)."""
    def init(key: Any, shape: Sequence[int], dtype: DTypeLike | None = dtype) -> Array:
        dtype = _float_dtype(dtype)
        return random.truncated_normal(key, lower, upper, shape, dtype) * jnp.array(stddev, dtype)
    return init


def _size(shape, axes) -> int:
    return shape[axes] if isinstance(axes, int) else math.prod(shape[i] for i in axes)


def _compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()) -> tuple[float, float]:
    """(fan_in, fan_out) of weights of `shape` (see the module docstring)."""
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"Can't compute input and output sizes of a {len(shape)}-dimensional weights tensor with "
                         "default in_axis. Must be at least 2D or specify in_axis explicitly.")
    in_size, out_size = _size(shape, in_axis), _size(shape, out_axis)
    receptive_field = math.prod(shape) / in_size / out_size / _size(shape, batch_axis)
    return in_size * receptive_field, out_size * receptive_field


_DENOMINATORS = {
    "fan_in": lambda fan_in, fan_out: fan_in,
    "fan_out": lambda fan_in, fan_out: fan_out,
    "fan_avg": lambda fan_in, fan_out: (fan_in + fan_out) / 2,
    "fan_geo_avg": lambda fan_in, fan_out: (fan_in * fan_out) ** 0.5,
}

# The standard deviation of a complex standard normal whose modulus is truncated to 2.
COMPLEX_TRUNCATED_STDDEV = .95311164380491208


def _polar_draw(key, shape, dtype, radius):
    """radius(u) exp(2 pi i v), u and v uniform in [0, 1) of complex `dtype`'s
    real type, from the two halves of `key` (JAX's draws, key for key)."""
    key_r, key_theta = random.split(key)
    real = np.finfo(dtype).dtype
    r = radius(random.uniform(key_r, shape, real)).astype(dtype)
    theta = 2 * np.pi * random.uniform(key_theta, shape, real).astype(dtype)
    return r * jnp.exp(1j * theta)


def _complex_truncated_normal(key, shape, dtype, upper=2):
    """A centered complex normal of unit variance, its modulus truncated to `upper`
    (by inverting the modulus' cdf 1 - exp(-r^2))."""
    mass = 1 - jnp.exp(jnp.array(-(upper ** 2), dtype))
    return _polar_draw(key, shape, dtype, lambda u: jnp.sqrt(-jnp.log(1 - mass * u.astype(dtype))))


def _complex_uniform(key, shape, dtype):
    """Uniform in the disk of radius sqrt(2) (zero mean, unit variance)."""
    return _polar_draw(key, shape, dtype, lambda u: jnp.sqrt(2 * u))


_DRAWS = {  # distribution -> (key, shape, dtype, variance) -> weights
    "truncated_normal": lambda key, shape, dtype, variance: random.truncated_normal(key, -2, 2, shape, dtype) * (
        jnp.sqrt(variance) / jnp.array(TRUNCATED_STDDEV, dtype)),
    "normal": lambda key, shape, dtype, variance: random.normal(key, shape, dtype) * jnp.sqrt(variance),
    "uniform": lambda key, shape, dtype, variance: random.uniform(key, shape, dtype, -1) * jnp.sqrt(3 * variance),
}
_COMPLEX_DRAWS = {  # as JAX: complex weights from draws in the complex plane (random.normal takes complex dtypes)
    "truncated_normal": lambda key, shape, dtype, variance: _complex_truncated_normal(key, shape, dtype) * (
        jnp.sqrt(variance) / jnp.array(COMPLEX_TRUNCATED_STDDEV, dtype)),
    "normal": _DRAWS["normal"],
    "uniform": lambda key, shape, dtype, variance: _complex_uniform(key, shape, dtype) * jnp.sqrt(variance),
}


def variance_scaling(scale: float, mode: str, distribution: str, in_axis: int | Sequence[int] = -2,
                     out_axis: int | Sequence[int] = -1, batch_axis: int | Sequence[int] = (),
                     dtype: DTypeLike | None = None) -> Initializer:
    """An initializer whose draws have variance `scale / n`, n given by `mode`
    (see the module docstring); `distribution` is "truncated_normal",
    "normal" or "uniform"."""
    def init(key: Any, shape: Sequence[int], dtype: DTypeLike | None = dtype) -> Array:
        shape, dtype = tuple(int(d) for d in shape), _float_dtype(dtype)
        fan_in, fan_out = _compute_fans(shape, in_axis, out_axis, batch_axis)
        if mode not in _DENOMINATORS:
            raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
        if distribution not in _DRAWS:
            raise ValueError(f"invalid distribution for variance scaling initializer: {distribution}")
        variance = jnp.array(scale / _DENOMINATORS[mode](fan_in, fan_out), dtype=dtype)
        draws = _COMPLEX_DRAWS if dtypes.issubdtype(dtype, np.complexfloating) else _DRAWS
        return draws[distribution](key, shape, dtype, variance)
    return init


def _scaled(name, scale, mode, distribution, doc):
    def builder(in_axis: int | Sequence[int] = -2, out_axis: int | Sequence[int] = -1,
                batch_axis: int | Sequence[int] = (), dtype: DTypeLike | None = None) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)
    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = f"{doc}: variance_scaling({scale}, {mode!r}, {distribution!r})."
    return builder


glorot_uniform = xavier_uniform = _scaled("glorot_uniform", 1.0, "fan_avg", "uniform", "Glorot (Xavier) uniform")
glorot_normal = xavier_normal = _scaled("glorot_normal", 1.0, "fan_avg", "truncated_normal", "Glorot (Xavier) normal")
lecun_uniform = _scaled("lecun_uniform", 1.0, "fan_in", "uniform", "LeCun uniform")
lecun_normal = _scaled("lecun_normal", 1.0, "fan_in", "truncated_normal", "LeCun normal")
he_uniform = kaiming_uniform = _scaled("he_uniform", 2.0, "fan_in", "uniform", "He (Kaiming) uniform")
he_normal = kaiming_normal = _scaled("he_normal", 2.0, "fan_in", "truncated_normal", "He (Kaiming) normal")


def orthogonal(scale: float = 1.0, column_axis: int = -1, dtype: DTypeLike | None = None) -> Initializer:
    """An initializer of weights whose `column_axis` slices are orthonormal
    (times `scale`): `random.orthogonal` of the flattened shape."""
    def init(key: Any, shape: Sequence[int], dtype: DTypeLike | None = dtype) -> Array:
        dtype = _float_dtype(dtype)
        if len(shape) < 2:
            raise ValueError("orthogonal initializer requires at least a 2D shape")
        if any(d == 0 for d in shape):
            return jnp.zeros(shape, dtype)
        n_rows, n_cols = math.prod(shape) // shape[column_axis], shape[column_axis]
        q = random.orthogonal(key, n_rows, (), dtype, n_cols)
        q = jnp.reshape(q, tuple(np.delete(shape, column_axis)) + (shape[column_axis],))
        return jnp.array(scale, dtype) * jnp.moveaxis(q, -1, column_axis)
    return init


def delta_orthogonal(scale: float = 1.0, column_axis: int = -1, dtype: DTypeLike | None = None) -> Initializer:
    """An initializer of 3-D to 5-D convolution kernels that are zero but at
    the center of the window, which holds an orthogonal matrix."""
    def init(key: Any, shape: Sequence[int], dtype: DTypeLike | None = dtype) -> Array:
        dtype = _float_dtype(dtype)
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
        matrix = orthogonal(scale=scale, column_axis=column_axis, dtype=dtype)(key, shape[-2:])
        center = tuple((k - 1) // 2 for k in shape[:-2])
        return jnp.zeros(shape, dtype).at[center].set(matrix)
    return init


__all__ = ["Initializer", "constant", "delta_orthogonal", "glorot_normal", "glorot_uniform", "he_normal",
           "he_uniform", "kaiming_normal", "kaiming_uniform", "lecun_normal", "lecun_uniform", "normal", "ones",
           "orthogonal", "truncated_normal", "uniform", "variance_scaling", "xavier_normal", "xavier_uniform", "zeros"]
