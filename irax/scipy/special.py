"""`irax.scipy.special`, as `jax.scipy.special`: each function promotes its
arguments to a float dtype as JAX's does, then binds `irax.lax`'s special
primitives or composes irax.numpy functions the way JAX does.

Where JAX gives a function a custom derivative (xlogy, xlog1py, logit), the
composition here is arranged to differentiate to the same rule.

This module holds the error functions, the logs and entropies, the normal
distribution's functions and the softmaxes; it re-exports the gamma family
(special_gamma.py), the exponential and sine integrals (special_integrals.py)
and the functions computed by series and recurrences (special_series.py).
"""
from __future__ import annotations

import fractions
import functools
import math

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend import dtypes
from irax.frontend.autodiff import jvp
from irax.frontend.custom_derivatives import custom_jvp
from irax.frontend.lax import stop_gradient
from irax.frontend.numpy import ufuncs
from irax.frontend.numpy.util import asarray, canonicalize_axes, promote_args_inexact
from irax.frontend.special import named_operands
from irax.scipy.special_gamma import beta, betaln, comb, factorial, gamma, gammasgn, loggamma, multigammaln, poch
from irax.scipy.special_integrals import dawsn, erfcx, exp1, expi, expn, fresnel, polyval, sici, spence, wofz
from irax.scipy.special_series import bernoulli, bessel_jn, hyp1f1, hyp2f1, owens_t, sph_harm_y
from irax.typing import Array, ArrayLike, Axis


def _promoted(name, fn, params=("x",)):
    """`fn` of the arguments promoted to one float dtype (ints to the default float)."""
    promoted = named_operands(name, params, lambda *args: fn(*promote_args_inexact(name, *args)),
                              f"`{name}({', '.join(params)})`, as `jax.scipy.special.{name}` "
                              f"(irax.lax.{fn.__name__}).")
    promoted.__module__ = __name__  # (where it is bound)
    return promoted


erf = _promoted("erf", lax.erf)
erfc = _promoted("erfc", lax.erfc)
erfinv = _promoted("erfinv", lax.erf_inv)
gammaln = _promoted("gammaln", lax.lgamma)
digamma = _promoted("digamma", lax.digamma)
i0e = _promoted("i0e", lax.bessel_i0e)
i1e = _promoted("i1e", lax.bessel_i1e)
gammainc = _promoted("gammainc", lax.igamma, ("a", "x"))
gammaincc = _promoted("gammaincc", lax.igammac, ("a", "x"))
betainc = _promoted("betainc", lax.betainc, ("a", "b", "x"))
expit = _promoted("expit", lax.logistic)


def i0(x: ArrayLike) -> Array:
    """The modified Bessel function I0(x) = exp(|x|) i0e(x)."""
    (x,) = promote_args_inexact("i0", x)
    return jnp.exp(jnp.abs(x)) * lax.bessel_i0e(x)


def i1(x: ArrayLike) -> Array:
    """The modified Bessel function I1(x) = exp(|x|) i1e(x)."""
    (x,) = promote_args_inexact("i1", x)
    return jnp.exp(jnp.abs(x)) * lax.bessel_i1e(x)


def _box_cox(name, log):
    """(exp(lmbda log(x)) - 1) / lmbda by expm1, log(x) at lmbda = 0 (log or log1p)."""
    def fn(x: ArrayLike, lmbda: ArrayLike) -> Array:
        x, lmbda = promote_args_inexact(name, x, lmbda)
        zero = lmbda == 0
        safe = jnp.where(zero, 1, lmbda)
        log_x = log(x)
        return jnp.where(zero, log_x, jnp.expm1(safe * log_x) / safe)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`{name}`, as `jax.scipy.special.{name}`: {_box_cox.__doc__}"
    return fn


boxcox = _box_cox("boxcox", jnp.log)
boxcox1p = _box_cox("boxcox1p", jnp.log1p)


def polygamma(n: ArrayLike, x: ArrayLike) -> Array:
    """The n-th derivative of digamma; n must be of integer type."""
    if not dtypes.is_int(asarray(n).dtype):
        raise ValueError(f"Argument `n` to polygamma must be of integer type. Got dtype {asarray(n).dtype}.")
    n, x = promote_args_inexact("polygamma", n, x)
    return lax.polygamma(n, x)


def zeta(x: ArrayLike, q: ArrayLike | None = None) -> Array:
    """Hurwitz's zeta(x, q) = sum_k (q + k)^-x. Differentiable in x and q
    as JAX's: its derivative is that of `_zeta_expansion`, as JAX's is."""
    if q is None:
        raise NotImplementedError(
            "Riemann zeta function not implemented; pass q != None to compute the Hurwitz Zeta function.")
    x, q = promote_args_inexact("zeta", x, q)
    return _zeta(x, q)


@custom_jvp
def _zeta(x, q):
    return lax.zeta(x, q)


_zeta.defjvp(lambda primals, tangents: jvp(_zeta_expansion, primals, tangents))


def _zeta_expansion(s, a):
    """zeta(s, a) by Euler-Maclaurin summation (Johansson, "Rigorous
    high-precision computation of the Hurwitz zeta function and its
    derivatives", 2015, eq. 5), whose terms are differentiable in s and a:

        sum_{k<N} (a + k)^-s + (a + N)^(1-s) / (s - 1)
          + (a + N)^-s (1/2 + sum_{m=1..M} B_2m / (2m)! (s)_(2m-1) / (a + N)^(2m-1)),

    (s)_j the rising factorial s (s + 1) ... (s + j - 1); N = M = 8 for
    float32, 16 otherwise (JAX's choice). A term past the largest float is
    clipped to it, as JAX's."""
    n = 8 if s.dtype == np.float32 else 16
    big = float(jnp.finfo(s.dtype).max)
    end = a + n
    head = sum((a + k) ** -s for k in range(n))
    term = s / end  # (s)_1 / (a + N)
    tail = 0.5 + _EULER_MACLAURIN[0] * term
    for m in range(1, n):
        term = jnp.minimum(term * (s + 2 * m - 1) * (s + 2 * m) / (end * end), big)
        tail = tail + _EULER_MACLAURIN[m] * term
    return head + end ** (1 - s) / (s - 1) + end ** -s * tail


def _bernoulli_over_factorials(count: int) -> list:
    """B_2m / (2m)! for m = 1 ... count (1/12, -1/720, 1/30240, ...), from
    the Bernoulli numbers' recurrence sum_{k<=n} C(n+1, k) B_k = 0, exact
    in fractions (on the host, once)."""
    b = [fractions.Fraction(1)]
    for n in range(1, 2 * count + 1):
        b.append(-sum(math.comb(n + 1, k) * b[k] for k in range(n)) / (n + 1))
    return [float(b[2 * m] / math.factorial(2 * m)) for m in range(1, count + 1)]


_EULER_MACLAURIN = _bernoulli_over_factorials(16)


@custom_jvp
def _logit(x):
    return jnp.log(x / (1 - x))


@_logit.defjvp
def _logit_jvp(primals, tangents):
    """JAX's rule, d logit = dx / (x (1 - x)): inf at 0 and 1, where the
    quotient's own derivative is NaN."""
    (x,), (dx,) = primals, tangents
    return _logit(x), dx / (x * (1 - x))


def logit(x: ArrayLike) -> Array:
    """log(x / (1 - x))."""
    (x,) = promote_args_inexact("logit", x)
    return _logit(x)


def _x_log(name, log, argument):
    """x log(y) (or x log1p(y), the log of `argument(y)` = 1 + y), 0 where
    x = 0 unless y is NaN, with JAX's custom derivative
    log(y) dx + x dy / argument(y), which is -inf or NaN at x = 0
    where y is at the log's pole (the value's own derivative would be 0)."""
    @custom_jvp
    def value(x, y):
        return jnp.where((x != 0) | jnp.isnan(y), x * log(y), 0)

    @value.defjvp
    def _(primals, tangents):
        (x, y), (dx, dy) = primals, tangents
        return value(x, y), dx * log(y) + dy * x / argument(y)

    def fn(x: ArrayLike, y: ArrayLike) -> Array:
        return value(*promote_args_inexact(name, x, y))

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"`{name}`, as `jax.scipy.special.{name}`."
    return fn


xlogy = _x_log("xlogy", jnp.log, lambda y: y)
xlog1py = _x_log("xlog1py", jnp.log1p, lambda y: 1 + y)


@custom_jvp
def _xlogx(x):
    return xlogy(x, x)


@_xlogx.defjvp
def _xlogx_jvp(primals, tangents):
    """JAX's rule, d(x log x) = (log(x) + 1) dx: -inf at 0 and inf at inf,
    where the product's rule is 0 * -inf or inf / inf, NaN."""
    (x,), (dx,) = primals, tangents
    return _xlogx(x), dx * (jnp.log(x) + 1)


def entr(x: ArrayLike) -> Array:
    """-x log(x) for x >= 0, -inf below."""
    (x,) = promote_args_inexact("entr", x)
    return jnp.where(x < 0, -np.inf, -_xlogx(x))


def rel_entr(p: ArrayLike, q: ArrayLike) -> Array:
    """p log(p / q) for p, q > 0; 0 where p = 0 <= q; inf elsewhere."""
    p, q = promote_args_inexact("rel_entr", p, q)
    both_positive = (p > 0) & (q > 0)
    safe_p, safe_q = jnp.where(both_positive, p, 1), jnp.where(both_positive, q, 1)
    value = _xlogx(safe_p) - xlogy(safe_p, safe_q)
    return jnp.where(both_positive, value, jnp.where((p == 0) & (q >= 0), 0, np.inf))


def kl_div(p: ArrayLike, q: ArrayLike) -> Array:
    """rel_entr(p, q) - p + q."""
    p, q = promote_args_inexact("kl_div", p, q)
    return rel_entr(p, q) - p + q


def _float32_or_64(name, x):
    """x as a strongly typed array: JAX's ndtr, ndtri and log_ndtr compute
    with NumPy constants of x's dtype, so a Python float gives a strong result."""
    x = asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"x.dtype={x.dtype} is not supported, see docstring for supported types.")
    return ufuncs.strong(x)


def ndtr(x: ArrayLike) -> Array:
    """The standard normal CDF, (1 + erf(x / sqrt 2)) / 2 near 0 and by erfc in the tails."""
    return _ndtr(_float32_or_64("ndtr", x))


def _ndtr(x):
    half_sqrt_2 = 0.5 * math.sqrt(2.0)  # a Python float: weak (a NumPy float64 made float32 x float64 in x64 mode)
    w = x * half_sqrt_2
    z = jnp.abs(w)
    y = jnp.where(z < half_sqrt_2, 1 + lax.erf(w), jnp.where(w > 0, 2 - lax.erfc(z), lax.erfc(z)))
    return 0.5 * y


# Cephes' ndtri: piecewise rational approximations (JAX's _ndtri).
_NDTRI_P0 = [-5.99633501014107895267e1, 9.80010754185999661536e1, -5.66762857469070293439e1,
             1.39312609387279679503e1, -1.23916583867381258016e0]
_NDTRI_Q0 = [1.0, 1.95448858338141759834e0, 4.67627912898881538453e0, 8.63602421390890590575e1,
             -2.25462687854119370527e2, 2.00260212380060660359e2, -8.20372256168333339912e1,
             1.59056225126211695515e1, -1.18331621121330003142e0]
_NDTRI_P1 = [4.05544892305962419923e0, 3.15251094599893866154e1, 5.71628192246421288162e1,
             4.40805073893200834700e1, 1.46849561928858024014e1, 2.18663306850790267539e0,
             -1.40256079171354495875e-1, -3.50424626827848203418e-2, -8.57456785154685413611e-4]
_NDTRI_Q1 = [1.0, 1.57799883256466749731e1, 4.53907635128879210584e1, 4.13172038254672030440e1,
             1.50425385692907503408e1, 2.50464946208309415979e0, -1.42182922854787788574e-1,
             -3.80806407691578277194e-2, -9.33259480895457427372e-4]
_NDTRI_P2 = [3.23774891776946035970e0, 6.91522889068984211695e0, 3.93881025292474443415e0,
             1.33303460815807542389e0, 2.01485389549179081538e-1, 1.23716634817820021358e-2,
             3.01581553508235416007e-4, 2.65806974686737550832e-6, 6.23974539184983293730e-9]
_NDTRI_Q2 = [1.0, 6.02427039364742014255e0, 3.67983563856160859403e0, 1.37702099489081330271e0,
             2.16236993594496635890e-1, 1.34204006088543189037e-2, 3.28014464682127739104e-4,
             2.89247864745380683936e-6, 6.79019408009981274425e-9]


def ndtri(p: ArrayLike) -> Array:
    """The inverse of ndtr: x = w + w^3 P0(w^2)/Q0(w^2) (w = p - 1/2) for p
    in (e^-2, 1 - e^-2), else z - log(z)/z - P(1/z)/(z Q(1/z)) with
    z = sqrt(-2 log p) on the nearer tail; ±inf at 1 and 0."""
    p = _float32_or_64("ndtri", p)
    complement = jnp.where(p > -math.expm1(-2.0), 1 - p, p)
    safe = jnp.where(complement == 0, 0.5, complement)
    w = safe - 0.5
    ww = w * w
    central = (w + w * ww * (polyval(_NDTRI_P0, ww) / polyval(_NDTRI_Q0, ww))) * -math.sqrt(2 * math.pi)
    z = jnp.sqrt(-2.0 * jnp.log(safe))
    first = z - jnp.log(z) / z
    tail_far = first - polyval(_NDTRI_P2, 1 / z) / polyval(_NDTRI_Q2, 1 / z) / z
    tail_near = first - polyval(_NDTRI_P1, 1 / z) / polyval(_NDTRI_Q1, 1 / z) / z
    x = jnp.where(safe > math.exp(-2.0), central, jnp.where(z >= 8.0, tail_far, tail_near))
    x = jnp.where(p > 1 - math.exp(-2.0), x, -x)
    return jnp.where(p == 0, -np.inf, jnp.where(p == 1, np.inf, x))


_LOG_NDTR_BOUNDS = {np.dtype(np.float32): (-10.0, 5.0), np.dtype(np.float64): (-20.0, 8.0)}


def log_ndtr(x: ArrayLike, series_order: int = 3) -> Array:
    """log(ndtr(x)): -ndtr(-x) above the upper bound, an asymptotic series
    of `series_order` terms below the lower one, log(ndtr(x)) between."""
    if not isinstance(series_order, int):
        raise TypeError("series_order must be a Python integer.")
    if series_order < 0:
        raise ValueError("series_order must be non-negative.")
    if series_order > 30:
        raise ValueError("series_order must be <= 30.")
    x = asarray(x)
    if x.dtype not in _LOG_NDTR_BOUNDS:
        raise TypeError(f"x.dtype={x.dtype} is not supported.")
    return _log_ndtr(ufuncs.strong(x), series_order)


@functools.partial(custom_jvp, nondiff_argnums=(1,))
def _log_ndtr(x, series_order):
    lower, upper = _LOG_NDTR_BOUNDS[x.dtype]
    above = x > upper
    cdf = _ndtr(jnp.where(above, -x, jnp.maximum(x, lower)))
    lower_tail = _log_ndtr_lower(jnp.minimum(x, lower), series_order)
    return jnp.where(above, -cdf, jnp.where(x > lower, jnp.log(cdf), lower_tail))


@_log_ndtr.defjvp
def _log_ndtr_jvp(series_order, primals, tangents):
    """d log ndtr(x) = pdf(x) / ndtr(x) dx, taken as exp(log pdf - log ndtr)
    (JAX's rule): right in both tails, where differentiating the pieces was
    not (half the slope at the lower bound, whose min and max tie)."""
    (x,), (t,) = primals, tangents
    out = _log_ndtr(x, series_order)
    log_pdf = -0.5 * x * x - 0.5 * math.log(2 * math.pi)
    return out, t * jnp.exp(log_pdf - out)


def _log_ndtr_lower(x, series_order):
    """log ndtr(x) for x << 0: -x^2/2 - log(-x) - log(2 pi)/2 + log(1 + sum_n (-1)^n (2n-1)!! / x^(2n))."""
    x2 = x * x
    log_scale = -0.5 * x2 - jnp.log(-x) - 0.5 * math.log(2 * math.pi)
    total, power = jnp.ones_like(x), x2
    for n in range(1, series_order + 1):
        term = float(np.prod(np.arange(2 * n - 1, 0, -2, dtype=np.float64))) / power
        total = total - term if n % 2 else total + term
        power = power * x2
    return log_scale + jnp.log(total)


def logsumexp(a: ArrayLike, axis: Axis = None, b: ArrayLike | None = None, keepdims: bool = False,
              return_sign: bool = False, where: ArrayLike | None = None) -> Array | tuple[Array, Array]:
    """log(sum(b * exp(a))) over `axis`, without overflow:

        logsumexp(a) = m + log(sum(b exp(a - m)))      m = max(re a) where finite, else 0

    Shifting by the maximum keeps every |exp(a - m)| <= 1; the shift carries no
    gradient (it cancels). With `b`, entries where b = 0 are left out, and a
    negative sum gives NaN, or its sign with `return_sign` (then the log of
    its magnitude). `where` leaves out the entries where it is False. A row
    of -inf (or an empty one) gives -inf, a +inf gives +inf, a NaN gives NaN.
    Complex `a` gives the complex log of the sum, or with `return_sign` the
    (real) log of its magnitude and its complex sign, as JAX.
    """
    if b is not None:
        a, b = promote_args_inexact("logsumexp", a, b)
        a = jnp.where(b != 0, a, -np.inf)
    else:
        (a,) = promote_args_inexact("logsumexp", a)
    if where is not None:
        a = jnp.where(where, a, -np.inf)
    axes = canonicalize_axes("logsumexp", axis, a.ndim)
    shift = jnp.max(jnp.real(a), axes, keepdims=True, initial=-np.inf)
    shift = stop_gradient(jnp.where(jnp.isfinite(shift), shift, 0))  # -inf - -inf would be NaN
    exp_a = jnp.exp(a - shift)
    if b is not None:
        exp_a = exp_a * b
    total = jnp.sum(exp_a, axes, keepdims=keepdims)
    if not keepdims:
        shift = jnp.squeeze(shift, axes)
    sign = jnp.sign(total)
    is_complex = dtypes.issubdtype(total.dtype, np.complexfloating)
    out = jnp.log(total if is_complex and not return_sign else jnp.abs(total)) + shift
    if return_sign:
        return out, sign
    if b is not None and not is_complex:
        out = jnp.where(sign < 0, np.nan, out)
    return out


def _masked(x, where, fill):
    return x if where is None else jnp.where(where, x, fill)


def _shifted(name, x, axis, where):
    """(x - max(x) over `axis`, kept; entries outside `where` -inf): every
    exp of it is at most 1. The shift cancels out of softmax and log_softmax,
    so as in JAX it carries no gradient (no max adjoint, no ties)."""
    (x,) = promote_args_inexact(name, x)
    axes = canonicalize_axes(name, axis, x.ndim)
    x = _masked(x, where, -np.inf)
    return jnp.subtract(x, stop_gradient(jnp.max(x, axes, keepdims=True, initial=-np.inf))), axes


def softmax_where(x, axis, where):
    """softmax over `axis` of the entries where `where` is true (0 elsewhere):
    irax.nn.softmax and this module's."""
    shifted, axes = _shifted("softmax", x, axis, where)
    unnormalized = jnp.exp(shifted)
    return _masked(unnormalized / jnp.sum(unnormalized, axes, keepdims=True), where, 0)


def log_softmax_where(x, axis, where):
    """log_softmax over `axis` of the entries where `where` is true (-inf elsewhere)."""
    shifted, axes = _shifted("log_softmax", x, axis, where)
    return _masked(shifted - jnp.log(jnp.sum(jnp.exp(shifted), axes, keepdims=True)), where, -np.inf)


def softmax(x: ArrayLike, /, *, axis: Axis = None) -> Array:
    """exp(x) / sum(exp(x)) over `axis` (default: all axes), computed on x - max(x)."""
    return softmax_where(x, axis, None)


def log_softmax(x: ArrayLike, /, *, axis: Axis = None) -> Array:
    """x - logsumexp(x) over `axis` (default: all axes), computed on x - max(x)."""
    return log_softmax_where(x, axis, None)


__all__ = ["bernoulli", "bessel_jn", "beta", "betainc", "betaln", "boxcox", "boxcox1p", "comb", "dawsn", "digamma",
           "entr", "erf", "erfc", "erfcx", "erfinv", "exp1", "expi", "expit", "expn", "factorial", "fresnel",
           "gamma", "gammainc", "gammaincc", "gammaln", "gammasgn", "hyp1f1", "hyp2f1", "i0", "i0e", "i1", "i1e",
           "kl_div", "log_ndtr", "log_softmax", "loggamma", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
           "owens_t", "poch", "polygamma", "rel_entr", "sici", "softmax", "spence", "sph_harm_y", "wofz", "xlog1py",
           "xlogy", "zeta"]
