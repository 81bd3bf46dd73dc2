"""Indexing: x[idx], x.at[idx].<op>(v), take, take_along_axis.

Values against NumPy (np.add.at and friends for repeated indices); dtypes,
weak types, out-of-bounds behaviour and error types against JAX.
"""
import re

import ml_dtypes
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.backends import cache
from irax.frontend.core import ShapedArray, Trace
from irax.frontend.numpy.indexing import NonConcreteBooleanIndexError

from helpers import run_module

jax = pytest.importorskip("jax")
jjnp = jax.numpy

A5 = np.arange(5, dtype=np.float32) * 1.5 - 2
A34 = np.arange(12, dtype=np.float32).reshape(3, 4) - 5
A234 = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
A03 = np.zeros((0, 3), np.float32)
ARRAYS = {(5,): A5, (3, 4): A34, (2, 3, 4): A234, (0, 3): A03}
I = np.array


def check(actual, expected):
    actual = np.asarray(actual)
    assert actual.dtype == np.asarray(expected).dtype
    assert actual.shape == np.shape(expected)
    np.testing.assert_array_equal(actual, expected)


# ---------------------------------------------------------------------------
# x[idx]

BASIC = [
    ((5,), 0), ((5,), -1), ((5,), slice(1, 4)), ((5,), slice(None, None, -2)), ((5,), slice(4, 0, -1)),
    ((5,), slice(7, 10)), ((5,), None), ((5,), (None, slice(None, None, 2), None)), ((5,), Ellipsis),
    ((3, 4), 1), ((3, 4), (-1, 2)), ((3, 4), (slice(None), 1)), ((3, 4), (slice(None, None, -1), slice(1, None, 2))),
    ((3, 4), (Ellipsis, -1)), ((3, 4), (None, 1, None)), ((3, 4), (Ellipsis, None)),
    ((2, 3, 4), (1, slice(None), -2)), ((2, 3, 4), (Ellipsis, slice(3, 0, -2))), ((2, 3, 4), (0, Ellipsis, None)),
    ((2, 3, 4), (slice(None), None, slice(2, 0, -1), 3)),
]


@pytest.mark.parametrize("shape,index", BASIC, ids=repr)
def test_basic_indexing(shape, index):
    a = ARRAYS[shape]
    check(jnp.asarray(a)[index], a[index])


ADVANCED = [
    ((5,), (I([4, 0, 3, 3]),)), ((5,), (I([[1, -1], [0, -5]]),)), ((5,), (jnp.asarray(I(2, np.int32)),)),
    ((3, 4), (I([2, 0]),)), ((3, 4), (slice(None), I([3, 0, 3]))), ((3, 4), (I([0, 2]), I([1, 3]))),
    ((3, 4), (I([[0], [2]]), I([1, 3, 0]))), ((3, 4), ([1, 2], slice(None, None, -1))), ((3, 4), (I([1, 2]), None)),
    ((2, 3, 4), (slice(None), I([0, 2]), I([1, 3]))),   # adjacent: B stays in place
    ((2, 3, 4), (I([0, 1]), slice(None), I([1, 2]))),   # split by a slice: B goes first
    ((2, 3, 4), (0, slice(None), I([1, 2]))),           # an int counts as an index array here
    ((2, 3, 4), (I([1]), None, I([0, 2]))),             # a None between them splits them too
    ((2, 3, 4), (Ellipsis, I([-1, -4]))), ((2, 3, 4), (slice(1, None), I([[2, 0]]), slice(None, None, -3))),
    ((2, 3, 4), (slice(None), [], slice(None))),
]


@pytest.mark.parametrize("shape,index", ADVANCED, ids=repr)
def test_advanced_indexing(shape, index):
    a = ARRAYS[shape]
    expected = a[tuple(np.asarray(i) if hasattr(i, "aval") else i for i in index)]
    check(jnp.asarray(a)[index], expected)


@pytest.mark.parametrize("index", [
    A34 > 0, (A34[:, 0] > -3,), (slice(None), I([True, False, True, True])), (I([False, True, True]), 2),
    (jnp.asarray(A34 > 2),), I([[False] * 4] * 3),
], ids=repr)
def test_boolean_masks(index):
    key = tuple(np.asarray(i) if hasattr(i, "aval") else i for i in (index if isinstance(index, tuple) else (index,)))
    check(jnp.asarray(A34)[index], A34[key])


@pytest.mark.parametrize("index", [(True,), (False,), (True, 0), (0, slice(None), True), (slice(None), True, I([0, 2]))], ids=repr)
def test_boolean_scalars(index):
    """A scalar bool is a 0-d mask: a new axis of length 1 (True) or 0 (False),
    placed as an advanced index."""
    check(jnp.asarray(A234)[index], A234[index])


@pytest.mark.parametrize("index", [(), Ellipsis, None, True, False, (None, Ellipsis), I(True)], ids=repr)
def test_zero_dim(index):
    a = np.array(3.5, np.float32)
    check(jnp.asarray(a)[index], a[index])


@pytest.mark.parametrize("index", [(slice(None), slice(1, None)), (I([], np.int32),), (slice(None), I([2, 0])),
                                   (slice(None), 5)], ids=repr)
def test_empty_arrays(index):
    expected = np.asarray(jjnp.asarray(A03)[index])  # (the last: 5 is clamped to 2, as in JAX)
    check(jnp.asarray(A03)[index], expected)


@pytest.mark.parametrize("dtype", [np.bool_, np.int32, np.uint8, np.float16, ml_dtypes.bfloat16])
def test_dtypes(dtype):
    a = (np.arange(12).reshape(3, 4) % 5).astype(dtype)
    x = jnp.asarray(a)
    check(x[1:, ::-2], a[1:, ::-2])
    check(x[I([2, 0, 2]), 1], a[I([2, 0, 2]), 1])


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int64, np.uint32])
def test_index_array_dtypes(dtype):
    idx = I([3, 0, 1], dtype)
    check(jnp.asarray(A5)[idx], A5[idx])
    check(jnp.asarray(A5)[jnp.asarray(idx)], A5[idx])


def test_weak_type_is_kept():
    weak = jnp.asarray(2.0)
    assert weak.weak_type and weak[()].weak_type and weak[None].weak_type and weak[True].weak_type
    assert not jnp.asarray(A5)[1:].weak_type


def test_out_of_bounds_index_arrays_clip_like_jax():
    idx = I([10, -10, -1, 4])
    expected = jjnp.asarray(A5)[idx]
    check(jnp.asarray(A5)[idx], np.asarray(expected))
    check(jnp.asarray(A5)[jnp.asarray(I(7, np.int32))], A5[-1])


# Reads whose gradient at an out-of-bounds index JAX either drops (a gather
# of an index array) or clamps like the value (a dynamic slice: 0-d index
# arrays, ints, slices of step +-1; mode="clip").
OUT_OF_BOUNDS_GRADIENTS = [
    ("index array", lambda x, m: x[I([1, 7, -9, 2])]),
    ("index array beside a slice", lambda x, m: m[I([0, 5, -4]), 1:3]),
    ("index array beside a stepped slice", lambda x, m: m[I([0, 5]), ::2]),
    ("two index arrays", lambda x, m: m[I([0, 2, 3]), I([1, 9, 0])]),
    ("0-d index array", lambda x, m: x[I(7)]),
    ("0-d index array beside a slice", lambda x, m: m[I(-4), 1:3]),
    ("static int", lambda x, m: x[7] + x[-9]),
    ("at get", lambda x, m: x.at[I([1, 7])].get()),
    ("at get clip", lambda x, m: x.at[I([1, 7])].get(mode="clip")),
    ("at get fill", lambda x, m: x.at[I([1, 7])].get(mode="fill", fill_value=0.0)),
    ("False: no elements", lambda x, m: m[False]),  # (its transpose, a scatter of nothing, crashed IREE)
]


X5, M34 = np.arange(5.0, dtype=np.float32), np.arange(12.0, dtype=np.float32).reshape(3, 4)  # (x, m) of the reads


def _weighted_sum(lib, fn):
    """A loss of fn's read with a distinct weight for each element it reads."""
    def weighted_sum(x, m):
        y = fn(x, m)
        return lib.sum(y * lib.arange(1.0, 1.0 + y.size).reshape(y.shape))
    return weighted_sum


@pytest.mark.parametrize("name,fn", OUT_OF_BOUNDS_GRADIENTS, ids=[g[0] for g in OUT_OF_BOUNDS_GRADIENTS])
def test_gradients_at_out_of_bounds_indices_like_jax(name, fn):
    """The gradient of x[idx] at an index out of bounds is what jax.grad
    gives (it was the clamped element's for every read), eagerly and under
    vmap (under jit: the test below); the values clamp either way."""
    expected = jax.grad(_weighted_sum(jjnp, fn), (0, 1))(X5, M34)
    gradient = irax.grad(_weighted_sum(jnp, fn), (0, 1))
    batched = irax.vmap(gradient)(np.stack([X5, X5]), np.stack([M34, M34]))
    for got in (gradient(X5, M34), [g[1] for g in batched]):
        for g, e in zip(got, expected):
            np.testing.assert_array_equal(np.asarray(g), np.asarray(e))
    np.testing.assert_array_equal(np.asarray(fn(jnp.asarray(X5), jnp.asarray(M34))),
                                  np.asarray(fn(jjnp.asarray(X5), jjnp.asarray(M34))))


def test_gradients_at_out_of_bounds_indices_under_jit_like_jax():
    """test_gradients_at_out_of_bounds_indices_like_jax's gradients under
    jit: every read's in one jitted function (one compile, not eleven)."""
    gradients = irax.jit(lambda x, m: [irax.grad(_weighted_sum(jnp, fn), (0, 1))(x, m)
                                       for _, fn in OUT_OF_BOUNDS_GRADIENTS])(X5, M34)
    for (name, fn), got in zip(OUT_OF_BOUNDS_GRADIENTS, gradients, strict=True):
        for g, e in zip(got, jax.grad(_weighted_sum(jjnp, fn), (0, 1))(X5, M34)):
            np.testing.assert_array_equal(np.asarray(g), np.asarray(e), err_msg=name)


def test_gradient_through_a_mask_of_values_like_jax():
    """x[x > 0] under eager grad: the mask has values, as under jax.grad
    (it was NonConcreteBooleanIndexError); under jit both raise."""
    loss = {lib: (lambda x, lib=lib: lib.sum(x[x > 0] ** 2)) for lib in (jnp, jjnp)}
    np.testing.assert_array_equal(np.asarray(irax.grad(loss[jnp])(A5)), np.asarray(jax.grad(loss[jjnp])(A5)))
    with pytest.raises(NonConcreteBooleanIndexError):
        irax.jit(irax.grad(loss[jnp]))(A5)


def test_gradient_of_a_set_at_positions_of_values_like_jax():
    """Eager grad of x.at[x > 0].set(0.) and of the jnp.nonzero form: the
    gradient of a set at a dynamic number of positions scatters zeros there,
    which IREE failed to compile ("exceeded stack allocation limit": it
    fused the zeros' fill into the scatter)."""
    losses = {lib: [lambda x, lib=lib: lib.sum(x.at[x > 0].set(0.)),
                    lambda x, lib=lib: lib.sum(x.at[lib.nonzero(x > 0)].set(0.) * x)] for lib in (jnp, jjnp)}
    for mine, theirs in zip(losses[jnp], losses[jjnp]):
        np.testing.assert_array_equal(np.asarray(irax.grad(mine)(A5)), np.asarray(jax.grad(theirs)(A5)))


def test_forward_mode_at_out_of_bounds_indices_like_jax():
    """JAX's JVP of a gather reads the clamped element's tangent, as its
    value does, where its transpose (above) drops the index: the tangent
    was 0 there (the reverse-mode constant read in forward mode too)."""
    x, m = X5, M34
    tx, tm = x + 1, m + 1
    for name in ("index array", "two index arrays", "at get"):
        fn = dict(OUT_OF_BOUNDS_GRADIENTS)[name]
        expected = jax.jvp(fn, (x, m), (tx, tm))[1]
        for jvp in (irax.jvp, irax.jit(irax.jvp, static_argnums=0)):
            np.testing.assert_array_equal(np.asarray(jvp(fn, (x, m), (tx, tm))[1]), np.asarray(expected))
    dn = dict(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,))
    idx = np.array([[7], [1], [-3]], np.int32)

    def gather(lax):
        return lambda x: lax.gather(x, idx, lax.GatherDimensionNumbers(**dn), (1,))

    np.testing.assert_array_equal(np.asarray(irax.jvp(gather(irax.lax), (x,), (tx,))[1]),
                                  np.asarray(jax.jvp(gather(jax.lax), (x,), (tx,))[1]))


STATIC_OUT_OF_BOUNDS_READS = [
    ((5,), 5), ((5,), -6), ((5,), 2**31 - 1), ((3, 4), (0, -5)), ((3, 4), (7, slice(1, 3), None)),
    ((2, 3, 4), (slice(None), 9, I([0, -1]))),
]


@pytest.mark.parametrize("shape,index", STATIC_OUT_OF_BOUNDS_READS, ids=repr)
def test_static_int_out_of_bounds_clamps_like_jax(shape, index):
    """JAX clamps a static int into its axis when reading: x[5] of 5
    elements is x[4], x[-6] is x[0]; eagerly and in .at[].get() (under jit: below)."""
    a = ARRAYS[shape]
    expected = np.asarray(jjnp.asarray(a)[index])
    x = jnp.asarray(a)
    check(x[index], expected)
    check(x.at[index].get(), expected)


def test_static_int_out_of_bounds_clamps_under_jit_like_jax():
    """test_static_int_out_of_bounds_clamps_like_jax's reads in one jitted function (one compile)."""
    results = irax.jit(lambda xs: [x[index] for x, (_, index) in zip(xs, STATIC_OUT_OF_BOUNDS_READS)])(
        [ARRAYS[shape] for shape, _ in STATIC_OUT_OF_BOUNDS_READS])
    for (shape, index), got in zip(STATIC_OUT_OF_BOUNDS_READS, results, strict=True):
        expected = np.asarray(jjnp.asarray(ARRAYS[shape])[index])
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape), (shape, index)
        np.testing.assert_array_equal(np.asarray(got), expected, err_msg=repr((shape, index)))


STATIC_OUT_OF_BOUNDS_UPDATES = [
    ("set dropped", lambda x: x.at[3].set(7.0)),
    ("add dropped", lambda x: x.at[1, -5].add(7.0)),
    ("set row dropped", lambda x: x.at[-4, 1:3].set(7.0)),
    ("add clip", lambda x: x.at[7, 1:3].add(7.0, mode="clip")),
]


@pytest.mark.parametrize("name,fn", STATIC_OUT_OF_BOUNDS_UPDATES, ids=[u[0] for u in STATIC_OUT_OF_BOUNDS_UPDATES])
def test_static_int_out_of_bounds_updates_like_jax(name, fn):
    """An update at a static int out of bounds is dropped (clamped with mode="clip")."""
    expected = np.asarray(fn(jjnp.asarray(A34)))
    check(fn(jnp.asarray(A34)), expected)
    check(irax.jit(fn)(A34), expected)


@pytest.mark.parametrize("fn", [lambda x: x.at[3].set(I([1.0] * 7)), lambda x: x.at[3, I([0, 1])].add(I([1.0] * 3))])
def test_dropped_updates_check_their_values_like_jax(fn):
    with pytest.raises(ValueError):
        fn(jjnp.asarray(A34))
    with pytest.raises(ValueError, match="Incompatible shapes for broadcasting"):
        fn(jnp.asarray(A34))


def test_static_int_on_an_empty_axis_raises_under_jit():
    """Nothing to clamp to: JAX's IndexError (its wording: test_errors_like_jax)."""
    with pytest.raises(IndexError, match="^index is out of bounds for axis 0 with size 0$"):
        irax.jit(lambda x: x[0])(A03)


ERRORS = [
    ("too many", (5,), lambda x: x[0, 0]),
    ("too many with ...", (5,), lambda x: x[0, ..., 0]),
    ("two ellipses", (5,), lambda x: x[..., ...]),
    ("float", (5,), lambda x: x[1.0]),
    ("float array", (5,), lambda x: x[I([1.0])]),
    ("string", (5,), lambda x: x["a"]),
    ("list", (5,), lambda x: x[[0, 1]]),
    ("slice step 0", (5,), lambda x: x[::0]),
    ("float slice", (5,), lambda x: x[1.5:]),
    ("mask shape", (5,), lambda x: x[I([True, False])]),
    ("index broadcast", (2, 3, 4), lambda x: x[:, I([1, 2]), I([1, 2, 0])]),
    ("int on an empty axis", (0, 3), lambda x: x[None, 0, 1]),
    ("int on an empty axis, get", (0, 3), lambda x: x.at[0].get(mode="fill")),
    ("int on an empty axis, set", (0, 3), lambda x: x.at[0, 1:].set(1.0)),
]


@pytest.mark.parametrize("name,shape,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_like_jax(name, shape, fn):
    with pytest.raises(Exception) as expected:
        fn(jjnp.asarray(ARRAYS[shape]))
    with pytest.raises(expected.type, match="^" + re.escape(str(expected.value).replace("JAX", "irax")) + "$"):
        fn(jnp.asarray(ARRAYS[shape]))


def test_item_assignment_points_to_at():
    x = jnp.asarray(A5)
    with pytest.raises(TypeError, match=r"\.at"):
        x[0] = 5


# ---------------------------------------------------------------------------
# Tracing: boolean masks need concrete values.

def test_traced_indexing():
    """In a traced function the index ops fuse with their neighbours; IREE
    must still compile them (e.g. a gather reading the strided x[1:, ::2])."""

    def reads(lib):
        return [lambda x, i: x[1:, ::-1], lambda x, i: x[1:, ::2][i], lambda x, i: x[:, ::3][:, ::-1],
                lambda x, i: (x * 2.0)[i, 1], lambda x, i: x[::2].at[i].add(1.0), lambda x, i: x.at[0, ::2].set(2.0),
                lambda x, i: lib.take(x[::2], i, axis=1)]

    fns = reads(jnp)
    a, idx = np.arange(48, dtype=np.float32).reshape(6, 8), I([2, 0, -1], np.int32)
    trace = Trace()
    with trace.active():
        x = trace.new_argument(ShapedArray(a.shape, np.float32))
        i = trace.new_argument(ShapedArray(idx.shape, np.int32))
        mask = trace.new_argument(ShapedArray(a.shape, np.bool_))
        outs = [f(x, i) for f in fns]
        with pytest.raises(NonConcreteBooleanIndexError):
            x[mask]
        with pytest.raises(IndexError, match="static"):
            x[i[0]:]
        module = trace.finish(outs)
    results = run_module(module, [a, idx, np.zeros(a.shape, bool)], [out.aval for out in outs])
    for k, (f, result) in enumerate(zip(reads(jjnp), results, strict=True)):
        expected = np.asarray(f(jjnp.asarray(a), idx))
        assert (result.dtype, result.shape) == (expected.dtype, expected.shape), k
        np.testing.assert_array_equal(np.asarray(result), expected, err_msg=f"read {k}")


# ---------------------------------------------------------------------------
# x.at[idx]

UFUNCS = {"add": np.add, "subtract": np.subtract, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}
UPDATES = [
    ((5,), 2, 7.5), ((5,), slice(None, None, -2), I([1., 2., 3.], np.float32)),
    ((5,), I([0, 3, 0, 0]), I([1., 2., 3., 4.], np.float32)),                      # repeated indices
    ((3, 4), (slice(None), slice(3, 0, -2)), I([[1.], [2.], [3.]], np.float32)),
    ((3, 4), (I([2, 0, 2]), I([1, 1, 1])), I([1., 2., 3.], np.float32)),          # repeated pairs
    ((3, 4), (slice(None), I([0, 3, 0])), 4.0), ((3, 4), A34 > 0, -1.0), ((3, 4), (None, 1, None), I([5.], np.float32)),
    ((2, 3, 4), (0, slice(None), I([1, 2])), I([1., 2., 3.], np.float32)),         # B goes first
]
# Each case is a kernel of its own: the other ops run on a static and an array index.
OTHER_OPS = [(op, *UPDATES[k]) for op in ("subtract", "multiply", "min", "max") for k in (1, 2)]


@pytest.mark.parametrize("method,shape,index,values",
                         [(op, *u) for op in ("set", "add") for u in UPDATES] + OTHER_OPS, ids=repr)
def test_at_updates(method, shape, index, values):
    a = ARRAYS[shape]
    x = jnp.asarray(a)
    expected = a.copy()
    if method == "set":
        expected[index] = values
    else:
        UFUNCS[method].at(expected, index, values)  # repeated indices all apply, as in JAX
    check(getattr(x.at[index], method)(values), expected)
    check(x, a)  # x itself never changes


def test_at_inputs_stay_unchanged():
    """IREE may write a result into an argument's buffer (IREE issue 16168);
    the .at kernels must not let it. (The kernels of test_at_updates.)"""
    x = jnp.asarray(A5)
    for update in [lambda: x.at[2].set(7.5), lambda: x.at[::-2].add(I([1., 2., 3.], np.float32)),
                   lambda: x.at[I([0, 3, 0, 0])].add(I([1., 2., 3., 4.], np.float32))]:
        update()
        np.testing.assert_array_equal(np.asarray(x), A5)
    np.testing.assert_array_equal(np.asarray(x[::-1]), A5[::-1])  # a fresh read of the buffer


def test_set_last_write_wins_and_get():
    x = jnp.asarray(A5)
    check(x.at[I([1, 1, 1])].set(I([7., 8., 9.], np.float32)), np.asarray(jjnp.asarray(A5).at[I([1, 1, 1])].set(I([7., 8., 9.]))))
    check(x.at[1:3].get(), A5[1:3])
    check(x.at[I([4, 0])].get(), A5[[4, 0]])


def test_at_zero_dim_and_empty():
    z = jnp.asarray(np.float32(3.0))
    check(z.at[()].set(5.0), np.float32(5.0))
    check(z.at[...].add(1.0), np.float32(4.0))
    check(z.at[True].set(6.0), np.float32(6.0))
    e = jnp.asarray(np.zeros((0, 3), np.float32))
    check(e.at[:, 1].set(1.0), np.zeros((0, 3), np.float32))
    check(e.at[I([0])].add(1.0), np.zeros((0, 3), np.float32))  # every index out of bounds: dropped


AT_DTYPES = [
    ("set", np.int32, 2.7), ("add", np.int32, 2.5), ("min", np.int32, -0.5), ("multiply", np.int32, 0.5),
    ("add", np.uint8, -1), ("add", np.uint8, 300), ("multiply", np.uint8, -1), ("set", np.uint8, 200),
    ("add", np.bool_, 1), ("set", np.bool_, 2.5), ("min", np.bool_, False), ("max", np.bool_, True),
    ("add", np.float16, 1.25), ("add", ml_dtypes.bfloat16, I([1.5, 2.5], np.float32)),
    ("divide", np.int32, 2), ("divide", np.float32, I([2.0, 4.0], np.float32)), ("power", np.int32, I([2, 3])),
    ("power", np.float32, 2),
]


def _at_dtype_update(lib, method, a, values):
    return getattr(lib.asarray(a).at[I([1, 1]) if np.ndim(values) else 1], method)(values)


def test_at_dtypes_like_jax():
    """The update is combined in the promoted dtype, then cast back to x's
    (int x .at[].add(2.5) truncates); divide and power go through a factor
    array, so int arrays give floats (JAX's definitions). Every case in one
    jitted function (one compile), x an argument."""
    arrays = [(np.arange(4) % 3).astype(dtype) for _, dtype, _ in AT_DTYPES]
    results = irax.jit(lambda xs: [_at_dtype_update(jnp, method, x, values)
                                   for (method, _, values), x in zip(AT_DTYPES, xs)])(arrays)
    for case, a, got in zip(AT_DTYPES, arrays, results, strict=True):
        expected = _at_dtype_update(jjnp, case[0], a, case[2])
        assert (got.dtype, got.weak_type) == (expected.dtype, expected.weak_type), case
        np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(expected, np.float64), rtol=1e-6,
                                   err_msg=repr(case))


@pytest.mark.parametrize("method", ["add", "multiply", "subtract"])
def test_bool_arithmetic_updates_are_errors(method):
    a = I([True, False])
    with pytest.raises(TypeError):
        getattr(jjnp.asarray(a).at[1], method)(True)
    with pytest.raises(TypeError):
        getattr(jnp.asarray(a).at[1], method)(True)


# Updates at 0-d index arrays are slices at run-time offsets (update_slice).
SCALAR_INDEX_UPDATES = [
    ("set", lambda x, i: x.at[i].set(7.0)),
    ("set row slice", lambda x, i: x.at[i, 1:3].set(I([1., 2.], np.float32))),
    ("add column", lambda x, i: x.at[:, i].add(2.5)),
    ("max both", lambda x, i: x.at[i, i].max(0.5)),
    ("multiply new axis", lambda x, i: x.at[None, i, ::2].multiply(I([2., 3.], np.float32))),
    ("set clip", lambda x, i: x.at[i].set(7.0, mode="clip")),
    ("add clip", lambda x, i: x.at[i, 1].add(7.0, mode="clip")),
    ("set no wrap", lambda x, i: x.at[i].set(7.0, wrap_negative_indices=False)),
]


SCALAR_INDICES = [1, -1, 2, -3, 3, -4, 9]
# Jitted one by one: Vulkan cannot run their jitted updates dropped out of
# bounds (conftest.DIFFERENCES skips those cases there). The others are
# jitted all in one function (one compile).
JITTED_APART = {"set", "set no wrap"}


@pytest.mark.parametrize("i", SCALAR_INDICES)
@pytest.mark.parametrize("name,fn", SCALAR_INDEX_UPDATES, ids=[u[0] for u in SCALAR_INDEX_UPDATES])
def test_updates_at_a_scalar_index_array_like_jax(name, fn, i):
    """Eagerly, and under jit with i traced (JITTED_APART here, the others
    below); out of bounds (3, -4, 9) dropped or clipped."""
    expected = np.asarray(fn(jjnp.asarray(A34), i))
    check(fn(jnp.asarray(A34), jnp.asarray(i)), expected)
    if name in JITTED_APART:
        check(irax.jit(fn)(A34, i), expected)


@pytest.mark.parametrize("i", SCALAR_INDICES)
def test_updates_at_a_scalar_index_array_under_jit_like_jax(i):
    """test_updates_at_a_scalar_index_array_like_jax's updates but JITTED_APART, i traced."""
    packed = [(name, fn) for name, fn in SCALAR_INDEX_UPDATES if name not in JITTED_APART]
    results = irax.jit(lambda x, i: [fn(x, i) for _, fn in packed])(A34, i)
    for (name, fn), got in zip(packed, results, strict=True):
        expected = np.asarray(fn(jjnp.asarray(A34), i))
        assert (got.dtype, got.shape) == (expected.dtype, expected.shape), name
        np.testing.assert_array_equal(np.asarray(got), expected, err_msg=name)


@pytest.mark.parametrize("start", [0, 3, 5, 40])
def test_run_time_slice_starts_are_clamped_like_dynamic_slice(start):
    """Eager x[i:i+3] passes i (wrapped, never negative) as an operand
    (numpy/indexing.py); the kernel keeps the slice in x as
    jax.lax.dynamic_slice does, for any step."""
    from irax.frontend.primitives.indexing import static_slice

    x, i = np.arange(10, dtype=np.float32), jnp.asarray(np.int32(start))
    check(static_slice.bind(jnp.asarray(x), i, starts=(None,), sizes=(3,), steps=(1,), out_dims=(0,)),
          np.asarray(jax.lax.dynamic_slice(x, (start,), (3,))))
    for step in (2, -2):
        span = 2 * abs(step)  # three elements
        first = min(max(start, span if step < 0 else 0), 9 - (0 if step < 0 else span))
        got = static_slice.bind(jnp.asarray(x), i, starts=(None,), sizes=(3,), steps=(step,), out_dims=(0,))
        check(got, x[first::step][:3])


MODES = [
    ("get fill", lambda x: x.at[I([1, 10, -10])].get(mode="fill")),
    ("get fill value", lambda x: x.at[I([1, 10])].get(mode="fill", fill_value=-3)),
    ("get static clip", lambda x: x.at[10].get()),
    ("get static fill", lambda x: x.at[10].get(mode="fill")),
    ("get no wrap", lambda x: x.at[-1].get(wrap_negative_indices=False)),
    ("set static dropped", lambda x: x.at[10].set(7)),
    ("set static clip", lambda x: x.at[10].set(7, mode="clip")),
    ("set no wrap", lambda x: x.at[I([-1, 2])].set(7, wrap_negative_indices=False)),
    ("add drop", lambda x: x.at[I([0, 9, -9, 4])].add(I([1, 2, 3, 4]))),
    ("add clip", lambda x: x.at[I([0, 9, -9, 4])].add(I([1, 2, 3, 4]), mode="clip")),
    ("set promise", lambda x: x.at[I([2])].set(1, mode="promise_in_bounds")),
]


@pytest.mark.parametrize("name,fn", MODES, ids=[m[0] for m in MODES])
def test_modes_like_jax(name, fn):
    a = (np.arange(5) % 4).astype(np.int32)
    expected = fn(jjnp.asarray(a))
    got = fn(jnp.asarray(a))
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.uint8, np.bool_])
def test_default_fill_values_like_jax(dtype):
    """NaN, the most negative signed and the largest unsigned integer, True."""
    a = (np.arange(5) % 2).astype(dtype)
    expected = jjnp.asarray(a).at[I([1, 10])].get(mode="fill")
    check(jnp.asarray(a).at[I([1, 10])].get(mode="fill"), np.asarray(expected))


def test_bad_modes():
    x = jnp.asarray(A5)
    for fn in [lambda: x.at[I([1])].get(mode="bad"), lambda: x.at[I([1])].set(1.0, mode="bad")]:
        with pytest.raises(ValueError, match="mode"):
            fn()


@pytest.mark.parametrize("index,values", [(0, I([1., 2.], np.float32)), (slice(1, 3), I([1., 2., 3.], np.float32)),
                                          (I([0, 2]), I([[7., 8.]], np.float32)), (1, "a")], ids=repr)
def test_update_value_errors_like_jax(index, values):
    with pytest.raises(Exception) as expected:
        jjnp.asarray(A5).at[index].set(values)
    with pytest.raises(expected.type):
        jnp.asarray(A5).at[index].set(values)


# ---------------------------------------------------------------------------
# take and take_along_axis

@pytest.mark.parametrize("axis,indices", [(None, I([[1, 10], [-1, 3]])), (0, I([2, 0, 2])), (1, I([[3], [0]])),
                                          (-1, 2), (None, I([0, 11]))], ids=repr)
def test_take_in_bounds(axis, indices):
    check(jnp.take(jnp.asarray(A34), indices, axis=axis), np.take(A34, indices, axis=axis))


@pytest.mark.parametrize("mode", [None, "fill", "clip", "wrap"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_take_modes_like_jax(mode, dtype):
    a, idx = (np.arange(5) * 3).astype(dtype), I([1, 10, -1, -7])
    expected = jjnp.take(a, idx, mode=mode)
    got = jnp.take(jnp.asarray(a), idx, mode=mode)
    assert got.dtype == expected.dtype
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
    check(jnp.take(jnp.asarray(a), I([7]), fill_value=9), np.asarray(jjnp.take(a, I([7]), fill_value=9)))


@pytest.mark.parametrize("axis,indices", [(1, I([[0], [3], [1]])), (0, I([[0, 1, 2, 0]])), (0, I([[2], [0]])),
                                          (-1, I([[0, 10]])), (None, I([0, 11, 5, 12]))], ids=repr)
def test_take_along_axis_like_jax(axis, indices):
    expected = jjnp.take_along_axis(jjnp.asarray(A34), indices, axis=axis)
    check(jnp.take_along_axis(jnp.asarray(A34), indices, axis=axis), np.asarray(expected))
    if axis is not None and np.all(indices < A34.shape[axis]):
        check(jnp.take_along_axis(jnp.asarray(A34), indices, axis=axis), np.take_along_axis(A34, indices, axis))


def test_take_along_axis_broadcasts_unit_axes():
    a = np.arange(4, dtype=np.float32).reshape(1, 4)
    idx = I([[0], [3]])
    check(jnp.take_along_axis(jnp.asarray(a), idx, axis=1), np.asarray(jjnp.take_along_axis(a, idx, axis=1)))


TAKE_ERRORS = [
    ("bad axis", lambda m, x: m.take(x, I([1]), axis=2)),
    ("list indices", lambda m, x: m.take(x, [0, 1])),
    ("float indices", lambda m, x: m.take(x, I([1.0]))),
    ("raise mode", lambda m, x: m.take(x, I([1]), mode="raise")),
    ("bad mode", lambda m, x: m.take(x, I([1]), mode="bad")),
    ("empty axis", lambda m, x: m.take(m.zeros((0,)), I([1]))),
    ("along ndim", lambda m, x: m.take_along_axis(x, I([0, 1]), axis=0)),
    ("along None 2-D", lambda m, x: m.take_along_axis(x, I([[0, 1]]), axis=None)),
    ("along float", lambda m, x: m.take_along_axis(x, I([[1.0]]), axis=0)),
    ("along broadcast", lambda m, x: m.take_along_axis(x, I([[0, 1]]), axis=0)),
]


@pytest.mark.parametrize("name,fn", TAKE_ERRORS, ids=[e[0] for e in TAKE_ERRORS])
def test_take_errors_like_jax(name, fn):
    with pytest.raises(Exception) as expected:
        fn(jjnp, jjnp.asarray(A34))
    with pytest.raises(expected.type):
        fn(jnp, jnp.asarray(A34))


def test_take_is_a_method():
    check(jnp.asarray(A34).take(I([2, 0]), axis=0), A34[[2, 0]])


def test_repeated_updates_accumulate_in_the_promoted_dtype():
    """JAX scatters into x converted to the promoted dtype and converts back
    once: two int += 0.5 updates add 1."""
    a = np.zeros(3, np.int32)
    idx, v = I([1, 1]), I([0.5, 0.5], np.float32)
    expected = jjnp.asarray(a).at[idx].add(v)
    check(jnp.asarray(a).at[idx].add(v), np.asarray(expected))


AT_APPLY = [
    (I([0, 2]), {}), (I([0, 0, 3]), {}), (slice(1, 3), {}), (2, {}), (I([1, 9]), {}), (I([1, 9]), {"mode": "clip"}),
    (I([3, 1]), {"unique_indices": True}),
]
AT_APPLY_X = np.linspace(-1, 2, 5).astype(np.float32)


def _apply(x, index, kwargs):
    return x.at[index].apply(lambda x: x * 2 + 1, **kwargs)


@pytest.mark.parametrize("index, kwargs", AT_APPLY)
def test_at_apply_like_jax(index, kwargs):
    """x.at[i].apply(f): f applied where i points, once per time it does
    (eagerly here; under jit, where that count is data, below); out of bounds dropped."""
    check(_apply(jnp.asarray(AT_APPLY_X), index, kwargs), np.asarray(_apply(jjnp.asarray(AT_APPLY_X), index, kwargs)))


def test_at_apply_under_jit_like_jax():
    """test_at_apply_like_jax's array and int indices traced, every case in
    one jitted function (one compile)."""
    cases = [(index, kwargs) for index, kwargs in AT_APPLY if not isinstance(index, slice)]
    results = irax.jit(lambda x, indices: [_apply(x, i, kwargs) for i, (_, kwargs) in zip(indices, cases)])(
        AT_APPLY_X, [index for index, _ in cases])
    for (index, kwargs), got in zip(cases, results, strict=True):
        want = np.asarray(_apply(jjnp.asarray(AT_APPLY_X), index, kwargs))
        assert (got.dtype, got.shape) == (want.dtype, want.shape), (index, kwargs)
        np.testing.assert_array_equal(np.asarray(got), want, err_msg=repr((index, kwargs)))


def test_at_apply_gradient():
    from tests.test_autodiff import numerical_grad
    a = np.linspace(-1, 2, 5).astype(np.float32)
    f = lambda x: jnp.sum(x.at[1:4].apply(jnp.sin) * x)
    got = np.asarray(irax.grad(f)(jnp.asarray(a)))
    np.testing.assert_allclose(got, numerical_grad(f, a), rtol=1e-2, atol=1e-3)
    # JAX has no derivative of apply (NotImplementedError): that of the same update written with set
    np.testing.assert_allclose(got, jax.grad(lambda x: jjnp.sum(x.at[1:4].set(jjnp.sin(x[1:4])) * x))(a), rtol=1e-6)


def test_partial_slices_are_not_mistaken_for_the_whole_array():
    x = np.arange(12, dtype=np.int32).reshape(3, 4)
    np.testing.assert_array_equal(jnp.asarray(x)[:, :1], x[:, :1])
    np.testing.assert_array_equal(jnp.asarray(x)[1:], x[1:])
    np.testing.assert_array_equal(jnp.asarray(x).at[:, :1].set(0), np.where(np.arange(4) < 1, 0, x))


def test_gradient_of_a_flipped_column_compiles_everywhere():
    """The flip's gradient is a scatter-add, written into column 3 of the
    gradient: IREE's GPU code generation crashed on it (vulkan) until the
    scatter's result was kept apart (ir/iree.linalg_ext_scatter)."""
    x = np.arange(25, dtype=np.float32).reshape(5, 5) / 25

    def loss(np_mod):
        return lambda x: np_mod.sum(np_mod.tanh(np_mod.flip(x[:, 3:4], 0)) * np_mod.arange(5.0)[:, None])

    np.testing.assert_allclose(irax.jit(irax.grad(loss(jnp)))(x), jax.grad(loss(jjnp))(x), rtol=1e-6, atol=1e-7)


def test_new_axes_alone_are_a_view_not_a_kernel(platform):
    """x[:, None], x[None], x[..., None, :] are reshapes: eagerly, no program
    is compiled or loaded for them (they compiled one per shape before)."""
    xn = np.arange(21, dtype=np.float32).reshape(3, 7)
    x = jnp.asarray(xn)
    before = cache.stats()
    got = [x[:, None], x[None], x[..., None, :], x[:, None, :, None]]
    want = [xn[:, None], xn[None], xn[..., None, :], xn[:, None, :, None]]
    if platform != "sync-cpu":  # a reshape is a view on irax's own devices (runtime.Reshape)
        assert cache.stats() == before
    for g, w in zip(got, want):
        np.testing.assert_array_equal(np.asarray(g), w)


COMPUTED_CONSTANTS_UPDATED = {
    "arange set twice": lambda m, a, b: (m.arange(3.0).at[0].set(a), m.arange(3.0).at[1].set(b)),
    "eye set twice": lambda m, a, b: (m.eye(2).at[0, 1].set(a), m.eye(2).at[1, 0].set(b)),
    "arange updated and read": lambda m, a, b: (m.arange(3.0).at[0].add(a), m.arange(3.0).at[1].multiply(b),
                                                m.arange(3.0)),
    "complex eye set twice": lambda m, a, b: (m.eye(3, dtype=np.complex64).at[0, 1].set(a),
                                              m.eye(3, dtype=np.complex64).at[1, 0].set(b)),
}


@pytest.mark.parametrize("name", COMPUTED_CONSTANTS_UPDATED)
def test_updates_of_a_computed_constant_under_jit_are_separate_arrays(name, platform):
    """IREE 3.13 made each update's copy of an arange or eye by running its
    dispatch again, and merged the two dispatches: both updates went into one
    buffer, silently (([a, b, 2], [0, 0, 0]) for the first case)."""
    f = COMPUTED_CONSTANTS_UPDATED[name]
    got = irax.jit(lambda a, b: f(jnp, a, b))(np.float32(5), np.float32(7))
    for g, w in zip(got, f(jjnp, np.float32(5), np.float32(7))):
        np.testing.assert_array_equal(np.asarray(g), np.asarray(w))


STRIDED_INSERTS_OF_UPDATES = {
    "set": lambda m, d: m.zeros((6, 5)).at[2:4, 1::2].set(m.zeros((2, 2)).at[:1].set(d[:1, :2] * 2)),
    "add into ones": lambda m, d: m.zeros((6, 5)).at[2:4, 1::2].set(m.ones((2, 2)).at[:1].add(d[:1, :2] * 2)),
}


@pytest.mark.parametrize("name", STRIDED_INSERTS_OF_UPDATES)
def test_an_update_of_a_constant_inserted_with_strides_under_jit(name, platform):
    """IREE 3.13 put both inserts in one dispatch and failed to compile it
    ("write affecting operations on global resources"), on CPU and Vulkan."""
    f = STRIDED_INSERTS_OF_UPDATES[name]
    np.testing.assert_array_equal(irax.jit(lambda d: f(jnp, d))(jnp.asarray(A34)), f(jjnp, A34))


SELF_UPDATES = {
    "shift right": lambda lib, d: d.at[1:3].set(d[:2]),
    "shift left": lambda lib, d: d.at[:-1].set(d[1:]),
    "rows": lambda lib, d: d.at[1:].add(d[:-1]),
    "in a loop": lambda lib, d: lib.lax.fori_loop(0, 2, lambda i, b: b.at[1:].set(b[:-1]), d),
}


@pytest.mark.parametrize("case", SELF_UPDATES)
def test_an_update_from_an_overlapping_slice_of_itself_under_jit(case):
    """`x.at[1:3].set(x[:2])` under jit: IREE copied x into the result and
    the slice from there into itself, ranges overlapping: a DeviceError at
    every call (transforms/self_updates.py)."""
    fn = SELF_UPDATES[case]
    expected = jax.jit(lambda d: fn(jax, d))(A34)
    np.testing.assert_array_equal(irax.jit(lambda d: fn(irax, d))(jnp.asarray(A34)), expected)
    np.testing.assert_array_equal(irax.jit(lambda d: fn(irax, d), donate_argnums=0)(jnp.asarray(A34)), expected)


@pytest.mark.parametrize("dtype", [np.int8, np.int16], ids=lambda t: t.__name__)
def test_updates_at_a_negative_narrow_integer_index_array_like_jax(dtype, platform):
    """A negative int8 or int16 index array counts from the end in an update,
    as JAX's. (IREE 3.13 read an i8 or i16 start on the host as unsigned:
    x.at[i].set(7) with i = int16(-2) read 65534 and dropped the update.)"""
    def updates(x, i):
        return x.at[i].set(7.0), x.at[i].add(7.0), x.reshape(2, 3).at[i, i].set(7.0)
    x = np.arange(6.0, dtype=np.float32)
    for value in (-1, -2):
        i = dtype(value)
        want = [np.asarray(r) for r in updates(jjnp.asarray(x), jjnp.asarray(i))]
        for how, got in [("eager", updates(jnp.asarray(x), jnp.asarray(i))), ("jit", irax.jit(updates)(x, i))]:
            for g, w in zip(got, want):
                np.testing.assert_array_equal(np.asarray(g), w, err_msg=f"{how}, i = {value}")
