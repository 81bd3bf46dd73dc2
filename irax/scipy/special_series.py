"""The functions of `irax.scipy.special` computed by series, recurrences and
quadrature (hyp1f1, hyp2f1, bessel_jn, owens_t, sph_harm_y, bernoulli), by
JAX's algorithms (Pearson, Olver & Porter 2014 for the hypergeometric
functions, Miller's backward recurrence for Bessel J, Patefield & Tandy's
T5 for Owen's T, the normalized Legendre recurrences for the spherical
harmonics, Chowla & Hartung for Bernoulli numbers).

JAX runs each element's series as a loop of its own (vectorize); here one
loop runs over the whole array, each element stepping until its own test
says stop (special_integrals.masked_while), which gives the same values.
The derivatives are JAX's rules (custom_jvp): series in the parameters,
and the contiguous function's shift in x.
"""
from __future__ import annotations

import math
import operator

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend import dtypes
from irax.frontend.custom_derivatives import custom_jvp
from irax.scipy.special_gamma import gamma
from irax.scipy.special_integrals import masked_while, promote_strong
from irax.typing import Array, ArrayLike

_TERMS = 250  # the most terms any of these series sums, as in JAX


def _real(name, *args):
    args = promote_strong(name, *args)
    if dtypes.is_complex(args[0].dtype):
        raise ValueError(f"{name} does not support complex-valued inputs.")
    return jnp.broadcast_arrays(*args)


def _sum_terms(start, first, ratio, weight, x):
    """start + sum_k weight(k) t_k over k >= 1, t_1 = first, t_(k+1) = t_k ratio(k),
    until |t_k| <= eps |sum| (or _TERMS terms): the hypergeometric series
    and the series in a parameter that JAX differentiates them by."""
    eps = jnp.finfo(x.dtype).eps

    def body(s):
        total, k, term = s
        return total + term * weight(k), k + 1, term * ratio(k)

    state = (jnp.full_like(x, start), jnp.ones_like(x), first)
    return masked_while(lambda s: (s[1] < _TERMS) & (jnp.abs(s[2]) / jnp.abs(s[0]) > eps), body, state, _TERMS)[0]


# --- hyp1f1: sum_k (a)_k / (b)_k x^k / k! -----------------------------------

def _hyp1f1_series(a, b, x):
    """The Taylor series, for |x| < 100."""
    return _sum_terms(1, a / b * x, lambda k: (a + k) / (b + k) * x / (k + 1), lambda k: 1, x)


def _hyp1f1_asymptotic(a, b, x):
    """For |x| >= 100: Gamma(b)/Gamma(a) e^x x^(a-b) sum_k (b-a)_k (1-a)_k / (k! x^k)."""
    total = _sum_terms(1, (b - a) * (1 - a) / x, lambda k: (b - a + k) * (1 - a + k) / (k + 1) / x, lambda k: 1, x)
    return gamma(b) / gamma(a) * jnp.exp(x) * x ** (a - b) * total


@custom_jvp
def _hyp1f1(a, b, x):
    value = jnp.where(jnp.abs(x) < 100, _hyp1f1_series(a, b, x), _hyp1f1_asymptotic(a, b, x))
    nonzero = a != 0
    return jnp.where(a == 0, 1.0, jnp.where((a == b) & nonzero, jnp.exp(x),
                                            jnp.where((b == 0) & nonzero, np.inf, value)))


@_hyp1f1.defjvp
def _hyp1f1_jvp(primals, tangents):
    """d/da = sum_k (a)_k/(b)_k x^k/k! (psi(a+k) - psi(a)), d/db likewise with
    psi(b) - psi(b+k), d/dx = a/b 1F1(a+1, b+1, x)."""
    (a, b, x), (da, db, dx) = primals, tangents
    ratio = lambda k: (a + k) / (b + k) * x / (k + 1)  # noqa: E731
    d_a = _sum_terms(0, a / b * x, ratio, lambda k: lax.digamma(a + k) - lax.digamma(a), x)
    d_b = _sum_terms(0, a / b * x, ratio, lambda k: lax.digamma(b) - lax.digamma(b + k), x)
    d_x = a / b * _hyp1f1(a + 1, b + 1, x)
    return _hyp1f1(a, b, x), d_a * da + d_b * db + d_x * dx


def hyp1f1(a: ArrayLike, b: ArrayLike, x: ArrayLike) -> Array:
    """Kummer's confluent hypergeometric 1F1(a; b; x), real arguments; 1 at a = b = 0 (SciPy's is NaN)."""
    return _hyp1f1(*_real("hyp1f1", a, b, x))


# --- hyp2f1: sum_k (a)_k (b)_k / (c)_k x^k / k! ------------------------------

def _near_integer(v, eps):
    return jnp.abs(v - jnp.round(v)) < eps


def _hyp2f1_series(a, b, c, x):
    """The Taylor series, to relative eps."""
    eps = jnp.finfo(x.dtype).eps
    state = (jnp.zeros_like(x), jnp.ones_like(x), jnp.ones_like(x))

    def body(s):
        total, k, term = s
        return total + term, k + 1, term * (a + k - 1) * (b + k - 1) / (c + k - 1) / k * x

    return masked_while(lambda s: (s[1] < _TERMS) & (jnp.abs(s[2]) > eps * jnp.abs(s[0])), body, state, _TERMS)[0]


def _hyp2f1_terminal(a, b, c, x, chosen):
    """The series that ends, a (or b) a non-positive integer: -a terms,
    counting with the parameter of larger size that keeps (c)_k nonzero."""
    eps = jnp.finfo(x.dtype).eps * 50
    swap = (b < a) & _near_integer(b, eps) & ~((jnp.remainder(c, 1) == 0) & (c <= 0) & (c > b))
    a, b = jnp.abs(jnp.where(swap, b, a)), jnp.where(swap, a, b)
    one = jnp.ones_like(x)

    def body(s):
        i, total, term = s
        term = term * -(a - i + 1) / (c + i - 1) * (b + i - 1) / i * x
        return i + 1, total + term, term

    return masked_while(lambda s: chosen & (s[0] < a + 1), body, (one, one, one), 2 ** 16)[1]


def _hyp2f1_digamma(a, b, c, x, chosen):
    """Near x = 1 with c - a - b = d near an integer: AMS55 15.3.10-12, the
    digamma series in 1 - x (and a finite sum of |d| terms)."""
    eps = jnp.finfo(x.dtype).eps
    d = c - a - b
    s = 1 - x
    rd = jnp.round(d)
    up = rd >= 0
    e = jnp.where(up, d, -d)
    d1, d2 = jnp.where(up, d, 0), jnp.where(up, 0, d)
    ard = jnp.abs(rd)
    log_s = jnp.log(s)
    psi = lax.digamma
    y = (psi(jnp.ones_like(x)) + psi(1 + e) - psi(a + d1) - psi(b + d1) - log_s) / gamma(e + 1)
    p = (a + d1) * (b + d1) * s / gamma(e + 2)

    def body(state):
        p, _, t, y = state
        q = p * (psi(1 + t) + psi(1 + t + e) - psi(a + t + d1) - psi(b + t + d1) - log_s)
        p = p * s * (a + t + d1) / (t + 1) * (b + t + d1) / (t + 1 + e)
        return p, q, t + 1, y + q

    state = (p, y, jnp.ones_like(x), y)
    y = masked_while(lambda st: chosen & (st[2] < _TERMS) & (jnp.abs(st[1]) >= eps * jnp.abs(st[3])), body, state,
                     _TERMS)[3]

    def finite_body(state):
        i, p, t, total = state
        p = p * s * (a + t + d2) * (b + t + d2) / (1 - e + t) / (t + 1)
        return i + 1, p, t + 1, total + p

    one = jnp.ones_like(x)
    y1 = masked_while(lambda st: chosen & (st[0] < ard), finite_body, (one, one, jnp.zeros_like(x), one), 2 ** 16)[3]
    gamma_c = gamma(c)
    y1 = y1 * gamma(e) * gamma_c / (gamma(a + d1) * gamma(b + d1))
    y_sum = y * gamma_c / (gamma(a + d2) * gamma(b + d2))
    y_sum = jnp.where(jnp.remainder(ard, 2) == 1, -y_sum, y_sum)
    q = s ** rd
    summed = jnp.where(rd > 0, y_sum * q + y1, y_sum + y1 * q)
    return jnp.where(rd == 0, y * gamma_c / (gamma(a) * gamma(b)), summed)


def _hyp2f1_any(a, b, c, x, chosen):
    """The series, the terminating series (a or b a non-positive integer), or
    near x = 1 with c - a - b near an integer the digamma transform."""
    eps = jnp.finfo(x.dtype).eps * 50
    ends = ((a <= 0) & _near_integer(a, eps)) | ((b <= 0) & _near_integer(b, eps))
    digamma_case = (x > 0.9) & ~ends & _near_integer(c - a - b, eps)
    return jnp.where(ends, _hyp2f1_terminal(a, b, c, x, chosen & ends),
                     jnp.where(digamma_case, _hyp2f1_digamma(a, b, c, x, chosen & digamma_case),
                               _hyp2f1_series(a, b, c, x)))


@custom_jvp
def _hyp2f1(a, b, c, x):
    """JAX's cases, the first that holds winning: 1 at x = 0 or a or b = 0
    (c != 0); inf at c a non-positive integer; Euler's transformation
    (1-x)^d 2F1(c-a, c-b; c; x) for d = c - a - b <= -1; inf for d <= 0 at
    x = 1; (1-x)^-a for b = c and (1-x)^-b for a = c (x < 1); inf for x > 1;
    Gauss's Gamma(c)Gamma(d)/(Gamma(c-a)Gamma(c-b)) at x = 1; else the series."""
    eps = jnp.finfo(x.dtype).eps * 50
    d = c - a - b
    s = 1 - x
    euler = (d <= -1) & ~(~_near_integer(d, eps) & (s < 0))
    # One evaluation serves both: of 2F1(a, b) or, in Euler's case, of 2F1(c-a, c-b)
    series = _hyp2f1_any(jnp.where(euler, c - a, a), jnp.where(euler, c - b, b), c, x, jnp.ones_like(x, dtype=bool))
    cases = [
        ((x == 0) | (((a == 0) | (b == 0)) & (c != 0)), 1.0),
        ((c == 0) | ((c < 0) & (jnp.remainder(c, 1) == 0)), np.inf),
        (euler, s ** d * series),
        ((d <= 0) & (x == 1), np.inf),
        ((x < 1) & (b == c), s ** -a),
        ((x < 1) & (a == c), s ** -b),
        (x > 1, np.inf),
        (x == 1, gamma(c) * gamma(d) / (gamma(c - a) * gamma(c - b))),
    ]
    out = series
    for condition, value in reversed(cases):
        out = jnp.where(condition, value, out)
    return out


@_hyp2f1.defjvp
def _hyp2f1_jvp(primals, tangents):
    """d/da = sum_k (a)_k (b)_k/(c)_k x^k/k! (psi(a+k) - psi(a)), likewise in b
    and (psi(c) - psi(c+k)) in c; d/dx = ab/c 2F1(a+1, b+1; c+1; x)."""
    (a, b, c, x), (da, db, dc, dx) = primals, tangents
    first = a * b / c * x
    ratio = lambda k: (a + k) * (b + k) / (c + k) / (k + 1) * x  # noqa: E731
    psi = lax.digamma
    d_a = _sum_terms(0, first, ratio, lambda k: psi(a + k) - psi(a), x)
    d_b = _sum_terms(0, first, ratio, lambda k: psi(b + k) - psi(b), x)
    d_c = _sum_terms(0, first, ratio, lambda k: psi(c) - psi(c + k), x)
    d_x = a * b / c * _hyp2f1(a + 1, b + 1, c + 1, x)
    return _hyp2f1(a, b, c, x), d_a * da + d_b * db + d_c * dc + d_x * dx


def hyp2f1(a: ArrayLike, b: ArrayLike, c: ArrayLike, x: ArrayLike) -> Array:
    """Gauss's hypergeometric 2F1(a, b; c; x), real arguments."""
    return _hyp2f1(*_real("hyp2f1", a, b, c, x))


# --- bessel_jn: J_0 ... J_v by Miller's backward recurrence -------------------

def bessel_jn(z: ArrayLike, *, v: int, n_iter: int = 50) -> Array:
    """J_0(z) ... J_v(z), shape (v + 1, *z.shape): f_k = 2(k+1)/z f_(k+1) -
    f_(k+2) from f_(n_iter+1) = 0, f_(n_iter) = 1e-16 down to k = 0, scaled
    so that f_0 + 2 f_2 + 2 f_4 + ... = 1 (Zhang & Jin's BJNDD). n_iter
    must grow with |z| (JAX's rule of thumb in its docstring)."""
    (z,) = promote_strong("bessel_jn", z)
    if dtypes.is_complex(z.dtype):
        raise ValueError("complex input not supported.")
    v, n_iter = operator.index(v), int(n_iter)

    def step(carry, k):
        f0, f1, even_sum = carry
        f = 2 * (k + 1) * f1 / z - f0
        even_sum = jnp.where(jnp.remainder(k, 2) == 0, even_sum + 2 * f, even_sum)
        return (f1, f, even_sum), f

    init = (jnp.zeros_like(z), jnp.full_like(z, 1e-16), jnp.zeros_like(z))
    (_, _, even_sum), fs = lax.scan(step, init, jnp.arange(n_iter + 1, dtype=z.dtype), reverse=True)
    return fs[:v + 1] / (even_sum - fs[0])


# --- owens_t: T(h, a) = 1/(2 pi) int_0^a exp(-h^2 (1 + t^2)/2) / (1 + t^2) dt --

# 13-point Gauss quadrature of the integral in t = u^2/a^2 (Patefield & Tandy
# 2000, T5), its 1/(2 pi) and Jacobian folded into the weights.
_OWENS_T_POINTS = np.array([
    0.0035082039676451715, 0.031279042338030754, 0.085266826283219451, 0.16245071730812277, 0.25851196049125435,
    0.36807553840697534, 0.48501092905604697, 0.60277514152618577, 0.71477884217753227, 0.81475510988760099,
    0.89711029755948966, 0.95723808085944262, 0.99178832974629704])
_OWENS_T_WEIGHTS = np.array([
    0.018831438115323503, 0.018567086243977649, 0.018042093461223386, 0.017263829606398753, 0.016243219975989857,
    0.014994592034116705, 0.013535474469662088, 0.011886351605820165, 0.010070377242777432, 0.0081130545742299587,
    0.0060419009528470239, 0.0038862217010742058, 0.0016793031084546090])


def _owens_t_quadrature(h, a):
    """The tables are float64 NumPy arrays, as JAX's: float16 arguments give float32."""
    r = (a * a)[..., None] * _OWENS_T_POINTS
    integrand = jnp.exp(-0.5 * (h * h)[..., None] * (1 + r)) / (1 + r)
    return a * jnp.sum(integrand * _OWENS_T_WEIGHTS, axis=-1)


@custom_jvp
def _owens_t(h, a):
    """Odd in a, even in h; for |a| > 1 by T(h, a) = (Phi-terms) - T(a h, 1/a);
    exact at h = 0 (atan(a)/(2 pi)) and a = 1 (erfc products / 8)."""
    sqrt2 = math.sqrt(2)
    h_abs, a_abs = jnp.abs(h), jnp.abs(a)
    small = a_abs <= 1
    a_mod, h_mod = jnp.where(small, a_abs, 1 / a_abs), jnp.where(small, h_abs, a_abs * h_abs)
    t = _owens_t_quadrature(h_mod, a_mod)
    t = jnp.where(h_mod == 0, jnp.arctan(a_mod) / (2 * math.pi), t)
    t = jnp.where(a_mod == 1, 0.125 * lax.erfc(-h_mod / sqrt2) * lax.erfc(h_mod / sqrt2), t)
    h_normed = h_abs / sqrt2
    tail_h, tail_ah = lax.erfc(h_normed), lax.erfc(a_abs * h_normed)
    reflected = jnp.where(a_abs * h_abs <= 0.67, 0.25 - 0.25 * lax.erf(h_normed) * lax.erf(a_abs * h_normed) - t,
                          0.25 * (tail_h + tail_ah - tail_h * tail_ah) - t)
    t = jnp.copysign(jnp.where(small, t, reflected), a)  # (sign(a) * t lost -0's sign: sign(-0) is 0, as NumPy's)
    return jnp.where(jnp.isnan(a) | jnp.isnan(h), np.nan, t)


@_owens_t.defjvp
def _owens_t_jvp(primals, tangents):
    """dT/dh = -exp(-h^2/2) erf(a h/sqrt 2) / (2 sqrt(2 pi)),
    dT/da = exp(-(1 + a^2) h^2/2) / (2 pi (1 + a^2))."""
    (h, a), (dh, da) = primals, tangents
    d_h = -jnp.exp(-0.5 * h * h) * lax.erf(a * h / math.sqrt(2)) / (2 * math.sqrt(2 * math.pi))
    d_a = jnp.exp(-0.5 * (a * a + 1) * h * h) / (2 * math.pi * (a * a + 1))
    out = _owens_t(h, a)
    return out, (d_h * dh + d_a * da).astype(out.dtype)


def owens_t(h: ArrayLike, a: ArrayLike) -> Array:
    """Owen's T function, 1/(2 pi) int_0^a exp(-h^2 (1 + x^2)/2) / (1 + x^2) dx."""
    return _owens_t(*_real("owens_t", h, a))


# --- sph_harm_y: Y_n^m(theta, phi) = N_n^m P_n^m(cos theta) e^(i m phi) -------

def _normalized_legendre(n, m, x, y, n_max):
    """Each point's normalized associated Legendre function P_n^m(x) (m >= 0,
    0 for m > n; y = sqrt(1 - x^2)), by JAX's recurrences, along the column m of each point:
    P_0^0 = 1/(2 sqrt(pi)), P_m^m = P_0^0 prod_{a<=m} (-sqrt(1 + 1/(2a))) (1 - x^2)^(m/2),
    P_(m+1)^m = sqrt(2m + 3) x P_m^m, and for l >= m + 2
    P_l^m = sqrt((4l^2 - 1)/(l^2 - m^2)) x P_(l-1)^m
            - sqrt((2l + 1)((l-1)^2 - m^2) / ((2l - 3)(l^2 - m^2))) P_(l-2)^m."""
    first = 0.5 / math.sqrt(math.pi)
    factor, power = jnp.ones_like(x), jnp.ones_like(x)
    for a in range(1, n_max + 1):  # sequential products, rounded as JAX's cumprods are
        inside = a <= m
        factor = jnp.where(inside, factor * -math.sqrt(1 + 0.5 / a), factor)
        power = jnp.where(inside, power * y, power)
    diagonal = jnp.where(m == 0, first, first * (factor * power))
    m2 = m * m
    before, last, out = jnp.zeros_like(x), jnp.zeros_like(x), jnp.zeros_like(x)
    for l in range(n_max + 1):
        recurs = l >= m + 2
        # 1 where the recurrence is not used: a NaN there would reach the gradient through the where
        d0 = jnp.sqrt(jnp.where(recurs, (4 * l * l - 1) / (l * l - m2), 1))
        d1 = jnp.sqrt(jnp.where(recurs, ((2 * l + 1) * ((l - 1) ** 2 - m2)) / ((2 * l - 3) * (l * l - m2)), 1))
        value = jnp.where(l < m, 0, jnp.where(l == m, diagonal, jnp.where(
            l == m + 1, jnp.sqrt(2 * m + 3) * x * last, d0 * x * last - d1 * before)))
        out = jnp.where(l == n, value, out)
        before, last = last, value
    return out


def sph_harm_y(n: ArrayLike, m: ArrayLike, theta: ArrayLike, phi: ArrayLike, diff_n: int | None = None,
               n_max: int | None = None) -> Array:
    """The spherical harmonics Y_n^m(theta, phi), theta the colatitude, as a
    1-D complex array; n (and |m|) clipped to n_max, which must be static
    (default: max(n)); Y_n^-m = (-1)^m conj(Y_n^m)."""
    if diff_n is not None:
        raise NotImplementedError("The 'diff_n' argument to jax.scipy.special.sph_harm_y is not supported.")
    if n_max is None:
        n_max = np.max(n)  # a traced n raises ConcretizationTypeError here
    n_max = int(n_max)
    n, m, theta, phi = (jnp.atleast_1d(v) for v in jnp.broadcast_arrays(n, m, theta, phi))
    (theta, phi) = promote_strong("sph_harm_y", theta, phi)
    order = jnp.abs(m).astype(theta.dtype)
    # sin(theta) for sqrt(1 - cos(theta)^2): near the poles that difference loses an ulp of cos a thousandfold
    legendre = _normalized_legendre(jnp.minimum(n, n_max).astype(theta.dtype), jnp.minimum(order, n_max),
                                    jnp.cos(theta), jnp.abs(jnp.sin(theta)), n_max)
    angle = order * phi  # |m| itself, not clipped (as JAX's)
    harmonics = lax.complex(legendre * jnp.cos(angle), legendre * jnp.sin(angle))
    return jnp.where(m < 0, (-1.0) ** order * jnp.conj(harmonics), harmonics)


# --- bernoulli: B_0 ... B_n ----------------------------------------------------

def bernoulli(n: int) -> Array:
    """The Bernoulli numbers B_0 ... B_n (B_1 = -1/2), as the default float:
    B_2m = (-1)^(m+1) 2 (2m)! / (2 pi)^2m zeta(2m) (Chowla & Hartung), with
    zeta summed over k < 50. n is static, so they are computed on the host."""
    n = operator.index(n)
    if n < 0:
        raise ValueError("n must be a non-negative integer.")
    b = np.zeros(n + 1)
    b[:3] = [1, -0.5, 1 / 6][:n + 1]
    m = np.arange(4, n + 1, 2, dtype=np.float64)
    with np.errstate(over="ignore"):
        scale = np.cumprod(-(m - 1) * m / 4 / np.pi ** 2) / np.pi ** 2
        zeta = 1 + np.sum(np.arange(2, 50, dtype=np.float64)[:, None] ** -m[None, :], axis=0)
        b[4::2] = scale * zeta
    return jnp.asarray(b, dtypes.default_float_dtype())


__all__ = ["bernoulli", "bessel_jn", "hyp1f1", "hyp2f1", "owens_t", "sph_harm_y"]
