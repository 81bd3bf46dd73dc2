"""The native Jacobi sweeps of the SVD and eigh (irax/backends/cpu_kernels_jacobi.py),
each compiled alone behind a public @main (helpers.compile_kernel), run on irax's
CPU device and compared with NumPy versions of the portable sweeps of
frontend/lax_svd.py and lax_eigh.py; those references are checked against
irax's portable code. Rows of 21 f32 pairs are a whole chunk (16 lanes) and a
narrower one."""
import functools

import numpy as np
import pytest
from helpers import KERNEL_TOL, assert_close, compile_kernel, tensor_type

import irax
from irax.backends import cpu_kernels

rng = np.random.default_rng(0)


# ---------------------------------------------------------------------------
# svd_sweep: f32 pairs of a whole chunk and a narrower one (k = 21) in a
# batch, f64 (k = 9: 8 + 1) with V's rows below the rotated ones, and the
# one pair that has nowhere to move (k = 1).

def svd_sweep_loop(w, rows, tolerance):
    """lax_svd._sweep: n - 1 rounds, each rotating the column pairs (i, k + i)
    until their first `rows` rows are orthogonal (Rutishauser's form), then
    moving the columns one seat round the table; and per matrix the largest
    |γ| / sqrt(αβ) seen."""
    w = w.copy()
    k = w.shape[-1] // 2
    off = np.zeros(w.shape[:-2] + (1,), w.dtype)
    with np.errstate(all="ignore"):
        for _ in range(2 * k - 1):
            top, bottom = w[..., :k], w[..., k:]
            gp, gq = top[..., :rows, :], bottom[..., :rows, :]
            alpha, beta, gamma = np.sum(gp * gp, axis=-2), np.sum(gq * gq, axis=-2), np.sum(gp * gq, axis=-2)
            norms = np.sqrt(alpha * beta)
            rotate = np.abs(gamma) > tolerance * norms
            zeta = (beta - alpha) / (2 * np.where(rotate, gamma, 1))
            t = np.where(rotate, np.where(zeta >= 0, 1, -1) / (np.abs(zeta) + np.sqrt(1 + zeta * zeta)), 0)
            c = 1 / np.sqrt(1 + t * t)
            s, tau = (c * t)[..., None, :], (c * t / (1 + c))[..., None, :]
            top, bottom = top - s * (bottom + tau * top), bottom + s * (top - tau * bottom)
            seen = np.where(norms > 0, np.abs(gamma) / np.where(norms > 0, norms, 1), 0)
            off = np.maximum(off, np.max(seen, axis=-1, keepdims=True))
            if k > 1:
                top, bottom = (np.concatenate([top[..., :1], bottom[..., :1], top[..., 1:k - 1]], axis=-1),
                               np.concatenate([bottom[..., 1:], top[..., k - 1:]], axis=-1))
            w = np.concatenate([top, bottom], axis=-1)
    return w, off


@functools.lru_cache(maxsize=None)
def _sweep_program(shape, dtype, rows):
    args = [tensor_type(shape, dtype)]
    results = args + [tensor_type(shape[:-2] + (1,), dtype)]
    params = {"rows": rows, "tolerance": float(np.sqrt(rows) * np.finfo(dtype).eps)}
    return compile_kernel(cpu_kernels.build("svd_sweep", "kernel", args, results, params), args, results, dtype), params


SWEEPS = [((2, 48, 42), np.float32, 44), ((31, 18), np.float64, 20), ((5, 2), np.float32, 3)]


@pytest.mark.parametrize("shape, dtype, rows", SWEEPS)
def test_svd_sweep(shape, dtype, rows):
    program, params = _sweep_program(shape, dtype, rows)
    w = rng.standard_normal(shape).astype(dtype)
    w[..., -1] = 0  # the zero column of an odd n: no rotation touches it
    new, off = program(w)
    expected, expected_off = svd_sweep_loop(w.astype(np.float64), rows, params["tolerance"])
    np.testing.assert_array_equal(new[..., -1], 0)
    np.testing.assert_allclose(new, expected, rtol=0, atol=10 * KERNEL_TOL[dtype] * np.abs(expected).max())
    np.testing.assert_allclose(off, expected_off, rtol=10 * KERNEL_TOL[dtype])
    # After sweeps enough, the columns are orthogonal (to the tolerance), and a sweep rotates nothing.
    for _ in range(12):
        w, off = program(w)
    assert off.max() <= params["tolerance"]
    np.testing.assert_array_equal(program(w)[0], w)


@pytest.mark.parametrize("shape, dtype, rows", SWEEPS[:2])
def test_svd_sweep_of_non_finite_matrices(shape, dtype, rows):
    """NaNs where the portable sweep makes them (a NaN turns its row of the
    pair NaN, then of the pairs it meets), and off as there (a pair with a
    NaN norm counts as orthogonal)."""
    program, params = _sweep_program(shape, dtype, rows)
    w = rng.standard_normal(shape).astype(dtype)
    w.reshape((-1,) + shape[-2:])[0, 1, 2] = np.nan
    new, off = program(w)
    expected, expected_off = svd_sweep_loop(w.astype(np.float64), rows, params["tolerance"])
    assert_close(new, expected, 10 * KERNEL_TOL[dtype])
    assert_close(off, expected_off, 10 * KERNEL_TOL[dtype])
    assert np.isnan(expected).any() and np.isfinite(expected).any()


# ---------------------------------------------------------------------------
# eigh_sweep: f32 pairs of a whole chunk and a narrower one (h = 21) in a
# batch, f64 (h = 9: 8 + 1), and the one pair that has nowhere to move (h = 1).

def eigh_sweep_loop(a, v):
    """lax_eigh._sweep: n - 1 rounds, each rotating rows and columns (i, h + i)
    of A (and V's columns) so that a_pq = 0 (Rutishauser's form), setting
    a_pp, a_qq and a_pq, then moving the indices one seat round the table;
    the diagonal is its start plus the sweep's corrections at the end."""
    a, v = a.copy(), v.copy()
    m = a.shape[-1]
    h = m // 2
    ring = np.r_[1:h, m - 1:h - 1:-1]
    perm = np.arange(m)
    perm[np.roll(ring, -1)] = ring
    i = np.arange(h)
    start = np.diagonal(a, axis1=-2, axis2=-1).copy()
    z = np.zeros_like(start)
    with np.errstate(all="ignore"):
        for _ in range(m - 1):
            app, aqq, apq = a[..., i, i], a[..., h + i, h + i], a[..., i, h + i]
            theta = (aqq - app) / (2 * np.where(apq == 0, 1, apq))
            t = np.where(apq == 0, 0, np.where(theta < 0, -1, 1) / (np.abs(theta) + np.sqrt(1 + theta * theta)))
            c = 1 / np.sqrt(1 + t * t)
            s, r = t * c, t * c / (1 + c)
            p, q = a[..., :h, :], a[..., h:, :]
            a = np.concatenate([p - s[..., :, None] * (q + r[..., :, None] * p),
                                q + s[..., :, None] * (p - r[..., :, None] * q)], axis=-2)
            for x in (a, v):
                p, q = x[..., :h].copy(), x[..., h:].copy()
                x[..., :h], x[..., h:] = p - s[..., None, :] * (q + r[..., None, :] * p), q + s[..., None, :] * (
                    p - r[..., None, :] * q)
            ta = t * apq
            a[..., i, h + i] = a[..., h + i, i] = 0
            a[..., i, i], a[..., h + i, h + i] = app - ta, aqq + ta
            z = z + np.concatenate([-ta, ta], axis=-1)
            a, v, z = a[..., perm, :][..., perm], v[..., perm], z[..., perm]
        a[..., np.arange(m), np.arange(m)] = start + z
    return a, v


@functools.lru_cache(maxsize=None)
def _eigh_sweep_program(shape, dtype):
    types = [tensor_type(shape, dtype)] * 2
    return compile_kernel(cpu_kernels.build("eigh_sweep", "kernel", types, types, {}), types, types, dtype)


def _eigh_sweep_input(shape, dtype):
    """A symmetric A whose largest entries are about 1 (as _jacobi scales
    it) and whose last row and column are 0 (an odd n's padding), V = I."""
    x = rng.standard_normal(shape)
    a = (x + np.swapaxes(x, -1, -2)) / 4
    a[..., -1, :] = a[..., :, -1] = 0
    return a.astype(dtype), np.broadcast_to(np.eye(shape[-1]), shape).astype(dtype)


def _off(a):
    return np.sum(np.square(a - a * np.eye(a.shape[-1])), axis=(-2, -1))


EIGH_SWEEPS = [((2, 42, 42), np.float32), ((18, 18), np.float64), ((2, 2), np.float32)]


@pytest.mark.parametrize("shape, dtype", EIGH_SWEEPS)
def test_eigh_sweep(shape, dtype):
    program = _eigh_sweep_program(shape, dtype)
    a, v = _eigh_sweep_input(shape, dtype)
    new_a, new_v = program(a, v)
    expected_a, expected_v = eigh_sweep_loop(a.astype(np.float64), v.astype(np.float64))
    np.testing.assert_array_equal(new_a[..., -1, :-1], 0)  # the padding: no rotation touches it
    np.testing.assert_allclose(new_a, expected_a, rtol=0, atol=10 * KERNEL_TOL[dtype])
    np.testing.assert_allclose(new_v, expected_v, rtol=0, atol=10 * KERNEL_TOL[dtype])
    # After sweeps enough, off(A) is below eps ‖A‖ (lax_eigh's test), A's diagonal holds the eigenvalues and
    # A V = V diag(w).
    for _ in range(10):
        new_a, new_v = program(new_a, new_v)
    assert np.all(_off(new_a) <= np.finfo(dtype).eps ** 2 * np.sum(np.square(new_a), axis=(-2, -1)))
    w = np.diagonal(new_a, axis1=-2, axis2=-1)
    np.testing.assert_allclose(np.sort(w, axis=-1), np.linalg.eigvalsh(a.astype(np.float64)), atol=10 * KERNEL_TOL[dtype])
    np.testing.assert_allclose(a @ new_v, new_v * w[..., None, :], atol=10 * KERNEL_TOL[dtype])


def test_eigh_sweep_loop_is_the_portable_sweep():
    """The reference against lax_eigh._sweep itself, run as irax ops."""
    from irax.frontend import lax_eigh
    a, v = _eigh_sweep_input((2, 42, 42), np.float32)
    expected_a, expected_v = eigh_sweep_loop(a.astype(np.float64), v.astype(np.float64))
    portable_a, portable_v = irax.jit(lax_eigh._sweep)(a, v)
    np.testing.assert_allclose(portable_a, expected_a, rtol=0, atol=10 * KERNEL_TOL[np.float32])
    np.testing.assert_allclose(portable_v, expected_v, rtol=0, atol=10 * KERNEL_TOL[np.float32])


@pytest.mark.parametrize("shape, dtype", EIGH_SWEEPS[:2])
def test_eigh_sweep_of_non_finite_matrices(shape, dtype):
    """NaNs and infinities where the portable sweep makes them (a NaN
    spreads through the rows and columns of the pairs it meets)."""
    program = _eigh_sweep_program(shape, dtype)
    a, v = _eigh_sweep_input(shape, dtype)
    first = a.reshape((-1,) + shape[-2:])[0]
    first[1, 2] = first[2, 1] = np.nan
    first[4, 4] = np.inf
    new_a, new_v = program(a, v)
    expected_a, expected_v = eigh_sweep_loop(a.astype(np.float64), v.astype(np.float64))
    assert_close(new_a, expected_a, 10 * KERNEL_TOL[dtype])
    assert_close(new_v, expected_v, 10 * KERNEL_TOL[dtype])
    assert np.isnan(expected_a).any() and np.isfinite(expected_a).any()
