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
sqrt(2) erfinv(u). Each public function checks its arguments on the host, then calls a
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
from irax.frontend.control_flow import while_loop
from irax.frontend.custom_derivatives import custom_jvp
from irax.frontend.jit import jit
from irax.frontend.lax import bitcast_convert_type, stop_gradient
from irax.frontend.lax_sorting import sort_key_val, top_k
from irax.frontend.numpy.creation import canonicalize_shape
from irax.frontend.numpy.util import asarray, canonicalize_axis, check_arraylike, convert, promote_args_inexact
from irax.frontend.primitives.elementwise import broadcast_shapes
from irax.frontend.special import erf, erf_inv, lgamma, random_gamma_grad
from irax.frontend.vmap import vmap
from irax.scipy.special import softmax
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
        broadcast = broadcast_shapes(name, shape, *param_shapes)
        if broadcast != tuple(shape):
            raise ValueError(f"{name} parameter shapes must be broadcast-compatible with shape argument, and the "
                             "result of broadcasting the shapes must equal the shape argument, but got result "
                             f"{broadcast} for shape argument {tuple(shape)}.")


def _shape_of(name, shape, *params):
    """`shape`, or the parameters' broadcast shape where it is None."""
    if shape is None:
        return broadcast_shapes(name, (), *(np.shape(p) for p in params))
    shape = canonicalize_shape(shape)
    _check_shape(name, shape, *(np.shape(p) for p in params))
    return shape


def _one_key(name, key):
    return check_key(name, key)[0]


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
    """sqrt(2) erfinv(u), u uniform in (-1, 1): the inverse of the normal CDF."""
    lo = np.nextafter(np.array(-1.0, dtype), np.array(0.0, dtype))
    u = _uniform(data, lo, dtype.type(1.0), shape, dtype)
    return dtype.type(np.sqrt(2)) * erf_inv(u)


def normal(key: ArrayLike, shape: Shape = (), dtype: DTypeLike | None = None) -> Array:
    """Standard normal floats."""
    return _normal(_one_key("normal", key), canonicalize_shape(shape), _float_dtype("normal", dtype))


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
    smallest = np.array(direction * np.finfo(x.dtype).smallest_subnormal, x.dtype)
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
    span = jnp.where(maxval_out_of_range & (maxval > minval), span + unsigned.type(1), span)
    multiplier = jnp.remainder(unsigned.type(2 ** (nbits // 2)), span)
    multiplier = jnp.remainder(multiplier * multiplier, span)
    offset = jnp.remainder(higher, span) * multiplier + jnp.remainder(lower, span)
    return minval + convert(jnp.remainder(offset, span), dtype, False)


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


@functools.partial(jit, static_argnums=(1, 2, 3))
def _gumbel(data, shape, dtype, mode):
    """-log(-log(u)); mode "high" adds the bits of a second draw below u's
    resolution, for the tail near u = 0."""
    finfo = ml_dtypes.finfo(dtype)
    if mode == "high":
        high, low = _uniform(data, 0.0, 1.0, (2, *shape), dtype)
        x = jnp.where(high >= 0.5, high, high + dtype.type(2.0 ** -finfo.nmant) * low + dtype.type(finfo.tiny))
        return -jnp.log(-jnp.log1p(-x))
    return -jnp.log(-jnp.log(_uniform(data, dtype.type(finfo.tiny), dtype.type(1.0), shape, dtype)))


def gumbel(key: ArrayLike, shape: Shape = (), dtype: DTypeLike | None = None, mode: str | None = None) -> Array:
    """Gumbel floats: -log(-log(u))."""
    data = _one_key("gumbel", key)
    dtype = _float_dtype("gumbel", dtype)
    mode = "low" if mode is None else mode
    if mode == "highest":
        raise NotImplementedError("irax.random.gumbel has modes 'low' and 'high'; 'highest' is not in irax yet.")
    if mode not in ("high", "low"):
        raise ValueError(f"Must provide valid mode for gumbel got: {mode}")
    return _gumbel(data, canonicalize_shape(shape), dtype, mode)


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
    mode = "low" if mode is None else mode
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
    params = broadcast_shapes("double_sided_maxwell", np.shape(loc), np.shape(scale))
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
        index = _weighted_choice(data, p, shape, replace, n_draws, "low" if mode is None else mode)
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
# Gamma and the distributions built on it.

def _gamma_one(data, alpha, log_space):
    """One Gamma(alpha) draw by Marsaglia and Tsang's method ("A simple
    method for generating gamma variables", 2000), for alpha >= 1:

        d = alpha - 1/3,  c = 1 / (3 sqrt(d))
        repeat: x normal with v = (1 + c x)**3 > 0, u uniform,
        until u < 1 - 0.0331 x**4 or log(u) < x**2 / 2 + d (1 - v + log(v))
        sample = d v

    and Gamma(alpha) = Gamma(alpha + 1) u**(1 / alpha) below 1 (in log space,
    log(d v) + log(u) / alpha, which underflows far later). The loops, key
    splits and operation order are JAX's, so every draw is JAX's."""
    dtype = alpha.dtype
    zero, one = asarray(0, dtype), asarray(1, dtype)
    boost_mask = alpha >= one
    alpha_orig = alpha
    alpha = jnp.where(boost_mask, alpha, alpha + one)
    d = alpha - dtype.type(1 / 3)
    c = dtype.type(1 / 3) / jnp.sqrt(d)

    def rejected(state):
        _, x2, v, u = state
        squeeze = u >= one - dtype.type(0.0331) * (x2 * x2)
        return squeeze & (jnp.log(u) >= x2 * dtype.type(0.5) + d * (one - v + jnp.log(v)))

    def next_x(state):
        key, subkey = split(state[0])
        x = _normal(subkey, (), dtype)
        return key, x, one + x * c

    def propose(state):
        key, x_key, u_key = split(state[0], 3)
        _, x, v = while_loop(lambda s: s[2] <= zero, next_x, (x_key, zero, -one))
        return key, x * x, v * v * v, _uniform(u_key, 0.0, 1.0, (), dtype)

    key, subkey = split(data)
    _, _, v, _ = while_loop(rejected, propose, (key, zero, one, asarray(2, dtype)))
    if log_space:
        log_u = jnp.log1p(-_uniform(subkey, 0.0, 1.0, (), dtype))  # -exponential
        log_boost = jnp.where(boost_mask | (log_u == 0), zero, log_u * (one / alpha_orig))
        return jnp.log(d) + jnp.log(v) + log_boost
    boost = jnp.where(boost_mask, one, jnp.power(one - _uniform(subkey, 0.0, 1.0, (), dtype), one / alpha_orig))
    return d * v * boost


@functools.partial(jit, static_argnums=(2, 3, 4))
def _gamma(data, a, shape, dtype, log_space):
    """One key per element (split from `data`, as JAX splits), each drawing
    by `_gamma_one`; vmap runs the rejection loops until every one is done.

    The draws differentiate in `a` as JAX's do, by implicit
    reparameterization: a draw x is the quantile of a fixed probability
    u = P(a, x), so dx/da = -(dP/da) / (dP/dx) (lax.random_gamma_grad); in
    log space d(log x)/da = (dx/da) / x."""
    a = jnp.broadcast_to(convert(a, dtype, False), shape)
    size = math.prod(shape)
    if size == 0:
        return a

    @custom_jvp
    def draw(a):
        draws = vmap(functools.partial(_gamma_one, log_space=log_space))(split(data, size), a.reshape(size))
        return draws.reshape(shape)

    @draw.defjvp
    def reparameterized(primals, tangents):
        (a,), (a_dot,) = primals, tangents
        x = draw(a)
        if not log_space:
            return x, random_gamma_grad(a, x) * a_dot
        sample = jnp.exp(x)
        sample = jnp.where(sample == 0, jnp.finfo(dtype).tiny, sample)  # exp underflowed
        return x, random_gamma_grad(a, sample) / sample * a_dot

    return draw(a)


def gamma(key: ArrayLike, a: ArrayLike, shape: Shape | None = None, dtype: DTypeLike | None = None) -> Array:
    """Gamma(a) floats (unit scale)."""
    data = _one_key("gamma", key)
    dtype = _float_dtype("gamma", dtype)
    return _gamma(data, a, _shape_of("gamma", shape, a), dtype, False)


def loggamma(key: ArrayLike, a: ArrayLike, shape: Shape | None = None, dtype: DTypeLike | None = None) -> Array:
    """log of Gamma(a) floats, computed in log space (for small a)."""
    data = _one_key("loggamma", key)
    dtype = _float_dtype("gamma", dtype)
    return _gamma(data, a, _shape_of("loggamma", shape, a), dtype, True)


@functools.partial(jit, static_argnums=(3, 4))
def _beta(data, a, b, shape, dtype):
    """Ga / (Ga + Gb) for Ga ~ Gamma(a), Gb ~ Gamma(b), from their logs
    shifted by the larger (so that neither underflows)."""
    key_a, key_b = split(data)
    log_a = _gamma(key_a, a, shape, dtype, True)
    log_b = _gamma(key_b, b, shape, dtype, True)
    log_max = jnp.maximum(log_a, log_b)
    scaled_a, scaled_b = jnp.exp(log_a - log_max), jnp.exp(log_b - log_max)
    return scaled_a / (scaled_a + scaled_b)


def beta(key: ArrayLike, a: ArrayLike, b: ArrayLike, shape: Shape | None = None,
         dtype: DTypeLike | None = None) -> Array:
    """Beta(a, b) floats."""
    data = _one_key("beta", key)
    dtype = _float_dtype("beta", dtype)
    return _beta(data, a, b, _shape_of("beta", shape, a, b), dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _dirichlet(data, alpha, shape, dtype):
    return softmax(_gamma(data, alpha, (*shape, alpha.shape[-1]), dtype, True), axis=-1)


def dirichlet(key: ArrayLike, alpha: ArrayLike, shape: Shape | None = None, dtype: DTypeLike | None = None
              ) -> Array:
    """Dirichlet(alpha) vectors along the last axis: normalised Gamma draws
    (the softmax of their logs)."""
    data = _one_key("dirichlet", key)
    dtype = _float_dtype("dirichlet", dtype)
    alpha = asarray(alpha)
    if alpha.ndim < 1:
        raise ValueError(f"dirichlet requires alpha.ndim >= 1, got alpha.ndim == {alpha.ndim}")
    shape = alpha.shape[:-1] if shape is None else canonicalize_shape(shape)
    _check_shape("dirichlet", shape, alpha.shape[:-1])
    return _dirichlet(data, convert(alpha, dtype, False), shape, dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _chisquare(data, df, shape, dtype):
    return jnp.exp(_gamma(data, convert(df, dtype, False) / dtype.type(2), shape, dtype, True)) * dtype.type(2)


def chisquare(key: ArrayLike, df: ArrayLike, shape: Shape | None = None, dtype: DTypeLike | None = None) -> Array:
    """Chi-square floats with df degrees of freedom: 2 Gamma(df / 2)."""
    data = _one_key("chisquare", key)
    dtype = _float_dtype("chisquare", dtype)
    return _chisquare(data, df, _shape_of("chisquare", shape, df), dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _f(data, dfnum, dfden, shape, dtype):
    dfnum, dfden = convert(dfnum, dtype, False), convert(dfden, dtype, False)
    key_den, key_num = split(data)
    return (_chisquare(key_num, dfnum, shape, dtype) / dfnum) / (_chisquare(key_den, dfden, shape, dtype) / dfden)


def f(key: ArrayLike, dfnum: ArrayLike, dfden: ArrayLike, shape: Shape | None = None,
      dtype: DTypeLike | None = None) -> Array:
    """F floats: the ratio of two chi-squares, each over its degrees of freedom."""
    data = _one_key("f", key)
    dtype = _float_dtype("f", dtype)
    return _f(data, dfnum, dfden, _shape_of("f", shape, dfnum, dfden), dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _t(data, df, shape, dtype):
    df = convert(df, dtype, False)
    key_n, key_g = split(data)
    half_df = df / dtype.type(2)
    return _normal(key_n, shape, dtype) * jnp.sqrt(half_df / _gamma(key_g, half_df, shape, dtype, False))


def t(key: ArrayLike, df: ArrayLike, shape: Shape | None = None, dtype: DTypeLike | None = None) -> Array:
    """Student's t floats: z sqrt(df / (2 Gamma(df / 2)))."""
    data = _one_key("t", key)
    dtype = _float_dtype("t", dtype)
    return _t(data, df, _shape_of("t", shape, df), dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _generalized_normal(data, p, shape, dtype):
    """sign * Gamma(1/p)**(1/p): density proportional to exp(-|x|**p)."""
    gamma_key, sign_key = split(data)
    g = _gamma(gamma_key, 1 / p, shape, dtype, False)
    sign = 2 * _bernoulli(sign_key, asarray(0.5, dtypes.default_float_dtype()), shape, "low").astype(dtype) - 1
    return sign * g ** (1 / p)


def generalized_normal(key: ArrayLike, p: float, shape: Shape = (), dtype: DTypeLike | None = None) -> Array:
    """Generalized normal floats of power p (p = 2: normal / sqrt 2, p = 1: Laplace)."""
    data = _one_key("generalized_normal", key)
    dtype = dtypes.canonicalize_dtype(float if dtype is None else dtype)
    return _generalized_normal(data, p, canonicalize_shape(shape), dtype)


@functools.partial(jit, static_argnums=(2, 3, 4))
def _ball(data, p, d, shape, dtype):
    """Points uniform in the unit p-ball of R^d (Barthe, Guedon, Mendelson and
    Naor): g / (|g|_p**p + e)**(1/p), g generalized normal, e exponential."""
    k1, k2 = split(data)
    g = _generalized_normal(k1, p, (*shape, d), dtype)
    e = -jnp.log1p(-_uniform(k2, 0.0, 1.0, shape, dtype))
    return g / ((jnp.sum(jnp.abs(g) ** p, axis=-1) + e) ** (1 / p))[..., None]


def ball(key: ArrayLike, d: int, p: float = 2, shape: Shape = (), dtype: DTypeLike | None = None) -> Array:
    """Points drawn uniformly from the unit p-norm ball in d dimensions."""
    data = _one_key("ball", key)
    dtype = dtypes.canonicalize_dtype(float if dtype is None else dtype)
    return _ball(data, p, operator.index(d), canonicalize_shape(shape), dtype)


# ---------------------------------------------------------------------------
# Counts: Poisson and binomial, by rejection loops over the whole array (each
# round draws for every element; the loop ends when all are accepted).

def _poisson_knuth(data, lam, shape, dtype, max_iters):
    """Knuth's method: the number of uniforms whose product stays above
    exp(-lam), counted in log space. For lam < 10."""

    def more(state):
        i, _, _, log_prod = state
        return jnp.any(log_prod > -lam) & (i < max_iters)

    def draw(state):
        i, k, key, log_prod = state
        key, subkey = split(key)
        k = jnp.where(log_prod > -lam, k + 1, k)
        return i + 1, k, key, log_prod + jnp.log(_uniform(subkey, 0.0, 1.0, shape, np.dtype(np.float32)))

    state = (0, jnp.zeros(shape, dtype), data, jnp.zeros(shape, np.float32))
    return (while_loop(more, draw, state)[1] - 1).astype(dtype)


def _poisson_rejection(data, lam, shape, dtype, max_iters):
    """Hörmann's transformed rejection ("The transformed rejection method for
    generating Poisson random variables", 1993), for lam >= 10."""
    log_lam = jnp.log(lam)
    b = 0.931 + 2.53 * jnp.sqrt(lam)
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)

    def more(state):
        i, _, accepted, _ = state
        return jnp.any(~accepted) & (i < max_iters)

    def draw(state):
        i, k_out, accepted, key = state
        key, key_u, key_v = split(key, 3)
        u = _uniform(key_u, 0.0, 1.0, shape, lam.dtype) - 0.5
        v = _uniform(key_v, 0.0, 1.0, shape, lam.dtype)
        u_shifted = 0.5 - jnp.abs(u)
        k = jnp.floor((2 * a / u_shifted + b) * u + lam + 0.43)
        s = jnp.log(v * inv_alpha / (a / (u_shifted * u_shifted) + b))
        t = -lam + k * log_lam - lgamma(k + 1)
        accept1 = (u_shifted >= 0.07) & (v <= v_r)
        reject = (k < 0) | ((u_shifted < 0.013) & (v > u_shifted))
        accept = accept1 | (~reject & (s <= t))
        return i + 1, jnp.where(accept, k, k_out), accepted | accept, key

    state = (0, jnp.full(shape, -1, lam.dtype), jnp.zeros(shape, bool), data)
    return while_loop(more, draw, state)[1].astype(dtype)


@functools.partial(jit, static_argnums=(2, 3))
def _poisson(data, lam, shape, dtype):
    """Knuth's method below lam = 10, rejection above (as TensorFlow and
    NumPy), both run on the whole array and selected."""
    use_knuth = jnp.isnan(lam) | (lam < 10)
    lam_knuth = jnp.where(use_knuth, lam, 0.0)
    lam_rejection = jnp.where(use_knuth, 1e5, lam)
    max_iters = dtype.type(np.iinfo(dtype).max)
    result = jnp.where(use_knuth, _poisson_knuth(data, lam_knuth, shape, dtype, max_iters),
                       _poisson_rejection(data, lam_rejection, shape, dtype, max_iters))
    return jnp.where(lam == 0, jnp.zeros_like(result), result)


def poisson(key: ArrayLike, lam: ArrayLike, shape: Shape | None = None, dtype: DTypeLike | None = None) -> Array:
    """Poisson(lam) integers."""
    data = _one_key("poisson", key)
    dtype = dtypes.canonicalize_dtype(int if dtype is None else dtype)
    shape = np.shape(lam) if shape is None else canonicalize_shape(shape)
    lam = jnp.broadcast_to(lam, shape).astype(np.float32)
    return _poisson(data, lam, shape, dtype)


_STIRLING_TAIL = [0.0810614667953272, 0.0413406959554092, 0.0276779256849983, 0.02079067210376509,
                  0.0166446911898211, 0.0138761288230707, 0.0118967099458917, 0.0104112652619720,
                  0.00925546218271273, 0.00833056343336287]


def _stirling_tail(k):
    """log(k!) - Stirling's approximation of it: tabulated for k <= 9, else
    the series 1/12 - (1/360 - 1/1260 / (k+1)**2) / (k+1)**2, over k + 1."""
    table = jnp.array(_STIRLING_TAIL, dtype=k.dtype)
    clamped = jnp.clip(k, 0.0, 9.0)
    kp1sq = (clamped + 1) * (clamped + 1)
    approx = (1.0 / 12 - (1.0 / 360 - 1.0 / 1260 / kp1sq) / kp1sq) / (clamped + 1)
    return jnp.where(k <= 9, table[jnp.floor(clamped).astype(np.int32)], approx)


def _binomial_inversion(data, count, prob, shape, dtype, max_iters):
    """The number of geometric(prob) waiting times that fit in count trials."""
    log1minusprob = jnp.log1p(-prob)

    def more(state):
        i, _, geom_sum, _ = state
        return jnp.any(geom_sum <= count) & (i < max_iters)

    def draw(state):
        i, num_geom, geom_sum, key = state
        subkey, key = split(key)
        num_geom = jnp.where(geom_sum <= count, num_geom + 1, num_geom)
        geom = jnp.ceil(jnp.log(_uniform(subkey, 0.0, 1.0, shape, prob.dtype)) / log1minusprob)
        return i + 1, num_geom, geom_sum + geom, key

    zeros = jnp.zeros(shape, prob.dtype)
    return (while_loop(more, draw, (0, zeros, zeros, data))[1] - 1).astype(dtype)


def _btrs(data, count, prob, shape, dtype, max_iters):
    """Hörmann's BTRS transformed rejection ("The generation of binomial
    random variates", 1993), for count * prob > 10."""
    stddev = jnp.sqrt(count * prob * (1 - prob))
    b = 1.15 + 2.53 * stddev
    a = -0.0873 + 0.0248 * b + 0.01 * prob
    c = count * prob + 0.5
    v_r = 0.92 - 4.2 / b
    r = prob / (1 - prob)
    alpha = (2.83 + 5.1 / b) * stddev
    m = jnp.floor((count + 1) * prob)

    def more(state):
        i, _, accepted, _ = state
        return jnp.any(~accepted) & (i < max_iters)

    def draw(state):
        i, k_out, accepted, key = state
        key, key_u, key_v = split(key, 3)
        u = _uniform(key_u, 0.0, 1.0, shape, prob.dtype) - 0.5
        v = _uniform(key_v, 0.0, 1.0, shape, prob.dtype)
        us = 0.5 - jnp.abs(u)
        accept1 = (us >= 0.07) & (v <= v_r)
        k = jnp.floor((2 * a / us + b) * u + c)
        reject = (k < 0) | (k > count)
        v = jnp.log(v * alpha / (a / (us * us) + b))
        bound = ((m + 0.5) * jnp.log((m + 1) / (r * (count - m + 1)))
                 + (count + 1) * jnp.log((count - m + 1) / (count - k + 1))
                 + (k + 0.5) * jnp.log(r * (count - k + 1) / (k + 1))
                 + _stirling_tail(m) + _stirling_tail(count - m) - _stirling_tail(k) - _stirling_tail(count - k))
        accept = accept1 | (~reject & (v <= bound))
        return i + 1, jnp.where(accept, k, k_out), accepted | accept, key

    state = (0, jnp.full(shape, -1, prob.dtype), jnp.zeros(shape, bool), data)
    return while_loop(more, draw, state)[1].astype(dtype)


@functools.partial(jit, static_argnums=(3, 4))
def _binomial(data, count, prob, shape, dtype):
    """Inversion where count * q <= 10 (q = min(p, 1 - p)), BTRS above, as
    TensorFlow; p > 1/2 draws count - Binomial(count, 1 - p). NaN for a NaN
    or negative count or an invalid p, inf for an infinite count."""
    count = jnp.broadcast_to(convert(count, prob.dtype, False), shape)
    prob = jnp.broadcast_to(prob, shape)
    p_lt_half = prob < 0.5
    q = jnp.where(p_lt_half, prob, 1.0 - prob)
    count_nan_or_neg = jnp.isnan(count) | (count < 0.0)
    count_inf = jnp.isinf(count)
    q_is_nan, q_l_0 = jnp.isnan(q), q < 0.0
    q = jnp.where(q_is_nan | q_l_0, 0.01, q)
    use_inversion = count_nan_or_neg | (count * q <= 10.0)
    count = jnp.floor(count)
    count_inv = jnp.where(use_inversion, count, 0.0)
    count_btrs = jnp.where(use_inversion, 1e4, count)
    q_btrs = jnp.where(use_inversion, 0.5, q)
    max_iters = dtype.type(ml_dtypes.finfo(dtype).max)
    samples = jnp.where(use_inversion, _binomial_inversion(data, count_inv, q, shape, dtype, max_iters),
                        _btrs(data, count_btrs, q_btrs, shape, dtype, max_iters))
    invalid = q_l_0 | q_is_nan | count_nan_or_neg
    samples = jnp.where(invalid, dtype.type(np.nan), samples)
    samples = jnp.where(count_inf & ~invalid, dtype.type(np.inf), samples)
    return jnp.where(p_lt_half | count_nan_or_neg | q_is_nan | count_inf, samples, count.astype(dtype) - samples)


def binomial(key: ArrayLike, n: ArrayLike, p: ArrayLike, shape: Shape | None = None,
             dtype: DTypeLike | None = None) -> Array:
    """Binomial(n, p) counts, as floats of `dtype`."""
    data = _one_key("binomial", key)
    check_arraylike("binomial", n, p)
    dtype = _float_dtype("binomial", dtype)
    shape = _shape_of("binomial", shape, n, p)
    (p,) = promote_args_inexact("binomial", p)
    return _binomial(data, n, p, shape, dtype)


# ---------------------------------------------------------------------------
# Samplers built on a factorization.

_FACTORS = {  # method -> a factor F of the covariance: F F^T = cov
    "cholesky": lambda cov: jnp.linalg.cholesky(cov),
}


def multivariate_normal(key: ArrayLike, mean: ArrayLike, cov: ArrayLike, shape: Shape | None = None,
                        dtype: DTypeLike | None = None, method: str = "cholesky") -> Array:
    """Draws mean + F z, z standard normal, F a factor of `cov` (F F^T = cov)
    by `method`: "cholesky" ("eigh" and "svd", for a singular cov, need
    factorizations irax does not have yet)."""
    data = _one_key("multivariate_normal", key)
    mean, cov = promote_args_inexact("multivariate_normal", mean, cov)
    if method not in {"svd", "eigh", "cholesky"}:
        raise ValueError("method must be one of {'svd', 'eigh', 'cholesky'}")
    if method not in _FACTORS:
        raise NotImplementedError(f"irax.random.multivariate_normal(method={method!r}) needs jnp.linalg.{method}, "
                                  "which irax does not have yet; use method='cholesky'")
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
        shape = broadcast_shapes("multivariate_normal", mean.shape[:-1], cov.shape[:-2])
    else:
        shape = canonicalize_shape(shape)
        _check_shape("normal", shape, mean.shape[:-1], cov.shape[:-2])
    return _multivariate_normal(data, mean, cov, tuple(shape), dtype, method)


@functools.partial(jit, static_argnums=(3, 4, 5))
def _multivariate_normal(data, mean, cov, shape, dtype, method):
    samples = _normal(data, shape + mean.shape[-1:], dtype)
    return mean + jnp.einsum("...ij,...j->...i", _FACTORS[method](cov), samples)


__all__ = ["ball", "bernoulli", "beta", "binomial", "categorical", "cauchy", "chisquare", "choice", "dirichlet",
           "double_sided_maxwell", "exponential", "f", "gamma", "generalized_normal", "geometric", "gumbel", "laplace",
           "loggamma", "logistic", "lognormal", "maxwell", "multivariate_normal", "normal", "pareto", "permutation", "poisson", "rademacher",
           "randint", "rayleigh", "t", "triangular", "truncated_normal", "uniform", "wald", "weibull_min"]
