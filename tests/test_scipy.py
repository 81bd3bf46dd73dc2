"""irax.lax's special functions, irax.scipy.special and irax.scipy.stats:
values against JAX (the oracle for these: SciPy is not installed), on one
shared shape; gradients against jax.grad and finite differences, all in one
program; errors and dtypes as JAX's."""
import math

import numpy as np
import pytest

import irax
import irax.lax as lax
import irax.numpy as jnp
import irax.scipy.special as special
import irax.scipy.stats as stats
from helpers import x64_mode

jax = pytest.importorskip("jax")
jlax, jspecial, jstats = jax.lax, jax.scipy.special, jax.scipy.stats

rng = np.random.default_rng(0)
SHAPE = (3, 4)
X = (rng.normal(size=SHAPE) * 3).astype(np.float32)  # both signs, some beyond |x| = 8
X[0, :3] = [0.0, -2.0, 1e-3]  # a pole of lgamma and digamma, a tiny argument
POS = (np.abs(rng.normal(size=SHAPE)) * 4 + 0.05).astype(np.float32)
POS2 = POS[::-1, ::-1].copy()
P = rng.uniform(0.02, 0.98, SHAPE).astype(np.float32)
P[0, 0] = 1e-6  # a far tail
INTS = rng.integers(0, 4, SHAPE).astype(np.float32)


def check(ours, theirs, tol):
    theirs = np.asarray(theirs)
    ours = np.asarray(ours)
    assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


# lax name -> (arguments, tolerance). Near a root or a pole a function's own
# condition number exceeds float32's: lgamma(-2.45) is 0.0168 from a sum of ~1.
LAX = {
    "erf": ((X,), 1e-6),
    "erfc": ((X,), 1e-6),
    "erf_inv": ((P * 2 - 1,), 0),
    "lgamma": ((X,), 1e-5),
    "digamma": ((X,), 1e-4),
    "bessel_i0e": ((X,), 1e-6),
    "bessel_i1e": ((X,), 1e-6),
    "igamma": ((POS, POS2), 1e-5),
    "igammac": ((POS, POS2), 1e-5),
    "igamma_grad_a": ((POS, POS2), 1e-5),
    "betainc": ((POS, POS2, P), 1e-5),
    "zeta": ((POS + 1.01, POS2), 1e-5),
    "polygamma": ((INTS, POS), 1e-5),
}


@pytest.mark.parametrize("name", sorted(LAX))
def test_lax_special_functions_match_jax(name):
    args, tol = LAX[name]
    check(getattr(lax, name)(*args), getattr(jlax, name)(*args), tol)


def test_special_values_match_jax():
    x = np.array([[0.0, -0.0, 1.0, -1.0], [np.inf, -np.inf, np.nan, 0.5], [-3.0, 3.0, 40.0, -40.0]], np.float32)
    for name in ["erf", "erfc", "erf_inv", "lgamma", "digamma", "bessel_i0e", "bessel_i1e"]:
        check(getattr(lax, name)(x), getattr(jlax, name)(x), 1e-6)
    a = np.array([[0.0, 1.0, 2.0, -1.0], [np.inf, 1.0, np.nan, 0.5], [3.0, 3.0, 40.0, 1e-3]], np.float32)
    for name in ["igamma", "igammac"]:
        check(getattr(lax, name)(a, np.abs(x)), getattr(jlax, name)(a, np.abs(x)), 1e-6)
    check(lax.zeta(np.abs(x) + 1, a), jlax.zeta(np.abs(x) + 1, a), 1e-6)


def test_erf_inv_is_bit_exact_with_jax():
    """jax.random.normal is sqrt(2) erf_inv(u): XLA's float32 algorithm, to the bit."""
    x = np.concatenate([np.linspace(-1, 1, 100001, dtype=np.float32),
                        np.array([np.nextafter(np.float32(-1), 0), np.nextafter(np.float32(1), 0)], np.float32)])
    ours, theirs = np.asarray(lax.erf_inv(x)), np.asarray(jlax.erf_inv(x))
    np.testing.assert_array_equal(ours.view(np.int32), theirs.view(np.int32))


def test_lax_dtypes_and_errors_as_jax():
    out = lax.lgamma(np.float16(3.5))
    assert out.dtype == np.float16 and abs(float(out) - 1.2010) < 1e-3
    assert lax.erf_inv(0.5).weak_type and lax.igamma(2.0, np.float32(1.0)).dtype == np.float32
    for fn in (lax.erf_inv, lax.lgamma):
        with pytest.raises(TypeError, match="does not accept dtype int32"):
            fn(np.int32(1))
    with pytest.raises(TypeError):
        lax.igamma(np.float16(1), np.float32(2))


def test_float64_computes_in_float32():
    """IREE's CPU code has no double-precision libm: float64 narrows to float32."""
    with x64_mode(True):
        out = lax.lgamma(np.array([0.5, 7.25]))
        assert out.dtype == np.float64
        np.testing.assert_allclose(np.asarray(out), [math.lgamma(0.5), math.lgamma(7.25)], rtol=2e-6)


# scipy.special name -> (arguments, tolerance)
SPECIAL = {
    "erf": ((X,), 1e-6), "erfc": ((X,), 1e-6), "erfinv": ((P * 2 - 1,), 1e-6), "gammaln": ((X,), 1e-5),
    "gamma": ((X / 2,), 1e-5), "digamma": ((X,), 1e-4), "gammasgn": ((X,), 0), "expit": ((X,), 1e-6),
    "logit": ((P,), 1e-6), "i0e": ((X,), 1e-6), "i1e": ((X,), 1e-6), "i0": ((X,), 1e-5), "i1": ((X,), 1e-5),
    "entr": ((POS,), 1e-6), "ndtr": ((X,), 1e-6), "ndtri": ((P,), 1e-5), "log_ndtr": ((X * 4,), 1e-5),
    "xlogy": ((X, POS), 1e-6), "xlog1py": ((X, POS), 1e-6), "kl_div": ((P, P[::-1]), 1e-6),
    "rel_entr": ((P, P[::-1]), 1e-6), "betaln": ((POS, POS2), 1e-5), "beta": ((POS, POS2), 1e-5),
    "betainc": ((POS, POS2, P), 1e-5), "gammainc": ((POS, POS2), 1e-5), "gammaincc": ((POS, POS2), 1e-5),
    "zeta": ((POS + 1.01, POS2), 1e-5), "polygamma": ((INTS.astype(np.int32), POS), 1e-5),
    "factorial": ((INTS,), 1e-6), "softmax": ((X,), 1e-6), "log_softmax": ((X,), 1e-6),
}


@pytest.mark.parametrize("name", sorted(SPECIAL))
def test_scipy_special_matches_jax(name):
    args, tol = SPECIAL[name]
    check(getattr(special, name)(*args), getattr(jspecial, name)(*args), tol)


def test_zero_and_nan_cases_of_xlogy_family():
    x = np.array([[0.0, 0.0, 0.0, 1.0]], np.float32)
    y = np.array([[0.0, np.inf, np.nan, 0.0]], np.float32)
    check(special.xlogy(x, y), jspecial.xlogy(x, y), 0)
    check(special.xlog1py(x, y - 1), jspecial.xlog1py(x, y - 1), 0)
    q = np.array([[0.0, 1.0, 0.5, 0.3]], np.float32)
    check(special.rel_entr(x, q), jspecial.rel_entr(x, q), 1e-6)


@pytest.mark.parametrize("kwargs", [dict(axis=1, b=X), dict(axis=1, b=X, return_sign=True),
                                    dict(axis=0, where=X > 0, keepdims=True)])
def test_logsumexp_b_sign_where(kwargs):
    ours, theirs = special.logsumexp(X, **kwargs), jspecial.logsumexp(X, **kwargs)
    for o, t in zip(ours if isinstance(ours, tuple) else [ours], theirs if isinstance(theirs, tuple) else [theirs]):
        check(o, t, 1e-6)


@pytest.mark.parametrize("kwargs", [dict(axis=1), dict(axis=1, return_sign=True), dict(axis=1, b=X),
                                    dict(b=X, return_sign=True)])
def test_logsumexp_of_complex_as_jax(kwargs):
    """The complex log of the sum (its imaginary part the sum's angle), or with
    return_sign the real log of its magnitude and its complex sign; the shift
    is the largest real part (irax shifted by the lexicographic maximum)."""
    z = (X + 1j * X[::-1]).astype(np.complex64)
    ours, theirs = special.logsumexp(z, **kwargs), jspecial.logsumexp(z, **kwargs)
    for o, t in zip(ours if isinstance(ours, tuple) else [ours], theirs if isinstance(theirs, tuple) else [theirs]):
        check(o, t, 2e-6)


def test_special_errors_as_jax():
    with pytest.raises(ValueError, match="must be of integer type"):
        special.polygamma(1.0, 2.0)
    with pytest.raises(NotImplementedError, match="Riemann zeta"):
        special.zeta(2.0)
    with pytest.raises(TypeError, match="not supported"):
        special.ndtri(np.int32(1))
    with pytest.raises(ValueError, match="series_order"):
        special.log_ndtr(1.0, series_order=31)


# The differentiable functions of one variable each, all in one gradient
# program: name -> (irax function, JAX function, point).
def _second(name, fixed):
    return (lambda x: getattr(lax, name)(fixed, x), lambda x: getattr(jlax, name)(fixed, x))


GRADIENTS = {
    "erf_inv": (lax.erf_inv, jlax.erf_inv, P * 1.6 - 0.8),
    "erfc": (lax.erfc, jlax.erfc, X / 3),
    "lgamma": (lax.lgamma, jlax.lgamma, POS + 0.3),
    "digamma": (lax.digamma, jlax.digamma, POS + 0.3),
    "bessel_i0e": (lax.bessel_i0e, jlax.bessel_i0e, np.where(X == 1e-3, 0.5, X)),  # no kink inside a step
    "bessel_i1e": (lax.bessel_i1e, jlax.bessel_i1e, X),
    "igamma_a": (lambda a: lax.igamma(a, POS2), lambda a: jlax.igamma(a, POS2), POS + 0.5),
    "igamma_x": (*_second("igamma", POS + 0.5), POS2),
    "igammac_a": (lambda a: lax.igammac(a, POS2), lambda a: jlax.igammac(a, POS2), POS + 0.5),
    "igammac_x": (*_second("igammac", POS + 0.5), POS2),
    "betainc_x": (lambda x: lax.betainc(POS + 0.5, POS2 + 0.5, x), lambda x: jlax.betainc(POS + 0.5, POS2 + 0.5, x),
                  P * 0.8 + 0.1),
    "polygamma_x": (*_second("polygamma", INTS), POS + 0.5),
    "ndtri": (special.ndtri, jspecial.ndtri, P * 0.9 + 0.05),
    "log_ndtr": (special.log_ndtr, jspecial.log_ndtr, X),
    "xlogy": (lambda x: special.xlogy(x, POS), lambda x: jspecial.xlogy(x, POS), X),
    "logit": (special.logit, jspecial.logit, P * 0.9 + 0.05),
    "gamma": (special.gamma, jspecial.gamma, POS / 2 + 0.3),
}
W = rng.normal(size=SHAPE).astype(np.float32)  # weights, so no symmetry hides an error


def _per_function(fns):
    return lambda xs: {name: jnp.sum(fns[name](x) * W) for name, x in xs.items()}


def test_gradients_match_jax_and_finite_differences():
    ours_fns = {name: f for name, (f, _, _) in GRADIENTS.items()}
    points = {name: x.astype(np.float32) for name, (_, _, x) in GRADIENTS.items()}
    total = irax.jit(lambda xs: sum(_per_function(ours_fns)(xs).values()))
    ours = irax.grad(total)(points)
    for name, (_, theirs_fn, x) in GRADIENTS.items():
        theirs = jax.grad(lambda v: (theirs_fn(v) * W).sum())(points[name])
        np.testing.assert_allclose(np.asarray(ours[name]), np.asarray(theirs), rtol=2e-4, atol=1e-5, err_msg=name)
    values = irax.jit(_per_function(ours_fns))
    eps = 1e-2
    for i in np.ndindex(SHAPE):
        up, down = dict(points), dict(points)
        for name in points:
            step = np.zeros(SHAPE, np.float32)
            step[i] = eps
            up[name], down[name] = points[name] + step, points[name] - step
        hi, lo = values(up), values(down)
        for name in points:
            numerical = (float(hi[name]) - float(lo[name])) / (2 * eps)
            np.testing.assert_allclose(float(ours[name][i]), numerical, rtol=3e-2, atol=3e-2, err_msg=(name, i))


def test_digamma_next_to_the_poles_as_jax():
    """digamma(x) ~ -1/(x - n) next to a pole n <= 0: its reflection's
    cot(pi x) took IREE's sin of a small negative angle, which is off
    (digamma(-1e-10) was -5e7, not 1e10; -1e-6 was 4% off)."""
    x = np.float32([-1e-10, -5e-8, -1e-6, -1e-4, -1.0001, -3 + 1e-6, 1e-10, -2.5])
    np.testing.assert_allclose(np.asarray(irax.jit(lax.digamma)(x)), np.asarray(jax.jit(jlax.digamma)(x)), rtol=1e-6)


def test_higher_derivatives_and_vmap_of_special_functions():
    """The analytic rules are themselves made of marked special functions, so
    they differentiate again the same way; vmap batches them."""
    for ours, theirs in [(lax.lgamma, jlax.lgamma), (lax.digamma, jlax.digamma), (lax.erf_inv, jlax.erf_inv)]:
        np.testing.assert_allclose(float(irax.grad(irax.grad(ours))(0.7)), float(jax.grad(jax.grad(theirs))(0.7)),
                                   rtol=1e-4)
    x = POS[0] + 0.5
    np.testing.assert_allclose(np.asarray(irax.vmap(irax.grad(lax.lgamma))(x)),
                               np.asarray(jax.vmap(jax.grad(jlax.lgamma))(x)), rtol=1e-5)


def test_gradient_errors_as_jax():
    with pytest.raises(ValueError, match="Betainc gradient with respect to a and b not supported"):
        irax.grad(lambda a: lax.betainc(a, 2.0, 0.3))(1.5)
    with pytest.raises(ValueError, match="polygamma gradient with respect to m is not supported"):
        irax.grad(lambda n: lax.polygamma(n, 2.0))(1.0)
    with pytest.raises(NotImplementedError, match="Differentiation rule for 'zeta' not implemented"):
        irax.grad(lambda s: lax.zeta(s, 2.0))(3.0)


# stats: module -> arguments of its continuous (or discrete) functions
STATS = {
    "norm": (X, 0.5, 1.5), "uniform": (X, -1.0, 3.0), "beta": (P, POS + 0.5, POS2 + 0.5),
    "gamma": (POS, POS2 + 0.5, 0.2, 1.3), "t": (X, POS + 0.5), "laplace": (X, 0.3, 1.2),
    "logistic": (X, 0.3, 1.2), "expon": (POS, 0.2, 1.3), "bernoulli": (np.clip(INTS, 0, 1), P),
    "poisson": (INTS, POS),
}
STAT_FUNCTIONS = [(module, fn) for module in sorted(STATS)
                  for fn in ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf", "logpmf", "pmf"]
                  if hasattr(getattr(jstats, module), fn)]


@pytest.mark.parametrize("module, fn", STAT_FUNCTIONS)
def test_stats_match_jax(module, fn):
    args = STATS[module]
    if fn in ("ppf", "isf"):
        args = (P,) + args[1:]
    if module == "bernoulli" and fn in ("cdf", "ppf"):
        args = args[:2]
    check(getattr(getattr(stats, module), fn)(*args), getattr(getattr(jstats, module), fn)(*args), 2e-5)


def test_multivariate_normal_matches_jax():
    mean = rng.normal(size=3).astype(np.float32)
    factor = rng.normal(size=(3, 3)).astype(np.float32)
    cov = (factor @ factor.T + np.eye(3)).astype(np.float32)
    x = rng.normal(size=(4, 3)).astype(np.float32)
    mvn, jmvn = stats.multivariate_normal, jstats.multivariate_normal
    check(mvn.logpdf(x, mean, cov), jmvn.logpdf(x, mean, cov), 1e-5)
    check(mvn.pdf(x, mean, 2.0), jmvn.pdf(x, mean, 2.0), 1e-6)
    check(mvn.logpdf(X, 0.5, 2.0), jmvn.logpdf(X, 0.5, 2.0), 1e-6)
    with pytest.raises(ValueError, match="incompatible shapes"):
        mvn.logpdf(x, mean, cov[:2, :2])


def test_multivariate_normal_reads_cov_symmetrized_as_jax():
    """The Cholesky factor is of (cov + cov^T) / 2, as JAX's lax.linalg.cholesky:
    an asymmetric cov has JAX's density, and the gradient in cov is symmetric
    (before: the lower triangle alone, its gradient lower triangular)."""
    x, mean = X[:2, :2], np.array([0.1, -0.2], np.float32)
    asymmetric = np.array([[2.0, 0.0], [1.0, 1.0]], np.float32)
    log_density = lambda m: lambda cov: m.scipy.stats.multivariate_normal.logpdf(x, mean, cov).sum()
    ours = irax.jit(lambda cov: (log_density(irax)(cov), irax.grad(log_density(irax))(cov)))(asymmetric)
    check(ours[0], log_density(jax)(asymmetric), 1e-5)
    check(ours[1], jax.grad(log_density(jax))(asymmetric), 1e-5)
