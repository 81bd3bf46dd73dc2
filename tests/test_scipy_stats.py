"""irax.scipy.stats's module-level functions (not distributions): values,
dtypes and errors against JAX (the semantics oracle), on one shared shape."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
import irax.scipy.stats as stats

jax = pytest.importorskip("jax")
jstats = jax.scipy.stats

X = np.array([[1, 2, 3, np.nan, 4, 2], [4, 5, 4, 3, np.nan, 1], [7, 2, 8, 7, 9, 3]], np.float32)


@pytest.mark.parametrize("kw", [dict(), dict(axis=1), dict(axis=None), dict(axis=1, keepdims=True), dict(ddof=0),
                                dict(nan_policy="omit"), dict(axis=1, nan_policy="omit", keepdims=True)])
def test_sem_matches_jax(kw):
    got, want = stats.sem(jnp.asarray(X), **kw), jstats.sem(X, **kw)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, equal_nan=True)


def test_sem_int_input_promotes_and_bad_policy_raises():
    x = np.array([2, 4, 1, 1, 3, 4, 4, 2, 3], np.int32)
    np.testing.assert_allclose(np.asarray(stats.sem(x)), np.asarray(jstats.sem(x)), rtol=1e-5)
    with pytest.raises(ValueError, match="raise is not supported"):
        stats.sem(X, nan_policy="raise")


R = np.array([[3, 1, 2, 3, np.nan, 1], [2, 2, 1, 1, 5, 5], [1, 1, 1, 4, 4, 4]], np.float32)  # ties, a NaN
R_INT = np.nan_to_num(R).astype(np.int32)


@pytest.mark.parametrize("method", ["average", "min", "max", "dense", "ordinal"])
@pytest.mark.parametrize("axis", [None, 1])
def test_rankdata_matches_jax(method, axis):
    for a in (R, R_INT):
        got, want = stats.rankdata(a, method, axis=axis), jstats.rankdata(a, method, axis=axis)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("axis,keepdims", [(0, False), (-1, True), (None, False), (None, True)])
def test_mode_matches_jax(axis, keepdims):
    for a in (R, R_INT):
        for got, want in zip(stats.mode(a, axis, keepdims=keepdims), jstats.mode(a, axis, keepdims=keepdims)):
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


@pytest.mark.parametrize("fn", ["rankdata", "mode"])
def test_rank_and_mode_errors_as_jax(fn):
    for policy, err in [("bogus", ValueError), ("omit", NotImplementedError), ("raise", NotImplementedError)]:
        with pytest.raises(err) as want:
            getattr(jstats, fn)(R, nan_policy=policy)
        with pytest.raises(err, match=str(want.value)[:20]):
            getattr(stats, fn)(R, nan_policy=policy)
    with pytest.raises(ValueError, match="unknown method 'bogus'"):
        stats.rankdata(R, "bogus")


_rng = np.random.default_rng(0)
KD = _rng.normal(size=(2, 20)).astype(np.float32)  # 2-d data, 20 samples
KW = _rng.uniform(0.5, 1.5, 20).astype(np.float32)
KP = _rng.normal(size=(2, 5)).astype(np.float32)


@pytest.mark.parametrize("bw", [None, "silverman", 0.3, lambda kde: 0.5])
@pytest.mark.parametrize("weights", [None, KW])
def test_gaussian_kde_matches_jax(bw, weights):
    got, want = stats.gaussian_kde(KD, bw, weights), jstats.gaussian_kde(KD, bw, weights)
    for name in ("evaluate", "__call__", "pdf", "logpdf"):
        np.testing.assert_allclose(np.asarray(getattr(got, name)(KP)), np.asarray(getattr(want, name)(KP)), rtol=2e-5)
    args = (np.zeros(2, np.float32), np.eye(2, dtype=np.float32))
    np.testing.assert_allclose(np.asarray(got.integrate_gaussian(*args)), np.asarray(want.integrate_gaussian(*args)),
                               rtol=2e-5)


def test_gaussian_kde_integrate_kde_and_pytree_as_jax():
    """integrate_kde (missing before: AttributeError), and the kde as a pytree
    of its arrays, as JAX's: a jitted function takes one as its argument (a
    TypeError before); integrate_box and set_bandwidth raise JAX's NotImplementedError."""
    make = lambda s: (s.gaussian_kde(KD, weights=KW), s.gaussian_kde(KD[:, :7] + 1, bw_method=0.5))
    (a, b), (ja, jb) = make(stats), make(jstats)
    ours = irax.jit(lambda a, b: (a.integrate_kde(b), b.integrate_kde(a)))(a, b)
    for got in ours:
        np.testing.assert_allclose(np.asarray(got), np.asarray(ja.integrate_kde(jb)), rtol=2e-5)
    assert len(irax.tree_util.tree_leaves(a)) == len(jax.tree_util.tree_leaves(ja)) == 5
    with pytest.raises(ValueError, match="KDEs are not the same dimensionality"):
        a.integrate_kde(stats.gaussian_kde(KD[0]))
    for call in (lambda k: k.integrate_box(np.zeros(2), np.ones(2)), lambda k: k.set_bandwidth("scott")):
        with pytest.raises(NotImplementedError) as expected:
            call(ja)
        with pytest.raises(NotImplementedError, match=str(expected.value)):
            call(a)


def test_gaussian_kde_1d_box_resample_and_errors():
    got, want = stats.gaussian_kde(KD[0]), jstats.gaussian_kde(KD[0])
    np.testing.assert_allclose(np.asarray(got.integrate_box_1d(-1., .5)), np.asarray(want.integrate_box_1d(-1., .5)),
                               rtol=2e-5)
    draws = stats.gaussian_kde(KD, weights=KW).resample(irax.random.PRNGKey(0), (7,))
    assert draws.shape == (2, 7) and draws.dtype == np.float32
    for bad, err in [(lambda: stats.gaussian_kde(KD, "bogus"), "`bw_method` should be"),
                     (lambda: stats.gaussian_kde(KD, weights=KW[:3]), "should be of length n"),
                     (lambda: got.integrate_box_1d(np.zeros(2), 1.), "must be scalars"),
                     (lambda: stats.gaussian_kde(KD).evaluate(np.zeros((3, 2))), "points have dimension 3")]:
        with pytest.raises(ValueError, match=err):
            bad()
