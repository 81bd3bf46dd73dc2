"""irax.scipy.stats's distributions beyond test_scipy.py's table (betabinom ...
wrapcauchy): every function against JAX (the oracle: dtypes, NaN and -inf off
the support or for bad parameters) and SciPy's values, on one shared shape
whose points include out-of-support ones; each logpdf/logpmf's gradient in
its continuous arguments against jax.grad and central differences, all in
one jitted program."""
import math

import numpy as np
import pytest

import irax
import irax.scipy.stats as stats

jax = pytest.importorskip("jax")
jstats = jax.scipy.stats

rng = np.random.default_rng(1)
SHAPE = (3, 4)
X = (rng.normal(size=SHAPE) * 3).astype(np.float32)
X[0, :2] = [-0.0, 7.0]  # x = 0 (gennorm's kink), beyond 2 pi (wrapcauchy's support)
POS = (np.abs(rng.normal(size=SHAPE)) * 3 + 0.1).astype(np.float32)
POS2 = POS[::-1, ::-1].copy()
P = rng.uniform(0.05, 0.95, SHAPE).astype(np.float32)
K = np.array([[-1, 0, 1, 2], [3, 4, 5, 2.5], [0, 1, 4, 3]], np.float32)  # below, in and above [0, 4]; not whole
N = np.float32(4)
BAD = np.ones(SHAPE, np.float32)
BAD[2, 3] = -1  # a parameter out of its domain: NaN there
Q = P.copy()
Q[2] = [0, 1, -0.1, 1.5]  # the ends of [0, 1] and beyond
# truncnorm's [a, b] in standard units: across 0, in the right tail, in the left tail, one with a >= b
TA = np.repeat(np.array([[-1.5], [0.5], [-4.0]], np.float32), 4, axis=1)
TB = np.repeat(np.array([[2.0], [3.0], [-1.0]], np.float32), 4, axis=1)
TB[0, 0] = -2.0

# module -> arguments of its functions (ppf and isf take Q first instead)
STATS = {
    "betabinom": (K, N, POS + 0.5, POS2 * BAD + 0.5),
    "binom": (K, N, P),
    "cauchy": (X, 0.3, 1.2),
    "chi2": (X, POS + 0.5, 0.2, 1.3),
    "gennorm": (X, POS + 0.5),
    "geom": (K, P),
    "gumbel_l": (X, 0.3, 1.2 * BAD),
    "gumbel_r": (X, 0.3, 1.2 * BAD),
    "nbinom": (K, POS + 0.5, P),
    "pareto": (X, POS + 0.5, 0.2, 1.3),
    "truncnorm": (X, TA, TB, 0.3, 1.2),
    "vonmises": (X, POS * BAD),
    "wrapcauchy": (X, P * BAD),
}
FUNCTIONS = ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf", "ppf", "isf", "logpmf", "pmf"]
STAT_FUNCTIONS = [(m, fn) for m in sorted(STATS) for fn in FUNCTIONS if hasattr(getattr(jstats, m), fn)]


def _args(module, fn):
    args = STATS[module]
    return (Q,) + args[1:] if fn in ("ppf", "isf") else args


def check(ours, theirs, tol=2e-5):
    assert ours.weak_type == theirs.weak_type, (ours.weak_type, theirs.weak_type)
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, (ours.dtype, theirs.dtype)
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol)


def test_every_jax_distribution_is_here():
    assert sorted(stats.__all__) == sorted(n for n in dir(jstats) if not n.startswith("_"))
    for module, fn in [(m, f) for m in STATS for f in FUNCTIONS]:
        assert hasattr(getattr(stats, module), fn) == hasattr(getattr(jstats, module), fn), (module, fn)


@pytest.mark.parametrize("module, fn", STAT_FUNCTIONS)
def test_stats_match_jax(module, fn):
    args = _args(module, fn)
    check(getattr(getattr(stats, module), fn)(*args), getattr(getattr(jstats, module), fn)(*args))


# module -> Python scalars (weakly typed: so is the result, unless JAX's constants make it
# strong) and, in place of x or the counts, an int32 array (a strong float result, as JAX's)
SCALARS = {"bernoulli": (1, 0.3), "beta": (0.5, 2.0, 3.0), "betabinom": (2, 4, 1.5, 2.5), "binom": (2, 4, 0.3),
           "cauchy": (1.0, 0, 2), "chi2": (1.0, 2.5), "gamma": (1.0, 2.5), "gennorm": (1.0, 2), "geom": (2, 0.4),
           "gumbel_l": (1.0,), "gumbel_r": (1.0,), "nbinom": (2, 2, 0.5), "norm": (1.0,), "pareto": (2.0, 2.5),
           "poisson": (1, 2.0), "t": (1.0, 2.5), "truncnorm": (0.5, -1, 1), "vonmises": (1.0, 1),
           "wrapcauchy": (1.0, 0.5)}
COUNTS = np.arange(3, dtype=np.int32)


@pytest.mark.parametrize("module", sorted(SCALARS))
def test_python_scalars_and_integer_counts_type_as_jax(module):
    for fn in FUNCTIONS:
        if hasattr(getattr(jstats, module), fn):
            args = SCALARS[module]
            cases = [(0.3,) + args[1:] if fn in ("ppf", "isf") else args]
            if fn not in ("ppf", "isf"):
                cases.append((COUNTS,) + args[1:])
            for args in cases:
                check(getattr(getattr(stats, module), fn)(*args), getattr(getattr(jstats, module), fn)(*args))


# SciPy differs from JAX (which irax follows) at a non-integer count (-inf in SciPy, floored or
# taken as it is in JAX) and at q = 0 or 1 (SciPy's ppf is +-inf there, JAX's NaN or tan(pi/2)):
# compared everywhere else
SCIPY_POINTS = (K == np.floor(K)) & (Q != 0) & (Q != 1)


@pytest.mark.parametrize("module, fn", STAT_FUNCTIONS)
def test_stats_match_scipy_where_jax_does(module, fn):
    """SciPy's values in float64 where both are finite, and its infinities."""
    sstats = pytest.importorskip("scipy.stats")
    args = _args(module, fn)
    ours = np.asarray(getattr(getattr(stats, module), fn)(*args), np.float64)
    with np.errstate(all="ignore"):
        theirs = getattr(getattr(sstats, module), fn)(*[np.float64(a) for a in args])
    ours, theirs = np.broadcast_to(ours, SHAPE)[SCIPY_POINTS], np.broadcast_to(theirs, SHAPE)[SCIPY_POINTS]
    same_kind = np.isfinite(theirs) & np.isfinite(ours)
    assert same_kind.sum() >= 3, (module, fn)
    np.testing.assert_allclose(ours[same_kind], theirs[same_kind], rtol=2e-4, atol=1e-5)
    infinite = np.isinf(theirs)
    np.testing.assert_array_equal(ours[infinite], theirs[infinite])


def test_dirichlet_and_multinomial_match_jax():
    alpha = np.array([0.5, 1.5, 2.0], np.float32)
    x = rng.dirichlet(alpha, 4).T.astype(np.float32)  # (3, 4): the simplex along axis 0
    x[:, 3] = [0.5, 0.6, 0.2]  # off the simplex: -inf
    for args in [(x, alpha), (x[:2], alpha), (x[:, 0], alpha)]:  # full, last entry implied, one point
        check(stats.dirichlet.logpdf(*args), jstats.dirichlet.logpdf(*args), 1e-5)
        check(stats.dirichlet.pdf(*args), jstats.dirichlet.pdf(*args), 1e-5)
    counts = np.array([[1, 2, 1], [0, 3, 1], [2, 2, 2]], np.int32)  # JAX compares the total with n
    for args in [(counts[0], 4, P[0, :3] / P[0, :3].sum()), (counts, 12, P[:, :3] / P[:, :3].sum(1, keepdims=True)),
                 (counts[2], 5, np.float32([0.2, 0.3, 0.5]))]:
        check(stats.multinomial.logpmf(*args), jstats.multinomial.logpmf(*args), 1e-5)
        check(stats.multinomial.pmf(*args), jstats.multinomial.pmf(*args), 1e-5)


def _log_beta(alpha):
    """log B(alpha) in float64 (Python's lgamma)."""
    return sum(math.lgamma(a) for a in alpha) - math.lgamma(sum(alpha))


def test_binom_and_dirichlet_keep_their_digits():
    """log C(n, k) and log B(alpha) as sums of lgammas cancel in float32 (JAX's: binom.logpmf(3, 1e4,
    3e-4) 40000 ulp off, dirichlet.logpdf at alpha = (0.5, 1e4, 2) 7600); irax's take betaln, whose
    Stirling series keeps them (irax/ir/special.py, lbeta). Against float64 formulas."""
    k = np.float32([[3, 0, 2, 70], [1, 10, 9990, 500], [5000, 9, 40, 1]])
    n = np.float32([[1e4, 1e4, 4, 100], [1, 1e3, 1e4, 2e3], [1e4, 30, 1e5, 1e6]])
    p = np.float32([[3e-4, 0.01, 0.3, 0.7], [0.4, 0.02, 0.999, 0.2], [0.5, 0.3, 4e-4, 1e-6]])
    k64, n64, p64 = (v.astype(np.float64) for v in (k, n, p))
    log_comb = np.vectorize(lambda n, k: -_log_beta([k + 1, n - k + 1]) - math.log1p(n))(n64, k64)
    linear = k64 * np.log(p64) + (n64 - k64) * np.log1p(-p64)
    # within float32's rounding of the two terms (which cancel near the mode: (5000, 1e4, 0.5))
    error = np.abs(np.asarray(stats.binom.logpmf(k, n, p)) - (log_comb + linear))
    assert np.all(error <= 1e-6 * (np.abs(log_comb) + np.abs(linear))), error
    alpha = np.float32([0.5, 1e4, 2.0])
    x = np.random.default_rng(5).dirichlet(alpha, 4).T.astype(np.float32)  # (3, 4)
    x[2] = 1 - x[0] - x[1]  # (on the simplex in float32)
    alpha64, x64 = alpha.astype(np.float64), x.astype(np.float64)
    want = ((alpha64[:, None] - 1) * np.log(x64)).sum(0) - _log_beta(alpha64)
    np.testing.assert_allclose(np.asarray(stats.dirichlet.logpdf(x, alpha)), want, rtol=1e-6)


def test_errors_as_jax():
    alpha = np.ones(3, np.float32)
    for bad in [(np.ones((3, 2), np.float32) / 3, np.ones((3, 1), np.float32)), (np.ones(5, np.float32), alpha)]:
        with pytest.raises(ValueError) as want:
            jstats.dirichlet.logpdf(*bad)
        with pytest.raises(ValueError, match=str(want.value)[:40]):
            stats.dirichlet.logpdf(*bad)
    with pytest.raises(ValueError, match="x and n must be of integer type; got x.dtype=float32"):
        stats.multinomial.logpmf(np.ones(3, np.float32), 3, np.ones(3) / 3)


def test_jit_and_vmap_as_eager():
    f = irax.jit(lambda x, a, b: stats.truncnorm.logcdf(x, a, b, 0.3, 1.2) + stats.gumbel_r.logsf(x, 0.3, 1.2))
    check(f(X, TA, TB), jstats.truncnorm.logcdf(X, TA, TB, 0.3, 1.2) + jstats.gumbel_r.logsf(X, 0.3, 1.2))
    row = irax.vmap(lambda k, p: stats.binom.logpmf(k, 4.0, p))(K, P)
    check(row, jstats.binom.logpmf(K, 4.0, P))


# module -> (function, point in its support, the positions of its continuous arguments)
INSIDE = np.abs(X) + 0.3  # positive, away from gennorm's kink
K_IN = np.clip(np.floor(np.abs(K)), 0, 4).astype(np.float32)
GRADIENTS = {
    "betabinom": ("logpmf", (K_IN, N, POS + 0.5, POS2 + 0.5), (2, 3)),
    "binom": ("logpmf", (K_IN, N, P), (2,)),
    "cauchy": ("logpdf", (X, X * 0 + 0.3, POS), (0, 1, 2)),
    "chi2": ("logpdf", (INSIDE, POS + 0.5), (0, 1)),
    "gennorm": ("logpdf", (INSIDE, POS + 0.5), (0, 1)),
    "geom": ("logpmf", (K_IN + 1, P), (1,)),
    "gumbel_l": ("logpdf", (X, X * 0 + 0.3, POS + 0.5), (0, 1, 2)),
    "gumbel_r": ("logpdf", (X, X * 0 + 0.3, POS + 0.5), (0, 1, 2)),
    "nbinom": ("logpmf", (K_IN, POS + 0.5, P), (1, 2)),
    "pareto": ("logpdf", (INSIDE + 1.5, POS + 0.5, X * 0 + 0.2, X * 0 + 1.3), (0, 1, 3)),
    "truncnorm": ("logpdf", (P * 2 - 1, X * 0 - 1.5, X * 0 + 2.0, X * 0 + 0.1, POS + 0.5), (0, 1, 2, 3, 4)),
    "vonmises": ("logpdf", (X, POS), (0, 1)),
    "wrapcauchy": ("logpdf", (P * 6, P), (0, 1)),
    "dirichlet": ("logpdf", (rng.dirichlet([1, 2, 3], 4).T.astype(np.float32), np.float32([1.5, 2.0, 3.0])), (0, 1)),
    "multinomial": ("logpmf", (np.array([1, 2, 1], np.int32), 4, np.float32([0.2, 0.3, 0.5])), (2,)),
}
W = rng.normal(size=SHAPE).astype(np.float32)  # weights, so no symmetry hides an error
# module -> how many of its continuous arguments jax.grad differentiates: JAX's gumbel
# logpdf's xlogy(-1, scale) fails in jax.grad (an integer -1's float0 tangent); central
# differences check irax's gradient in scale
JAX_DIFFERENTIATES = {"gumbel_l": 2, "gumbel_r": 2}


def _weighted(module, fn, args):
    out = fn(*args)
    return out * W[..., :out.shape[-1]] if out.ndim == 2 else out * W[0, :out.size].reshape(out.shape)


def _total(library):
    """points (module -> its continuous arguments) -> module -> sum of weighted log-densities."""
    def values(points):
        result = {}
        for module, (fn, args, diff) in GRADIENTS.items():
            if module not in points:
                continue
            full = list(args)
            for i, x in zip(diff, points[module]):
                full[i] = x
            result[module] = _weighted(module, getattr(getattr(library, module), fn), full).sum()
        return result
    return values


def test_log_densities_gradients_match_jax_and_finite_differences():
    points = {m: tuple(np.float32(args[i]) for i in diff) for m, (_, args, diff) in GRADIENTS.items()}
    ours = irax.jit(irax.grad(lambda p: sum(_total(stats)(p).values())))(points)
    for module in points:
        n = JAX_DIFFERENTIATES.get(module, len(points[module]))
        rest = points[module][n:]
        theirs = jax.grad(lambda p: _total(jstats)({module: p + rest})[module])(points[module][:n])
        for o, t in zip(ours[module], theirs):
            np.testing.assert_allclose(np.asarray(o), np.asarray(t), rtol=2e-4, atol=2e-5, err_msg=module)
    # central differences along one random direction per module: two evaluations of one program
    eps = 1e-3
    direction = {m: tuple(rng.uniform(-1, 1, np.shape(x)).astype(np.float32) for x in p) for m, p in points.items()}
    x, alpha = direction["dirichlet"]
    direction["dirichlet"] = (x - x.mean(axis=0), alpha)  # along the simplex: it stays a density
    step = lambda sign: {m: tuple(x + sign * eps * d for x, d in zip(points[m], direction[m])) for m in points}
    values = irax.jit(_total(stats))
    hi, lo = values(step(1)), values(step(-1))
    for module in points:
        numerical = (float(hi[module]) - float(lo[module])) / (2 * eps)
        analytic = sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(ours[module], direction[module]))
        np.testing.assert_allclose(analytic, numerical, rtol=2e-2, atol=2e-2, err_msg=module)


def test_poisson_entropy_matches_jax_and_scipy_and_differentiates():
    """poisson.entropy, missing before: the sum of -p log p below mu = 100,
    the asymptotic series beyond; 0 at mu = 0, NaN below."""
    import scipy.stats

    mu = np.array([0.0, 1e-3, 0.5, 5.0, 9.9, 50.0, 99.9, 100.0, 1000.0, -1.0], np.float32)
    got = np.asarray(stats.poisson.entropy(mu))
    np.testing.assert_allclose(got, np.asarray(jstats.poisson.entropy(mu)), rtol=5e-6, atol=1e-6)
    np.testing.assert_allclose(got[:-1], scipy.stats.poisson.entropy(mu[:-1].astype(np.float64)), rtol=5e-6, atol=1e-6)
    assert np.isnan(got[-1])
    grad = irax.grad(lambda m: stats.poisson.entropy(m))
    for m in (3.0, 250.0):
        h = 1e-2 * m
        central = (float(stats.poisson.entropy(m + h)) - float(stats.poisson.entropy(m - h))) / (2 * h)
        np.testing.assert_allclose(float(grad(np.float32(m))), central, rtol=2e-3)


def test_cdf_gradients_off_the_support_are_zero_as_jax():
    """gamma/chi2/beta's cdf and sf clamp x into the support with lax.clamp, as
    JAX's, whose derivative is zero outside it: NaN before (jnp.clip's mask
    times gammainc's or betainc's infinite slope at the support's end)."""
    cases = {  # (function, x below or above the support, shape parameters)
        "gamma.cdf": (stats.gamma.cdf, -0.7, (0.5,)),
        "chi2.cdf": (stats.chi2.cdf, 0.7, (1.0, 2.0)),  # below loc = 2
        "chi2.sf": (stats.chi2.sf, -0.7, (1.0,)),
        "beta.cdf": (stats.beta.cdf, -0.7, (0.5, 0.5)),
        "beta.sf": (stats.beta.sf, 1.7, (0.5, 0.5)),
    }
    grads = irax.jit(lambda: {name: irax.grad(fn)(np.float32(x), *params) for name, (fn, x, params) in cases.items()})()
    for name, (_, x, params) in cases.items():
        module, fn = name.split(".")
        theirs = jax.grad(getattr(getattr(jstats, module), fn))(np.float32(x), *params)
        assert float(theirs) == 0.0
        assert float(grads[name]) == 0.0, name
