"""The native CPU kernels (irax/backends/cpu_kernels.py; the Jacobi sweeps
are test_cpu_kernels_jacobi.py's): each compiled alone, wrapped in a public
@main, run on irax's CPU device and compared with
NumPy versions of the portable loops of frontend/lax_linalg.py (the same
whole-array formulas, so the same NaN/inf patterns); those references are
checked against irax's portable code on Vulkan.

Compiles are shared: one program per (kernel, types) (helpers.compile_kernel),
each run on several matrices (a batch mixes ordinary and special ones). Rows
of 21 f32 or 13 f64 are a whole chunk (16 or 8 lanes) and a narrower one."""
import functools

import numpy as np
import pytest
from helpers import KERNEL_TOL, assert_close, compile_kernel, device_or_skip, tensor_type

import irax
from irax.backends import cpu_kernels
from irax.lax import linalg

rng = np.random.default_rng(0)


def _signature(kernel, shapes, dtype):
    *batch, m, n = shapes[0]
    args = [tensor_type(shape, dtype) for shape in shapes]
    if kernel == "cholesky_block":
        return args, args * 2
    if kernel in ("triangular_inverse", "forward_substitution"):
        return args, args[-1:]
    return args, [args[0], tensor_type(batch + [min(m, n)], np.int32), tensor_type(batch + [m], np.int32)]


@functools.lru_cache(maxsize=None)
def _program(kernel, shapes, dtype, unit_diagonal=False):
    """The kernel for these types, called by a public @main."""
    args, results = _signature(kernel, shapes, dtype)
    return compile_kernel(cpu_kernels.build(kernel, "kernel", args, results, {"unit_diagonal": unit_diagonal}),
                    args, results, dtype)


def run(kernel, *arrays, **params):
    return _program(kernel, tuple(a.shape for a in arrays), arrays[0].dtype.type, **params)(*arrays)


# ---------------------------------------------------------------------------
# NumPy versions of the portable loops (lax_linalg.py), one formula each,
# elementwise products (not BLAS, which may skip a zero times a NaN).

def cholesky_loop(a):
    """_cholesky_loop: column j of L is v = A[:, j] - L L[j, :]ᵀ, L[j, j] =
    sqrt(v[j]) (v[j] itself where v[j] <= 0), L[i, j] = v[i] / L[j, j] below."""
    n = a.shape[-1]
    rows = np.arange(n)
    L = np.zeros_like(a)
    with np.errstate(all="ignore"):
        for j in range(n):
            v = a[..., :, j] - np.sum(L * L[..., j:j + 1, :], axis=-1)
            p = v[..., j:j + 1]
            d = np.where(p > 0, np.sqrt(p), p)
            L[..., :, j] = np.where(rows > j, v / d, np.where(rows == j, d, 0))
    return L


def forward_substitution_loop(L, unit_diagonal=False, b=None):
    """_forward_substitution_loop(L, b): X[i] = (b[i] - sum_{k<i} L[i, k] X[k]) / L[i, i];
    b is the identity unless given (X = L⁻¹, triangular_inverse)."""
    n = L.shape[-1]
    idx = np.arange(n)
    b = np.broadcast_to(np.eye(n, dtype=L.dtype), L.shape) if b is None else b
    x = np.zeros_like(b)
    with np.errstate(all="ignore"):
        for i in range(n):
            li = L[..., i, :]
            s = np.sum(np.where(idx < i, li, 0)[..., :, None] * x, axis=-2)
            xi = b[..., i, :] - s
            if not unit_diagonal:
                xi = xi / li[..., i:i + 1]
            x[..., i, :] = xi
    return x


def lu_loop(a):
    """_lu_loop on each matrix: swap in the first row of largest |A[i, j]|
    (NaN largest), divide by the pivot (not when it is 0), update the rest."""
    batch, (m, n) = a.shape[:-2], a.shape[-2:]
    a = a.reshape((-1, m, n)).copy()
    k = min(m, n)
    pivots, perm = np.zeros((len(a), k), np.int32), np.tile(np.arange(m, dtype=np.int32), (len(a), 1))
    with np.errstate(all="ignore"):
        for x, piv, per in zip(a, pivots, perm):
            for j in range(k):
                c = np.abs(x[j:, j])
                p = j + int(np.argmax(np.isnan(c)) if np.isnan(c).any() else np.argmax(c))
                x[[j, p]], per[[j, p]], piv[j] = x[[p, j]], per[[p, j]], p
                mult = x[j + 1:, j] / (1 if x[j, j] == 0 else x[j, j])
                x[j + 1:, j + 1:] -= mult[:, None] * x[j, j + 1:]
                x[j + 1:, j] = mult
    return a.reshape(batch + (m, n)), pivots.reshape(batch + (k,)), perm.reshape(batch + (m,))


def positive_definite(shape, dtype):
    n = shape[-1]
    x = rng.standard_normal(shape)
    return (x @ np.swapaxes(x, -1, -2) + n * np.eye(n)).astype(dtype)


def lower_triangular(shape, dtype):
    n = shape[-1]
    return (np.tril(rng.standard_normal(shape)) + 4 * np.eye(n)).astype(dtype)


# ---------------------------------------------------------------------------
# cholesky_block

@pytest.mark.parametrize("shape, dtype", [((2, 3, 21, 21), np.float32), ((64, 64), np.float64),
                                          ((2, 64, 64), np.float32), ((4, 1, 1), np.float32)])
def test_cholesky_block_of_positive_definite_matrices(shape, dtype):
    a = positive_definite(shape, dtype)
    garbage = np.triu(np.full(shape, np.nan, dtype), 1)  # only the lower triangle is read
    L, inverse = run("cholesky_block", np.where(np.isnan(garbage), garbage, a))
    expected = np.linalg.cholesky(a.astype(np.float64))
    np.testing.assert_array_equal(np.triu(L, 1), 0)
    np.testing.assert_allclose(L, expected, rtol=0, atol=KERNEL_TOL[dtype] * np.abs(expected).max())
    np.testing.assert_array_equal(np.triu(inverse, 1), 0)
    expected_inverse = np.linalg.inv(expected)
    np.testing.assert_allclose(inverse, expected_inverse, rtol=0, atol=10 * KERNEL_TOL[dtype] * np.abs(expected_inverse).max())


@pytest.mark.parametrize("shape, dtype", [((2, 3, 21, 21), np.float32), ((64, 64), np.float64), ((4, 1, 1), np.float32)])
def test_cholesky_block_where_the_matrix_is_not_positive_definite(shape, dtype):
    """The first non-positive pivot kept on the diagonal (cholesky then fails
    the whole matrix), what follows from it after, and infs and NaNs in L⁻¹
    where the loop divides by a zero pivot, as the portable loop."""
    a = positive_definite(shape, np.float64)
    n = shape[-1]
    flat = a.reshape((-1, n, n))
    flat[0, n // 2, n // 2] = -1.0  # indefinite from column n // 2
    flat[-1, :, -1] = flat[-1, -1, :] = 0  # semidefinite: a zero last pivot
    if len(flat) > 2:
        flat[1] = np.diag(np.arange(n) - 1.0)  # -1, 0, 1, ...: a negative first pivot
    a = a.astype(dtype)
    L, inverse = run("cholesky_block", a)
    expected = cholesky_loop(a.astype(np.float64))
    assert (np.diagonal(expected, axis1=-2, axis2=-1) < 0).any()
    assert_close(L, expected, KERNEL_TOL[dtype])
    assert_close(inverse, forward_substitution_loop(expected), 10 * KERNEL_TOL[dtype])


# ---------------------------------------------------------------------------
# triangular_inverse

@pytest.mark.parametrize("shape, dtype, unit_diagonal", [((3, 64, 64), np.float32, False),
                                                         ((7, 7), np.float64, True),
                                                         ((2, 1, 1), np.float64, False)])
def test_triangular_inverse(shape, dtype, unit_diagonal):
    L = lower_triangular(shape, np.float64)
    expected = np.linalg.inv(np.tril(L, -1) + np.eye(shape[-1]) if unit_diagonal else L)
    # Only the strict lower triangle (and the diagonal unless unit) is read.
    read = np.tril(np.ones(shape[-2:], bool), -unit_diagonal)
    garbage = np.where(read, L, np.nan).astype(dtype)
    x = run("triangular_inverse", garbage, unit_diagonal=unit_diagonal)
    np.testing.assert_allclose(x, expected, rtol=0, atol=KERNEL_TOL[dtype] * np.abs(expected).max())


@pytest.mark.parametrize("shape, dtype, unit_diagonal", [((3, 64, 64), np.float32, False),
                                                         ((7, 7), np.float64, True),
                                                         ((2, 1, 1), np.float64, False)])
def test_triangular_inverse_of_singular_and_non_finite_matrices(shape, dtype, unit_diagonal):
    """A zero on the diagonal gives infs in its column and NaNs from the
    rows below (and to the right, the rows are whole), as the portable loop."""
    L = lower_triangular(shape, np.float64)
    n = shape[-1]
    flat = L.reshape((-1, n, n))
    flat[0, n // 2, n // 2] = 0
    flat[0, n - 1, 0] = np.inf
    flat[-1, n - 1, n - 1] = np.nan
    if n > 2:
        flat[-1, n // 2, 0] = np.nan
    L = L.astype(dtype)
    x = run("triangular_inverse", L, unit_diagonal=unit_diagonal)
    expected = forward_substitution_loop(L.astype(np.float64), unit_diagonal)
    assert not np.isfinite(expected).all()
    assert_close(x, expected, KERNEL_TOL[dtype])


# ---------------------------------------------------------------------------
# forward_substitution: three programs, f32 with a batch and rows of 3 (one
# narrow chunk), f64 unit with rows of 5, and f32 rows of 150 = 2 groups of
# ACCUMULATORS chunks (the loop over groups) + 1 chunk + 6 columns.

SOLVES = [((2, 7, 7), (2, 7, 3), np.float32, False), ((64, 64), (64, 5), np.float64, True),
          ((9, 9), (9, 150), np.float32, False)]


def triangular_system(l_shape, b_shape, unit_diagonal):
    """L (float64, its diagonal about 4) and B; for a unit diagonal the
    strict lower part is L's divided by 4, as in the unit factor of that L
    (with entries of 1, x would grow as 2^n)."""
    L = lower_triangular(l_shape, np.float64)
    return L / 4 if unit_diagonal else L, rng.standard_normal(b_shape)


@pytest.mark.parametrize("l_shape, b_shape, dtype, unit_diagonal", SOLVES)
def test_forward_substitution(l_shape, b_shape, dtype, unit_diagonal):
    L, b = triangular_system(l_shape, b_shape, unit_diagonal)
    triangle = np.tril(L, -1) + np.eye(l_shape[-1]) if unit_diagonal else L
    expected = np.linalg.solve(triangle, b)
    # Only the strict lower triangle (and the diagonal unless unit) is read.
    read = np.tril(np.ones(l_shape[-2:], bool), -unit_diagonal)
    garbage = np.where(read, L, np.nan).astype(dtype)
    x = run("forward_substitution", garbage, b.astype(dtype), unit_diagonal=unit_diagonal)
    assert x.shape == b_shape and x.dtype == dtype
    np.testing.assert_allclose(x, expected, rtol=0, atol=KERNEL_TOL[dtype] * np.abs(expected).max())


@pytest.mark.parametrize("l_shape, b_shape, dtype, unit_diagonal", SOLVES)
def test_forward_substitution_of_singular_and_non_finite_systems(l_shape, b_shape, dtype, unit_diagonal):
    """A zero row of L gives NaN (0/0) where B's row is zero and infs in the
    rest of its row, then infs and NaNs below; a NaN or inf in B spreads
    down its column alone, as the portable loop."""
    L, b = triangular_system(l_shape, b_shape, unit_diagonal)
    n, k = b_shape[-2:]
    flat, flat_b = L.reshape((-1, n, n)), b.reshape((-1, n, k))
    flat[0, n // 2, :n // 2 + 1] = 0
    flat_b[0, n // 2, 0] = 0
    flat[0, n - 1, 0] = np.inf
    flat_b[-1, 1, k - 1] = np.nan
    flat_b[-1, 2, 1] = -np.inf
    L, b = L.astype(dtype), b.astype(dtype)
    x = run("forward_substitution", L, b, unit_diagonal=unit_diagonal)
    expected = forward_substitution_loop(L.astype(np.float64), unit_diagonal, b.astype(np.float64))
    assert np.isnan(expected).any() and np.isinf(expected).any() and np.isfinite(expected).any()
    assert_close(x, expected, KERNEL_TOL[dtype])


# ---------------------------------------------------------------------------
# lu_panel

@pytest.mark.parametrize("shape, dtype", [((100, 64), np.float32), ((5, 9), np.float32), ((2, 21, 13), np.float64),
                                          ((3, 1), np.float32)])
def test_lu_panel(shape, dtype):
    a = rng.standard_normal(shape).astype(dtype)
    lu, pivots, perm = run("lu_panel", a)
    expected_lu, expected_pivots, expected_perm = lu_loop(a)
    np.testing.assert_array_equal(pivots, expected_pivots)
    np.testing.assert_array_equal(perm, expected_perm)
    np.testing.assert_allclose(lu, expected_lu, rtol=0, atol=10 * KERNEL_TOL[dtype] * np.abs(expected_lu).max())
    m, n = shape[-2:]
    k = min(m, n)
    lower = np.tril(lu[..., :, :k], -1) + np.eye(m, k)
    upper = np.triu(lu[..., :k, :])
    np.testing.assert_allclose(lower @ upper, np.take_along_axis(a, perm[..., None], axis=-2),
                               rtol=0, atol=100 * KERNEL_TOL[dtype])


@pytest.mark.parametrize("shape, dtype", [((2, 21, 13), np.float64), ((5, 9), np.float32)])
def test_lu_panel_with_zero_pivots_nans_and_ties(shape, dtype):
    """A zero column leaves its multipliers unscaled (zeros, not 0/0); of
    equal magnitudes the first row is the pivot, and of NaNs the first too,
    whatever their payloads."""
    a = rng.standard_normal(shape)
    m = shape[-2]
    flat = a.reshape((-1,) + shape[-2:])
    flat[0, :, 1] = 0  # zero pivot at step 1
    flat[0, 1, 0], flat[0, 2, 0] = -9.0, 9.0  # a tie at step 0: row 1
    flat[-1, [3, m - 1], :2] = 0  # not pivots before step 2, where both are NaNs:
    flat[-1, 3, 2] = np.nan
    flat[-1, m - 1, 2] = np.uint64(0x7FFFFFFFFFFFFFFF).view(np.float64)  # the NaN of largest payload
    flat[-1, 0, 3] = np.inf
    a = a.astype(dtype)
    lu, pivots, perm = run("lu_panel", a)
    expected_lu, expected_pivots, expected_perm = lu_loop(a)
    np.testing.assert_array_equal(pivots, expected_pivots)
    np.testing.assert_array_equal(perm, expected_perm)
    assert_close(lu, expected_lu, 10 * KERNEL_TOL[dtype])
    pivots = pivots.reshape(-1, pivots.shape[-1])
    assert pivots[0, 0] == 1 and pivots[-1, 2] == 3


# ---------------------------------------------------------------------------
# pivots_to_permutation

def pivots_loop(pivots, m):
    """_pivots_to_permutation on each row of pivots: swap perm[j] and
    perm[p]; a p outside [0, m) matches no row, and row j gets 0."""
    perm = np.tile(np.arange(m, dtype=np.int32), pivots.shape[:-1] + (1,))
    for flat, piv in zip(perm.reshape(-1, m), pivots.reshape(-1, pivots.shape[-1])):
        for j, p in enumerate(piv):
            if 0 <= p < m:
                flat[[j, p]] = flat[[p, j]]
            else:
                flat[j] = 0
    return perm


@functools.lru_cache(maxsize=None)
def _permutation_program(shape, m):
    args, results = [tensor_type(shape, np.int32)], [tensor_type(shape[:-1] + (m,), np.int32)]
    return compile_kernel(cpu_kernels.build("pivots_to_permutation", "kernel", args, results, {"permutation_size": m}),
                    args, results, np.int32)


def lu_pivots(shape, m):
    """Pivots as an LU makes them: pivots[j] in [j, m)."""
    return (np.arange(shape[-1]) + rng.integers(0, m - np.arange(shape[-1]), shape)).astype(np.int32)


@pytest.mark.parametrize("shape, m", [((3, 2, 5), 9), ((2, 4), 4), ((512,), 512), ((3, 1), 1), ((2, 1), 4),
                                      ((1, 3), 3)])
def test_pivots_to_permutation(shape, m):
    pivots = lu_pivots(shape, m)
    perm = _permutation_program(shape, m)(pivots)
    np.testing.assert_array_equal(perm, pivots_loop(pivots, m))
    np.testing.assert_array_equal(np.sort(perm, axis=-1), np.broadcast_to(np.arange(m), perm.shape))


def test_pivots_to_permutation_of_any_pivots():
    """Pivots below j swap too; pivots outside [0, m) write 0 at row j."""
    pivots = rng.integers(-3, 9, (4, 6)).astype(np.int32)
    pivots[0] = [5, 4, 3, 2, 1, 0]
    pivots[1, 2] = np.iinfo(np.int32).min
    perm = _permutation_program((4, 6), 7)(pivots)
    np.testing.assert_array_equal(perm, pivots_loop(pivots, 7))
    assert list(perm[0]) == list(range(7))  # swaps that undo themselves


# ---------------------------------------------------------------------------
# qr_panel and block_reflector (lax_qr.py): 21 f32 columns (a whole chunk and
# a narrower one) in a batch, 13 f64 (8 + 5), and a 1x1 panel.

def qr_panel_loop(a):
    """_householder_loop: column j reflected onto e_j (beta from its scaled
    norm; tau 0 for a column already zero below the diagonal), v below the
    diagonal, and A[j:, j+1:] -= (tau v) (vᵀ A), vᵀ A summed down all rows."""
    a = a.copy()
    m, n = a.shape[-2:]
    rows, cols = np.arange(m), np.arange(n)
    taus = np.zeros(a.shape[:-2] + (n,), a.dtype)
    with np.errstate(all="ignore"):
        for j in range(n):
            x = a[..., :, j]
            alpha, below = x[..., j:j + 1], np.where(rows > j, x, 0)
            zero = np.max(np.abs(below), axis=-1, keepdims=True) == 0
            column = np.abs(np.where(rows >= j, x, 0))
            scale = np.max(column, axis=-1, keepdims=True)
            safe = np.where(scale == 0, 1, scale)
            norm = safe * np.sqrt(np.sum(np.square(column / safe), axis=-1, keepdims=True))
            beta = np.where(alpha >= 0, -norm, norm)
            tau = np.where(zero, 0, (beta - alpha) / beta)
            v_below = below / np.where(zero, 1, alpha - beta)
            v = np.where(rows == j, 1, v_below)
            w = np.sum(v[..., :, None] * a, axis=-2, keepdims=True)
            new_column = np.where(rows == j, np.where(zero, alpha, beta), np.where(rows > j, v_below, x))
            a = np.where((rows[:, None] >= j) & (cols > j), a - (tau * v)[..., :, None] * w, a)
            a[..., :, j], taus[..., j] = new_column, tau[..., 0]
    return a, taus


def larft_loop(gram, taus):
    """_larft_loop: T[:j, j] = -tau_j T[:j, :j] gram[:j, j], T[j, j] = tau_j."""
    n = gram.shape[-1]
    idx = np.arange(n)
    t = np.zeros_like(gram)
    with np.errstate(all="ignore"):
        for j in range(n):
            tau = taus[..., j:j + 1]
            above = -tau * np.sum(t * np.where(idx < j, gram[..., :, j], 0)[..., None, :], axis=-1)
            t[..., :, j] = np.where(idx < j, above, np.where(idx == j, tau, 0))
    return t


@functools.lru_cache(maxsize=None)
def _qr_program(kernel, shape, dtype):
    """qr_panel of (..., m, n) or block_reflector of gram (..., n, n) and taus."""
    taus = tensor_type(shape[:-2] + shape[-1:], dtype)
    args, results = ([tensor_type(shape, dtype)], [tensor_type(shape, dtype), taus]) if kernel == "qr_panel" else (
        [tensor_type(shape, dtype), taus], [tensor_type(shape, dtype)])
    return compile_kernel(cpu_kernels.build(kernel, "kernel", args, results, {}), args, results, dtype)


def _reflector_input(shape, dtype):
    """Vᵀ V of a unit lower trapezoid V, and taus in [0.5, 1.5) but one 0 (H = I)."""
    v = np.tril(rng.standard_normal(shape[:-2] + (shape[-1] + 5, shape[-1])), -1)
    v[..., np.arange(shape[-1]), np.arange(shape[-1])] = 1
    taus = rng.uniform(0.5, 1.5, shape[:-1])
    taus[..., 1] = 0
    return (np.swapaxes(v, -1, -2) @ v).astype(dtype), taus.astype(dtype)


QR_PANELS = [((2, 40, 21), np.float32), ((13, 13), np.float64), ((1, 1), np.float32)]


@pytest.mark.parametrize("shape, dtype", QR_PANELS)
def test_qr_panel(shape, dtype):
    a = rng.standard_normal(shape).astype(dtype)
    a.reshape((-1,) + shape[-2:])[-1, 1:, 0] = 0  # a column already zero below the diagonal: tau = 0
    new, taus = _qr_program("qr_panel", shape, dtype)(a)
    expected, expected_taus = qr_panel_loop(a.astype(np.float64))
    np.testing.assert_allclose(new, expected, rtol=0, atol=10 * KERNEL_TOL[dtype] * np.abs(expected).max())
    np.testing.assert_allclose(taus, expected_taus, rtol=0, atol=10 * KERNEL_TOL[dtype])
    assert taus.reshape(-1, shape[-1])[-1, 0] == 0
    # R, up to the signs of its rows, is NumPy's.
    r = np.triu(new[..., :shape[-1], :])
    np.testing.assert_allclose(np.abs(r), np.abs(np.linalg.qr(a.astype(np.float64))[1]), rtol=0,
                               atol=10 * KERNEL_TOL[dtype] * np.abs(a).max())


@pytest.mark.parametrize("shape, dtype", QR_PANELS[:2])
def test_qr_panel_of_non_finite_matrices(shape, dtype):
    """NaNs where the portable loop makes them: a NaN makes its column's w
    NaN, then every column right of it from that row down."""
    a = rng.standard_normal(shape).astype(dtype)
    first = a.reshape((-1,) + shape[-2:])[0]
    first[5, 3], first[7, 9] = np.nan, np.inf
    new, taus = _qr_program("qr_panel", shape, dtype)(a)
    expected, expected_taus = qr_panel_loop(a.astype(np.float64))
    assert_close(new, expected, 10 * KERNEL_TOL[dtype])
    assert_close(taus, expected_taus, 10 * KERNEL_TOL[dtype])
    assert np.isnan(expected).any() and np.isfinite(expected).any()


@pytest.mark.parametrize("shape, dtype", [((2, 21, 21), np.float32), ((13, 13), np.float64)])
def test_block_reflector(shape, dtype):
    gram, taus = _reflector_input(shape, dtype)
    t = _qr_program("block_reflector", shape, dtype)(gram, taus)
    np.testing.assert_allclose(t, larft_loop(gram.astype(np.float64), taus.astype(np.float64)), rtol=0,
                               atol=10 * KERNEL_TOL[dtype] * np.abs(t).max())
    gram.reshape((-1,) + shape[-2:])[0, 2, 5] = np.nan
    t = _qr_program("block_reflector", shape, dtype)(gram, taus)
    assert_close(t, larft_loop(gram.astype(np.float64), taus.astype(np.float64)), 10 * KERNEL_TOL[dtype])


def test_the_qr_references_are_the_portable_loops():
    """qr_panel_loop and larft_loop against lax_qr's loops run as irax ops."""
    from irax.frontend import lax_qr
    a = rng.standard_normal((2, 40, 21)).astype(np.float32)
    a[0, 5, 3] = np.nan
    for actual, expected in zip(irax.jit(lax_qr._householder_loop)(a), qr_panel_loop(a)):
        assert_close(np.asarray(actual), expected, 1e-5)
    gram, taus = _reflector_input((2, 21, 21), np.float32)
    gram[0, 2, 5] = np.nan
    assert_close(np.asarray(irax.jit(lax_qr._larft_loop)(gram, taus)), larft_loop(gram, taus), 1e-5)


# ---------------------------------------------------------------------------
# The references above are the portable code (checked on Vulkan, where the
# portable loops run), and what build covers.

def test_the_references_are_the_portable_loops():
    vulkan = device_or_skip("vulkan")
    a = positive_definite((7, 7), np.float32)
    a[3, 3] = -1
    L = np.tril(lower_triangular((7, 7), np.float32))
    L[2, 2] = 0
    b = rng.standard_normal((7, 3)).astype(np.float32)
    b[1, 0], b[4, 2] = np.nan, np.inf
    lu_input = rng.standard_normal((9, 5)).astype(np.float32)
    lu_input[:, 1] = 0
    lu_input[4, 2] = lu_input[6, 2] = np.nan
    pivots = np.array([[3, 1, 0, 6, -1], [4, 4, 3, 3, 4]], np.int32)
    with irax.default_device(vulkan):
        perm = np.asarray(linalg.lu_pivots_to_permutation(pivots, 6))
        chol = np.asarray(linalg.cholesky(a, symmetrize_input=False))
        solved = np.asarray(linalg.triangular_solve(L, b, left_side=True, lower=True))
        lu = tuple(map(np.asarray, linalg.lu(lu_input)))
    # (the loop's factor keeps its failing pivot, -1 at [3, 3]; linalg.cholesky then makes the whole lower
    # triangle NaN, as JAX)
    loop = cholesky_loop(a)
    assert loop[3, 3] < 0 and not np.isnan(loop[:3, :3]).any()
    assert_close(chol, np.where(np.tril(np.ones_like(loop)) > 0, np.nan, 0).astype(np.float32), 1e-5)
    assert_close(solved, forward_substitution_loop(L, b=b), 1e-5)
    for actual, expected in zip(lu, lu_loop(lu_input)):
        assert_close(actual, expected, 1e-5)
    np.testing.assert_array_equal(perm, pivots_loop(pivots, 6))


@pytest.mark.parametrize("types", [["tensor<4x4xcomplex<f32>>"], ["tensor<4x4xi32>"], ["tensor<4x4xf16>"],
                                   ["tensor<?x4xf32>"], ["tensor<0x4x4xf32>"]])
@pytest.mark.parametrize("kernel", sorted(k for k, (_, elements) in cpu_kernels.KERNELS.items()
                                           if elements == ("f32", "f64")))
def test_build_covers_static_f32_and_f64_only(kernel, types):
    assert cpu_kernels.build(kernel, "k", types, types * 2, {}) is None


@pytest.mark.parametrize("l_type, b_type", [("tensor<4x4xcomplex<f32>>", "tensor<4x2xcomplex<f32>>"),
                                            ("tensor<4x4xf32>", "tensor<4x0xf32>"),
                                            ("tensor<4x4xf64>", "tensor<4x?xf64>")])
def test_build_covers_solves_of_static_f32_and_f64_only(l_type, b_type):
    assert cpu_kernels.build("forward_substitution", "k", [l_type, b_type], [b_type], {}) is None


@pytest.mark.parametrize("pivots, perm", [("tensor<4xf32>", "tensor<4xi32>"), ("tensor<4xi64>", "tensor<4xi64>"),
                                          ("tensor<?xi32>", "tensor<4xi32>"), ("tensor<0xi32>", "tensor<4xi32>"),
                                          ("tensor<0x3xi32>", "tensor<0x4xi32>")])
def test_build_covers_static_i32_pivots_only(pivots, perm):
    assert cpu_kernels.build("pivots_to_permutation", "k", [pivots], [perm], {"permutation_size": 4}) is None


def test_an_eigh_sweep_whose_scratch_passes_the_stack_limit_stays_portable():
    """Its scratch (6 rows of m) lives on the dispatch's stack, which IREE
    limits to 32 KiB: m = 1364 f32 (682 f64) compiles, m + 2 is left portable."""
    for m, element in [(1366, "f32"), (684, "f64")]:
        types = [f"tensor<{m}x{m}x{element}>"] * 2
        assert cpu_kernels.build("eigh_sweep", "k", types, types, {}) is None
    types = ["tensor<1364x1364xf32>"] * 2
    assert cpu_kernels.build("eigh_sweep", "k", types, types, {}) is not None


def test_a_kernel_result_nothing_reads_still_compiles():
    """IREE drops a dispatch's unused results, and the native body's tensor
    for one then lived on the dispatch's stack (over IREE's 32 KiB): the
    pivots alone of a 512 x 64 LU, and the taus alone of its geqrf, did not
    compile. Each unused result is now read by a barrier (cpu_prepare)."""
    import jax
    from jax._src.lax import linalg as jax_linalg

    from irax.frontend import lax_qr
    a = np.random.default_rng(3).standard_normal((512, 64)).astype(np.float32)
    cpu = irax.devices("cpu")[0]
    pivots = irax.jit(lambda a: linalg.lu(a)[1], device=cpu)(a)
    np.testing.assert_array_equal(pivots, jax.lax.linalg.lu(a)[1])
    taus = irax.jit(lambda a: lax_qr.geqrf(a)[1], device=cpu)(a)
    np.testing.assert_allclose(taus, jax_linalg.geqrf(a)[1], rtol=1e-5, atol=1e-6)


def test_the_text_is_a_private_function_in_one_dispatch_region():
    from iree.compiler import ir
    a = "tensor<2x9x5xf64>"
    text = cpu_kernels.build("lu_panel", "lu_kernel", [a], [a, "tensor<2x5xi32>", "tensor<2x9xi32>"], {})
    assert text.startswith("func.func private @lu_kernel(") and text.count("flow.dispatch.region") == 1
    with ir.Context():
        ir.Module.parse(text)


def test_mismatched_types_are_an_error():
    with pytest.raises(ValueError, match="cholesky_block"):
        cpu_kernels.build("cholesky_block", "k", ["tensor<4x5xf32>"], ["tensor<4x5xf32>"] * 2, {})
    for l_type, b_type in [("tensor<4x4xf32>", "tensor<5x2xf32>"), ("tensor<4x4xf64>", "tensor<4x2xf32>"),
                           ("tensor<3x4x4xf32>", "tensor<2x4x2xf32>")]:
        with pytest.raises(ValueError, match="forward_substitution"):
            cpu_kernels.build("forward_substitution", "k", [l_type, b_type], [b_type], {})
    with pytest.raises(ValueError, match="svd_sweep"):  # an odd n: a column without a pair
        cpu_kernels.build("svd_sweep", "k", ["tensor<4x5xf32>"], ["tensor<4x5xf32>", "tensor<1xf32>"],
                          {"rows": 4, "tolerance": 1e-6})
    with pytest.raises(ValueError, match="eigh_sweep"):  # an odd m: an index without a pair
        cpu_kernels.build("eigh_sweep", "k", ["tensor<5x5xf32>"] * 2, ["tensor<5x5xf32>"] * 2, {})
    with pytest.raises(ValueError, match="qr_panel"):  # taus of the wrong length
        cpu_kernels.build("qr_panel", "k", ["tensor<9x5xf32>"], ["tensor<9x5xf32>", "tensor<9xf32>"], {})
    with pytest.raises(ValueError, match="block_reflector"):
        cpu_kernels.build("block_reflector", "k", ["tensor<5x5xf32>", "tensor<5xf64>"], ["tensor<5x5xf32>"], {})
    with pytest.raises(ValueError, match="lu_panel"):
        cpu_kernels.build("lu_panel", "k", ["tensor<9x5xf32>"], ["tensor<9x5xf32>", "tensor<9xi32>",
                                                                  "tensor<9xi32>"], {})
    for pivots, perm, m in [("tensor<5xi32>", "tensor<4xi32>", 4), ("tensor<2x3xi32>", "tensor<3x4xi32>", 4),
                            ("tensor<3xi32>", "tensor<5xi32>", 4)]:
        with pytest.raises(ValueError, match="pivots_to_permutation"):
            cpu_kernels.build("pivots_to_permutation", "k", [pivots], [perm], {"permutation_size": m})


def test_a_one_row_lu_panel_stays_portable():
    """IREE 3.13 gave a one-row panel's perm the bits of its lu, so the
    blocked lu of a 5x5 with BLOCK 2 came out with a row of NaNs."""
    assert cpu_kernels.build("lu_panel", "k", ["tensor<1x3xf32>"],
                             ["tensor<1x3xf32>", "tensor<1xi32>", "tensor<1xi32>"], {}) is None


def test_a_panel_wider_than_tall_stays_portable():
    """(geqrf's panels never are: the portable loop covers the case.)"""
    assert cpu_kernels.build("qr_panel", "k", ["tensor<3x5xf32>"], ["tensor<3x5xf32>", "tensor<5xf32>"], {}) is None


def _top_k_reference(x, k, unsigned=False):
    """The k largest of each row in XLA's TopK order (a float's bits with
    the magnitude flipped where negative; unsigned integers' top bit
    flipped), equal keys in index order: (values, int32 indices)."""
    width = x.dtype.itemsize * 8
    key = x.view(f"i{x.itemsize}")
    if x.dtype.kind == "f":
        key = key ^ ((key >> (width - 1)) & np.array(2 ** (width - 1) - 1, key.dtype))
    elif unsigned:
        key = key ^ np.array(-2 ** (width - 1), key.dtype)
    indices = np.argsort(~key, axis=-1, kind="stable")[..., :k]  # ~key: descending, and no overflow
    return np.take_along_axis(x, indices, -1), indices.astype(np.int32)


@pytest.mark.parametrize("dtype, unsigned", [(np.float64, False), (np.int64, False), (np.uint64, True)])
def test_top_k(dtype, unsigned):
    """A batch of rows of 21 (a chunk of 8 lanes and the rest): ties, an
    ascending row (every element enters), NaNs of both signs and -0.0, and
    integers at both ends of their range."""
    if np.dtype(dtype).kind == "f":
        x = rng.choice(np.array([-np.inf, -1.5, -0.0, 0.0, 3.0, np.inf, np.nan, -np.nan]), (2, 3, 21))
        x[1, 0] = np.arange(21.0)
    else:
        info = np.iinfo(dtype)
        x = rng.choice(np.array([info.min, info.min + 1, 0, 1, info.max], dtype), (2, 3, 21))
    x = x.astype(dtype)
    storage = {np.uint64: np.int64}.get(dtype, dtype)
    types = [tensor_type((2, 3, 21), storage)]
    results = [types[0].replace("x21x", "x5x"), tensor_type((2, 3, 5), np.int32)]
    program = compile_kernel(cpu_kernels.build("top_k", "kernel", types, results, {"k": 5, "unsigned": unsigned}),
                             types, results, storage)
    values, indices = program(x.view(storage))
    expected_values, expected_indices = _top_k_reference(x, 5, unsigned)
    np.testing.assert_array_equal(indices, expected_indices)
    np.testing.assert_array_equal(values.view(dtype).view("u8"), expected_values.view("u8"))
