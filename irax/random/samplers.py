"""The samplers of `irax.random`, with JAX's formulas, so that the same key
gives the same numbers.

Every sampler starts from uniform floats built from random bits: JAX makes
the top `nmant` bits m of a word the mantissa of a float in [1, 2) and
subtracts 1, which is exactly m 2**-nmant (m < 2**nmant converts exactly),

    u = bitcast(m | bits(1.0)) - 1 = m * 2**-nmant              in [0, 1)
    uniform(minval, maxval) = max(minval, u * (maxval - minval) + minval)

irax computes the right-hand side: the same floats, without the 64-bit
bitcast that IREE's Vulkan code cannot do. The other distributions
transform u (by its inverse CDF where there is one), or normal draws
sqrt(2) erfinv(u); those drawn by rejection loops (Gamma and what is built
on it, Poisson, binomial) are in rejection.py. Each public function checks its arguments on the host, then calls a
jitted private one with the shape and dtype static: one program per shape,
as in JAX.
"""
from __future__ import annotations

import functools
import math
import operator
from collections.abc import Sequence

import ml_dtypes
import numpy as np

import irax.numpy as jnp
from irax.frontend import dtypes
from irax.frontend.jit import jit
from irax.frontend.numpy.bitcast import bitcast_convert_type
from irax.frontend.lax import stop_gradient
from irax.frontend.lax_elementwise import clz, rem, shift_left, shift_right_logical
from irax.frontend.lax_sorting import sort_key_val, top_k
from irax.frontend.numpy.creation import canonicalize_shape
from irax.frontend.numpy.util import asarray, canonicalize_axis, check_arraylike, convert, promote_args_inexact
from irax.frontend.special import erf, erf_inv
from irax.random.keys import check_key, random_bits, split
from irax.typing import Array, ArrayLike, DTypeLike, Shape


def _float_dtype(name, dtype):
    dtype = dtypes.canonicalize_dtype(float if dtype is None else dtype)
    if not dtypes.is_float(dtype):
        raise ValueError(f"dtype argument to `{name}` must be a float dtype, got {dtype}")
    return dtype


def _int_dtype(name, dtype):
    dtype = dtypes.canonicalize_dtype(int if dtype is None else dtype)
    if not dtypes.is_int(dtype):
        raise ValueError(f"dtype argument to `{name}` must be an int dtype, got {dtype}")
    return dtype


def _check_shape(name, shape, *param_shapes):
    """JAX's rule: the parameters broadcast to exactly `shape`."""
    if param_shapes:
        broadcast = jnp.broadcast_shapes(shape, *param_shapes)
        if broadcast != tuple(shape):
            raise ValueError(f"{name} parameter shapes must be broadcast-compatible with shape argument, and the "
                             "result of broadcasting the shapes must equal the shape argument, but got result "
                             f"{broadcast} for shape argument {tuple(shape)}.")


def _shape_of(name, shape, *params):
    """`shape`, or the parameters' broadcast shape where it is None."""
    if shape is None:
        return jnp.broadcast_shapes((), *(np.shape(p) for p in params))
    shape = canonicalize_shape(shape)
    _check_shape(name, shape, *(np.shape(p) for p in params))
    return shape


def _one_key(name, key):
    return check_key(name, key, stacklevel=4)[0]


# ---------------------------------------------------------------------------
# uniform, and the samplers that transform it.

@functools.partial(jit, static_argnums=(3, 4))
def _uniform(data, minval, maxval, shape, dtype):
    minval, maxval = convert(minval, dtype, False), convert(maxval, dtype, False)
    finfo = ml_dtypes.finfo(dtype)
    nbits, nmant = finfo.bits, finfo.nmant
    rng_bits = 8 if nmant < 8 else nbits  # JAX draws 8 bits for float8 and bfloat16
    unsigned = np.dtype(f"uint{nbits}")
    word = convert(random_bits(data, rng_bits, shape), unsigned, False)
    mantissa = jnp.right_shift(word, unsigned.type(rng_bits - nmant))
    floats = convert(mantissa, dtype, False) * dtype.type(2.0**-nmant)
    return jnp.maximum(minval, jnp.reshape(floats * (maxval - minval) + minval, shape))


def uniform(key: ArrayLike, shape: Shape = (), dtype: DTypeLike | None = None, minval: ArrayLike = 0.0,
            maxval: ArrayLike = 1.0) -> Array:
    """Uniform floats in [minval, maxval)."""
    data = _one_key("uniform", key)
    dtype = _float_dtype("uniform", dtype)
    return _uniform(data, minval, maxval, canonicalize_shape(shape), dtype)


@functools.partial(jit, static_argnums=(1, 2))
def _normal(data, shape, dtype):
    """sqrt(2) erfinv(u), u uniform in (-1, 1): the inverse of the normal CDF.
    A complex one is (re + i im) / sqrt(2), re and im real normals under the
    two halves of the key split, so E|z|^2 = 1 (JAX's draw). XLA turns that
    division by a constant into a product with its reciprocal, rounded to
    `real` first, so the draw multiplies by it too to give JAX's bits."""
    if dtypes.is_complex(dtype):
        real = np.array(0, dtype).real.dtype
        key_re, key_im = split(data)
        re, im = (convert(_normal(k, shape, real), dtype, False) for k in (key_re, key_im))
        return (re + 1j * im) * np.array(real.type(1) / real.type(np.sqrt(2)), dtype)
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    u = _uniform(data, lo, dtype.type(1.0), shape, dtype)
    return dtype.type(np.sqrt(2)) * erf_inv(u)


def _normal_dtype(dtype):
    dtype = dtypes.canonicalize_dtype(float if dtype is None else dtype)
    if not dtypes.is_inexact(dtype):
        raise ValueError(f"dtype argument to `normal` must be a float or complex dtype, got {dtype}")
    return dtype


def normal(key: ArrayLike, shape: Shape = (), dtype: DTypeLike | None = None) -> Array:
    """Standard normal floats, or complex numbers whose parts are independent
    normals of variance 1/2."""
    return _normal(_one_key("normal", key), canonicalize_shape(shape), _normal_dtype(dtype))


@functools.partial(jit, static_argnums=(3, 4))
def _truncated_normal(data, lower, upper, shape, dtype):
    """sqrt(2) erfinv(u), u uniform between erf(lower / sqrt 2) and
    erf(upper / sqrt 2), clipped into the open interval (lower, upper)."""
    sqrt2 = dtype.type(np.sqrt(2))
    lower, upper = convert(lower, dtype, False), convert(upper, dtype, False)
    u = _uniform(data, erf(lower / sqrt2), erf(upper / sqrt2), shape, dtype)
    out = sqrt2 * erf_inv(u)
    return jnp.clip(out, _next_float(stop_gradient(lower), 1), _next_float(stop_gradient(upper), -1))


def truncated_normal(key: ArrayLike, lower: ArrayLike, upper: ArrayLike, shape: Shape | None = None,
                     dtype: DTypeLike | None = None) -> Array:
    """Normal floats conditioned on lower < x < upper."""
    data = _one_key("truncated_normal", key)
    dtype = _float_dtype("truncated_normal", dtype)
    return _truncated_normal(data, lower, upper, _shape_of("truncated_normal", shape, lower, upper), dtype)


def _next_float(x, direction):
    """The float next to x toward +inf (direction 1) or -inf (-1), as
    lax.nextafter: one step of the bit pattern, which is monotone in |x|."""
    unsigned = np.dtype(f"uint{x.dtype.itemsize * 8}")
    word = bitcast_convert_type(x, unsigned)
    away_from_zero = (x > 0) if direction > 0 else (x < 0)
    stepped = jnp.where(away_from_zero, word + unsigned.type(1), word - unsigned.type(1))
    smallest = np.array(direction * ml_dtypes.finfo(x.dtype).smallest_subnormal, x.dtype)
    out = jnp.where(x == 0, smallest, bitcast_convert_type(stepped, x.dtype))
    return jnp.where(jnp.isnan(x) | jnp.isinf(x) & away_from_zero, x, out)


@functools.partial(jit, static_argnums=(3, 4))
def _randint(data, minval, maxval, shape, dtype):
    """minval + (hi % span * (2**(n/2) % span)**2 % span + lo % span) % span
    for two n-bit words hi and lo, span = maxval - minval (JAX's scheme: a
    2n-bit draw reduced modulo span, without 2n-bit arithmetic)."""
    minval, maxval = asarray(minval), asarray(maxval)
    minval = minval if dtypes.is_int(minval.dtype) else minval.astype(int)
    maxval = maxval if dtypes.is_int(maxval.dtype) else maxval.astype(int)
    maxval_out_of_range = maxval > _convert_and_clip(asarray(np.iinfo(dtype).max, dtype), maxval.dtype)
    minval, maxval = _convert_and_clip(minval, dtype), _convert_and_clip(maxval, dtype)
    nbits = dtype.itemsize * 8
    unsigned = np.dtype(f"uint{nbits}")
    k1, k2 = split(data)
    higher, lower = random_bits(k1, nbits, shape), random_bits(k2, nbits, shape)
    span = convert(maxval - minval, unsigned, False)
    span = jnp.where(maxval <= minval, unsigned.type(1), span)
    # (a span of the whole range wraps to 0, and lax.rem's x % 0 = x, not NumPy's 0, keeps every draw)
    span = jnp.where(maxval_out_of_range & (maxval > minval), span + unsigned.type(1), span)
    multiplier = rem(unsigned.type(2 ** (nbits // 2)), span)
    multiplier = rem(multiplier * multiplier, span)
    offset = rem(higher, span) * multiplier + rem(lower, span)
    return minval + convert(rem(offset, span), dtype, False)


def _convert_and_clip(x, dtype):
    """x as `dtype`, clipped to its range rather than wrapped."""
    low = max(np.iinfo(dtype).min, np.iinfo(x.dtype).min)
    high = min(np.iinfo(dtype).max, np.iinfo(x.dtype).max)
    return jnp.clip(x, x.dtype.type(low), x.dtype.type(high)).astype(dtype)


def randint(key: ArrayLike, shape: Shape, minval: ArrayLike, maxval: ArrayLike, dtype: DTypeLike | None = None
            ) -> Array:
    """Uniform integers in [minval, maxval). 8- and 16-bit ones are drawn as
    int32 and cast, as in JAX."""
    data = _one_key("randint", key)
    dtype = dtypes.canonicalize_dtype(int if dtype is None else dtype)
    if not dtypes.is_int(dtype):
        raise TypeError(f"randint only accepts integer dtypes, got {dtype}")
    check_arraylike("randint", minval, maxval)
    shape = canonicalize_shape(shape)
    _check_shape("randint", shape, np.shape(minval), np.shape(maxval))
    info = np.iinfo(dtype)
    sampling = dtype
    if info.bits < 32:
        sampling = np.dtype(np.int32)
        minval = jnp.clip(asarray(minval).astype(np.int32), int(info.min), int(info.max))
        maxval = jnp.clip(asarray(maxval).astype(np.int32), int(info.min), int(info.max) + 1)
    return _randint(data, minval, maxval, shape, sampling).astype(dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _bernoulli(data, p, shape, mode):
    dtype = p.dtype
    if mode == "high":
        u = _uniform(data, 0.0, 1.0, (2, *shape), dtype)
        return u[1] * dtype.type(2.0 ** -ml_dtypes.finfo(dtype).nmant) < p - u[0]
    return _uniform(data, 0.0, 1.0, shape, dtype) < p


def bernoulli(key: ArrayLike, p: ArrayLike = 0.5, shape: Shape | None = None, mode: str = "low") -> Array:
    """Booleans, true with probability p."""
    if mode not in ("high", "low"):
        raise ValueError(f"got {mode=}, expected 'high' or 'low'")
    data = _one_key("bernoulli", key)
    p = asarray(p)
    if not dtypes.is_float(p.dtype):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {p.dtype}.")
    return _bernoulli(data, p, _shape_of("bernoulli", shape, p), mode)


def _unit_sampler(name, transform, minval=lambda finfo: 0.0, doc=""):
    """A sampler of `transform(u)`, u uniform in [minval, 1), with no parameters."""

    @functools.partial(jit, static_argnums=(1, 2))
    def sample(data, shape, dtype):
        return transform(_uniform(data, dtype.type(minval(ml_dtypes.finfo(dtype))), dtype.type(1.0), shape, dtype))

    def sampler(key: ArrayLike, shape: Shape = (), dtype: DTypeLike | None = None) -> Array:
        return sample(_one_key(name, key), canonicalize_shape(shape), _float_dtype(name, dtype))

    sampler.__name__ = sampler.__qualname__ = name
    sampler.__doc__ = doc
    return sampler


exponential = _unit_sampler("exponential", lambda u: -jnp.log1p(-u), doc="Exponential floats: -log(1 - u).")
laplace = _unit_sampler("laplace", lambda u: jnp.sign(u) * jnp.log1p(-jnp.abs(u)), lambda f: -1.0 + f.epsneg,
                        doc="Laplace floats: sign(u) log(1 - |u|), u uniform in (-1, 1).")
logistic = _unit_sampler("logistic", lambda u: jnp.log(u) - jnp.log1p(-u), lambda f: f.tiny,
                         doc="Logistic floats: log(u / (1 - u)), u uniform in (0, 1).")
cauchy = _unit_sampler("cauchy", lambda u: jnp.tan(u.dtype.type(np.pi) * (u - u.dtype.type(0.5))), lambda f: f.eps,
                       doc="Cauchy floats: tan(pi (u - 1/2)), u uniform in [eps, 1).")


def _fraction_to_float32(hi, lo):
    """The float32 (rounded down) of the 64-bit binary fraction 0.hi lo in (0, 1),
    as JAX converts it: the exponent from the count of leading zeros z, the
    mantissa the 23 bits after the leading one:
        x = 2^-(z+1) (1 + m 2^-23)."""
    finfo = np.finfo(np.float32)
    u32 = np.uint32
    hi_zeros, lo_zeros = clz(hi), clz(lo)
    leading = jnp.bitwise_or(shift_left(hi, hi_zeros),
                             jnp.where(hi_zeros == 32, shift_left(lo, lo_zeros),
                                       shift_right_logical(lo, u32(finfo.bits) - hi_zeros)))
    mantissa = jnp.bitwise_and(shift_right_logical(leading, u32(finfo.bits - finfo.nmant - 1)),
                               u32((1 << finfo.nmant) - 1))
    exponent = shift_left(u32(-finfo.minexp) - jnp.where(hi_zeros == 32, 32 + lo_zeros, hi_zeros), u32(finfo.nmant))
    exponent = jnp.bitwise_and(exponent, u32((1 << (finfo.bits - 2)) - (1 << (finfo.nmant - 1))))
    return bitcast_convert_type(jnp.bitwise_or(exponent, mantissa), np.float32)


def _gumbel_highest(data, shape):
    """float32 Gumbel from 64 random bits: u below 1/2 is kept as is, u above it
    as 1 - u (exact in 64-bit fixed point), so that -log(-log(u)) is taken with
    log1p(-u) near 1 and log(u) near 0, each where it is accurate."""
    hi, lo = random_bits(data, 32, (2, *shape))
    flipped_hi, flipped_lo = jnp.bitwise_not(hi), jnp.bitwise_not(lo)
    one_minus = (flipped_hi + (flipped_lo == np.uint32(2**32 - 1)).astype(np.uint32), flipped_lo + np.uint32(1))
    low_half = hi < np.uint32(1 << 31)
    x = _fraction_to_float32(jnp.where(low_half, hi, one_minus[0]), jnp.where(low_half, lo, one_minus[1]))
    return jnp.where(low_half, -jnp.log(-jnp.log1p(-x)), -jnp.log(-jnp.log(x)))


@functools.partial(jit, static_argnums=(1, 2, 3))
def _gumbel(data, shape, dtype, mode):
    """-log(-log(u)); mode "high" adds the bits of a second draw below u's
    resolution, for the tail near u = 0; "highest" (float32) draws u from 64
    bits. Other dtypes take "high" for "highest", as in JAX."""
    finfo = ml_dtypes.finfo(dtype)
    if mode == "highest" and dtype == np.float32:
        return _gumbel_highest(data, shape)
    if mode in ("high", "highest"):
        high, low = _uniform(data, 0.0, 1.0, (2, *shape), dtype)
        x = jnp.where(high >= 0.5, high, high + dtype.type(2.0 ** -finfo.nmant) * low + dtype.type(finfo.tiny))
        return -jnp.log(-jnp.log1p(-x))
    return -jnp.log(-jnp.log(_uniform(data, dtype.type(finfo.tiny), dtype.type(1.0), shape, dtype)))


def _gumbel_mode(mode):
    """A Gumbel draw's mode, "low" by default, checked as JAX's `gumbel` checks
    it (categorical and choice, which draw Gumbel noise, check it so too)."""
    mode = "low" if mode is None else mode
    if mode not in ("highest", "high", "low"):
        raise ValueError(f"Must provide valid mode for gumbel got: {mode}")
    return mode


def gumbel(key: ArrayLike, shape: Shape = (), dtype: DTypeLike | None = None, mode: str | None = None) -> Array:
    """Gumbel floats: -log(-log(u))."""
    data = _one_key("gumbel", key)
    dtype = _float_dtype("gumbel", dtype)
    return _gumbel(data, canonicalize_shape(shape), dtype, _gumbel_mode(mode))


def rademacher(key: ArrayLike, shape: Shape = (), dtype: DTypeLike | None = None) -> Array:
    """-1 or 1 with equal probability."""
    data = _one_key("rademacher", key)
    dtype = dtypes.canonicalize_dtype(int if dtype is None else dtype)
    draws = _bernoulli(data, asarray(0.5, dtypes.default_float_dtype()), canonicalize_shape(shape), "low")
    return (2 * draws.astype(dtype) - 1).astype(dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _pareto(data, b, shape, dtype):
    return jnp.exp(-jnp.log1p(-_uniform(data, 0.0, 1.0, shape, dtype)) / convert(b, dtype, False))


def pareto(key: ArrayLike, b: ArrayLike, shape: Shape | None = None, dtype: DTypeLike | None = None) -> Array:
    """Pareto floats of shape b: exp(e / b), e exponential."""
    data = _one_key("pareto", key)
    dtype = _float_dtype("pareto", dtype)
    return _pareto(data, b, _shape_of("pareto", shape, b), dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _weibull_min(data, scale, concentration, shape, dtype):
    u = _uniform(data, 0.0, 1.0, shape, dtype)
    return jnp.power(-jnp.log1p(-u), 1.0 / asarray(concentration)) * scale


def weibull_min(key: ArrayLike, scale: ArrayLike, concentration: ArrayLike, shape: Shape = (),
                dtype: DTypeLike | None = None) -> Array:
    """Weibull floats by the inverse CDF: scale (-log(1 - u))**(1 / concentration)."""
    data = _one_key("weibull_min", key)
    return _weibull_min(data, scale, concentration, canonicalize_shape(shape), _float_dtype("weibull_min", dtype))


@functools.partial(jit, static_argnums=(2, 3))
def _rayleigh(data, scale, shape, dtype):
    u = _uniform(data, 0.0, 1.0, shape, dtype)
    scale = jnp.broadcast_to(convert(scale, dtype, False), shape)
    return scale * jnp.sqrt(jnp.log(u) * dtype.type(-2))


def rayleigh(key: ArrayLike, scale: ArrayLike, shape: Shape | None = None, dtype: DTypeLike | None = None) -> Array:
    """Rayleigh floats: scale sqrt(-2 log u)."""
    data = _one_key("rayleigh", key)
    dtype = _float_dtype("rayleigh", dtype)
    return _rayleigh(data, scale, _shape_of("rayleigh", shape, scale), dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _geometric(data, p, shape, dtype):
    u = _uniform(data, 0.0, 1.0, shape, p.dtype)
    u = jnp.where(u == 0, p.dtype.type(1), u)  # JAX's guard against log(0)
    return (jnp.floor(jnp.log(u) / jnp.broadcast_to(jnp.log1p(-p), shape)) + 1).astype(dtype)


def geometric(key: ArrayLike, p: ArrayLike, shape: Shape | None = None, dtype: DTypeLike | None = None) -> Array:
    """The number of Bernoulli(p) trials up to the first success."""
    data = _one_key("geometric", key)
    dtype = _int_dtype("geometric", dtype)
    check_arraylike("geometric", p)
    p = asarray(p)
    p = p if dtypes.is_float(p.dtype) else p.astype(dtypes.default_float_dtype())
    return _geometric(data, p, _shape_of("geometric", shape, p), dtype)


@functools.partial(jit, static_argnums=(4, 5))
def _triangular(data, left, mode, right, shape, dtype):
    left, mode, right = (jnp.broadcast_to(convert(v, dtype, False), shape) for v in (left, mode, right))
    u = _uniform(data, 0.0, 1.0, shape, dtype)
    below = left + jnp.sqrt(u * (right - left) * (mode - left))
    above = right - jnp.sqrt((1 - u) * (right - left) * (right - mode))
    return jnp.where(u < (mode - left) / (right - left), below, above)


def triangular(key: ArrayLike, left: ArrayLike, mode: ArrayLike, right: ArrayLike, shape: Shape | None = None,
               dtype: DTypeLike | None = None) -> Array:
    """Triangular floats on [left, right] peaking at mode, by the inverse CDF."""
    data = _one_key("triangular", key)
    dtype = _float_dtype("triangular", dtype)
    return _triangular(data, left, mode, right, _shape_of("triangular", shape, left, mode, right), dtype)


@functools.partial(jit, static_argnums=(2, 3, 4))
def _categorical(data, logits, shape, axis, mode):
    """argmax(logits + gumbel): the Gumbel-max trick, drawing one Gumbel per
    logit of every sample (`shape`'s leading dims are extra samples)."""
    batch_ndim = logits.ndim - 1
    prefix = shape[:len(shape) - batch_ndim]
    axis = axis - logits.ndim if axis >= 0 else axis
    logits_shape = list(shape[len(shape) - batch_ndim:])
    logits_shape.insert(axis % logits.ndim, logits.shape[axis])
    noise = _gumbel(data, (*prefix, *logits_shape), logits.dtype, mode)
    return jnp.argmax(noise + jnp.expand_dims(logits, tuple(range(len(prefix)))), axis=axis)


def categorical(key: ArrayLike, logits: ArrayLike, axis: int = -1, shape: Shape | None = None,
                replace: bool = True, mode: str | None = None) -> Array:
    """Indices drawn with probabilities softmax(logits) along `axis`; with
    `replace=False`, distinct ones (shape's leading dims count the draws)."""
    data = _one_key("categorical", key)
    check_arraylike("categorical", logits)
    logits = asarray(logits)
    batch_shape = tuple(int(d) for d in np.delete(logits.shape, axis))
    if shape is None:
        shape = batch_shape
    else:
        shape = canonicalize_shape(shape)
        _check_shape("categorical", shape, batch_shape)
    _float_dtype("gumbel", logits.dtype)  # (the noise has the logits' dtype)
    mode = _gumbel_mode(mode)
    if replace:
        return _categorical(data, logits, shape, axis, mode)
    count = math.prod(shape[:len(shape) - len(batch_shape)])
    if count > logits.shape[axis]:
        raise ValueError(f"Number of samples without replacement ({count}) cannot exceed number of categories "
                         f"({logits.shape[axis]}).")
    return _categorical_without_replacement(data, logits, shape, axis, mode)


@functools.partial(jit, static_argnums=(2, 3, 4))
def _categorical_without_replacement(data, logits, shape, axis, mode):
    """The Gumbel top-k trick: the k largest of logits + Gumbel noise are k
    draws without replacement; the draws become the leading axis."""
    batch_ndim = logits.ndim - 1
    noisy = jnp.moveaxis(logits + _gumbel(data, logits.shape, logits.dtype, mode), axis, -1)
    count = math.prod(shape[:len(shape) - batch_ndim])
    indices = top_k(noisy, count)[1]
    return jnp.moveaxis(indices, -1, 0).reshape(shape)


# ---------------------------------------------------------------------------
# Transforms of normal draws.

@functools.partial(jit, static_argnums=(2, 3))
def _lognormal(data, sigma, shape, dtype):
    return jnp.exp(_normal(data, shape, dtype) * convert(sigma, dtype, False))


def lognormal(key: ArrayLike, sigma: ArrayLike = np.float32(1), shape: Shape | None = None,
              dtype: DTypeLike | None = None) -> Array:
    """exp(sigma z), z standard normal."""
    data = _one_key("lognormal", key)
    dtype = _float_dtype("lognormal", dtype)
    return _lognormal(data, sigma, _shape_of("lognormal", shape, sigma), dtype)


@functools.partial(jit, static_argnums=(1, 2))
def _maxwell(data, shape, dtype):
    z = _normal(data, (*shape, 3), dtype)
    return jnp.sqrt(jnp.sum(z * z, axis=-1))


def maxwell(key: ArrayLike, shape: Shape = (), dtype: DTypeLike | None = None) -> Array:
    """Maxwell floats: the length of a standard normal 3-vector."""
    return _maxwell(_one_key("maxwell", key), canonicalize_shape(shape), _float_dtype("maxwell", dtype))


@functools.partial(jit, static_argnums=(3, 4))
def _double_sided_maxwell(data, loc, scale, shape, dtype):
    maxwell_key, sign_key = split(data)
    sign = 2 * _bernoulli(sign_key, asarray(0.5, dtypes.default_float_dtype()), shape, "low").astype(dtype) - 1
    return sign * _maxwell(maxwell_key, shape, dtype) * scale + loc


def double_sided_maxwell(key: ArrayLike, loc: ArrayLike, scale: ArrayLike, shape: Shape = (),
                         dtype: DTypeLike | None = None) -> Array:
    """Maxwell floats with a random sign, scaled by `scale` and shifted by `loc`
    (the result's shape is `shape` followed by loc's and scale's)."""
    data = _one_key("double_sided_maxwell", key)
    dtype = _float_dtype("double_sided_maxwell", dtype)
    params = jnp.broadcast_shapes(np.shape(loc), np.shape(scale))
    shape = canonicalize_shape(shape) or params
    return _double_sided_maxwell(data, loc, scale, (*shape, *params), dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _wald(data, mean, shape, dtype):
    """Michael, Schucany and Haas's transform of a chi-square(1) draw y = v**2."""
    k1, k2 = split(data)
    mean = jnp.broadcast_to(convert(mean, dtype, False), shape)
    v, z = _normal(k1, shape, dtype), _uniform(k2, 0.0, 1.0, shape, dtype)
    y = v * v
    root = jnp.sqrt(4 * mean * y + (mean * mean) * (y * y))
    x = mean + (mean * mean) * y / 2 - mean / 2 * root
    return jnp.where(z <= mean / (mean + x), x, (mean * mean) / x)


def wald(key: ArrayLike, mean: ArrayLike, shape: Shape | None = None, dtype: DTypeLike | None = None) -> Array:
    """Wald (inverse Gaussian) floats of the given mean."""
    data = _one_key("wald", key)
    dtype = _float_dtype("wald", dtype)
    return _wald(data, mean, _shape_of("wald", shape, mean), dtype)


# ---------------------------------------------------------------------------
# Permutations and choices: sorts by random keys.

@functools.partial(jit, static_argnums=(2,))
def _shuffle(data, x, axis):
    """x permuted along `axis` by sorting it by random 32-bit keys, in enough
    rounds (fresh keys each) that ties are unlikely to survive all of them:
    ceil(3 ln(n) / ln(2**32 - 1)) rounds, JAX's rule (one up to n = 2**32/3)."""
    rounds = int(np.ceil(3 * np.log(max(1, x.size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        data, subkey = split(data)
        _, x = sort_key_val(random_bits(subkey, 32, x.shape), x, axis)
    return x


def permutation(key: ArrayLike, x: int | ArrayLike, axis: int = 0, independent: bool = False) -> Array:
    """A random permutation of arange(x), or of x along `axis` (each slice on
    its own with `independent`, else whole slices moved together)."""
    data = _one_key("permutation", key)
    check_arraylike("permutation", x)
    axis = canonicalize_axis("permutation", axis, np.ndim(x) or 1)
    if not np.ndim(x):
        if not dtypes.is_int(asarray(x).dtype):
            raise TypeError("x must be an integer or at least 1-dimensional")
        return _shuffle(data, jnp.arange(int(x)), axis)
    x = asarray(x)
    if independent or x.ndim == 1:
        return _shuffle(data, x, axis)
    return jnp.take(x, _shuffle(data, jnp.arange(x.shape[axis]), 0), axis)


def choice(key: ArrayLike, a: int | ArrayLike, shape: Shape = (), replace: bool = True,
           p: ArrayLike | None = None, axis: int = 0, mode: str | None = None) -> Array:
    """A random sample of `shape` from arange(a), or from a along `axis`:
    uniform (randint) or by probabilities `p` (inverse CDF) with replacement;
    a permutation's head, or the top-k of log p + Gumbel noise, without."""
    data = _one_key("choice", key)
    if not isinstance(shape, Sequence):
        raise TypeError(f"shape argument of jax.random.choice must be a sequence, got {shape}")
    check_arraylike("choice", a)
    arr = asarray(a)
    if arr.ndim == 0:
        n_inputs = int(a)
    else:
        axis = canonicalize_axis("choice", axis, arr.ndim)
        n_inputs = arr.shape[axis]
    shape = tuple(shape)
    n_draws = math.prod(shape)
    if n_draws == 0:
        return jnp.zeros(shape, dtype=arr.dtype)
    if n_inputs <= 0:
        raise ValueError("a must be greater than 0 unless no samples are taken")
    if not replace and n_draws > n_inputs:
        raise ValueError(f"Cannot take a larger sample (size {n_draws}) than population (size {n_inputs}) "
                         "when 'replace=False'")
    if p is None:
        if replace:
            index = randint(data, shape, 0, n_inputs)
            result = index if arr.ndim == 0 else jnp.take(arr, index, axis)
        else:
            head = (slice(None),) * axis + (slice(n_draws),)
            result = permutation(data, n_inputs if arr.ndim == 0 else arr, axis)[head]
    else:
        check_arraylike("choice", p)
        (p,) = promote_args_inexact("choice", p)
        if p.shape != (n_inputs,):
            raise ValueError("p must be None or a 1D vector with the same size as a.shape[axis]. "
                             f"p has shape {p.shape} and a.shape[axis] is {n_inputs}.")
        mode = None if replace else _gumbel_mode(mode)  # (only a draw without replacement takes Gumbel noise)
        index = _weighted_choice(data, p, shape, replace, n_draws, mode)
        result = index if arr.ndim == 0 else jnp.take(arr, index, axis)
    return result.reshape(shape if arr.ndim == 0 else arr.shape[:axis] + shape + arr.shape[axis + 1:])


@functools.partial(jit, static_argnums=(2, 3, 4, 5))
def _weighted_choice(data, p, shape, replace, n_draws, mode):
    """With replacement, the first i with cumsum(p)[i] >= r (searchsorted's
    left side: the count of cumsum(p) < r), r uniform in (0, sum p]; without,
    the top n_draws of log p + Gumbel noise."""
    if replace:
        cumulative = jnp.cumsum(p)
        r = cumulative[-1] * (1 - _uniform(data, 0.0, 1.0, shape, p.dtype))
        return jnp.sum(cumulative < r[..., None], axis=-1).astype(int)
    noise = _gumbel(data, p.shape, p.dtype, mode) + jnp.log(p)
    return top_k(noise, n_draws)[1].astype(int)


# ---------------------------------------------------------------------------
# Samplers built on a factorization.

def _svd_factor(cov):
    """U sqrt(s), with cov = U diag(s) Vᵀ: F Fᵀ = U diag(s) Uᵀ = cov for a symmetric PSD cov."""
    u, s, _ = jnp.linalg.svd(cov)
    return u * jnp.sqrt(s[..., None, :])


def _eigh_factor(cov):
    """V sqrt(w), with cov = V diag(w) Vᵀ: F Fᵀ = cov for a symmetric PSD cov."""
    w, v = jnp.linalg.eigh(cov)
    return v * jnp.sqrt(w[..., None, :])


_FACTORS = {  # method -> a factor F of the covariance: F F^T = cov
    "cholesky": lambda cov: jnp.linalg.cholesky(cov),
    "svd": _svd_factor,
    "eigh": _eigh_factor,
}


def multivariate_normal(key: ArrayLike, mean: ArrayLike, cov: ArrayLike, shape: Shape | None = None,
                        dtype: DTypeLike | None = None, method: str = "cholesky") -> Array:
    """Draws mean + F z, z standard normal, F a factor of `cov` (F F^T = cov)
    by `method`: "cholesky", "svd" (U sqrt(s)) or "eigh" (V sqrt(w)); the
    last two also take a singular cov."""
    data = _one_key("multivariate_normal", key)
    mean, cov = promote_args_inexact("multivariate_normal", mean, cov)
    if method not in _FACTORS:
        raise ValueError("method must be one of {'svd', 'eigh', 'cholesky'}")
    dtype = mean.dtype if dtype is None else _float_dtype("multivariate_normal", dtype)
    if mean.ndim < 1:
        raise ValueError(f"multivariate_normal requires mean.ndim >= 1, got mean.ndim == {mean.ndim}")
    if cov.ndim < 2:
        raise ValueError(f"multivariate_normal requires cov.ndim >= 2, got cov.ndim == {cov.ndim}")
    n = mean.shape[-1]
    if cov.shape[-2:] != (n, n):
        raise ValueError(f"multivariate_normal requires cov.shape == (..., n, n) for n={n}, but got "
                         f"cov.shape == {cov.shape}.")
    if shape is None:
        shape = jnp.broadcast_shapes(mean.shape[:-1], cov.shape[:-2])
    else:
        shape = canonicalize_shape(shape)
        _check_shape("normal", shape, mean.shape[:-1], cov.shape[:-2])
    return _multivariate_normal(data, mean, cov, tuple(shape), dtype, method)


@functools.partial(jit, static_argnums=(3, 4, 5))
def _multivariate_normal(data, mean, cov, shape, dtype, method):
    samples = _normal(data, shape + mean.shape[-1:], dtype)
    return mean + jnp.einsum("...ij,...j->...i", _FACTORS[method](cov), samples)


def orthogonal(key: ArrayLike, n: int, shape: Shape = (), dtype: DTypeLike | None = None,
               m: int | None = None) -> Array:
    """Matrices [*shape, n, m] (m = n by default) drawn uniformly from the
    orthogonal (or, complex, unitary) group, or with orthonormal rows (n < m)
    or columns (n > m): Q of a normal matrix Z = Q R, times the signs of
    diag(R), which makes the draw unique and its distribution uniform
    (Mezzadri 2007)."""
    data = _one_key("orthogonal", key)
    dtype = _normal_dtype(dtype)  # (JAX's check: its normal draw's)
    return _orthogonal(data, operator.index(n), operator.index(n if m is None else m), canonicalize_shape(shape),
                       dtype)


@functools.partial(jit, static_argnums=(1, 2, 3, 4))
def _orthogonal(data, n, m, shape, dtype):
    q, r = jnp.linalg.qr(_normal(data, (*shape, max(n, m), min(n, m)), dtype))
    x = q * jnp.sign(jnp.linalg.diagonal(r))[..., None, :]
    return jnp.matrix_transpose(x) if n < m else x


__all__ = ["bernoulli", "categorical", "cauchy", "choice", "double_sided_maxwell", "exponential", "geometric",
           "gumbel", "laplace", "logistic", "lognormal", "maxwell", "multivariate_normal", "normal", "orthogonal",
           "pareto", "permutation", "rademacher", "randint", "rayleigh", "triangular", "truncated_normal", "uniform",
           "wald", "weibull_min"]
