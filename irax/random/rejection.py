"""The samplers of `irax.random` that draw by rejection loops, with JAX's
algorithms, loops and key splits, so that the same key gives the same
numbers: Gamma (Marsaglia and Tsang) and the distributions built on it
(loggamma, beta, dirichlet, chisquare, f, t, generalized_normal, ball), and
the counts, Poisson, binomial and multinomial (a chain of binomials). The
uniform and normal draws they start from are samplers.py's.
"""
from __future__ import annotations

import functools
import math
import operator

import ml_dtypes
import numpy as np

import irax.numpy as jnp
from irax.frontend import dtypes
from irax.frontend.control_flow import scan, while_loop
from irax.frontend.custom_derivatives import custom_jvp
from irax.frontend.jit import jit
from irax.frontend.numpy.creation import canonicalize_shape
from irax.frontend.numpy.util import asarray, check_arraylike, convert, promote_args_inexact
from irax.frontend.special import lgamma, random_gamma_grad
from irax.frontend.vmap import vmap
from irax.scipy.special import softmax
from irax.random.keys import split
from irax.random.samplers import _bernoulli, _check_shape, _float_dtype, _normal, _one_key, _shape_of, _uniform
from irax.typing import Array, ArrayLike, DTypeLike, Shape

__all__ = ["ball", "beta", "binomial", "chisquare", "dirichlet", "f", "gamma", "generalized_normal", "loggamma",
           "multinomial", "poisson", "t"]


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
    if size == 0:  # (not `a`, which keeps a weak type a draw does not have)
        return jnp.zeros(shape, dtype)

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
    dtype = _float_dtype("gamma", dtype)  # (JAX's check: its Gamma draw's)
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
    dtype = _float_dtype("gamma", dtype)  # (JAX's check: its Gamma draw's)
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
# Multinomial: a chain of binomials.

_SCAN_BASE = 16  # the longest running sum XLA's CPU backend computes as one window


def _reverse_cumsum(x):
    """Running sums from the end along axis 0, rounded as XLA's CPU backend
    rounds jax.lax.cumsum(x, reverse=True): a window of L <= 16 sums each
    output left to right, out_i = (...((x_i + x_{i+1}) + x_{i+2}) ...) + x_{L-1};
    a longer one is padded with zeros to rows of 16, summed so within each
    row, and each row's sums get the (recursive) sum of the rows after it,
    carried by the rows' first sums (XLA's ReduceWindowRewriter)."""
    n = x.shape[0]
    if n <= _SCAN_BASE:
        position = jnp.arange(n).reshape((n,) + (1,) * (x.ndim - 1))
        out = jnp.zeros_like(x)
        for j in range(n):  # out_i gains x_j for every i <= j, in order of j
            out = jnp.where(position <= j, out + x[j], out)
        return out
    rows = -(-n // _SCAN_BASE)
    padded = jnp.pad(x, [(0, rows * _SCAN_BASE - n)] + [(0, 0)] * (x.ndim - 1))
    tiles = jnp.reshape(padded, (rows, _SCAN_BASE) + x.shape[1:]).swapaxes(0, 1)  # (16, rows, ...)
    within = _reverse_cumsum(tiles)
    after = jnp.concatenate([_reverse_cumsum(within[0])[1:], jnp.zeros_like(within[0][:1])])
    return jnp.reshape((within + after).swapaxes(0, 1), padded.shape)[:n]


@functools.partial(jit, static_argnums=(3, 4, 5))
def _multinomial(data, n, p, shape, dtype, unroll):
    """Outcome i takes Binomial(trials left, p_i / (p_i + ... + p_last)) of
    the trials the outcomes before it left (JAX's chain, one key each)."""
    n = jnp.broadcast_to(n, shape[:-1])
    p = jnp.moveaxis(jnp.broadcast_to(p, shape), -1, 0)
    remaining = _reverse_cumsum(p)
    ratios = p / jnp.where(remaining == 0, 1, remaining)

    def draw(left, ratio_and_key):
        ratio, key = ratio_and_key
        count = _binomial(key, left, jnp.clip(ratio, 0, 1), left.shape, left.dtype)
        return left - count, count

    _, counts = scan(draw, n, (ratios, split(data, ratios.shape[0])), unroll=unroll)
    return jnp.moveaxis(counts, 0, -1).astype(dtype)


def multinomial(key: ArrayLike, n: ArrayLike, p: ArrayLike, *, shape: Shape | None = None,
                dtype: DTypeLike | None = None, unroll: int | bool = 1) -> Array:
    """Counts of each outcome (the last axis of `p`) in `n` trials. `shape`,
    if given, is the whole result's, as JAX's code reads it (its docstring
    says the batch shape); `unroll` is the scan's."""
    data = _one_key("multinomial", key)
    n, p = promote_args_inexact("multinomial", n, p)
    shape = p.shape if shape is None else canonicalize_shape(shape)
    dtype = dtypes.canonicalize_dtype(float if dtype is None else dtype)
    return _multinomial(data, n, p, shape, dtype, unroll)
