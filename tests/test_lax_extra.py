"""irax.lax's mulhi, approx_max_k/min_k, ragged_dot(_general), fft,
platform_dependent, conv_general_dilated_patches/local and lax.linalg's
tridiagonal_solve, symmetric_product, cholesky_update against jax.lax's:
values, dtypes, errors and derivatives (jax.grad and central differences).

Shapes are few and shared: X (2, 3, 5, 6) images, (3, 8) rows, (6, 4) @ (3, 4, 5)
for ragged_dot, systems of 4 rows in batches of 2."""
import numpy as np
import pytest

import irax
import irax.numpy as inp
from tests.helpers import check_central_differences

jax = pytest.importorskip("jax")

rng = np.random.default_rng(0)
X = rng.normal(size=(2, 3, 5, 6)).astype(np.float32)
ROWS = rng.normal(size=(3, 8)).astype(np.float32)
LHS = rng.normal(size=(6, 4)).astype(np.float32)
RHS = rng.normal(size=(3, 4, 5)).astype(np.float32)
GROUPS = np.array([2, 0, 3], np.int32)  # the last row belongs to no group
DL, DU = rng.normal(size=(2, 4)).astype(np.float32), rng.normal(size=(2, 4)).astype(np.float32)
DL[:, 0] = DU[:, -1] = 0.0
D = (5 + rng.random((2, 4))).astype(np.float32)  # diagonally dominant
B = rng.normal(size=(2, 4, 3)).astype(np.float32)


def _same(actual, expected, tol=2e-5):
    a_leaves, e_leaves = jax.tree.leaves(actual), jax.tree.leaves(expected)
    assert len(a_leaves) == len(e_leaves)
    for a, e in zip(a_leaves, e_leaves):
        assert np.asarray(a).dtype == np.asarray(e).dtype and np.shape(a) == np.shape(e), (a, e)
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=tol, atol=tol)


def _same_error(call):
    """call(jax.lax) and call(irax.lax) raise the same exception type and message."""
    with pytest.raises(Exception) as expected:
        call(jax.lax)
    with pytest.raises(type(expected.value)) as actual:
        call(irax.lax)
    assert str(actual.value) == str(expected.value)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32])
def test_mulhi_matches_jax_over_the_full_range(dtype):
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, 32, endpoint=True).astype(dtype)
    y = rng.integers(info.min, info.max, 32, endpoint=True).astype(dtype)
    x[:4], y[:4] = [info.min, info.max, info.min, 0], [info.min, info.max, info.max, info.min]
    _same(irax.lax.mulhi(x, y), jax.lax.mulhi(x, y), 0)
    _same(irax.lax.mulhi(x, dtype(3)), jax.lax.mulhi(x, dtype(3)), 0)


@pytest.mark.parametrize("call", [lambda L: L.mulhi(np.float32(1), np.float32(2)),
                                  lambda L: L.mulhi(np.int32(1), np.int16(2))])
def test_mulhi_errors(call):
    _same_error(call)


@pytest.mark.parametrize("name,kwargs", [("approx_max_k", {}), ("approx_min_k", {}),
                                         ("approx_max_k", {"reduction_dimension": 0}),
                                         ("approx_max_k", {"aggregate_to_topk": False})])
def test_approx_top_k_is_exact_as_on_cpu(name, kwargs):
    _same(getattr(irax.lax, name)(ROWS, 2, **kwargs), getattr(jax.lax, name)(ROWS, 2, **kwargs))
    grad = irax.grad(lambda x: getattr(irax.lax, name)(x, 2)[0].sum())(ROWS)
    _same(grad, jax.grad(lambda x: getattr(jax.lax, name)(x, 2)[0].sum())(ROWS))


@pytest.mark.parametrize("call", [lambda L: L.approx_max_k(ROWS, 9),
                                  lambda L: L.approx_max_k(ROWS.astype(np.int32), 2)])
def test_approx_top_k_errors(call):
    _same_error(call)


def test_ragged_dot_values_dtypes_and_gradients():
    _same(irax.lax.ragged_dot(LHS, RHS, GROUPS), jax.lax.ragged_dot(LHS, RHS, GROUPS))
    _same(irax.jit(irax.lax.ragged_dot)(LHS, RHS, GROUPS), jax.lax.ragged_dot(LHS, RHS, GROUPS))

    def loss(L, np_):
        return lambda lhs, rhs: np_.sum(np_.sin(L.ragged_dot(lhs, rhs, GROUPS)))
    grads = irax.grad(loss(irax.lax, inp), (0, 1))(LHS, RHS)
    _same(grads, jax.grad(loss(jax.lax, jax.numpy), (0, 1))(LHS, RHS), 1e-4)
    check_central_differences({"lhs": grads[0]}, irax.jit(lambda p: {"lhs": loss(irax.lax, inp)(p["lhs"], RHS)}),
                              {"lhs": LHS}, LHS.shape)
    # vmap over blocks of tokens (JAX's own vmap of this is not implemented: compare with a loop)
    batch = np.stack([LHS, 2 * LHS])
    _same(irax.vmap(irax.lax.ragged_dot, (0, None, None))(batch, RHS, GROUPS),
          np.stack([jax.lax.ragged_dot(lhs, RHS, GROUPS) for lhs in batch]))


def test_ragged_dot_general_with_a_batch_dimension():
    def call(L):
        dn = L.RaggedDotDimensionNumbers((([2], [2]), ([0], [0])), [1], [1])
        rhs = np.stack([RHS, RHS[::-1]])  # (2, 3, 4, 5) as transposed below: batch, group, contracting, free
        return L.ragged_dot_general(np.stack([LHS, -LHS]), rhs, np.stack([GROUPS, GROUPS[::-1]]),
                                    dn)
    _same(call(irax.lax), call(jax.lax))


@pytest.mark.parametrize("fft_type,lengths,real", [("FFT", (8,), False), ("IFFT", (3, 8), False),
                                                   ("RFFT", (3, 8), True), ("IRFFT", (14,), False)])
def test_fft(fft_type, lengths, real):
    x = ROWS if real else (ROWS + 1j * ROWS[::-1]).astype(np.complex64)
    _same(irax.lax.fft(x, fft_type, lengths), jax.lax.fft(x, fft_type, lengths), 1e-4)
    _same(irax.lax.fft(x, getattr(irax.lax.FftType, fft_type), lengths),
          jax.lax.fft(x, getattr(jax.lax.FftType, fft_type), lengths), 1e-4)


def test_fft_error():
    _same_error(lambda L: L.fft(ROWS.astype(np.complex64), "FFT", (4,)))


def test_platform_dependent_picks_the_cpu_branch():
    def call(L, x):
        return L.platform_dependent(x, cpu=lambda x: x + 1, cuda=lambda x: x - 1, default=lambda x: 2 * x)
    _same(call(irax.lax, ROWS), call(jax.lax, ROWS))
    _same(irax.jit(lambda x: call(irax.lax, x))(ROWS), call(jax.lax, ROWS))
    with pytest.raises(ValueError, match="Use 'cuda' or 'rocm'"):
        irax.lax.platform_dependent(ROWS, gpu=lambda x: x)


def test_composite_is_its_decomposition_with_no_derivative_as_in_jax():
    """lax.composite was missing; IREE knows no composite, so it runs the
    decomposition (keyword arguments its attributes), batched too;
    differentiated, it is JAX's ValueError, and a custom_jvp around it
    gives it a derivative."""
    def scale(L):
        return L.lax.composite(lambda x, *, k=1.0: L.lax.sin(x) * k, name="my.scaled_sin")

    _same(scale(irax)(ROWS, k=3.0), scale(jax)(ROWS, k=3.0))
    _same(irax.jit(lambda x: scale(irax)(x, k=2.0))(ROWS), scale(jax)(ROWS, k=2.0))
    _same(irax.vmap(scale(irax))(ROWS), scale(jax)(ROWS))  # (JAX's has no batching rule: irax's batches)
    assert "my.scaled_sin" in irax.jit(scale(irax)).lower(ROWS).as_text(debug_info=True)
    for library in (irax, jax):
        with pytest.raises(ValueError, match="JVP rule for composite not implemented"):
            library.grad(lambda x: scale(library)(x).sum())(ROWS)

    def with_rule(L):
        f = L.custom_jvp(L.lax.composite(L.lax.sin, name="my.sin"))
        f.defjvp(lambda p, t: (f(*p), L.numpy.cos(p[0]) * t[0]))
        return L.grad(lambda x: f(x).sum())

    _same(with_rule(irax)(ROWS), with_rule(jax)(ROWS))


def test_composite_attributes_python_does_not_hash_as_in_jax():
    """Lists, dicts and NumPy arrays as attributes (JAX takes them; irax's
    cache of one traced function per set of attributes raised TypeError),
    each set of values its own function."""
    def weighted(L):
        return L.lax.composite(lambda x, *, w, opts: x * sum(w) + opts["shift"], name="my.weighted")

    ours, theirs = weighted(irax), weighted(jax)
    for weights, options in [([1.0, 2.0], {"shift": 1.0}), ([1.0, 3.0], {"shift": 1.0}),
                             (np.array([0.5, 0.5], np.float32), {"shift": np.float32(2.0)})]:
        _same(ours(ROWS, w=weights, opts=options), theirs(ROWS, w=weights, opts=options))


@pytest.mark.parametrize("args,kwargs", [
    (((2, 3), (1, 1), "VALID"), {}),
    (((2, 2), (2, 1), "SAME"), {"rhs_dilation": (1, 2)}),
    (((3, 2), (1, 1), [(1, 0), (0, 1)]), {"lhs_dilation": (2, 1)}),
    (((2, 3), (1, 1), "VALID"), {"dimension_numbers": ("NHWC", "HWIO", "NHWC")}),
])
def test_conv_general_dilated_patches(args, kwargs):
    x = X.transpose(0, 2, 3, 1) if "dimension_numbers" in kwargs else X
    _same(irax.lax.conv_general_dilated_patches(x, *args, **kwargs),
          jax.lax.conv_general_dilated_patches(x, *args, **kwargs))


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
def test_conv_general_dilated_local_values_and_gradients(layout):
    dn = None if layout == "NCHW" else ("NHWC", "HWIO", "NHWC")
    x = X if layout == "NCHW" else X.transpose(0, 2, 3, 1)
    kernel = rng.normal(size=(4, 18, 4, 4) if layout == "NCHW" else (4, 4, 18, 4)).astype(np.float32)

    def loss(L, np_):
        return lambda x, w: np_.sum(np_.sin(L.conv_general_dilated_local(x, w, (1, 1), "VALID", (2, 3),
                                                                         dimension_numbers=dn)))
    _same(irax.lax.conv_general_dilated_local(x, kernel, (1, 1), "VALID", (2, 3), dimension_numbers=dn),
          jax.lax.conv_general_dilated_local(x, kernel, (1, 1), "VALID", (2, 3), dimension_numbers=dn), 1e-4)
    _same(irax.grad(loss(irax.lax, inp), (0, 1))(x, kernel), jax.grad(loss(jax.lax, jax.numpy), (0, 1))(x, kernel),
          1e-4)


def _solve_loss(L, np_):
    return lambda dl, d, du, b: np_.sum(np_.sin(L.linalg.tridiagonal_solve(dl, d, du, b)))


def test_tridiagonal_solve_values_and_gradients():
    args = (DL, D, DU, B)
    _same(irax.lax.linalg.tridiagonal_solve(*args), jax.lax.linalg.tridiagonal_solve(*args))
    expected = jax.grad(_solve_loss(jax.lax, jax.numpy), (0, 1, 2, 3))(*args)
    grads = irax.grad(_solve_loss(irax.lax, inp), (0, 1, 2, 3))(*args)
    _same(grads, expected)
    _same(irax.jit(irax.grad(_solve_loss(irax.lax, inp), (0, 1, 2, 3)))(*args), expected)
    tangents = (DU, DL, D, B)
    _same(irax.jvp(irax.lax.linalg.tridiagonal_solve, args, tangents),
          jax.jvp(jax.lax.linalg.tridiagonal_solve, args, tangents))
    _same(irax.vmap(irax.lax.linalg.tridiagonal_solve)(*args), jax.vmap(jax.lax.linalg.tridiagonal_solve)(*args))
    loss = irax.jit(lambda p: {"d": _solve_loss(irax.lax, inp)(DL, p["d"], DU, B),
                               "b": _solve_loss(irax.lax, inp)(DL, D, DU, p["b"])})
    check_central_differences({"d": grads[1]}, lambda p: loss({"d": p["d"], "b": B}), {"d": D}, D.shape)
    check_central_differences({"b": grads[3]}, lambda p: loss({"d": D, "b": p["b"]}), {"b": B}, B.shape)


@pytest.mark.parametrize("call", [
    lambda L: L.linalg.tridiagonal_solve(DL, D, DU, B[..., 0]),
    lambda L: L.linalg.tridiagonal_solve(DL, D[:, :3], DU, B),
    lambda L: L.linalg.tridiagonal_solve(DL.astype(np.int32), D.astype(np.int32), DU.astype(np.int32),
                                         B.astype(np.int32)),
    lambda L: L.linalg.tridiagonal_solve(DL, D, DU, B.astype(np.float16)),
])
def test_tridiagonal_solve_errors(call):
    _same_error(call)


def test_symmetric_product_and_cholesky_update():
    a, c = LHS[:4], B[0, :, :].repeat(2, axis=1)[:, :4]
    _same(irax.lax.linalg.symmetric_product(a, c, alpha=2.0, beta=0.5, symmetrize_output=True),
          jax.lax.linalg.symmetric_product(a, c, alpha=2.0, beta=0.5, symmetrize_output=True), 1e-5)
    spd = a @ a.T + np.eye(4, dtype=np.float32)
    r, w = np.linalg.cholesky(spd).T, ROWS[0, :4]
    _same(irax.lax.linalg.cholesky_update(r, w), jax.lax.linalg.cholesky_update(r, w), 1e-4)
