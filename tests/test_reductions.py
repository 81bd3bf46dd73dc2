"""Reductions: values against NumPy, dtypes and errors against JAX.

Shapes, axes and dtypes are chosen so that cases share eager kernels (one per
rank, reduced axes, keepdims and dtype): a new combination costs a compile.
"""
import warnings

import ml_dtypes
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.frontend import core, eager
from irax.frontend.core import Trace
from irax.frontend.numpy.util import asarray
from irax.frontend.primitives import reductions, scans

jax = pytest.importorskip("jax")
jjnp = jax.numpy

from helpers import TOL, check, rng, run_module, sample  # noqa: E402
def run_traced(fn, *arrays):
    """Run `fn` traced with static shapes (as under jit), compiled as one module:
    eager kernels see dynamic dims, so this covers the static code paths. A
    list of results (several checks packed in one compile) comes back as a list."""
    trace = Trace()
    with trace.active():
        out = fn(*[trace.new_argument(a.aval) for a in arrays])
    outs = out if isinstance(out, list) else [out]
    results = run_module(trace.finish(outs), arrays, [o.aval.update(weak_type=False) for o in outs])
    return results if isinstance(out, list) else results[0]


def traced_aval(fn, *avals):
    """The aval `fn` returns on arguments of `avals`: traced, never compiled."""
    trace = Trace()
    with trace.active():
        return fn(*[trace.new_argument(a) for a in avals]).aval


# (shape, axis, keepdims): every rank from 0 to 3, empty arrays, negative and
# tuple axes. Reduced lengths are at least 1 unless the function has an identity.
CASES = [
    ((), None, False), ((5,), 0, True), ((3, 4), -1, False), ((3, 4), 0, True),
    ((2, 3, 4), (0, -1), False), ((2, 3, 4), None, True), ((0, 3), 1, False),
]
FEWER_CASES = [((3, 4), 0, True), ((2, 3, 4), (0, -1), False)]
EMPTY_CASES = [((0, 3), 0, True), ((2, 0, 4), (0, -1), False), ((2, 3, 0), None, True)]  # kernels shared with CASES


def _reduction_cases(names, cases):
    return [(name, *case) for name in names for case in cases]


@pytest.mark.parametrize(
    "name, shape, axis, keepdims",
    _reduction_cases(["sum", "max"], CASES)
    + _reduction_cases(["prod", "min", "mean", "var", "std", "all", "any"], FEWER_CASES),
)
def test_reduction_values(name, shape, axis, keepdims):
    x = sample(shape)
    out = getattr(jnp, name)(asarray(x), axis=axis, keepdims=keepdims)
    check(out, getattr(np, name)(x, axis=axis, keepdims=keepdims).astype(out.dtype))


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "any"])
@pytest.mark.parametrize("shape, axis, keepdims", EMPTY_CASES)
def test_reductions_of_empty_arrays(name, shape, axis, keepdims):
    x = np.zeros(shape, np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's "mean of empty slice"
        expected = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    check(getattr(jnp, name)(asarray(x), axis=axis, keepdims=keepdims), expected)


@pytest.mark.parametrize("name, shape, axis, keepdims", [
    ("argmax", (), None, False), ("argmax", (5,), None, False), ("argmax", (3, 4), -1, True),
    ("argmax", (3, 4), 0, False), ("argmax", (2, 3, 4), None, True), ("argmax", (2, 3, 4), 1, False),
    ("argmax", (3, 0), 0, False),
    ("argmin", (3, 4), 0, False), ("argmin", (2, 3, 4), None, True),
])
def test_arg_reduction_values(name, shape, axis, keepdims):
    x = rng.integers(-3, 4, shape).astype(np.float32)  # small ints: many ties
    out = getattr(jnp, name)(asarray(x), axis=axis, keepdims=keepdims)
    assert out.dtype == np.int32
    check(out, getattr(np, name)(x, axis=axis, keepdims=keepdims), 0)


ALL_FUNCTIONS = [
    "sum", "prod", "max", "min", "mean", "var", "std", "argmax", "argmin", "all", "any", "cumsum", "cumprod",
]
DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint32, np.int32, np.float16, ml_dtypes.bfloat16, np.float32]


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_dtypes_and_weak_types_match_jax(name):
    for dtype in DTYPES:
        for weak in [False, True] if np.dtype(dtype) in (np.int32, np.float32) else [False]:
            ours = traced_aval(lambda x: getattr(jnp, name)(x, axis=0), core.ShapedArray((3, 4), dtype, weak))
            spec = jax.ShapeDtypeStruct((3, 4), dtype, weak_type=weak)
            theirs = jax.eval_shape(lambda x: getattr(jjnp, name)(x, axis=0), spec)
            assert (ours.shape, ours.dtype, ours.weak_type) == (theirs.shape, theirs.dtype, theirs.weak_type), dtype
    ours, theirs = traced_aval(lambda: getattr(jnp, name)(1.5)), getattr(jjnp, name)(1.5)  # a Python scalar
    assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)


def test_dtypes_in_x64_mode_match_jax(x64):
    for dtype in [np.bool_, np.int16, np.int32, np.int64, np.uint32, np.float64]:
        for name in ["sum", "mean", "var", "argmax", "cumsum"]:
            ours = traced_aval(lambda x: getattr(jnp, name)(x, axis=0), core.ShapedArray((3, 4), dtype))
            theirs = jax.eval_shape(lambda x: getattr(jjnp, name)(x, axis=0), jax.ShapeDtypeStruct((3, 4), dtype))
            assert ours.dtype == theirs.dtype, (name, dtype)


@pytest.mark.parametrize("dtype", [np.bool_, np.uint8, np.float16, ml_dtypes.bfloat16])
def test_values_in_other_dtypes(dtype):
    x = sample((3, 4), dtype)
    for name in ["sum", "argmin", "cumsum"]:
        ours, theirs = getattr(jnp, name)(asarray(x), axis=0), getattr(jjnp, name)(x, axis=0)
        assert ours.dtype == theirs.dtype, name
        check(ours, np.asarray(theirs).astype(np.float64), TOL.get(np.dtype(dtype), 0))


# The inputs of _integer_reductions (arguments of one jitted function: one compile).
INTEGER_INPUTS = {
    "uint8s": np.array([200, 200, 100], np.uint8), "int8s": np.array([-3, 5, 7], np.int8),
    "extremes": np.array([np.iinfo(np.int32).min, -1, np.iinfo(np.int32).max], np.int32),
    "unsigned": np.array([3, 250, 129, 0], np.uint8),  # unsigned order: 250 is the largest
    "bools": np.array([False, True, True], np.bool_),
}


def _integer_reductions(m, uint8s, int8s, extremes, unsigned, bools):
    return [m.sum(uint8s), m.prod(int8s), m.max(extremes), m.min(extremes), m.max(unsigned), m.min(unsigned),
            m.argmax(unsigned), m.argmin(unsigned), m.argmax(bools), m.argmin(bools), m.max(bools)]


def test_integer_accumulation():
    """Integer sums and products accumulate wide (uint8 to uint32: 500), and
    extrema and their indices order each dtype (unsigned, bool) right."""
    ours = irax.jit(lambda a: _integer_reductions(jnp, **a))(INTEGER_INPUTS)
    assert ours[0].dtype == np.uint32
    assert int(ours[0]) == 500 and int(ours[1]) == -105
    for k, (o, want) in enumerate(zip(ours, _integer_reductions(np, **INTEGER_INPUTS), strict=True)):
        assert o.shape == (), k
        assert int(o) == int(want), k


def test_half_precision_sums_accumulate_in_float32():
    x = np.full(4096, 1.0, np.float16)  # a float16 running sum would stop at 2048
    assert float(jnp.sum(asarray(x))) == 4096.0
    assert float(jnp.mean(asarray(x))) == 1.0
    check(jnp.cumsum(asarray(x)), np.cumsum(x.astype(np.float32)).astype(np.float16), 0)


def test_nan_propagates_and_argmax_finds_the_first_nan():
    x = np.array([[1.0, np.nan, 5.0, np.nan], [2.0, 7.0, 7.0, -1.0]], np.float32)
    jx = asarray(x)
    check(jnp.max(jx, axis=1), np.max(x, axis=1))
    check(jnp.min(jx, axis=1), np.min(x, axis=1))
    check(jnp.argmax(jx, axis=1), np.argmax(x, axis=1), 0)  # [1, 1]: first NaN, first of the tied 7s
    check(jnp.argmin(jx, axis=1), np.argmin(x, axis=1), 0)
    check(jnp.argmax(jx), np.argmax(x), 0)
    inf = np.array([-np.inf, -np.inf, np.inf, np.inf], np.float32)
    check(jnp.argmax(asarray(inf)), 2, 0)
    check(jnp.argmin(asarray(inf)), 0, 0)
    assert int(jnp.argmax(asarray(np.full(3, -np.inf, np.float32)))) == 0


def test_sum_dtype_argument_matches_jax():
    """(Every case in one jitted function: one compile.)"""
    x, ints = np.array([[1.5, 2.5], [-3.0, 4.0]], np.float32), np.arange(4, dtype=np.int32)
    dtypes = [np.int8, np.bool_, np.float16]

    def sums(m, x, ints):
        return [m.sum(x, axis=0, dtype=dtype) for dtype in dtypes] + [m.mean(ints, dtype=np.float16)]

    *ours, mean = irax.jit(lambda x, ints: sums(jnp, x, ints))(x, ints)
    for dtype, o, theirs in zip(dtypes, ours, sums(jjnp, x, ints)):
        assert o.dtype == theirs.dtype, dtype
        np.testing.assert_allclose(np.asarray(o, np.float64), np.asarray(theirs, np.float64), rtol=1e-3, atol=1e-3,
                                   err_msg=str(dtype))
    assert mean.dtype == np.float16 and float(mean) == 1.5


def test_initial():
    x = np.array([[1.0, -2.0], [3.0, 0.5]], np.float32)
    check(jnp.max(asarray(x), axis=-1, initial=2.0), np.max(x, axis=-1, initial=2.0))
    check(jnp.min(asarray(np.zeros((2, 0), np.float32)), axis=-1, initial=4.0), [4.0, 4.0])
    check(jnp.sum(asarray(x), axis=-1, initial=10.0), np.sum(x, axis=-1, initial=10.0))


@pytest.mark.parametrize("ddof", [0, 1, 5])
def test_var_std_ddof(ddof):
    """With ddof >= N NumPy divides by max(N - ddof, 0), JAX gives NaN: irax follows JAX."""
    x = sample((3, 4))
    oracle = np if ddof < 3 else jjnp
    check(jnp.var(asarray(x), axis=-1, ddof=ddof), oracle.var(x, axis=-1, ddof=ddof))
    check(jnp.std(asarray(x), axis=0, ddof=ddof), oracle.std(x, axis=0, ddof=ddof))


def test_var_with_a_number_ddof_takes_the_same_bits_as_with_an_array_one():
    """A Python ddof's N - ddof is worked out on the host (no kernels for
    it): the same bits as an array ddof's on the device, and JAX's NaN where
    it is not positive."""
    x = asarray(sample((3, 5)))
    for axis, ddof in [(None, 1), (0, 0.5), (1, 5)]:
        got, on_device = jnp.var(x, axis=axis, ddof=ddof), jnp.var(x, axis=axis, ddof=jnp.asarray(ddof))
        np.testing.assert_array_equal(np.asarray(got).view(np.uint32), np.asarray(on_device).view(np.uint32))
        assert got.dtype == on_device.dtype and got.weak_type == jjnp.var(np.asarray(x), axis=axis, ddof=ddof).weak_type


def test_mean_and_var_of_integers_are_float32():
    """(The three in one jitted function: one compile.)"""
    x = np.array([[1, 2, 3], [4, 6, 9]], np.int32)
    names = ["mean", "var", "std"]
    ours = irax.jit(lambda x: [getattr(jnp, name)(x, axis=1) for name in names])(x)
    for name, out in zip(names, ours):
        assert out.dtype == getattr(jjnp, name)(x, axis=1).dtype == np.float32, name
        np.testing.assert_allclose(np.asarray(out, np.float64), getattr(np, name)(x, axis=1), rtol=1e-5, atol=1e-5,
                                   err_msg=name)


@pytest.mark.parametrize("name, shape, axis", [
    ("cumsum", (), None), ("cumsum", (7,), None), ("cumsum", (7,), -1), ("cumsum", (3, 4), 0), ("cumsum", (3, 4), 1),
    ("cumsum", (2, 3, 5), None), ("cumsum", (2, 3, 5), 1), ("cumsum", (0, 3), 0), ("cumsum", (3, 0), None),
    ("cumprod", (7,), -1), ("cumprod", (2, 3, 5), 1), ("cumprod", (3, 4), None),
])
def test_cumulative_values(name, shape, axis):
    x = rng.uniform(0.5, 1.5, shape).astype(np.float32)
    check(getattr(jnp, name)(asarray(x), axis=axis), getattr(np, name)(x, axis=axis))


def test_cumulative_long_and_integer():
    x = rng.integers(-5, 6, 1000).astype(np.int32)
    check(jnp.cumsum(asarray(x)), np.cumsum(x), 0)  # exact: 10 scan steps
    b = np.array([[True, False, True], [False, False, True]])
    out = jnp.cumsum(asarray(b), axis=1)
    assert out.dtype == jjnp.cumsum(b, axis=1).dtype == np.int32
    check(out, np.cumsum(b, axis=1), 0)
    out = jnp.cumsum(asarray(np.array([0, -1, 1, 0], np.int32)), dtype=bool)
    assert out.dtype == np.bool_
    check(out, np.asarray(jjnp.cumsum(np.array([0, -1, 1, 0], np.int32), dtype=bool)), 0)
    check(jnp.cumprod(asarray(np.array([2, -3, 1, 4], np.int8))), np.cumprod(np.array([2, -3, 1, 4], np.int8)), 0)


STATIC_CUMULATIVE = [("cumsum", (1,), 0), ("cumsum", (3, 5), 1), ("cumsum", (9, 2), 0), ("cumprod", (2, 3), None)]


def test_cumulative_with_static_shapes():
    """Traced with static shapes, the scan is unrolled (no scf.while). (Every
    case in one module: one compile.)"""
    xs = [sample(shape) for _, shape, _ in STATIC_CUMULATIVE]
    outs = run_traced(lambda *t: [getattr(jnp, name)(a, axis=axis) for (name, _, axis), a in zip(STATIC_CUMULATIVE, t)],
                      *[asarray(x) for x in xs])
    for (name, shape, axis), x, out in zip(STATIC_CUMULATIVE, xs, outs, strict=True):
        want = getattr(np, name)(x, axis=axis)
        assert out.shape == want.shape, (name, shape, axis)
        np.testing.assert_allclose(np.asarray(out), want, rtol=1e-5, atol=1e-5, err_msg=repr((name, shape, axis)))


def test_cumsum_is_one_scan_and_differentiates_as_jax():
    """cumsum is IREE's scan op (one pass), with autodiff and vmap rules of
    its own: the transpose scans from the other end."""
    x, w = sample((2, 5)), sample((2, 5))
    assert irax.jit(jnp.cumsum).lower(x).as_text("optimized").count("iree_linalg_ext.scan") == 1
    loss, jax_loss = (lambda x, np_like=np_like: (np_like.cumsum(x, axis=1) * w).sum() for np_like in (jnp, jjnp))
    check(irax.grad(loss)(x), jax.grad(jax_loss)(x))
    check(irax.jvp(lambda x: jnp.cumsum(x, axis=0), (x,), (w,))[1], np.cumsum(w, axis=0))
    check(irax.vmap(jnp.cumsum)(x), np.cumsum(x, axis=1))
    cube, jax_cube = (lambda r, np_like=np_like: (np_like.cumsum(r) ** 3).sum() for np_like in (jnp, jjnp))
    check(irax.hessian(cube)(x[0]), jax.hessian(jax_cube)(x[0]), tol=1e-4)


def test_reductions_with_static_shapes():
    """(The three in one module: one compile.)"""
    x = sample((2, 3, 4))
    total, first, var = run_traced(
        lambda t: [jnp.sum(t, axis=(0, 2), keepdims=True), jnp.argmax(t, axis=1, keepdims=True), jnp.var(t, axis=-1)],
        asarray(x))
    check(total, x.sum(axis=(0, 2), keepdims=True))
    check(first, x.argmax(axis=1)[:, None], 0)
    check(var, x.var(axis=-1))


# name -> f(numpy module, x of 4 floats): reductions of arrays made of constants alone under jit
CONSTANT_REDUCTIONS = {
    "sum ones": lambda np_, x: np_.sum(np_.ones(4)),
    "prod full": lambda np_, x: np_.prod(np_.full((4,), 2.0)),
    "mean ones axis": lambda np_, x: np_.mean(np_.ones((2, 3)), axis=1),
    "sum zeros plus 2": lambda np_, x: np_.sum(np_.zeros(4) + 2),
    "integer sum": lambda np_, x: np_.sum(np_.full((4,), 3)),
    "count_nonzero": lambda np_, x: np_.count_nonzero(np_.ones(4)),
    "beside x": lambda np_, x: x + np_.sum(np_.ones_like(x)),
}


@pytest.mark.parametrize("name", CONSTANT_REDUCTIONS)
def test_reductions_of_constants_under_jit_match_jax(name):
    """IREE 3.13 folded the fill into the reduction and ran its loop once:
    `jit(lambda: jnp.ones(4).sum())()` was 1.0 (copy-shared-generators)."""
    x = np.arange(4, dtype=np.float32)
    fn = CONSTANT_REDUCTIONS[name]
    got, want = irax.jit(lambda x: fn(jnp, x))(x), jax.jit(lambda x: fn(jjnp, x))(x)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_gradient_through_a_reduction_of_constants_under_jit():
    loss = lambda np_: lambda x: np_.sum(x * np_.sum(np_.ones((2, 3)), axis=1).sum())  # noqa: E731
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(irax.jit(irax.grad(loss(jnp)))(x), jax.grad(loss(jjnp))(x))


def test_a_fold_of_a_row_picked_by_a_traced_index():
    """The CPU prepare step fused the gather of y[i] (whose only input is the
    0-d index) into the fold, which then had nothing to size its loops
    ("indexing maps are non-invertible")."""
    y = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    fn = lambda np_: lambda y, i: np_.sum(y[i], axis=0)  # noqa: E731
    np.testing.assert_array_equal(irax.jit(fn(jnp))(y, np.int32(1)), jax.jit(fn(jjnp))(y, np.int32(1)))


@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4)])
def test_full_sum_of_a_product_with_a_broadcast_row(shape):
    """sum(x * w[None, :]) is a contraction to a 0-d result, which IREE fails
    to vectorize when fused (reductions.py sums the rows first)."""
    x, w = sample(shape), sample(shape[-1:])
    check(run_traced(lambda a, b: jnp.sum(a * b), asarray(x), asarray(w)), np.sum(x * w))
    check(run_traced(lambda a, b: jnp.mean(a * b), asarray(x), asarray(w)), np.mean(x * w))


def _closeness(m, a, b, ints, ints_short):
    """isclose, allclose and array_equal of the arrays of test_isclose_allclose_array_equal."""
    return [*(f for equal_nan in [False, True] for f in (m.isclose(a, b, equal_nan=equal_nan),
                                                         m.allclose(a, a, equal_nan=equal_nan),
                                                         m.array_equal(a, a, equal_nan=equal_nan))),
            m.isclose(a, b, 0.0, 0.5), m.array_equal(ints, ints_short),  # shapes differ
            m.array_equal(ints, ints.astype(np.float32)), m.allclose(a, b)]


def test_isclose_allclose_array_equal():
    """Against NumPy, every case in one jitted function (one compile)."""
    arrays = [np.array([1.0, np.nan, np.inf, -np.inf, 1e6, 0.0], np.float32),
              np.array([1.0 + 1e-6, np.nan, np.inf, np.inf, 1.00001e6, 1e-7], np.float32),
              np.array([1, 2, 3], np.int32), np.array([1, 2], np.int32)]
    ours = irax.jit(lambda *a: _closeness(jnp, *a))(*arrays)
    for k, (o, want) in enumerate(zip(ours, _closeness(np, *arrays), strict=True)):
        assert o.dtype == np.bool_ and o.shape == np.shape(want), k
        np.testing.assert_array_equal(np.asarray(o), want, err_msg=f"case {k}")


def test_array_methods():
    """The methods pass their arguments on: (3, 4) reduced as in CASES and the
    other value tests here, so they reuse those eager kernels."""
    x = sample((3, 4))
    jx = asarray(x)
    check(jx.sum(axis=0, keepdims=True), x.sum(axis=0, keepdims=True))
    check(jx.mean(), x.mean())
    check(jx.max(axis=-1), x.max(axis=-1))
    check(jx.argmin(axis=0), x.argmin(axis=0), 0)
    check(jx.cumsum(axis=1), x.cumsum(axis=1))
    check(jx.std(axis=0, keepdims=True), x.std(axis=0, keepdims=True))
    check((jx > 0).any(axis=0, keepdims=True), (x > 0).any(axis=0, keepdims=True), 0)


ERRORS = [
    ("sum", dict(axis=2)), ("sum", dict(axis=-3)), ("max", dict(axis=(0, 0))), ("mean", dict(axis=(1, -1))),
    ("sum", dict(axis=1.5)), ("argmax", dict(axis=(0, 1))), ("cumsum", dict(axis=2)), ("cumsum", dict(axis=(0,))),
    ("std", dict(dtype=np.int32)),
]


@pytest.mark.parametrize("name, kwargs", ERRORS)
def test_errors_match_jax(name, kwargs):
    x = np.ones((2, 3), np.float32)
    with pytest.raises(Exception) as theirs:
        getattr(jjnp, name)(x, **kwargs)
    with pytest.raises(theirs.type):
        getattr(jnp, name)(asarray(x), **kwargs)


def test_axis_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="axis 2 is out of bounds for array of dimension 2"):
        jnp.sum(asarray(np.ones((2, 3), np.float32)), axis=2)
    with pytest.raises(ValueError, match="axis 0 is out of bounds for array of dimension 0"):
        jnp.max(asarray(np.float32(1)), axis=0)
    with pytest.raises(ValueError):  # JAX raises IndexError here; NumPy an AxisError (both)
        jnp.argmax(asarray(np.ones((2, 3), np.float32)), axis=2)


@pytest.mark.parametrize("name, axis", [("argmax", None), ("argmin", 0), ("max", 0), ("min", None)])
def test_empty_arg_and_extremum_errors_match_jax(name, axis):
    e = np.ones((0, 3), np.float32)
    with pytest.raises(ValueError) as theirs:
        getattr(jjnp, name)(e, axis=axis)
    with pytest.raises(ValueError) as ours:
        getattr(jnp, name)(asarray(e), axis=axis)
    assert str(ours.value) == str(theirs.value)
    check(getattr(jnp, name)(asarray(e), axis=1), getattr(np, name)(e, axis=1), 0)  # an empty result is fine


def test_inputs_must_be_arrays():
    with pytest.raises(TypeError):
        jnp.sum([1, 2, 3])
    with pytest.raises(TypeError):
        jnp.cumsum("abc")


@pytest.mark.parametrize("n", [10**6, 10**6 + 37])
def test_long_float_sums_are_accurate(n):
    """A long float32 sum is computed as parallel partial sums: one running
    total would drift (0.75% low at 1e7 integers past 2^24)."""
    host = (np.arange(n) % 100).astype(np.float32)
    exact = host.astype(np.float64).sum()
    assert abs(float(jnp.sum(jnp.asarray(host))) / exact - 1) < 1e-6
    assert abs(float(jnp.mean(jnp.asarray(host.reshape(1, -1)), axis=1)[0]) / (exact / n) - 1) < 1e-6


# Data where a wrong padding value would win: max of negatives (a 0 pad would),
# min of positives, prod near 1 (a 0 pad would zero it).
LONG_FLOAT_DATA = {"max": (-2.0, -1.0), "min": (1.0, 2.0), "prod": (0.999, 1.001)}


@pytest.mark.parametrize("n", [4096, 4099])
def test_long_float_reductions_to_one_value(n):
    """Reduced to one value, a long float max, min or prod runs as parallel
    partial results over the last axis padded with the identity (static
    sizes traced, dynamic ones eagerly). The traced ones are packed, every
    function and layout in one module at each n (one compile, not six)."""
    hosts = {name: rng.uniform(*LONG_FLOAT_DATA[name], n).astype(np.float32) for name in sorted(LONG_FLOAT_DATA)}
    cases = [(name, x) for name, host in hosts.items() for x in (host, host.reshape(1, n))]
    fns = [getattr(jnp, name) for name, _ in cases]

    def traced():
        return run_traced(lambda *t: [fn(a) for fn, a in zip(fns, t)], *[asarray(x) for _, x in cases])

    for (name, x), fn, out in zip(cases, fns, traced()):
        for how, got in (("eager", fn(asarray(x))), ("traced", out)):
            assert got.shape == (), (name, x.shape, how)
            np.testing.assert_allclose(float(got), getattr(np, name)(x), rtol=1e-5, atol=1e-5,
                                       err_msg=(name, x.shape, how))
    for name in ("max", "min"):
        hosts[name][-1] = np.nan  # in the last, padded block (the 2-D cases are views of it)
        assert np.isnan(float(getattr(jnp, name)(asarray(hosts[name])))), name
    for (name, x), out in zip(cases, traced()):
        assert np.isnan(float(out)) == (name != "prod"), (name, x.shape)


# Longer than one shader loop may run (lavapipe stops a loop after 65 535
# iterations), and 3 * LONG longer than 128 lanes of such loops cover.
LONG = 2_800_000
LONG_REDUCTIONS = {
    np.int32: {"sum": jnp.sum, "max": jnp.max, "min": jnp.min, "argmax": jnp.argmax, "argmin": jnp.argmin},
    np.float32: {"sum": jnp.sum, "max": jnp.max, "argmin": jnp.argmin},
    np.bool_: {"sum": jnp.sum, "any": jnp.any, "argmax": jnp.argmax},  # of x; and of not x:
}
NOT_X = {"all": jnp.all, "argmin": jnp.argmin}


def _late_extremes(dtype, shape, axis):
    """Small values (bool: False) with the extremes planted late along `axis`
    (the flattened array when None), each twice: the later one must lose."""
    x = np.zeros(shape, dtype) if dtype == np.bool_ else rng.integers(-9, 10, shape).astype(dtype)
    lanes = x.reshape(1, -1) if axis is None else np.moveaxis(x, axis, -1)
    n = lanes.shape[-1]
    lanes[..., [n - 9000, n - 10]] = 50 if dtype != np.bool_ else True
    if dtype != np.bool_:
        lanes[..., [n - 7000, n - 20]] = -50
    return x


@pytest.mark.parametrize("dtype", [np.int32, np.float32, np.bool_])
def test_long_reductions(dtype):
    """No reduction rests on one thread looping over the whole reduced
    extent: over a long leading axis, a long trailing one, or all axes (the
    three in one jitted function: one compile).
    Under jit only: eagerly, arrays this long take kernels compiled for their
    exact shapes (STATIC_ABOVE), jit's code but one compile a reduction,
    where jit compiles them all as one program (eager's choice of those
    kernels: test_values_around_the_static_threshold and
    test_static_kernel_with_axis_and_keepdims)."""
    _check_long_reductions(dtype, (0, 1, None), jit=True)


def _check_long_reductions(dtype, axes, jit):
    cases = []  # (name, fn, axis, its input)
    for axis in axes:
        x = _late_extremes(dtype, (LONG, 3) if axis != 1 else (3, LONG), axis)
        cases += [(name, fn, axis, x) for name, fn in LONG_REDUCTIONS[dtype].items()]
        if dtype == np.bool_:
            cases += [(f"{name} of not x", fn, axis, ~x) for name, fn in NOT_X.items()]

    def run(*arrays):
        return [fn(a, axis=axis) for (_, fn, axis, _), a in zip(cases, arrays)]

    results = (irax.jit(run) if jit else run)(*[jnp.asarray(a) for *_, a in cases])
    for (name, _, axis, a), out in zip(cases, results):
        expected = getattr(np, name.split()[0])(a, axis=axis)
        assert out.shape == expected.shape, (name, axis)
        np.testing.assert_array_equal(np.asarray(out), expected, err_msg=f"{name}, axis {axis}")


@pytest.mark.parametrize("axis, keepdims", [(0, False), (2, True)])
def test_forward_mode_through_arg_reductions_as_jax(axis, keepdims):
    """jvp of argmax over axis 0 of a 3-D array raised NotDifferentiable
    ("multi-result linalg.generic"): its running maximum was reshaped though
    nothing read it, and forward mode took that for a use."""
    y = np.arange(24, dtype=np.float32).reshape(2, 3, 4)[:, ::-1] % 7

    def f(np_):
        return lambda y: (np_.argmax(y, axis=axis, keepdims=keepdims), np_.argmin(y, axis=axis, keepdims=keepdims))

    got, want = irax.jvp(f(jnp), (y,), (y,)), jax.jvp(f(jjnp), (y,), (y,))
    for g, w in zip(got[0], want[0]):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))
    assert [t.dtype for t in got[1]] == [t.dtype for t in want[1]]


def test_arg_reductions_under_jit():
    """argmax/argmin and the accuracy metric built on them, jitted (their
    two-output loop once broke the buffer-reuse pass)."""
    logits, labels = sample((6, 5)), rng.integers(0, 5, 6).astype(np.int32)
    check(irax.jit(lambda a: jnp.argmax(a, -1))(asarray(logits)), logits.argmax(-1), 0)
    check(irax.jit(lambda a: jnp.argmin(a))(asarray(logits)), logits.argmin(), 0)
    accuracy = irax.jit(lambda a, y: jnp.mean(jnp.argmax(a, -1) == y))
    check(accuracy(asarray(logits), asarray(labels)), np.mean(logits.argmax(-1) == labels))


# Eager kernels for big arrays (Primitive.static_above): the threshold is
# lowered here so that small arrays take the static-shape kernel (cheap
# compiles); sizes straddle it, and 2053 is prime (blocks and a leftover).
STATIC_TEST_ABOVE = 2053
BIG_KERNEL_OPS = {np.float32: ["sum", "max", "prod", "mean", "argmax"], np.int32: ["sum", "min", "argmin"],
                  np.bool_: ["any", "all"]}


def _set_static_above(monkeypatch, size):
    """Every reduction's threshold set to `size`, with an empty dispatch cache
    (it would answer with the kernels picked before)."""
    monkeypatch.setattr(eager, "_dispatch", eager._Dispatch())
    for prim in [*reductions.reduce.values(), reductions.argmax, reductions.argmin]:
        monkeypatch.setattr(prim, "static_above", size)


@pytest.fixture
def low_static_threshold(monkeypatch):
    _set_static_above(monkeypatch, STATIC_TEST_ABOVE)


def test_big_arrays_take_the_static_kernel():
    small, big = (core.ShapedArray((n,), np.float32) for n in (reductions.STATIC_ABOVE - 1, reductions.STATIC_ABOVE))
    assert not eager._static_kernel(reductions.reduce["sum"], (small,))
    assert eager._static_kernel(reductions.reduce["sum"], (big,))
    assert eager._static_kernel(reductions.argmax, (big,))
    assert not eager._static_kernel(scans.cumulative["sum"], (big,))


@pytest.mark.parametrize("dtype", list(BIG_KERNEL_OPS), ids=lambda d: np.dtype(d).name)
def test_values_around_the_static_threshold(low_static_threshold, dtype):
    for n in (STATIC_TEST_ABOVE - 1, STATIC_TEST_ABOVE, STATIC_TEST_ABOVE + 1):
        x = {np.float32: lambda: 1 + sample((n,)) * 1e-3,  # a product that neither overflows nor vanishes
             np.int32: lambda: rng.integers(-9, 10, n).astype(np.int32),
             np.bool_: lambda: rng.random(n) < 0.999}[dtype]()
        tol = TOL[np.dtype(np.float32)] if dtype == np.float32 else 0
        for name in BIG_KERNEL_OPS[dtype]:
            check(getattr(jnp, name)(asarray(x)), getattr(np, name)(x), tol)


@pytest.mark.parametrize("axis", [0, 1, None])
def test_static_kernel_with_axis_and_keepdims(low_static_threshold, axis):
    x = sample((3, STATIC_TEST_ABOVE))
    # A float32 sum of 2053 terms is exact to its blocked summation's error,
    # relative to sum |x|, not to the sum (-0.327 of terms ~1 was 8e-5 off).
    got = np.asarray(jnp.sum(asarray(x), axis=axis, keepdims=True), np.float64)
    want = np.sum(x.astype(np.float64), axis=axis, keepdims=True)
    assert got.shape == want.shape
    np.testing.assert_array_less(np.abs(got - want), 1e-6 * np.sum(np.abs(x), axis=axis, keepdims=True))
    check(jnp.argmax(asarray(x), axis=axis, keepdims=True), np.argmax(x, axis=axis, keepdims=True), 0)


@pytest.mark.parametrize("dtype", [np.int32, np.float32, np.bool_])
def test_long_reductions_with_the_generic_kernel(monkeypatch, dtype):
    """test_long_reductions' arrays are above STATIC_ABOVE (eagerly, static
    kernels): here, eagerly, the shape-generic kernel (its `scf.while` of
    stages) reduces them."""
    _set_static_above(monkeypatch, None)
    _check_long_reductions(dtype, (None,), jit=False)


def test_long_rows_fold_in_contiguous_chunks_and_stay_right():
    """A static row of STATIC_ABOVE elements or more is folded as chunks of
    (C, 64) (reductions._fold_chunks), each one stream of memory: here
    (2, 16, 1024, 64) over axis 1 and (32, 1024, 64) over all, each with a
    leftover (37 and 74 elements), their elementwise work moved in. The
    extremes are planted twice (the first must win) in a chunk and in the
    leftover; then NaNs, which max propagates and argmax finds first."""
    n = reductions.STATIC_ABOVE + 37
    a, b = sample((2, n)), sample((2, n))
    ints = rng.integers(-9, 10, (2, n)).astype(np.int32)

    def f(m, a, b, ints):
        return (m.sum(a, axis=1), m.max(a), m.argmax(a, axis=1), m.argmin(a), m.sum(a * b), m.mean((a - b) ** 2, axis=1),
                m.sum(ints, axis=1), m.argmax(ints))

    text = irax.jit(lambda *x: f(jnp, *x)).lower(a, b, ints).iree_input("cpu")
    assert "tensor<2x16x1024x64xf32>" in text and "distribution = [1, 2, 64, 0]" in text
    folds = irax.jit(lambda *x: f(jnp, *x))
    for at in (3 * 65536 + 5, n - 4):  # in the 4th chunk, in the leftover
        for x in (a, ints):
            x[:, at], x[:, at + 2] = 50, 50
            x[1, at - 1], x[1, at + 1] = -50, -50
        for got, want in zip(folds(a, b, ints), f(np, a.astype(np.float64), b.astype(np.float64), ints)):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6 * np.abs(a).sum())
    a[0, 1000], a[0, 7], a[1, -1] = np.nan, np.nan, np.nan
    _, top, first, *_ = folds(a, b, ints)
    assert np.isnan(float(top)) and np.asarray(first).tolist() == [7, n - 1]


@pytest.mark.parametrize("shape", [(9, 16), (1000, 33)])
def test_a_reduction_read_back_broadcast_is_right_on_every_call(shape):
    """A reduction and an op reading its result broadcast over the reduced
    axis: IREE's SPIR-V code for the two in one dispatch raced on lavapipe
    (wrong on some calls; backends/spirv_reductions.py)."""
    b, x = sample(shape, np.float32), sample(shape, np.float32)
    centre = irax.jit(lambda b, x: x - b.mean(0))
    set_row = irax.jit(lambda b, x: jnp.where(jnp.arange(shape[0])[:, None] == 4, b.sum(0), x))
    for _ in range(3):
        check(centre(b, x), x - b.mean(0))
        check(set_row(b, x), np.where(np.arange(shape[0])[:, None] == 4, b.sum(0), x))


# The inputs of _masked_reductions, passed to one jitted function as its
# arguments (one compile for every reduction, none folded as a constant).
MASKED_INPUTS = {"x": np.arange(6.0, dtype=np.float32).reshape(2, 3),
                 "ints": np.arange(6, dtype=np.int32).reshape(2, 3),
                 "w": np.array([True, False, True]), "none": np.zeros(3, bool)}


def _masked_reductions(m, x, ints, w, none):
    return [m.sum(x, where=w), m.sum(x, axis=1, where=w), m.prod(x + 1, where=w), m.mean(x, axis=1, where=w),
            m.var(x, where=w), m.std(x, axis=0, where=x > 1), m.all(x > 0, where=w), m.any(x > 4, where=w),
            m.max(x, where=w, initial=-1), m.min(x, axis=0, where=x > 2, initial=100.0),
            m.mean(x, where=none), m.sum(ints, where=w),
            m.var(x, axis=1, ddof=1, where=w, keepdims=True), m.mean(ints, axis=0, where=x > 1)]


def test_where_masks_reductions_as_jax(platform):
    """(`where=` was a TypeError.) Left-out elements count as the identity;
    mean/var count only the kept ones; max/min need `initial`, as JAX. (The
    values and the gradients each jitted as one program.)"""
    jax = pytest.importorskip("jax")
    ours = irax.jit(lambda a: _masked_reductions(jnp, **a))(MASKED_INPUTS)
    for k, (o, theirs) in enumerate(zip(ours, _masked_reductions(jax.numpy, **MASKED_INPUTS), strict=True)):
        assert (o.dtype, o.shape) == (theirs.dtype, theirs.shape), k
        np.testing.assert_allclose(np.asarray(o), np.asarray(theirs), rtol=1e-6, err_msg=f"reduction {k}")
    with pytest.raises(ValueError, match="to use a where mask one has to specify 'initial'"):
        jnp.max(jnp.arange(3.0), where=jnp.array([True, False, True]))
    with pytest.raises(ValueError, match="where must be None or a boolean array"):
        jnp.sum(jnp.arange(3.0), where=jnp.array([1, 0, 1]))
    x, w = np.array([1.0, 2.0, 4.0], np.float32), np.array([True, False, True])
    names = ("mean", "var")
    ours = irax.jit(lambda v: [irax.grad(lambda v: getattr(jnp, name)(v, where=w))(v) for name in names])(x)
    for name, o in zip(names, ours):
        np.testing.assert_allclose(o, jax.grad(lambda v: getattr(jax.numpy, name)(v, where=w))(x), rtol=1e-6,
                                   err_msg=name)


NANS = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, -6.0]], np.float32)
MASK = np.array([[True, False, True], [False, False, True]])
# The inputs of _statistics (NANS and MASK among them), passed to one jitted function as its
# arguments (one compile for every reduction, none folded as a constant).
STATISTICS_INPUTS = {
    "x": NANS, "mask": MASK, "ints": np.array([[1, 2, 7], [4, 5, -6]], np.int32),
    "all_nan_rows": np.full((2, 0), np.nan, np.float32), "nans": np.array([np.nan, np.nan], np.float32),
    "means": np.array([[1.0], [2.0]], np.float32), "small_ints": np.array([-7, 2, 2]),
    "int8s": np.array([100, 100, 7], np.int8), "complex_nan": np.array([1 + 2j, 3 - 1j, np.nan], np.complex64),
    "int8_pair": np.array([100, 100], np.int8), "uint8_pair": np.array([200, 100], np.uint8),
}


def _statistics(m, x, mask, ints, all_nan_rows, nans, means, small_ints, int8s, complex_nan, int8_pair, uint8_pair):
    """Each reduction below once, as m (jax.numpy or irax.numpy) computes it."""
    return [
        *(getattr(m, f)(x, axis=1, where=mask) for f in ("nansum", "nanprod", "nanmean", "nanvar", "nanstd")),
        m.nanmax(x, axis=0, where=mask, initial=-1.0), m.nanmin(x, where=mask, initial=9.0),
        m.nanmax(all_nan_rows, axis=1, initial=3.0),  # initial, not NaN
        m.nanmin(nans, initial=2.0),
        *(getattr(m, f)(x, axis=1, mean=means) for f in ("var", "std", "nanvar")),
        m.var(x, axis=1, ddof=2, where=mask), m.nanstd(x, axis=0, ddof=1, where=mask),  # N - ddof <= 0: NaN
        m.var(ints, dtype=np.int32), m.var(ints, axis=0, dtype=np.int8),  # in integers, NaN-able: float
        m.mean(small_ints, dtype=np.int32), m.mean(int8s, dtype=np.int8),
        m.nanmean(ints, dtype=np.int32), m.var(x.astype(np.complex64), dtype=np.complex64),
        m.nanvar(complex_nan), m.std(x, dtype=np.complex64),
        m.sum(int8_pair, promote_integers=False), m.prod(mask, promote_integers=False),
        m.sum(uint8_pair, promote_integers=False),
    ]


def test_statistics_take_jaxs_arguments(platform):
    """where= of the NaN-skipping reductions, `mean=` of var/std, integer and
    complex `dtype=`s, promote_integers=False (all TypeErrors or ValueErrors
    in irax), an `initial` that stands where all are NaN (was NaN), NaN
    where N - ddof <= 0 with a mask (was -0 or inf), as JAX's. (Jitted as
    one program.)"""
    ours = irax.jit(lambda a: _statistics(jnp, **a))(STATISTICS_INPUTS)
    for k, (o, theirs) in enumerate(zip(ours, _statistics(jax.numpy, **STATISTICS_INPUTS), strict=True)):
        assert (o.dtype, o.shape) == (theirs.dtype, theirs.shape), k
        np.testing.assert_allclose(np.asarray(o), np.asarray(theirs), rtol=1e-6, err_msg=f"statistic {k}")
    with pytest.raises(TypeError, match="arrays must have the same number of dimensions"):
        jnp.var(NANS, axis=1, mean=np.zeros(2, np.float32))
    with pytest.raises(ValueError, match="must be inexact; got int8"):
        jnp.nanstd(NANS, dtype=np.int8)


@pytest.mark.parametrize("name", ["var", "nanvar", "nanstd", "sum"])
def test_a_nan_cotangent_does_not_reach_masked_out_elements(name, platform):
    """JAX transposes where(m, x, 0) to where(m, ct, 0): a NaN cotangent (here
    from the NaN the mask leaves out) stays out of the elements not selected.
    irax multiplied it by the mask's 0: NaN there too, and nanvar's gradient
    was NaN in a row with a NaN."""
    def loss(m):
        def f(v):
            out = getattr(m, name)(v, axis=1, where=MASK) if name != "sum" else m.sum(v, where=MASK) * np.nan
            return out.sum()
        return f
    np.testing.assert_allclose(irax.grad(loss(jnp))(NANS), jax.grad(loss(jax.numpy))(NANS), rtol=1e-5)


def test_a_traced_axis_is_a_concretization_error_as_jax():
    """jit(lambda x, a: jnp.sum(x, axis=a)) is JAX's ConcretizationTypeError
    (irax's was a TypeError, "iteration over a 0-d array"); a concrete 0-d array is one axis."""
    x = np.ones((2, 3), np.float32)
    with pytest.raises(core.ConcretizationTypeError):
        irax.jit(lambda v, a: jnp.sum(v, axis=a))(x, 1)
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(lambda v, a: jax.numpy.sum(v, axis=a))(x, 1)
    np.testing.assert_array_equal(np.asarray(jnp.sum(x, axis=jnp.asarray(1))), np.asarray(jax.numpy.sum(x, axis=1)))


@pytest.mark.parametrize("n", [reductions.BLOCK, reductions.BLOCK + 1])
def test_eager_reductions_either_side_of_one_block(n):
    """An eager kernel serves every size: up to BLOCK elements one fold, past
    it stages (reductions._by_size). Both sides give NumPy's values, the
    extremes planted last and first (argmax's first occurrence)."""
    x = rng.integers(-9, 10, n).astype(np.float32)
    x[[0, -1]] = 50
    a = asarray(x)
    for name in ("sum", "max", "min", "argmax", "argmin", "prod"):
        want = getattr(np, name)(x if name != "prod" else x / 64 + 1)
        got = getattr(jnp, name)(a if name != "prod" else a / 64 + 1)
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-4, err_msg=name)
