"""Complex numbers where irax used to raise: running sums and products
(cumsum, cumprod, cumulative_sum/prod, lax's reverse=) and ordering, which
JAX makes lexicographic -- by the real parts, then the imaginary ones --
in sort, argsort, sort_complex, lexsort, searchsorted, unique and the set
operations (NaNs last in each part), max/min reductions and ptp,
maximum/minimum and the comparisons z < w. Values against JAX (NumPy for
the products), dtypes, JAX's errors where JAX refuses complex (argmax,
lax.lt, clip, quantile, top_k, partition), and gradients of real losses
against jax.grad and finite differences (and jax.jvp).

Arrays are Z (2, 4) or V (8,) where they can be, so that cases share programs."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax import lax

jax = pytest.importorskip("jax")
jjnp = jax.numpy

Z = np.array([[1 + 2j, 1 - 1j, 5j, 2], [3j, -1 - 0.5j, 1 - 1j, 0.5 + 0.5j]], np.complex64)
# ties, a NaN in either part, equal real parts told apart by the imaginary ones
V = np.array([1 + 2j, 1 - 1j, complex(np.nan, 0), 5j, complex(0, np.nan), 2, -1 - 0.5j, 1 - 1j], np.complex64)
W = (np.arange(8).reshape(2, 4) * (0.3 - 0.2j) + 0.1).astype(np.complex64)  # weights of the gradient losses


def _same(actual, expected):
    """The same dtype, shape and values (NaNs where JAX has them)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, (actual, expected)
    np.testing.assert_array_equal(actual, expected)


def _both(fn):
    """fn's value with irax and with JAX: fn(numpy module, lax module)."""
    return fn(jnp, lax), fn(jjnp, jax.lax)


def _check(cases):
    for case in cases:
        _same(*_both(case))


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_cumsum_of_complex_matches_numpy(axis):
    got = jnp.cumsum(Z, axis=axis)
    assert got.dtype == jax.numpy.cumsum(Z, axis=axis).dtype
    np.testing.assert_allclose(np.asarray(got), np.cumsum(Z, axis=axis), rtol=1e-6)
    if axis is not None:
        np.testing.assert_allclose(np.asarray(jnp.cumulative_sum(Z, axis=axis)), np.cumsum(Z, axis=axis), rtol=1e-6)


@pytest.mark.parametrize("axis", [None, 0, 1])
def test_cumprod_of_complex_matches_numpy(axis):
    """A scan of complex products on the (re, im) pairs (a complex scan does not compile on Vulkan)."""
    got = jnp.cumprod(Z, axis=axis)
    assert got.dtype == jjnp.cumprod(Z, axis=axis).dtype
    np.testing.assert_allclose(np.asarray(got), np.cumprod(Z, axis=axis), rtol=1e-6)
    if axis is not None:
        np.testing.assert_allclose(np.asarray(jnp.cumulative_prod(Z, axis=axis)), np.cumprod(Z, axis=axis), rtol=1e-6)
        backwards = np.cumprod(Z[:, ::-1] if axis else Z[::-1], axis=axis)
        np.testing.assert_allclose(np.asarray(lax.cumprod(Z, axis=axis, reverse=True)),
                                   backwards[:, ::-1] if axis else backwards[::-1], rtol=1e-6)
        np.testing.assert_allclose(np.asarray(lax.cumsum(Z, axis=axis)), np.cumsum(Z, axis=axis), rtol=1e-6)


def test_sorts_match_jax():
    _check([
        lambda m, l: m.sort(V),
        lambda m, l: m.argsort(V),
        lambda m, l: m.sort(V, descending=True),
        lambda m, l: m.argsort(V, descending=True),
        lambda m, l: m.sort(Z, axis=0),
        lambda m, l: m.sort_complex(V),
        lambda m, l: m.sort_complex(np.array([3, 1, 2], np.int32)),  # becomes complex64
        lambda m, l: m.lexsort([V.real, V]),
        lambda m, l: l.sort((V, np.arange(8, dtype=np.int32)), num_keys=1)[1],
    ])


def test_searches_and_set_operations_match_jax():
    """unique and the set operations take every complex NaN as NaN + 0j, and NaNs as equal, as JAX's do."""
    sorted_v = np.asarray(jjnp.sort(V))
    _check([
        lambda m, l: m.searchsorted(sorted_v, V),
        lambda m, l: m.searchsorted(sorted_v, V, side="right"),
        lambda m, l: m.unique(V),
        lambda m, l: m.unique(V, return_counts=True)[1],
        lambda m, l: m.union1d(V, Z[0]),
        lambda m, l: m.setdiff1d(V, Z[0]),
        lambda m, l: m.union1d(V.real, V.imag),  # float NaNs are one value too
    ])


def test_max_min_and_ptp_match_jax():
    # (with a NaN the result depends on the order elements are folded in, in JAX as in irax)
    _check([
        lambda m, l: m.max(Z),
        lambda m, l: m.min(Z, axis=0),
        lambda m, l: m.max(Z, axis=1, keepdims=True),
        lambda m, l: m.ptp(Z, axis=1),
        lambda m, l: l.reduce_min(Z, (1,)),
    ])


def test_maximum_minimum_and_comparisons_match_jax():
    """Elementwise, NaNs included: max(a, b) = a if a > b lexicographically
    (NaN compares false) else b, as JAX lowers it."""
    w = np.roll(V, 3)
    _check([
        lambda m, l: m.maximum(V, w),
        lambda m, l: m.minimum(V, w),
        lambda m, l: l.max(V, w),
        lambda m, l: m.less(V, w),
        lambda m, l: m.less_equal(V, 1 - 1j),
        lambda m, l: m.greater(V, w),
        lambda m, l: m.greater_equal(V, w),
    ])


@pytest.mark.parametrize("call", [
    lambda m, l: m.argmax(Z),
    lambda m, l: m.nanargmin(Z),
    lambda m, l: l.lt(Z, Z),
    lambda m, l: m.clip(Z, 0, 1),
    lambda m, l: m.clip(Z.real, 0j, 1),
    lambda m, l: m.median(Z),
    lambda m, l: m.quantile(Z, 0.5),
    lambda m, l: l.top_k(Z, 2),
    lambda m, l: m.partition(V, 3),
], ids=["argmax", "nanargmin", "lax_lt", "clip", "clip_bound", "median", "quantile", "top_k", "partition"])
def test_what_jax_refuses_for_complex_irax_refuses_alike(call):
    with pytest.raises(Exception) as expected:
        call(jjnp, jax.lax)
    with pytest.raises(type(expected.value)) as got:
        call(jnp, lax)
    assert str(got.value) == str(expected.value)


def test_jit_matches_eager():
    def fn(z):
        return jnp.sort(z, axis=1), jnp.max(z, axis=0), jnp.cumprod(z, axis=1), jnp.less(z, z[::-1])

    for got, eager in zip(irax.jit(fn)(Z), fn(Z)):
        np.testing.assert_allclose(np.asarray(got), np.asarray(eager), rtol=1e-6)


LOSSES = {  # real losses of a complex z, as functions of a numpy-like module (irax, JAX, NumPy)
    "cumsum": lambda m: lambda z: m.sum(m.abs(m.cumsum(z, axis=1)) ** 2),
    "cumprod": lambda m: lambda z: m.sum(m.abs(m.cumprod(z, axis=1) * W) ** 2),
    "sort": lambda m: lambda z: m.sum(m.abs(m.sort(z, axis=1) * W) ** 2),
    # z[0, 3] ties with the 2 appended to its row: they share the tangent, as in JAX
    "max": lambda m: lambda z: m.sum(m.abs(m.max(m.concatenate([z, np.full((2, 1), 2, np.complex64)], axis=1),
                                                 axis=1) * (2 - 1j)) ** 2) + m.real(m.min(z, axis=0) * (1 + 3j)).sum(),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_grad_of_a_real_loss_matches_jax_and_finite_differences(name):
    loss = LOSSES[name]
    g = np.asarray(irax.grad(loss(jnp))(Z))
    np.testing.assert_allclose(g, np.asarray(jax.grad(loss(jjnp))(Z)), rtol=1e-5, atol=1e-4)
    # finite differences (float64 NumPy): JAX's gradient of a real loss is dL/dx - i dL/dy
    f, h, z = loss(np), 1e-6, Z.astype(np.complex128)
    for at in ((0, 2), (1, 3)):  # (no tie within a step of them)
        for step, part in ((h, np.real), (1j * h, lambda v: -np.imag(v))):
            bumped = z.copy()
            bumped[at] += step
            np.testing.assert_allclose((f(bumped) - f(z)) / h, part(g[at]), rtol=1e-4, atol=1e-4)


def test_jvp_matches_jax():
    """Forward mode too: the complex keys and the max's parts are generics of one result."""
    tangent = (np.arange(8).reshape(2, 4) * (1 - 1j)).astype(np.complex64)
    for fn in (lambda m: lambda z: m.sort(z, axis=1), lambda m: lambda z: m.cumprod(z, axis=1),
               lambda m: lambda z: m.max(z, axis=1), lambda m: lambda z: m.maximum(z, 1 + 1j)):
        np.testing.assert_allclose(np.asarray(irax.jvp(fn(jnp), (Z,), (tangent,))[1]),
                                   np.asarray(jax.jvp(fn(jjnp), (Z,), (tangent,))[1]), rtol=1e-5, atol=1e-5)
