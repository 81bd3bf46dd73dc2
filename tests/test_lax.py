"""`irax.lax` against `jax.lax`: values, dtypes and weak types, errors and
derivatives of the ops below the NumPy layer (lax_elementwise.py,
lax_structural.py, lax_indexing.py and lax_scans.py).

Every case is `lambda L: ...`, run once with L = irax.lax and once with
L = jax.lax on the same NumPy inputs, mostly x and y of shape (3, 4), so
that cases share their eager kernels.
"""
import ml_dtypes
import numpy as np
import pytest

import irax
from irax import lax as il

jax = pytest.importorskip("jax")
jl = jax.lax

X = np.linspace(-2.3, 2.7, 12, dtype=np.float32).reshape(3, 4)
Y = np.linspace(0.5, 3.1, 12, dtype=np.float32).reshape(3, 4)
K = np.array([[1, 7, -3, 100], [0, -1, 2**30, 5], [3, 4, -2**31, 6]], np.int32)
S = np.array([[0, 1, 4, 31], [2, 3, 0, 1], [5, 0, 1, 2]], np.int32)  # shift amounts
IDX = np.array([[2], [0], [5]], np.int32)  # gather/scatter rows, the last out of bounds
# (2, 3), not (6,): a matrix, as X, so that round's kernels are X's (one rank: fewer compiles)
TIES = np.array([[0.5, 1.5, -0.5], [-2.5, 2.4999998, 0.0]], np.float32)

# (x, y) pairs at nextafter's edges, shaped (3, 4) as X and Y so that they share
# its program (one per shape): the last five fill the shape
NEXTAFTER_EDGES = (np.float32([0, 0, 1, -1, np.inf, np.nan, 2, -0.0, -np.inf, 1, 5, -3]).reshape(3, 4),
                   np.float32([1, -1, 0, 0, 0, 1, 2, 1, 0, np.nan, 5, -4]).reshape(3, 4))


def _same(actual, expected, rtol=2e-6, case=""):
    """Both pytrees have the same structure, dtypes, shapes, weak types and
    (close) values; `case` names them where one test checks several."""
    a_leaves, a_tree = jax.tree.flatten(actual)
    e_leaves, e_tree = jax.tree.flatten(expected)
    assert len(a_leaves) == len(e_leaves), (case, a_tree, e_tree)
    for a, e in zip(a_leaves, e_leaves):
        assert bool(getattr(a, "weak_type", False)) == bool(getattr(e, "weak_type", False)), (case, a, e)
        a, e = np.asarray(a), np.asarray(e)
        assert a.dtype == e.dtype and a.shape == e.shape, (case, a, e)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=1e-6, equal_nan=True, err_msg=case)


def _check(case):
    _same(case(il), case(jl))


UNARY_FLOAT = ["neg", "abs", "sign", "floor", "ceil", "round", "is_finite", "exp", "exp2", "expm1", "sin", "cos", "tan",
               "atan", "sinh", "cosh", "tanh", "asinh", "cbrt", "square"]
UNARY_POSITIVE = ["log", "log1p", "sqrt", "rsqrt", "acosh", "reciprocal"]
BINARY_FLOAT = ["add", "sub", "mul", "div", "rem", "atan2", "pow", "max", "min", "nextafter", "eq", "ne", "lt", "le", "gt", "ge"]
BINARY_INT = ["add", "sub", "mul", "div", "rem", "max", "min", "bitwise_and", "bitwise_or", "bitwise_xor", "shift_left",
              "shift_right_logical", "shift_right_arithmetic"]

ELEMENTWISE = {
    **{f"{n}": (lambda n: lambda L: getattr(L, n)(X))(n) for n in UNARY_FLOAT},
    **{f"{n}": (lambda n: lambda L: getattr(L, n)(Y))(n) for n in UNARY_POSITIVE},
    **{f"{n}-f32": (lambda n: lambda L: getattr(L, n)(X, Y))(n) for n in BINARY_FLOAT},
    **{f"{n}-i32": (lambda n: lambda L: getattr(L, n)(K, S))(n) for n in BINARY_INT},
    "rem-by-zero": lambda L: L.rem(K, np.zeros_like(K)),
    "population_count": lambda L: L.population_count(K),
    "clz": lambda L: L.clz(K),
    "bitwise_not": lambda L: L.bitwise_not(K),
    "round-ties-away": lambda L: L.round(TIES),
    "round-ties-even": lambda L: L.round(TIES, L.RoundingMethod.TO_NEAREST_EVEN),
    "nextafter-edges": lambda L: L.nextafter(*NEXTAFTER_EDGES),
    "integer_pow": lambda L: (L.integer_pow(X, 3), L.integer_pow(Y, -2), L.integer_pow(X, 0)),
    "integer_pow-weak": lambda L: L.integer_pow(2.0, 3),
    "clamp": lambda L: L.clamp(np.float32(-1), X, np.float32(1.5)),
    "convert_element_type": lambda L: (L.convert_element_type(X, np.int32), L.convert_element_type(2.0, np.int8)),
    "reduce_precision": lambda L: L.reduce_precision(X * 1.001, 8, 7),
    "select_n": lambda L: (L.select_n(X > 0, X, Y), L.select_n(np.abs(S) % 3, X, Y, -X)),
    "python-scalars": lambda L: (L.add(1, 2), L.sin(1.0), L.mul(X, 2.0), L.add(X, np.float32(1))),
}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_as_jax(name):
    _check(ELEMENTWISE[name])


GDN = (dict(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,)), (1, 4))
SDN = dict(update_window_dims=(1,), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,))
POINTS = np.array([[0, 1], [1, 3], [2, 2]], np.int32)
BATCHED_GDN = dict(offset_dims=(), collapsed_slice_dims=(1,), start_index_map=(1,), operand_batching_dims=(0,),
                   start_indices_batching_dims=(0,))
BATCHED_SDN = dict(update_window_dims=(), inserted_window_dims=(1,), scatter_dims_to_operand_dims=(1,),
                   operand_batching_dims=(0,), scatter_indices_batching_dims=(0,))
BATCHED_IDX = np.array([[3], [4], [1]], np.int32)

STRUCTURAL = {
    "dot_general": lambda L: L.dot_general(X, Y, (((1,), (1,)), ((), ()))),
    "dot_general-batch": lambda L: L.dot_general(X.reshape(3, 2, 2), Y.reshape(2, 3, 2), (((1,), (2,)), ((2,), (0,)))),
    "dot_general-preferred": lambda L: L.dot_general(S.astype(np.int8), S.astype(np.int8), (((0,), (0,)), ((), ())),
                                                     preferred_element_type=np.int32),
    "dot": lambda L: (L.dot(X, Y.T), L.dot(X[0], Y[0], precision=L.Precision.HIGHEST),
                      L.dot(X.reshape(3, 2, 2), Y.reshape(3, 2, 2), dimension_numbers=(((2,), (1,)), ((0,), (0,))))),
    "batch_matmul": lambda L: L.batch_matmul(X.reshape(3, 2, 2), Y.reshape(3, 2, 2)),
    "reduce-monoids": lambda L: [L.reduce(X, np.float32(v), getattr(L, f), (0,)) for f, v in
                                 (("add", 0), ("mul", 1), ("max", -np.inf), ("min", 7))],
    "reduce-computation": lambda L: L.reduce((X, Y), (np.float32(0), np.float32(1)),
                                             lambda a, b: (L.add(a[0], b[0]), L.mul(a[1], b[1])), (1,)),
    "reduce_ops": lambda L: [getattr(L, f"reduce_{m}")(X, (1,)) for m in ("sum", "max", "min", "prod")],
    "reduce_bitwise": lambda L: [getattr(L, f"reduce_{m}")(x, (0,)) for m in ("and", "or", "xor") for x in (K, X > 0)],
    "argmax": lambda L: (L.argmax(X, 1, np.int32), L.argmin(X, 0, np.int8)),
    "slice": lambda L: (L.slice(X, (0, 1), (3, 4), (2, 2)), L.slice_in_dim(X, 1, None, 1, 1),
                        L.index_in_dim(X, -1, 1, False)),
    # slice sizes (2, 2) where any would do: one program per size
    "dynamic_slice": lambda L: (L.dynamic_slice(X, (1, 3), (2, 2)), L.dynamic_slice(X, (-1, 0), (2, 2)),
                                L.dynamic_slice(X, np.array([1, 2]), (2, 2)),
                                L.dynamic_slice_in_dim(X, 1, 2, 1), L.dynamic_index_in_dim(X, 2, 1, False),
                                L.dynamic_slice_in_dim(X, np.int8(1), 2, 1),
                                L.dynamic_slice(X, (np.uint8(1), np.uint8(0)), (2, 2))),
    "dynamic_update_slice": lambda L: (L.dynamic_update_slice(X, Y[:2, :2], (2, 1)),
                                       L.dynamic_update_index_in_dim(X, Y[0], 1, 0),
                                       L.dynamic_update_slice_in_dim(X, Y[:1], 5, 0),
                                       L.dynamic_update_index_in_dim(X, Y[:, 0], np.int16(2), 1)),
    "index_take": lambda L: L.index_take(X, (np.array([0, -1, 2]), np.array([3, 1, 2])), (0, 1)),
    "pad": lambda L: (L.pad(X, np.float32(0), [(1, -1, 1), (-2, 2, 0)]), L.pad(X, np.float32(9), [(0, 0, 2), (1, 1, 1)])),
    "shapes": lambda L: (L.concatenate([X, Y], 1), L.broadcast(X, (2,)), L.broadcast_in_dim(X[0], (3, 4), (1,)),
                         # (docstrings: dims in any order, a transpose; broadcast_like)
                         L.broadcast_in_dim(X, (4, 2, 3), (2, 0)), L.broadcast_like(X[0], Y),
                         L.broadcast_to_rank(X, 3), L.squeeze(X[None], (0,)), L.expand_dims(X, (0, 3)), L.rev(X, (0, 1)),
                         L.transpose(X, (1, 0)), L.reshape(X, (2, 6), (1, 0)), L.collapse(X, 0), L.tile(X, (2, 1)),
                         L.split(X, (1, 3), 1), L.stack([X, Y], 1), L.unstack(X, 1)),
    # (2, 3) where any shape would do: one program per shape
    "creation": lambda L: (L.iota(np.int32, 5), L.broadcasted_iota(np.float32, (2, 3), 1), L.full((2, 3), 1.5), L.full(3, 1),
                           L.full_like(X, 2), L.full((2, 3), 2, np.float32), L.empty((2, 3), np.float32) * 0),
    "cumulative": lambda L: [getattr(L, f)(X, axis, reverse) for f in ("cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp")
                             for axis, reverse in ((1, False), (0, True))],
    "associative_scan": lambda L: (L.associative_scan(L.add, X, axis=1),
                                   L.associative_scan(lambda a, b: (L.add(a[0], b[0]), L.mul(a[1], b[1])), (X, Y), True)),
    "map": lambda L: (L.map(lambda v: v * 2, X), L.map(lambda v: L.reduce_sum(v, (0,)), X, batch_size=2)),
    "gather": lambda L: [L.gather(X, IDX, L.GatherDimensionNumbers(**GDN[0]), GDN[1], mode=m) for m in (None, "clip", "fill")],
    "gather-points": lambda L: L.gather(X, POINTS, L.GatherDimensionNumbers(offset_dims=(1,), collapsed_slice_dims=(0,),
                                                                            start_index_map=(0, 1)), (1, 2)),
    "scatter": lambda L: [getattr(L, f)(X, IDX, Y, L.ScatterDimensionNumbers(**SDN), mode=m)
                          for f in ("scatter", "scatter_add", "scatter_sub", "scatter_mul", "scatter_min", "scatter_max")
                          for m in (None, "clip")],
    # row i of X indexed by BATCHED_IDX[i] (batching dims: the row is the index's own position), the 4 out of bounds
    "gather-batching": lambda L: [L.gather(X, BATCHED_IDX, L.GatherDimensionNumbers(**BATCHED_GDN), (1, 1), mode=m)
                                  for m in ("clip", "fill")],
    "scatter-batching": lambda L: [L.scatter_add(X, BATCHED_IDX, Y[:, 0], L.ScatterDimensionNumbers(**BATCHED_SDN),
                                                 mode=m) for m in ("clip", "drop")],
    "scatter_apply": lambda L: L.scatter_apply(X, IDX[:2], lambda v: v * 10, L.ScatterDimensionNumbers(**SDN),
                                               update_shape=(2, 4)),
    "misc": lambda L: (L.optimization_barrier((X, Y)), np.asarray(L.broadcast_shapes((3, 1), (1, 4))),
                      np.zeros((), L.dtype(1.0)), np.zeros((), L.dtype(X > 0))),
}


@pytest.mark.parametrize("name", STRUCTURAL)
def test_structural_as_jax(name):
    _check(STRUCTURAL[name])


def test_cumulative_of_bfloat16():
    """irax refused bfloat16 (NumPy's issubdtype does not count it a number).
    Values against NumPy's in float64 (JAX's running sums round more often:
    -0.0801 where the sum is -0.0819, irax's -0.0820)."""
    x = X.astype(ml_dtypes.bfloat16)
    wide = x.astype(np.float64)
    expected = [np.cumsum(wide, 1), np.cumprod(wide, 1), np.maximum.accumulate(wide, 1),
                np.minimum.accumulate(wide, 1), np.logaddexp.accumulate(wide, 1)]
    for name, want in zip(("cumsum", "cumprod", "cummax", "cummin", "cumlogsumexp"), expected):
        got = getattr(il, name)(x, 1)
        assert got.dtype == getattr(jl, name)(x, 1).dtype == ml_dtypes.bfloat16
        np.testing.assert_allclose(np.asarray(got).astype(np.float64), want, rtol=8e-3, atol=1e-6, err_msg=name)


@pytest.mark.parametrize("fold", ["bitwise_xor", "sub"])
def test_cumulative_of_a_value_that_folds_to_zeros_under_jit(fold):
    """x ^ x and x - x of integers are zeros, which IREE folds them to after
    irax's passes; the op computing them wrote into x's buffer
    (reuse-dead-buffers), and IREE could not compile the fill of x's buffer
    that it made of it under cummin's concatenated slices ("write affecting
    operations on global resources")."""
    def f(L, x):
        i = L.convert_element_type(x, np.int32)
        zeros = getattr(L, fold)(i, i)
        return [getattr(L, c)(zeros, 1, reverse) for c in ("cummin", "cummax", "cumsum", "cumprod")
                for reverse in (False, True)]

    _same(irax.jit(lambda x: f(il, x))(X), jax.jit(lambda x: f(jl, x))(X))


def _ones(n, shape, dtype="float32"):
    return n.ones(shape, dtype)


ERRORS = {
    "mixed-dtypes": lambda L, n: L.add(_ones(n, 3), _ones(n, 3, "int32")),
    "weak-int-with-float": lambda L, n: L.add(_ones(n, 3), 2),
    "weak-float-with-f16": lambda L, n: L.add(_ones(n, 3, "float16"), 2.0),
    "ranks": lambda L, n: L.add(_ones(n, (2, 3)), _ones(n, 3)),
    "sin-of-int": lambda L, n: L.sin(_ones(n, 3, "int32")),
    "shift-of-float": lambda L, n: L.shift_left(_ones(n, 3), _ones(n, 3)),
    "population_count-of-float": lambda L, n: L.population_count(_ones(n, 3)),
    "integer_pow-of-bool": lambda L, n: L.integer_pow(_ones(n, 3, "bool"), 2),
    "square-of-bool": lambda L, n: L.square(_ones(n, 3, "bool")),
    "sub-of-bool": lambda L, n: L.sub(_ones(n, 3, "bool"), _ones(n, 3, "bool")),
    "add-of-bool": lambda L, n: L.add(_ones(n, 3, "bool"), _ones(n, 3, "bool")),
    "abs-of-unsigned": lambda L, n: L.abs(_ones(n, 3, "uint8")),
    "concatenate": lambda L, n: L.concatenate([_ones(n, 2), _ones(n, 2, "int32")], 0),
    "pad-value": lambda L, n: L.pad(_ones(n, 2), 0, [(1, 1, 0)]),
    "dynamic_update_slice": lambda L, n: L.dynamic_update_slice(_ones(n, 3), _ones(n, 1, "int32"), (0,)),
    "clamp-shape": lambda L, n: L.clamp(_ones(n, 2), _ones(n, 3), _ones(n, 3)),
    "select_n-bool-3": lambda L, n: L.select_n(_ones(n, 3, "bool"), _ones(n, 3), _ones(n, 3), _ones(n, 3)),
    "transpose": lambda L, n: L.transpose(_ones(n, (2, 3)), (0, 0)),
    "broadcast_in_dim-sizes": lambda L, n: L.broadcast_in_dim(_ones(n, (2, 3)), (4, 3), (0, 1)),
    "broadcast_in_dim-rank": lambda L, n: L.broadcast_in_dim(_ones(n, (2, 3)), (2, 3), (0,)),
    "broadcast_in_dim-dims": lambda L, n: L.broadcast_in_dim(_ones(n, (2, 3)), (2, 3), (0, 2)),
    "squeeze": lambda L, n: L.squeeze(_ones(n, (2, 3)), (0,)),
    "split": lambda L, n: L.split(_ones(n, 3), (1, 1)),
    "reduce_and-of-float": lambda L, n: L.reduce_and(_ones(n, 3), (0,)),
    "reduce_precision-exponent_bits": lambda L, n: L.reduce_precision(_ones(n, 3), 0, 10),
    "reduce_precision-mantissa_bits": lambda L, n: L.reduce_precision(_ones(n, 3), 5, -1),
    "reduce_precision-of-int": lambda L, n: L.reduce_precision(_ones(n, 3, "int32"), 5, 10),
    "select_n-float-which": lambda L, n: L.select_n(_ones(n, 3), _ones(n, 3), _ones(n, 3)),
    "dynamic_update_slice-index-dtypes": lambda L, n: L.dynamic_update_slice(_ones(n, (2, 3)), _ones(n, (1, 3)),
                                                                              (n.int8(1), n.int32(0))),
    "dynamic_update_slice-float-index": lambda L, n: L.dynamic_update_slice(_ones(n, 3), _ones(n, 1), (1.0,)),
    "dynamic_slice-index-dtypes": lambda L, n: L.dynamic_slice(_ones(n, (2, 3)), (n.int8(1), 0), (1, 3)),
    "dynamic_slice-start-count": lambda L, n: L.dynamic_slice(_ones(n, (2, 3)), (1,), (1, 3)),
    "dynamic_slice-too-big": lambda L, n: L.dynamic_slice(_ones(n, (2, 3)), (0, 0), (3, 3)),
    "dynamic_slice-negative-size": lambda L, n: L.dynamic_slice(_ones(n, (2, 3)), (0, 0), (1, -1)),
    "dynamic_update_slice-start-count": lambda L, n: L.dynamic_update_slice(_ones(n, (2, 3)), _ones(n, (1, 3)), (0,)),
    "dynamic_update_slice-rank": lambda L, n: L.dynamic_update_slice(_ones(n, (2, 3)), _ones(n, 3, "int32"), (0, 0)),
    "dynamic_update_slice-too-big": lambda L, n: L.dynamic_update_slice(_ones(n, (2, 3)), _ones(n, (3, 3)), (0, 0)),
    "gather-batching-sizes": lambda L, n: L.gather(X, BATCHED_IDX[:2], L.GatherDimensionNumbers(**BATCHED_GDN), (1, 1)),
    "gather-batching-bound": lambda L, n: L.gather(X, BATCHED_IDX, L.GatherDimensionNumbers(**BATCHED_GDN), (2, 1)),
    "scatter-batching-indexed": lambda L, n: L.scatter_add(
        X, np.concatenate([BATCHED_IDX, BATCHED_IDX], 1), Y[:, 0],
        L.ScatterDimensionNumbers(**{**BATCHED_SDN, "scatter_dims_to_operand_dims": (1, 0)})),
    "gather-mode": lambda L, n: L.gather(_ones(n, 3), n.zeros((1, 1), "int32"), L.GatherDimensionNumbers((), (0,), (0,)),
                                         (1,), mode="bad"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_as_jax(name):
    """The same exception type as JAX, and the same first sentence where a
    user would search for it."""
    import irax.numpy as inp
    with pytest.raises(Exception) as expected:
        ERRORS[name](jl, jax.numpy)
    with pytest.raises(expected.type) as actual:
        ERRORS[name](il, inp)
    first = str(expected.value).split(" (Tip")[0].split(". ")[0]
    assert str(actual.value).startswith(first[:30]), (actual.value, expected.value)


@pytest.mark.parametrize("name, args", [("shift_left", (K.astype(np.int8), K)), ("div", (K.astype(np.int8), K)),
                                        ("clamp", (np.int32(0), X, np.float32(1)))])
def test_dtype_error_tips_name_jnp_functions_as_jax(name, args):
    """JAX's tip names the jnp function that promotes (jnp.left_shift,
    jnp.divide) or none (jnp has no clamp); irax named jnp.shift_left, jnp.div, jnp.clamp."""
    with pytest.raises(TypeError) as expected:
        getattr(jl, name)(*args)
    with pytest.raises(TypeError) as actual:
        getattr(il, name)(*args)
    assert str(actual.value) == str(expected.value)


def test_dynamic_slice_sizes_count_error_type():
    """One slice size per operand dim, else a ValueError (JAX's comes from its safe_map, worded for no user)."""
    with pytest.raises(ValueError):
        jl.dynamic_slice(X, (0, 0), (1,))
    with pytest.raises(ValueError, match="one slice size per operand dimension"):
        il.dynamic_slice(X, (0, 0), (1,))


GRADS = {
    "dot_general": lambda L: lambda a: (L.dot_general(a, Y, (((1,), (1,)), ((), ()))) ** 2).sum(),
    "dynamic_slice": lambda L: lambda a: (L.dynamic_slice(a, (1, 2), (2, 2)) ** 2).sum(),
    "dynamic_slice-wrapped-clamped": lambda L: lambda a: (L.dynamic_slice(a, (-1, 9), (2, 2)) ** 2).sum(),
    "dynamic_update_slice": lambda L: lambda a: (L.dynamic_update_slice(a, a[:2, :2] * 3, (1, 1)) ** 2).sum(),
    "dynamic_update_slice-clamped": lambda L: lambda a: (L.dynamic_update_slice(a, a[1:, 1:3] * 3, (-1, 9)) ** 2).sum(),
    "pad": lambda L: lambda a: (L.pad(a, np.float32(1), [(1, -1, 1), (-2, 2, 0)]) ** 2).sum(),
    "cumsum": lambda L: lambda a: (L.cumsum(a, 1, reverse=True) ** 2).sum(),
    "associative_scan": lambda L: lambda a: (L.associative_scan(L.mul, a, axis=1) ** 2).sum(),
    "gather": lambda L: lambda a: (L.gather(a, IDX[:2], L.GatherDimensionNumbers(**GDN[0]), GDN[1]) ** 2).sum(),
    "scatter_add": lambda L: lambda a: (L.scatter_add(a, IDX, a * 2, L.ScatterDimensionNumbers(**SDN)) ** 2).sum(),
    "gather-batching": lambda L: lambda a: (L.gather(a, BATCHED_IDX, L.GatherDimensionNumbers(**BATCHED_GDN), (1, 1),
                                                     mode="clip") ** 2).sum(),
    # JAX's rule, not the derivative of a step function: the cotangent reduced too (1e4 * a overflows (5, 2))
    "reduce_precision": lambda L: lambda a: (L.reduce_precision(a * 1.3, 5, 2) * Y * (1e4 * a)).sum(),
}


def test_gradients_as_jax():
    """Every case at once, eagerly and under jit: the gradient of their sum
    with respect to one copy of X per case is each case's gradient at X
    (one program each way instead of one per case)."""
    def total(L):
        return lambda xs: sum(GRADS[name](L)(xs[name]) for name in GRADS)
    xs = {name: X for name in GRADS}
    expected = jax.grad(total(jl))(xs)
    for how, actual in (("eager", irax.grad(total(il))(xs)), ("jit", irax.jit(irax.grad(total(il)))(xs))):
        for name in GRADS:
            _same(actual[name], expected[name], rtol=1e-5, case=f"{name} ({how})")


# Starts JAX counts from the end or clamps so that the window fits, per dim: negative, past the end, both;
# int16 scalars and arrays (an eager int16 index array read a negative start as unsigned), int8 ones
STARTS = [(-1, -3), (5, 9), (1, -9), (-7, 3), (np.int16(-2), np.int16(3)),
          (np.array(-1, np.int16), np.array(-3, np.int16)), (np.int8(-3), np.int8(-1))]


@pytest.mark.parametrize("starts, allowed", [((0, -2), False), ((0, np.int32(-2)), (True, False)),
                                             ((-1, 0), (False, True))])
def test_a_static_negative_start_where_it_is_not_allowed_is_jaxs_value_error(starts, allowed):
    """JAX raises for a negative Python or NumPy start on a dim whose
    allow_negative_indices is False; irax clamped it to 0."""
    x = np.zeros((5, 4), np.float32)
    for name, args in [("dynamic_slice", (x, starts, (2, 2))), ("dynamic_update_slice", (x, x[:2, :2], starts))]:
        with pytest.raises(ValueError) as theirs:
            getattr(jax.lax, name)(*args, allow_negative_indices=allowed)
        with pytest.raises(ValueError) as ours:
            getattr(il, name)(*args, allow_negative_indices=allowed)
        assert str(ours.value) == str(theirs.value), name


def test_dynamic_update_slice_starts_as_jax():
    """lax.dynamic_update_slice at starts JAX counts from the end or clamps
    (the table above), eagerly and at traced starts under jit, of float and
    int operands; a 0-d update at a negative index
    (dynamic_update_index_in_dim); under jit, allow_negative_indices off on
    every dim and on one (eager, JAX refuses a negative Python int there).
    Its starts are now update_slice's: a block's negative start counted from
    0 there."""
    def updates(L, i, j, traced):
        out = (L.dynamic_update_slice(X, Y[:2, :2], (i, j)), L.dynamic_update_slice(K, S[:2, :2], (i, j)),
               L.dynamic_update_index_in_dim(X[0], np.float32(9), i, 0))
        if not traced:
            return out
        return out + (L.dynamic_update_slice(X, Y[:2, :2], (i, j), allow_negative_indices=False),
                      L.dynamic_update_slice(K, S[:2, :2], (i, j), allow_negative_indices=(True, False)))
    ours, theirs = irax.jit(lambda i, j: updates(il, i, j, True)), jax.jit(lambda i, j: updates(jl, i, j, True))
    for i, j in STARTS:
        _same(updates(il, i, j, False), updates(jl, i, j, False), case=f"eager at {(i, j)}")
        _same(ours(i, j), theirs(i, j), case=f"jit at {(i, j)}")


def test_dynamic_slice_starts_as_jax():
    """lax.dynamic_slice at starts JAX counts from the end or clamps (the
    table above), eagerly (as given, and as 0-d arrays) and at traced starts
    under jit, of float and int operands; dynamic_index_in_dim at a negative
    index; at arrays, allow_negative_indices off on every dim and on either
    one (JAX refuses a negative Python or NumPy int there). The starts are
    the static_slice's operands, which it counts from the end (`wrap`) and
    clamps: eager ops clamped them before it, a kernel each."""
    def slices(L, i, j, arrays):
        out = (L.dynamic_slice(X, (i, j), (2, 2)), L.dynamic_slice(K, (i, j), (2, 3)),
               L.dynamic_index_in_dim(X[0], i, 0, False))
        if not arrays:
            return out
        return out + (L.dynamic_slice(X, (i, j), (2, 2), allow_negative_indices=False),
                      L.dynamic_slice(K, (i, j), (2, 3), allow_negative_indices=(True, False)),
                      L.dynamic_slice(X, (i, j), (2, 2), allow_negative_indices=[False, True]))
    ours, theirs = irax.jit(lambda i, j: slices(il, i, j, True)), jax.jit(lambda i, j: slices(jl, i, j, True))
    for i, j in STARTS:
        _same(slices(il, i, j, False), slices(jl, i, j, False), case=f"eager at {(i, j)}")
        i, j = np.asarray(i), np.asarray(j)
        _same(slices(il, i, j, True), slices(jl, i, j, True), case=f"eager at arrays {(i, j)}")
        _same(ours(i, j), theirs(i, j), case=f"jit at {(i, j)}")


def test_namespace_covers_jax_lax():
    """Every name of jax.lax that irax can have (no FFT, collectives,
    tokens or sharding) is in irax.lax."""
    wanted = {"add", "dot_general", "gather", "scatter_add", "associative_scan", "cumlogsumexp", "map", "pad", "select_n",
              "population_count", "clz", "nextafter", "GatherScatterMode", "DotDimensionNumbers", "Precision", "dtype",
              "broadcast_shapes", "empty", "optimization_barrier", "stack", "unstack", "tile", "collapse", "index_take",
              "complex", "real", "imag", "conj"}
    assert wanted <= set(il.__all__)
    assert {n for n in wanted if hasattr(jl, n)} == wanted


REDUCED_FORMATS = [(5, 10), (8, 7), (8, 23), (4, 3), (5, 2), (11, 52), (1, 0), (6, 20)]


def _floats_to_reduce(dtype, mantissa_bits):
    """1024 values of `dtype`: random bit patterns (NaNs with payloads,
    subnormals, infs among them), edge values, and exact ties of rounding to
    `mantissa_bits`."""
    info = ml_dtypes.finfo(dtype)
    uint = np.dtype(f"u{np.dtype(dtype).itemsize}")
    bits = np.random.default_rng(0).integers(0, np.iinfo(uint).max, 1024, dtype=uint, endpoint=True)
    with np.errstate(over="ignore"):
        edges = np.array([0, -0.0, np.inf, -np.inf, np.nan, 1, 1.5, info.tiny, info.smallest_subnormal, info.max,
                          -info.max, -46.59375, 7e4, 3e-8, 6e-8, 6.1e-5, 65504, 65520, 1.0009765625, 300, 1e-3, 448,
                          464, 57344], np.float64).astype(dtype)
    bits[:len(edges)] = edges.view(uint)
    exponent_mask = ((1 << info.nexp) - 1) << info.nmant
    sign = 1 << (8 * uint.itemsize - 1)  # NaNs: signalling, quiet with a payload, negative ones
    bits[100:104] = [exponent_mask | 1, exponent_mask | (1 << (info.nmant - 1)) | 3, exponent_mask | 1 | sign,
                     np.iinfo(uint).max]
    dropped = info.nmant - mantissa_bits
    if dropped > 0:  # the last 256: halfway between two values of the format
        bits[-256:] = (bits[-256:] & ~uint.type((1 << dropped) - 1)) | uint.type(1 << (dropped - 1))
    return bits.view(dtype)


def _reduced_bits_as_jax(dtype, exponent_bits, mantissa_bits):
    x = _floats_to_reduce(dtype, mantissa_bits)
    expected = np.asarray(jl.reduce_precision(jax.numpy.asarray(x), exponent_bits, mantissa_bits))
    uint = np.dtype(f"u{x.dtype.itemsize}")
    info = ml_dtypes.finfo(dtype)

    def is_nan(a):  # from the bits: NumPy's casts warn of signalling NaNs
        return (a.view(uint) & uint.type(np.iinfo(uint).max >> 1)) > (((1 << info.nexp) - 1) << info.nmant)
    # irax's bfloat16 NaNs are 0x7fc0 whatever their bits: there a NaN is a NaN
    compared = ~is_nan(expected) if dtype == ml_dtypes.bfloat16 else np.ones(x.shape, bool)
    for actual in (il.reduce_precision(x, exponent_bits, mantissa_bits),
                   irax.jit(lambda a: il.reduce_precision(a, exponent_bits, mantissa_bits))(x)):
        actual = np.asarray(actual)
        assert actual.dtype == expected.dtype
        np.testing.assert_array_equal(is_nan(actual), is_nan(expected))
        np.testing.assert_array_equal(actual[compared].view(uint), expected[compared].view(uint))


@pytest.mark.parametrize("fmt", REDUCED_FORMATS, ids=lambda f: f"e{f[0]}m{f[1]}")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_reduce_precision_bit_for_bit_as_jax(dtype, fmt):
    """XLA's ReducePrecision, bit for bit: mantissa rounded to nearest even,
    then the target's exponent range (above: ±inf; below its smallest
    normal: ±0, no subnormals); NaNs pass as they are; formats as wide as
    the dtype in both fields change nothing."""
    _reduced_bits_as_jax(ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype), *fmt)


@pytest.mark.parametrize("fmt", [(5, 10), (8, 23), (4, 3), (11, 52)], ids=lambda f: f"e{f[0]}m{f[1]}")
def test_reduce_precision_float64_bit_for_bit_as_jax(x64, fmt):
    _reduced_bits_as_jax(np.dtype(np.float64), *fmt)


def test_reduce_precision_weak_types_bit_floats_and_forward_mode_as_jax():
    """Weak types kept; 8- and 4-bit floats rounded in float32 and back (as
    XLA's); the JVP reduces the tangent, to any order (hessian)."""
    x = np.array([1.3, 300, 1e-3, 0.07, 7e4, 2.5, np.nan, -np.inf], np.float32)

    def case(L):
        rp = lambda a: L.reduce_precision(a, 5, 2)  # noqa: E731
        bit_floats = [L.reduce_precision(x.astype(dt), 4, 3) for dt in (ml_dtypes.float8_e4m3fn, ml_dtypes.float8_e5m2,
                                                                         ml_dtypes.float4_e2m1fn)]
        L_ = irax if L is il else jax
        return (L.reduce_precision(2.1, 5, 2), rp(x), *[b.astype(np.float32) for b in bit_floats],
                L_.jvp(rp, (x,), (x[::-1] * 3e3,)), L_.hessian(lambda a: (rp(a) ** 2).sum())(x[:2]))
    _check(case)
