"""The gamma function's family in `irax.scipy.special`: gamma and its sign,
beta, the log-gammas (loggamma, multigammaln), Pochhammer's symbol,
binomial coefficients and factorials, each composed of `irax.lax.lgamma`
and `digamma` the way JAX composes them."""
from __future__ import annotations

import math

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend import dtypes
from irax.frontend.custom_derivatives import custom_jvp
from irax.frontend.numpy.util import promote_args_inexact
from irax.frontend.special import lbeta
from irax.scipy.special_integrals import masked_while
from irax.typing import Array, ArrayLike


def gammasgn(x: ArrayLike) -> Array:
    """The sign of Gamma(x): -1 on (-2k-1, -2k) and at -0.0, NaN at the poles."""
    (x,) = promote_args_inexact("gammasgn", x)
    floor = jnp.floor(x)
    negative = x < 0
    pole = (negative & (x == floor)) | jnp.isnan(x)
    minus = (negative & (jnp.remainder(floor, 2) != 0)) | ((x == 0) & (1 / x < 0))  # 1 / -0.0 = -inf
    return jnp.where(pole, np.nan, jnp.where(minus, -1.0, 1.0)).astype(x.dtype)


def gamma(x: ArrayLike) -> Array:
    """Gamma(x) = gammasgn(x) exp(gammaln(x))."""
    (x,) = promote_args_inexact("gamma", x)
    return gammasgn(x) * jnp.exp(lax.lgamma(x))


def betaln(a: ArrayLike, b: ArrayLike) -> Array:
    """log |B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b), as cdflib's
    betaln (irax/ir/special.py, `lbeta`): by Stirling's series where the
    lgammas would cancel (lgamma(1e6) is 1.3e7, betaln(1e6, 1e-6) 13.8)."""
    a, b = promote_args_inexact("betaln", a, b)
    return lbeta(a, b)


def beta(a: ArrayLike, b: ArrayLike) -> Array:
    """B(a, b) = Gamma(a) Gamma(b) / Gamma(a + b), through betaln."""
    a, b = promote_args_inexact("beta", a, b)
    return gammasgn(a) * gammasgn(b) * gammasgn(a + b) * jnp.exp(betaln(a, b))


# Lanczos' approximation, g = 7 and 9 terms (GSL's lanczos_7_c, as JAX's)
_LANCZOS_G = 7.0
_LANCZOS = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7]


def _lanczos_loggamma(z):
    """log Gamma(z) for Re z >= 1/2: with w = z - 1 and t = w + g + 1/2,
    log(2 pi)/2 + (w + 1/2) log t - t + log(c_0 + sum_k c_k / (w + k))."""
    w = z - 1
    series = _LANCZOS[0] + sum(c / (w + k) for k, c in enumerate(_LANCZOS[1:], start=1))
    t = w + (_LANCZOS_G + 0.5)
    return 0.5 * math.log(2 * math.pi) + (w + 0.5) * jnp.log(t) - t + jnp.log(series)


def _complex_loggamma(z):
    """SciPy's branch (one cut, along the negative real axis): shifted right
    by n = ceil(1/2 - Re z) steps, log Gamma(z) = log Gamma(z + n) -
    sum_{k<n} log(z + k); NaN at the poles and NaN arguments."""
    pole = (jnp.imag(z) == 0) & (jnp.real(z) == jnp.floor(jnp.real(z))) & (jnp.real(z) <= 0)
    undefined = pole | jnp.isnan(z)
    z = jnp.where(undefined, 1, z)
    n = jnp.maximum(0, jnp.ceil(0.5 - jnp.real(z)))
    zero = jnp.zeros_like(z)
    _, logs = masked_while(lambda s: s[0] < n, lambda s: (s[0] + 1, s[1] + jnp.log(z + s[0])),
                           (jnp.real(zero), zero), 2 ** 16)
    return jnp.where(undefined, complex(np.nan, np.nan), _lanczos_loggamma(z + n) - logs)


def loggamma(x: ArrayLike) -> Array:
    """The principal branch of log Gamma(x): gammaln(x) for real x > 0, NaN
    for real x <= 0 (where Gamma is negative or has a pole); complex x by
    Lanczos' approximation (at most 65 536 steps left of the imaginary axis)."""
    (x,) = promote_args_inexact("loggamma", x)
    if dtypes.is_complex(x.dtype):
        return _complex_loggamma(lax.convert_element_type(x, x.dtype))  # strongly typed, as JAX's
    return jnp.where(x > 0, lax.lgamma(x), np.nan)


def multigammaln(a: ArrayLike, d: ArrayLike) -> Array:
    """log Gamma_d(a) = d (d - 1)/4 log(pi) + sum_{i<d} gammaln(a - i/2); d a
    concrete integer (the dimension)."""
    d = int(d)  # a traced d raises ConcretizationTypeError, as in JAX
    a, d_ = promote_args_inexact("multigammaln", a, d)
    constant = 0.25 * d_ * (d_ - 1) * jnp.log(jnp.asarray(np.pi, a.dtype))
    halves = jnp.arange(d, dtype=d_.dtype) / 2
    return jnp.sum(lax.lgamma(jnp.expand_dims(a, -1) - halves), axis=-1) + constant


@custom_jvp
def _poch(z, m):
    return jnp.where(m == 0, jnp.asarray(1, z.dtype), gamma(z + m) / gamma(z))


@_poch.defjvp
def _poch_jvp(primals, tangents):
    """d poch = poch (psi(z + m) - psi(z)) dz + poch psi(z + m) dm, also at m = 0."""
    (z, m), (dz, dm) = primals, tangents
    out = _poch(z, m)
    psi_zm = lax.digamma(z + m)
    return out, (psi_zm - lax.digamma(z)) * out * dz + psi_zm * out * dm


def poch(z: ArrayLike, m: ArrayLike) -> Array:
    """Pochhammer's (z)_m = Gamma(z + m) / Gamma(z), 1 at m = 0; real only."""
    z, m = promote_args_inexact("poch", z, m)
    if dtypes.is_complex(z.dtype):
        raise ValueError("jnp.poch does not support complex-valued inputs.")
    return _poch(z, m)


def comb(N: ArrayLike, k: ArrayLike, *, repetition: bool = False) -> Array:
    """N choose k = exp(gammaln(N + 1) - gammaln(k + 1) - gammaln(N - k + 1)),
    0 unless 0 <= k <= N; with repetition, comb(N + k - 1, k) (1 at k = 0)."""
    N, k = promote_args_inexact("comb", N, k)
    if repetition:
        return jnp.where((k == 0) & (N >= 0), 1.0, comb(N + k - 1, k))
    valid = (k <= N) & (N >= 0) & (k >= 0)
    N, k = jnp.where(valid, N, 0.0), jnp.where(valid, k, 0.0)  # no NaN in the branch not taken (nor its gradient)
    return jnp.where(valid, jnp.exp(lax.lgamma(N + 1) - lax.lgamma(k + 1) - lax.lgamma(N + 1 - k)), 0.0)


def factorial(n: ArrayLike, exact: bool = False) -> Array:
    """n! = Gamma(n + 1), 0 for n < 0."""
    if exact:
        raise NotImplementedError("factorial with exact=True")
    (n,) = promote_args_inexact("factorial", n)
    return jnp.where(n < 0, 0, jnp.exp(lax.lgamma(n + 1)))


__all__ = ["beta", "betaln", "comb", "factorial", "gamma", "gammasgn", "loggamma", "multigammaln", "poch"]
