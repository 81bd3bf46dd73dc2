"""Sorting and searching: values and dtypes against JAX, element for element
(ties, NaNs and -0.0 included), derivatives against jax.grad and finite
differences, jit and vmap.

Arrays are (3, 37) or (37,) where they can be (37 is no power of two: the
sorting network pads it), so that cases share programs.
"""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.frontend import core, lax_sorting

jax = pytest.importorskip("jax")
jjnp = jax.numpy

rng = np.random.default_rng(0)


def _sample(dtype, shape=(3, 37)):
    """Few distinct values (many ties); floats with NaN, -NaN, -0.0, 0.0 and infinities."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, shape).astype(bool)
    if np.issubdtype(dtype, np.unsignedinteger):
        return rng.choice(np.array([0, 1, 7, 200, 255]), shape).astype(dtype)
    if np.issubdtype(dtype, np.integer):
        return rng.integers(-4, 5, shape).astype(dtype)
    values = np.array([-np.inf, -1.5, -0.0, 0.0, 0.25, 3.0, np.inf, np.nan, -np.float32(np.nan)])
    return rng.choice(values, shape).astype(dtype)


def _same(actual, expected):
    """The same dtype, shape and bits (NaNs and -0.0 told apart)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, (actual, expected)
    if np.issubdtype(expected.dtype, np.floating):
        actual, expected = actual.view(f"u{expected.itemsize}"), expected.view(f"u{expected.itemsize}")
    np.testing.assert_array_equal(actual, expected)


def _close(actual, expected):
    """The same dtype and shape, values within a few float32 roundings (NaN
    where NaN): for interpolation, which XLA may compute with a fused
    multiply-add (a sync-cpu run differed by 1.9e-6 relative)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, (actual, expected)
    np.testing.assert_allclose(actual, expected, rtol=8e-6, atol=1e-7)


DTYPES = [np.float32, np.float16, np.int32, np.uint8, np.bool_]


@pytest.mark.parametrize("dtype", DTYPES)
def test_sort_and_argsort_match_jax(dtype):
    x = _sample(dtype)
    _same(jnp.sort(x), jjnp.sort(x))
    _same(jnp.argsort(x, axis=0, descending=True), jjnp.argsort(x, axis=0, descending=True))


def test_sort_variants_match_jax():
    x = _sample(np.float32)
    _same(jnp.sort(x, axis=0), jjnp.sort(x, axis=0))
    _same(jnp.sort(x, axis=None, descending=True), jjnp.sort(x, axis=None, descending=True))
    for descending in (False, True):  # an unstable sort may order ties any way: compare the values
        indices = np.asarray(jnp.argsort(x, stable=False, descending=descending))
        np.testing.assert_array_equal(np.take_along_axis(x, indices, axis=1), jjnp.sort(x, descending=descending))
    _same(jnp.argsort(x, dtype=jnp.int16), jjnp.argsort(x, dtype=jjnp.int16))
    # -0.0 and 0.0 are equal: a stable sort keeps them in order, whichever comes first
    _same(jnp.sort(np.float32([0.0, -0.0, 0.0, -1.0])), np.float32([-1.0, 0.0, -0.0, 0.0]))


def test_sort_under_jit_matches_eager():
    x = _sample(np.float32)
    sort_both = irax.jit(lambda x: (jnp.sort(x), jnp.argsort(x, axis=0), jnp.sort(x[:, ::2] * 2)))
    values, indices, of_strided = sort_both(x)  # a fused strided producer: see indexing.materialized
    _same(values, jnp.sort(x))
    _same(indices, jnp.argsort(x, axis=0))
    _same(of_strided, jjnp.sort(x[:, ::2] * 2))


def test_long_sort():
    # IREE's own sort op, a bubble sort in one GPU thread, went wrong on lavapipe from 300 elements on
    x = rng.standard_normal(1000).astype(np.float32)
    _same(jnp.sort(x), np.sort(x))
    _same(jnp.argsort(-x), np.argsort(-x, kind="stable").astype(np.int32))


def test_lax_sort_several_operands():
    k1, k2 = _sample(np.int32, (37,)), _sample(np.float32, (37,))
    v = np.arange(37, dtype=np.float32)
    for num_keys in (1, 2):
        for a, b in zip(irax.lax.sort((k1, k2, v), num_keys=num_keys),
                        jax.lax.sort((k1, k2, v), num_keys=num_keys)):
            _same(a, b)
    for a, b in zip(irax.lax.sort_key_val(k2, k1), jax.lax.sort_key_val(k2, k1)):
        _same(a, b)
    _same(irax.lax.sort(k2), jax.lax.sort(k2))
    _same(jnp.lexsort([k2, k1]), jjnp.lexsort([k2, k1]))


def test_sort_errors():
    with pytest.raises(TypeError, match="Arguments to sort must have equal shapes"):
        irax.lax.sort((np.zeros(3), np.zeros(4)))
    with pytest.raises(ValueError, match="num_keys=3 must be between 1 and len"):
        irax.lax.sort((np.zeros(3), np.zeros(3)), num_keys=3)
    with pytest.raises(ValueError, match="num_keys=2 must equal 1 for a single operand"):
        irax.lax.sort(np.zeros(3), num_keys=2)
    with pytest.raises(ValueError, match="out of bounds for array of dimension 0"):
        jnp.sort(np.float32(1))
    with pytest.raises(TypeError, match="'kind' argument to argsort is not supported"):
        jnp.argsort(np.zeros(3), kind="quicksort")
    with pytest.raises(TypeError, match="need sequence of keys with len > 0 in lexsort"):
        jnp.lexsort([])
    with pytest.raises(ValueError, match="k argument to top_k must be no larger than size along axis"):
        irax.lax.top_k(np.zeros(3), 4)


@pytest.mark.parametrize("args", [(np.float32(1), 1), (np.zeros(3), 1, 1)], ids=["0-d", "axis 1 of 1-d"])
def test_top_k_axis_errors_as_jax(args):
    call = lambda lax: lax.top_k(*args[:2], axis=args[2] if len(args) > 2 else -1)  # noqa: E731
    with pytest.raises(ValueError) as theirs:
        call(jax.lax)
    with pytest.raises(ValueError) as ours:
        call(irax.lax)
    assert str(ours.value) == str(theirs.value)


def test_top_k_matches_jax():
    x = _sample(np.float32)
    assert type(irax.lax.top_k(x, 5)) is type(jax.lax.top_k(x, 5)) is list
    for a, b in zip(irax.lax.top_k(x, 5), jax.lax.top_k(x, 5)):
        _same(a, b)
    for a, b in zip(irax.lax.top_k(x, 2, axis=0), jax.lax.top_k(x, 2, axis=0)):
        _same(a, b)
    i = _sample(np.uint8)
    for a, b in zip(irax.lax.top_k(i, 37), jax.lax.top_k(i, 37)):
        _same(a, b)


def _both(fn, *args):
    """fn's results with irax (under jit: one program, where eager mode would
    compile a kernel per op) and with JAX, in pairs."""
    mine = irax.jit(lambda *a: fn(jnp, irax.lax, *a))(*args)
    theirs = fn(jjnp, jax.lax, *args)
    return list(zip(jax.tree.leaves(mine), jax.tree.leaves(theirs)))


def test_partition_matches_jax():
    def partitions(np_mod, lax, x, u):
        return np_mod.partition(x, 5), np_mod.argpartition(x, 1, axis=0), np_mod.partition(u, -3)

    for a, b in _both(partitions, _sample(np.float32), _sample(np.uint8)):
        _same(a, b)


def test_searchsorted_and_digitize_match_jax():
    a = np.sort(_sample(np.float32, (37,)))
    v = _sample(np.float32)
    _same(jnp.searchsorted(a, v), jjnp.searchsorted(a, v))  # eagerly too
    order = np.argsort(-a).astype(np.int32)
    bins = np.float32([-1.0, 0.0, 0.25, 3.0])

    def searches(np_mod, lax, a, v, order, bins):
        return (np_mod.searchsorted(a, v, side="right"), np_mod.searchsorted(a, v, method="sort"),
                np_mod.searchsorted(a[order], v, sorter=order), np_mod.searchsorted(np_mod.arange(5), 2.5),
                np_mod.digitize(v, bins), np_mod.digitize(v, bins[::-1], right=True))

    for mine, theirs in _both(searches, a, v, order, bins):
        _same(mine, theirs)
    with pytest.raises(ValueError, match="invalid argument side='middle'"):
        jnp.searchsorted(a, v, side="middle")
    with pytest.raises(ValueError, match="invalid argument method='bisect'"):
        jnp.searchsorted(a, v, method="bisect")
    with pytest.raises(ValueError, match="a should be 1-dimensional"):
        jnp.searchsorted(v, a)


EVERY = dict(return_index=True, return_inverse=True, return_counts=True)


def test_unique_matches_jax():
    x = _sample(np.float32)
    for a, b in zip(jnp.unique(x, **EVERY), jjnp.unique(x, **EVERY)):
        _same(a, b)
    with pytest.raises(core.ConcretizationTypeError, match="The error arose for the first argument of jnp.unique"):
        irax.jit(jnp.unique)(x)

    def sized(np_mod, lax, x, rows):  # under jit, as `size` allows
        return (np_mod.unique(x, size=12, fill_value=-1, **EVERY), np_mod.unique(x, size=4),
                np_mod.unique(x, equal_nan=False, size=12), np_mod.unique(rows, axis=0, size=5, return_counts=True))

    for a, b in _both(sized, x, _sample(np.int32)[:, :2].T):
        _same(a, b)


def test_quantiles_match_jax():
    x = _sample(np.float32)
    x[0] = rng.standard_normal(37)  # one row without NaN
    w = rng.uniform(0, 2, x.shape).astype(np.float32)
    w[2, 5] = -1.0  # a negative weight makes its row's result NaN
    q = np.float32([0.0, 0.3, 0.5, 1.0])
    methods = ["linear", "lower", "higher", "midpoint", "nearest", "inverted_cdf"]

    def quantiles(np_mod, lax, x, q, w):
        return ([np_mod.quantile(x, q, axis=1, method=m) for m in methods]
                + [np_mod.nanquantile(x, 0.3, axis=1, method=m, keepdims=True) for m in ("linear", "inverted_cdf")]
                + [np_mod.median(x[0]), np_mod.median(x, axis=0), np_mod.nanmedian(x, axis=1),
                   np_mod.median((x[:1] * 4).astype(np.int32), axis=1, keepdims=True),
                   np_mod.percentile(x[:1], q * 100, axis=(0, 1)), np_mod.nanpercentile(x, 30.0, axis=None)]
                + [np_mod.nanquantile(x, q[1:3], axis=axis, method="inverted_cdf", weights=weights)
                   for weights, axis in ((w, 1), (w[0], 1), (w, None))])

    for mine, theirs in _both(quantiles, x, q, w):
        _close(mine, theirs)
    _same(jnp.median(x, axis=1), jjnp.median(x, axis=1))  # eagerly too
    with pytest.raises(ValueError, match="method can only be"):
        jnp.quantile(x, 0.5, method="cubic")
    with pytest.raises(NotImplementedError, match="linear doesn't support weights"):
        jnp.quantile(x, 0.5, weights=w)


def _finite_difference(f, x, direction, eps=1e-2):
    return (f(x + eps * direction) - f(x - eps * direction)) / (2 * eps)


def test_gradients_match_jax():
    # values 0.1 apart: no ties (the derivative is defined), and no two swap within a finite difference's
    # step (0.01 along a normal direction), which is large for float32 rounding of the losses
    rows = np.random.default_rng(1)
    x = (rows.permutation(111).reshape(3, 37) * 0.1).astype(np.float32)
    w = np.linspace(-1, 1, 37, dtype=np.float32)

    def losses(np_mod, lax):
        return [lambda x: (np_mod.sort(x, axis=1) * w).sum(),
                lambda x: (lax.top_k(x, 3)[0] ** 2).sum(),
                lambda x: (np_mod.median(x, axis=1) * np_mod.arange(3.0)).sum()]

    for k, (mine, theirs) in enumerate(zip(losses(jnp, irax.lax), losses(jjnp, jax.lax))):
        expected = jax.grad(theirs)(x)
        if k == 0:  # eagerly too (its own program)
            np.testing.assert_allclose(irax.grad(mine)(x), expected, rtol=1e-6)
        gradient = irax.jit(irax.grad(mine))(x)
        np.testing.assert_allclose(gradient, expected, rtol=1e-6)
        direction = rows.standard_normal(x.shape).astype(np.float32)
        along = float((np.asarray(gradient) * direction).sum())
        np.testing.assert_allclose(along, float(_finite_difference(irax.jit(mine), x, direction)), rtol=1e-2)
    t = rng.standard_normal(x.shape).astype(np.float32)
    _, tangent = irax.jvp(lambda x: jnp.sort(x, axis=0), (x,), (t,))
    _, expected = jax.jvp(lambda x: jjnp.sort(x, axis=0), (x,), (t,))
    np.testing.assert_allclose(tangent, expected)


def test_vmap_of_sort():
    x = _sample(np.float32)
    _same(irax.vmap(jnp.sort)(x), jjnp.sort(x, axis=1))
    _same(irax.vmap(jnp.argsort, in_axes=1)(x), jjnp.argsort(x.T, axis=1))
    for a, b in zip(irax.vmap(lambda r: irax.lax.top_k(r, 3))(x), jax.lax.top_k(x, 3)):
        _same(a, b)


def test_top_k_of_a_small_k_matches_jax_under_jit():
    """Under jit on the CPU a small k is selected by the native kernel
    (frontend/lax_sorting.py): JAX's values and indices, ties in index
    order, NaNs of both signs and -0.0, an ascending row (every element
    enters), k equal to the row, unsigned integers past 2^31."""
    top = irax.jit(lambda x, k: irax.lax.top_k(x, k), static_argnums=1)
    ascending = np.sort(rng.standard_normal((3, 37)), axis=1).astype(np.float32)
    unsigned = rng.choice(np.uint32([0, 7, 2 ** 31, 2 ** 32 - 1]), (3, 37))
    for x, k in [(_sample(np.float32), 5), (_sample(np.float32), 37), (ascending, 5), (_sample(np.int32), 5),
                 (unsigned, 5)]:
        for a, b in zip(top(x, k), jax.lax.top_k(x, k)):
            _same(a, b)


def test_top_k_of_a_long_row_matches_jax_eagerly():
    """An eager row of EAGER_SELECT_ROW elements is selected natively on the CPU."""
    x = _sample(np.float32, (2, lax_sorting.EAGER_SELECT_ROW))
    for a, b in zip(irax.lax.top_k(x, 10), jax.lax.top_k(x, 10)):
        _same(a, b)
