"""Products (dot, vdot, matmul, inner, outer, tensordot, einsum): values
against NumPy, dtypes, weak types and errors against JAX.

Most cases are float32 and share eager kernels: one is compiled per operand
ranks, unit-dim pattern, dtype and dimension numbers, whatever the sizes.
"""
import re

import ml_dtypes
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.frontend import eager
from irax.frontend.core import ShapedArray, Trace
from irax.frontend.primitives.linalg import dot_general
from irax.frontend.primitives.reductions import STATIC_ABOVE

jax = pytest.importorskip("jax")
jjnp = jax.numpy

from helpers import TOL, check, run_module, sample  # noqa: E402
def run_traced(fn, *arrays):
    """Run `fn` traced with static shapes (as under jit), compiled as one module."""
    avals = [jnp.asarray(a).aval for a in arrays]  # (asarray under the trace would trace the data: an argument)
    trace = Trace()
    with trace.active():
        out = fn(*[trace.new_argument(a) for a in avals])
    return run_module(trace.finish([out]), arrays, [out.aval])[0]


# ---------------------------------------------------------------------------
# dot and friends

DOT_SHAPES = [
    ((3, 4), (4, 5)), ((4,), (4,)), ((3, 4), (4,)), ((4,), (4, 5)), ((2, 3, 4), (5, 4, 2)),
    ((), (3, 4)), ((3, 4), ()), ((), ()),
]


@pytest.mark.parametrize("a_shape, b_shape", DOT_SHAPES)
def test_dot_values(a_shape, b_shape):
    a, b = sample(a_shape), sample(b_shape)
    check(jnp.dot(a, b), np.dot(a, b))


@pytest.mark.parametrize("dtype", [np.int32, np.uint8, np.bool_, np.float16, ml_dtypes.bfloat16])
def test_dot_dtypes_match_jax(dtype):
    a, b = sample((3, 4), dtype), sample((4, 5), dtype)
    out = jnp.dot(a, b)
    theirs = jjnp.dot(a, b)
    assert out.dtype == theirs.dtype == np.dtype(dtype)
    if np.dtype(dtype).kind in "biu":  # exact, wrapping like JAX's (and NumPy's) integer dot
        np.testing.assert_array_equal(np.asarray(out), np.asarray(theirs))
        np.testing.assert_array_equal(np.asarray(out), np.dot(a, b))
    else:
        check(out, np.dot(a.astype(np.float32), b.astype(np.float32)), TOL[np.dtype(dtype)])


def test_int32_overflow_wraps_around_like_jax():
    a, b = np.full((2, 3), 2**30, np.int32), np.full((3,), 2, np.int32)
    out = jnp.dot(a, b)
    np.testing.assert_array_equal(np.asarray(out), np.asarray(jjnp.dot(a, b)))
    np.testing.assert_array_equal(np.asarray(out), [-(2**31)] * 2)  # 3 * 2**31 mod 2**32, as int32


@pytest.mark.parametrize("dtype", [np.float16, ml_dtypes.bfloat16])
def test_half_precision_accumulates_in_float32(dtype):
    """5000 ones: a half-precision running sum stalls at 2048 (float16) or
    4096 (bfloat16), where adding 1 no longer changes it."""
    ones = np.ones(5000, dtype)
    out, theirs = jnp.dot(ones, ones), jjnp.dot(ones, ones)
    assert out.dtype == theirs.dtype == np.dtype(dtype)
    assert float(out) == float(theirs) == float(np.asarray(5000, dtype))


def test_bool_dot_is_or_of_ands():
    a = np.array([[True, False], [False, False]])
    b = np.array([[True, True], [True, False]])
    np.testing.assert_array_equal(np.asarray(jnp.dot(a, b)), np.asarray(jjnp.dot(a, b)))


@pytest.mark.parametrize("a_shape, b_shape", [((3, 0), (0, 5)), ((0, 4), (4, 5)), ((0,), (0,))])
@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_empty_dims(a_shape, b_shape, dtype):
    """A contraction over K = 0 terms is zero; M = 0 gives an empty result."""
    a, b = np.ones(a_shape, dtype), np.ones(b_shape, dtype)
    out = jnp.dot(a, b)
    assert out.dtype == np.dtype(dtype)
    check(out, np.dot(a, b))


def test_vdot_inner_outer():
    a, b, c = sample((3, 4)), sample((3, 4)), sample((4, 3))
    check(jnp.vdot(a, b), np.vdot(a, b))
    check(jnp.vdot(a, c), np.vdot(a, c))  # same size, other shape: flattened
    d = sample((2, 4))
    check(jnp.inner(a, d), np.inner(a, d))
    check(jnp.inner(a, np.float32(2)), np.inner(a, np.float32(2)))
    u, v = sample((3,)), sample((4,))
    check(jnp.outer(u, v), np.outer(u, v))
    check(jnp.outer(a, v), np.outer(a, v))


@pytest.mark.parametrize("a_shape, b_shape, axes", [
    ((2, 3, 4), (3, 4, 2), 2), ((2, 3, 4), (4, 2), 1), ((2, 3), (4,), 0), ((2, 3), (4,), -1),
    ((3, 2), (2, 3, 4), ([1, 0], [0, 1])), ((3, 2), (2, 3), (1, 0)), ((2, 3, 4), (4, 2), ([-1], [0])),
    ((2, 3, 4), (5, 4, 2), ((2,), (1,))),
])
def test_tensordot(a_shape, b_shape, axes):
    a, b = sample(a_shape), sample(b_shape)
    check(jnp.tensordot(a, b, axes), jjnp.tensordot(a, b, axes))


# ---------------------------------------------------------------------------
# matmul

MATMUL_SHAPES = [
    ((3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (4,)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)),
    ((2, 3, 4), (2, 4, 5)), ((1, 3, 4), (2, 4, 5)), ((3, 4), (2, 4, 5)), ((2, 1, 3, 4), (1, 5, 4, 2)),
    ((2, 1, 3, 4), (2, 1, 4, 5)),  # one batch shape: one dot_general, without labels
    ((2, 1, 3, 4), (4,)), ((4,), (3, 2, 4, 5)),  # a vector: dot's contraction
]


@pytest.mark.parametrize("a_shape, b_shape", MATMUL_SHAPES)
def test_matmul_values(a_shape, b_shape):
    a, b = sample(a_shape), sample(b_shape)
    check(jnp.matmul(a, b), np.matmul(a, b))


def test_matmul_operator_and_dot_method():
    a, b = sample((3, 4)), sample((4, 5))
    x, y = jnp.asarray(a), jnp.asarray(b)
    check(x @ y, a @ b)
    check(a @ y, a @ b)  # NumPy defers to irax's __rmatmul__
    check(x @ b, a @ b)
    check(x.dot(y), a @ b)


def test_matmul_int_and_bool():
    for dtype in (np.int32, np.bool_):
        a, b = sample((2, 3, 4), dtype), sample((4, 2), dtype)
        out = jnp.matmul(a, b)
        assert out.dtype == jjnp.matmul(a, b).dtype
        np.testing.assert_array_equal(np.asarray(out), np.matmul(a, b))


# ---------------------------------------------------------------------------
# einsum

EINSUM = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,j->i", [(3, 4), (4,)]),
    ("i,i->", [(4,), (4,)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("ij->ji", [(3, 4)]),
    ("...ij,...jk", [(2, 3, 4), (4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 3, 4), (5, 4, 2)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("ji,jk", [(4, 3), (4, 5)]),
    ("ij,jk->ki", [(3, 4), (4, 5)]),
    ("bij,bjk->ibk", [(2, 3, 4), (2, 4, 5)]),
    ("ij,jk->i", [(3, 4), (4, 5)]),
    ("ij->", [(3, 4)]),
    ("ij->i", [(3, 4)]),
    ("ij", [(3, 4)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("i,j->ij", [(3,), (4,)]),
    (",ij->ij", [(), (3, 4)]),
    ("ij,jk,kl->il", [(3, 4), (4, 5), (5, 2)]),
    ("ij,j,j->i", [(3, 4), (4,), (4,)]),
    ("...i,...i->...", [(2, 1, 3), (4, 3)]),
    (" ij , jk -> ik ", [(3, 4), (4, 5)]),
]


@pytest.mark.parametrize("subscripts, shapes", EINSUM)
def test_einsum_values(subscripts, shapes):
    operands = [sample(s) for s in shapes]
    check(jnp.einsum(subscripts, *operands), np.einsum(subscripts, *operands))


def test_einsum_broadcasts_unit_dims_like_jax():
    a, b = sample((1, 4)), sample((3, 4))
    check(jnp.einsum("ij,ij->ij", a, b), jjnp.einsum("ij,ij->ij", a, b))
    a1 = sample((3, 1))  # j has size 1 here and 3 in b: it broadcasts, then is summed over
    check(jnp.einsum("ij,jk->ik", a1, b), jjnp.einsum("ij,jk->ik", a1, b))


@pytest.mark.parametrize("dtypes", [(np.int32, np.int32), (np.bool_, np.bool_), (np.float16, np.int32), (ml_dtypes.bfloat16, np.float32)])
def test_einsum_dtypes_match_jax(dtypes):
    a, b = sample((3, 4), dtypes[0]), sample((4, 5), dtypes[1])
    for subscripts in ("ij,jk->ik", "ij,jk->i"):
        out, theirs = jnp.einsum(subscripts, a, b), jjnp.einsum(subscripts, a, b)
        assert out.dtype == theirs.dtype
        check(out, np.asarray(theirs).astype(np.float64), TOL.get(out.dtype, 0))


@pytest.mark.parametrize("subscripts, shapes", [("ii->i", [(3, 3)]), ("ii", [(3, 3)]), ("iij->ij", [(3, 3, 2)]),
                                                  ("iii", [(3, 3, 3)]), ("ij,jj->i", [(2, 3), (3, 3)]),
                                                  ("bii,bij->bj", [(2, 3, 3), (2, 3, 4)])])
def test_einsum_repeated_letters_read_diagonals_like_jax(subscripts, shapes):
    """A letter repeated within one operand (a diagonal; summed, a trace) was a NotImplementedError."""
    operands = [sample(s) for s in shapes]
    check(jnp.einsum(subscripts, *operands), np.einsum(subscripts, *operands))
    grads = irax.grad(lambda *xs: jnp.einsum(subscripts, *xs).sum(), argnums=tuple(range(len(shapes))))(*operands)
    expected = jax.grad(lambda *xs: jjnp.einsum(subscripts, *xs).sum(), argnums=tuple(range(len(shapes))))(*operands)
    for g, e in zip(grads, expected):
        check(g, np.asarray(e))


def test_einsum_interleaved_form_and_keywords_like_jax():
    """einsum(x, [0, 1], y, [1, 2], [0, 2]), optimize= and preferred_element_type= (were errors)."""
    a, b = sample((3, 4)), sample((4, 5))
    check(jnp.einsum(a, [0, 1], b, [1, 2], [0, 2]), a @ b)
    check(jnp.einsum(a, [Ellipsis, 1], [Ellipsis]), a.sum(1))
    m = sample((3, 3))
    check(jnp.einsum(m, [0, 0]), np.trace(m))
    check(jnp.einsum("ij,jk->ik", a, b, optimize="greedy"), a @ b)
    ints = np.ones((2, 2), np.int8)
    ours = jnp.einsum("ij,jk", ints, ints, preferred_element_type=np.float32)
    assert ours.dtype == jjnp.einsum("ij,jk", ints, ints, preferred_element_type=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="Size of label 'i'"):
        jnp.einsum("ii", np.ones((2, 3), np.float32))


@pytest.mark.parametrize("optimize", ["auto", True, False, "greedy"])
def test_einsum_path_and_the_order_it_contracts_in_are_jax_s(optimize):
    """einsum_path is JAX's (opt_einsum's path and account), and einsum
    contracts in that order: for (2, 3) @ (3, 100) @ (100, 5) the optimal
    order makes a 3 x 5 product first, never the 2 x 100 one (einsum was
    left to right, whatever `optimize` said)."""
    x, y, z = sample((2, 3)), sample((3, 100)), sample((100, 5))
    path, info = jnp.einsum_path("ij,jk,kl", x, y, z, optimize=optimize)
    their_path, their_info = jjnp.einsum_path("ij,jk,kl", x, y, z, optimize=optimize)
    assert path == their_path and str(info) == str(their_info)
    exact = x.astype(np.float64) @ y @ z  # (float32 products of 100 terms ~40 in another order differ by ~2e-5)
    for given in (optimize, path, ["einsum_path", *path]):
        check(jnp.einsum("ij,jk,kl", x, y, z, optimize=given), exact, tol=1e-4)
    traced = irax.jit(lambda *xs: jnp.einsum("ij,jk,kl", *xs, optimize=optimize)).lower(x, y, z).as_text("traced")
    made = set(re.findall(r"-> tensor<(\d+x\d+)xf32>", traced))  # each product's shape (or its transpose)
    assert bool(made & {"3x5", "5x3"}) == (path == [(1, 2), (0, 1)])
    assert bool(made & {"2x100", "100x2"}) == (path == [(0, 1), (0, 1)])


# ---------------------------------------------------------------------------
# Weak types, static shapes, gradients

# name -> (fn of the numpy module and two operands, their shapes)
WEAK_CASES = {
    "dot": (lambda m, x, y: m.dot(x, y), (3, 4), (4, 2)),
    "matmul": (lambda m, x, y: m.matmul(x, y), (3, 4), (4, 2)),
    "inner": (lambda m, x, y: m.inner(x, y), (3, 4), (2, 4)),
    "vdot": (lambda m, x, y: m.vdot(x, y), (3, 4), (3, 4)),
    "tensordot": (lambda m, x, y: m.tensordot(x, y, 1), (3, 4), (4, 2)),
    "einsum": (lambda m, x, y: m.einsum("ij,jk->i", x, y), (3, 4), (4, 2)),
    "einsum-one-operand": (lambda m, x, y: m.einsum("ij->i", x), (3, 4), (4, 2)),
}


def weak(m, shape):
    """A weakly typed float32 array of `m` (irax.numpy or jax.numpy): int32 * 1.0."""
    return m.asarray(np.arange(np.prod(shape), dtype=np.int32).reshape(shape)) * 1.0


@pytest.mark.parametrize("name", sorted(WEAK_CASES))
def test_weak_types_match_jax(name):
    """A product is weakly typed when all its operands are."""
    fn, x_shape, y_shape = WEAK_CASES[name]
    strong = sample(y_shape)
    for y_of in (lambda m: strong, lambda m: weak(m, y_shape)):
        out, theirs = fn(jnp, weak(jnp, x_shape), y_of(jnp)), fn(jjnp, weak(jjnp, x_shape), y_of(jjnp))
        assert (out.dtype, out.weak_type) == (theirs.dtype, theirs.weak_type)
        check(out, theirs)


def test_python_scalar_operand_promotes_like_jax():
    y = np.arange(3, dtype=np.int32)
    out, theirs = jnp.dot(2.0, y), jjnp.dot(2.0, y)
    assert (out.dtype, out.weak_type) == (theirs.dtype, theirs.weak_type) == (np.float32, True)
    check(out, theirs)


@pytest.mark.parametrize("dtype", [np.float32, ml_dtypes.bfloat16])
def test_static_shapes(dtype):
    """Under a trace every size is static: the emitter's other code path."""
    a, b = sample((2, 3, 4), dtype), sample((2, 4, 5), dtype)
    out = run_traced(jnp.matmul, a, b)
    check(out, np.matmul(a.astype(np.float32), b.astype(np.float32)), TOL[np.dtype(dtype)])
    out = run_traced(lambda x, y: jnp.einsum("bij,bjk->ikb", x, y), a, b)
    check(out, np.einsum("bij,bjk->ikb", a.astype(np.float32), b.astype(np.float32)), TOL[np.dtype(dtype)])


GRADIENT_CASES = [  # (fn of the numpy module and two operands, their shapes)
    (lambda m, x, y: m.sum(m.dot(x, y) ** 2), (3, 4), (4, 5)),
    (lambda m, x, y: m.sum(m.einsum("ij,jk->ki", x, y) * np.arange(15.0).reshape(5, 3)), (3, 4), (4, 5)),
    (lambda m, x, y: m.sum(m.matmul(x, y) ** 2), (2, 1, 3, 4), (5, 4, 2)),  # broadcast: squeeze, transpose
]


@pytest.mark.parametrize("fn, x_shape, y_shape", GRADIENT_CASES)
def test_gradients_match_jax(fn, x_shape, y_shape):
    x, y = sample(x_shape), sample(y_shape)
    ours = irax.grad(lambda x, y: fn(jnp, x, y), argnums=(0, 1))(jnp.asarray(x), jnp.asarray(y))
    theirs = jax.grad(lambda x, y: fn(jjnp, x, y), argnums=(0, 1))(x, y)
    for g, t in zip(ours, theirs):
        check(g, t, 1e-4)


# ---------------------------------------------------------------------------
# Errors, as JAX raises them

A, B = np.ones((2, 3), np.float32), np.ones((4, 5), np.float32)
ERRORS = [
    ("dot", (A, B), {}, "dot_general requires contracting dimensions to have the same shape, got (3,) and (4,)."),
    ("matmul", (A, B), {}, "dot_general requires contracting dimensions to have the same shape, got (3,) and (4,)."),
    ("matmul", (A, np.float32(2)), {}, "matmul input operand 1 must have ndim at least 1, but it has ndim 0"),
    ("matmul", (np.ones((2, 3, 4), np.float32), np.ones((3, 4, 5), np.float32)), {},
     "Incompatible types for matmul arguments: float32[2,3,4] and float32[3,4,5]"),
    ("matmul", (np.ones((2, 3, 4), np.float32), np.ones((2, 5, 6), np.float32)), {},
     "dot_general requires contracting dimensions to have the same shape, got (4,) and (5,)."),
    ("matmul", (np.ones((3, 4), np.float32), np.ones(5, np.float32)), {},
     "dot_general requires contracting dimensions to have the same shape, got (4,) and (5,)."),
    ("vdot", (A, B), {}, "got (6,) and (20,)"),
    ("vdot", (2.0, np.ones(3, np.float32)), {}, "got (1,) and (3,)"),
    ("inner", (A, B), {}, "got (3,) and (5,)"),
    ("dot", ([1, 2], np.ones(2, np.float32)), {}, "dot requires ndarray or scalar arguments"),
    ("tensordot", (A, B), {"axes": 3}, "Number of tensordot axes (axes 3) exceeds input ranks ((2, 3) and (4, 5))"),
    ("tensordot", (A, B), {"axes": ([0], [0, 1])}, "tensordot requires axes lists to have equal length"),
    ("tensordot", (A, B), {"axes": "a"}, "tensordot axes argument must be an int"),
    ("tensordot", (A, B), {"axes": ([1], [0], [0])}, "tensordot axes argument must be an int"),
    ("tensordot", (A, B), {"axes": ([2], [0])}, "axis 2 is out of bounds for array of dimension 2"),
    ("tensordot", (A, B), {"axes": (1, [0])}, "tensordot requires both axes lists to be either ints"),
    ("einsum", ("ij,jk->ik", A, B), {}, "Size of label 'j' for operand 1 (4) does not match previous terms (3)."),
    ("einsum", ("ij,jk->ikz", A, A.T), {}, "Output character 'z' did not appear in the input"),
    ("einsum", ("ij->ii", A), {}, "Output character 'i' appeared more than once in the output."),
    ("einsum", ("ij,jk->ik", A), {}, "Number of einsum subscripts, 2, must be equal to the number of operands, 1."),
    ("einsum", ("ijk->", A), {}, "Einstein sum subscript 'ijk' does not contain the correct number of indices for operand 0."),
    ("einsum", ("ij->i->j", A), {}, "Subscripts can only contain one '->'."),
    ("einsum", ("...i...", A), {}, "Invalid Ellipses."),
    ("einsum", ("i",), {}, "Number of einsum subscripts, 1, must be equal to the number of operands, 0."),
]


@pytest.mark.parametrize("name, args, kwargs, message", ERRORS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)])
def test_errors_match_jax(name, args, kwargs, message):
    with pytest.raises(Exception) as theirs:
        getattr(jjnp, name)(*args, **kwargs)
    with pytest.raises(theirs.type) as ours:
        getattr(jnp, name)(*args, **kwargs)
    assert message in str(ours.value)


DIMENSION_NUMBERS = [
    ((2, 3), (3, 3), (((1,), (0,)), ((0,), (0,)))),  # batch and contracting overlap
    ((2, 3), (2, 3), (((1,), (1,)), ((0,), ()))),  # unequal numbers of batch dims
    ((2, 3), (2, 3), (((2,), (1,)), ((), ()))),  # out of range
    ((3, 3), (3, 3), (((1, 1), (0, 1)), ((), ()))),  # repeated
    ((2, 3), (4, 3), (((1,), (1,)), ((0,), (0,)))),  # batch sizes differ
    ((2, 3), (2, 3), (((1,), ()), ((), ()))),  # unequal numbers of contracting dims
]


@pytest.mark.parametrize("lhs, rhs, dimension_numbers", DIMENSION_NUMBERS)
def test_dot_general_checks_match_lax(lhs, rhs, dimension_numbers):
    x, y = np.ones(lhs, np.float32), np.ones(rhs, np.float32)
    with pytest.raises(TypeError) as theirs:
        jax.lax.dot_general(x, y, dimension_numbers)
    with pytest.raises(TypeError) as ours:
        dot_general.bind(jnp.asarray(x), jnp.asarray(y), dimension_numbers=dimension_numbers)
    assert str(ours.value) == str(theirs.value)


def test_long_float_vector_dot_is_accurate():
    """64 partial sums instead of one running total: 2.5e-4 relative error at
    1e6 integer squares instead of 8e-3 (NumPy's pairwise sum does better)."""
    host = (np.arange(10**6 + 5) % 100).astype(np.float32)
    exact = (host.astype(np.float64) ** 2).sum()
    assert abs(float(jnp.dot(jnp.asarray(host), jnp.asarray(host))) / exact - 1) < 5e-4


def test_big_contractions_take_the_static_kernel(monkeypatch):
    """An operand of STATIC_ABOVE elements or more gets an eager kernel of its
    exact shapes, as reductions do: the shape-generic vector dot folds rows
    of a (G, C) view (eager dot of 1e7 float32: 4.7 ms, JAX 1.1). The
    threshold is lowered to 2053 (prime: blocks and a leftover) for cheap
    compiles; the static kernel is the jitted program, bit for bit."""
    small, big = (ShapedArray((n,), np.float32) for n in (STATIC_ABOVE - 1, STATIC_ABOVE))
    assert not eager._static_kernel(dot_general, (small, small)) and eager._static_kernel(dot_general, (big, big))
    monkeypatch.setattr(eager, "_dispatch", eager._Dispatch())
    monkeypatch.setattr(dot_general, "static_above", 2053)
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.int32):
        x, m = rng.integers(-9, 10, 2053).astype(dtype), rng.integers(-9, 10, (3, 2053)).astype(dtype)
        y = rng.standard_normal(2053).astype(np.float32) if dtype == np.float32 else x
        for a, b in ((x, x), (m, x), (m, m.T)):
            np.testing.assert_array_equal(jnp.dot(a, b), a @ b)  # small integers: every sum exact
        np.testing.assert_array_equal(jnp.dot(y, y), irax.jit(jnp.dot)(y, y))


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_contractions_longer_than_a_shader_loop(dtype):
    """K = 70000 > 65535, the most iterations lavapipe runs of one shader loop
    (a (1, 70000) @ (70000, 1) of ones was 65535 on Vulkan): eagerly, under
    jit and differentiated, and K = 300 * 250 over two contracted dims that
    the chunks first transpose together. Small integers keep every sum exact."""
    rng = np.random.default_rng(0)
    a, b = rng.integers(-3, 4, (2, 70000)).astype(dtype), rng.integers(-3, 4, (70000, 3)).astype(dtype)
    v = a[0]
    for matmul, dot in ((jnp.matmul, jnp.dot), (irax.jit(jnp.matmul), irax.jit(jnp.dot))):
        np.testing.assert_array_equal(matmul(a, b), a @ b)
        assert int(dot(v, v)) == int(v @ v)
    if dtype == np.float32:
        w = rng.integers(-3, 4, (2, 3)).astype(dtype)
        grads = irax.grad(lambda a, b: jnp.sum(jnp.matmul(a, b) * w), argnums=(0, 1))(a, b)
        np.testing.assert_array_equal(grads[0], w @ b.T)
        np.testing.assert_array_equal(grads[1], a.T @ w)
        x, y = rng.integers(-2, 3, (300, 2, 250)).astype(dtype), rng.integers(-2, 3, (250, 300, 3)).astype(dtype)
        two_dims = irax.jit(lambda x, y: dot_general.bind(x, y, dimension_numbers=(((2, 0), (0, 1)), ((), ()))))
        np.testing.assert_array_equal(two_dims(x, y), np.einsum("kml,lkn->mn", x, y))


STRIDED = {  # contractions reading a column: IREE's data-tiled CPU code got them wrong under jit
    "x[:, 0] @ w": lambda np, h: h[0, :, 0] @ h[1],
    "w.T @ x[:, 1]": lambda np, h: h[1].T @ h[0, :, 1],
    "einsum of a column per batch": lambda np, h: np.einsum("bi,bij->bj", h[:, :, 0], h),
    "a column of the middle axis": lambda np, h: h[1, :, 2] @ h[1, :, :],
}


@pytest.mark.parametrize("name", list(STRIDED))
def test_contractions_of_strided_slices_under_jit(platform, name):
    """The materialize-contraction-operands pass copies the column out first."""
    h = np.random.default_rng(7).normal(size=(4, 5, 5)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(irax.jit(lambda h: STRIDED[name](jnp, h))(h)), STRIDED[name](np, h),
                               rtol=1e-5, atol=1e-5)


def test_products_with_a_splat_under_jit(platform):
    """`a @ zeros`, `a @ ones`: on Vulkan IREE staged the splat in workgroup
    memory with no barrier, so the product read what the big product before
    it had left there (wrong in 10 of 10 calls, values ~1e27) until the
    materialize-contraction-operands pass computed the splat apart."""
    a = np.random.default_rng(3).normal(size=(5, 5)).astype(np.float32)

    @irax.jit
    def products(a):
        return (a * 1e20) @ (a * 1e20), a @ jnp.zeros((5, 5), jnp.float32), a @ jnp.ones((5, 5), jnp.float32)

    for _ in range(3):
        _, zeros, ones = products(a)
        np.testing.assert_array_equal(np.asarray(zeros), 0)
        np.testing.assert_allclose(np.asarray(ones), a @ np.ones((5, 5), np.float32), rtol=1e-5, atol=1e-5)


def test_the_functions_jax_jits_are_jitted(monkeypatch):
    """JAX's jnp.linalg.inv, solve, det, slogdet, cholesky and norm are
    jitted functions; irax ran them op by op eagerly (inv of 64 x 64: 159
    us a call against JAX's 71; jitted, 35)."""
    names = ["inv", "solve", "det", "slogdet", "cholesky", "norm"]
    assert all(hasattr(getattr(jax.numpy.linalg, name), "lower") for name in names)  # (JAX's, as it stands)
    assert all(hasattr(getattr(jnp.linalg, name), "lower") for name in names)
    a = np.array([[4.0, 1.0], [1.0, 3.0]], np.float32)
    calls = [lambda: jnp.linalg.inv(a), lambda: jnp.linalg.det(a), lambda: jnp.linalg.norm(a, ord=1, axis=0)]
    warm = [f() for f in calls]
    ran = []
    real = eager.run
    monkeypatch.setattr(eager, "run", lambda *args: ran.append(args[0]) or real(*args))
    again = [f() for f in calls]
    assert ran == []  # no eager op: one staged program each
    for x, y, want in zip(warm, again, [np.linalg.inv(a), np.linalg.det(a), np.linalg.norm(a, ord=1, axis=0)]):
        np.testing.assert_allclose(x, want, rtol=1e-5)
        np.testing.assert_array_equal(x, y)
