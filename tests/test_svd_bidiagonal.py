"""The SVD's bidiagonal path on the CPU (frontend/lax_svd_bidiagonal.py): the
kernels "bidiagonal_reduction" (gebd2) and "bidiagonal_qr" (bdsqr's
sweeps), their native code (backends/cpu_kernels_bidiagonal.py) against
their portable loops run as irax ops, and the SVD's accuracy through them.

A (2, 21, 19) f32 or (2, 13, 11) f64 batch: rows of a whole chunk (16 or 8
lanes) and a narrower one, a random matrix and one of rank 2 (zero
singular values: zero d's deflate under zero-shift sweeps)."""
import functools

import numpy as np
import pytest
from helpers import x64_mode

import irax
import irax.numpy as jnp
from irax.backends import cpu, cpu_kernels
from irax.frontend import lax_svd_bidiagonal
from irax.frontend.kernels import kernel_call

jax = pytest.importorskip("jax")

RNG = np.random.default_rng(0)
SHAPES = {np.float32: (21, 19), np.float64: (13, 11)}


def _batch(dtype):
    m, n = SHAPES[dtype]
    rank_two = RNG.standard_normal((m, 2)) @ RNG.standard_normal((2, n))
    return np.stack([RNG.standard_normal((m, n)), rank_two]).astype(dtype)


def _native_reduction(a):
    return kernel_call("bidiagonal_reduction", lax_svd_bidiagonal._bidiagonal_loop, a)


def _native_qr(d, e, ut, vt, max_sweeps):
    return kernel_call("bidiagonal_qr", lax_svd_bidiagonal._bidiagonal_qr_loop, d, e, ut, vt, max_sweeps=max_sweeps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_the_native_kernels_compute_the_portable_loops(dtype):
    """Native and portable (jitted without the kernel marks) agree to
    rounding: the packed reduction and its taus, then the QR sweeps' d and
    rotated rows (ut and vt of other widths than k, as Qᵀ and Pᵀ are). (Of
    the rank-2 matrix all but the first two steps reflect rounding errors,
    which differ: its B keeps A's singular values and is decomposed.)"""
    a = _batch(dtype)
    m, n = a.shape[-2:]
    eps = np.finfo(dtype).eps
    with x64_mode(dtype == np.float64):
        native = [np.asarray(t) for t in irax.jit(_native_reduction)(a)]
        portable = [np.asarray(t) for t in irax.jit(lax_svd_bidiagonal._bidiagonal_loop)(a)]
        for x, y in zip(native, portable):
            np.testing.assert_allclose(x[0], y[0], rtol=0, atol=256 * eps * np.abs(y).max())
        packed = native[0]
        d, e = (np.diagonal(packed, k, axis1=-2, axis2=-1).copy() for k in (0, 1))
        b = np.apply_along_axis(np.diag, -1, d) + np.apply_along_axis(np.diag, -1, e, 1)
        np.testing.assert_allclose(np.linalg.svd(b.astype(np.float64), compute_uv=False),
                                   np.linalg.svd(a.astype(np.float64), compute_uv=False), rtol=0, atol=64 * eps * n)
        ut = np.broadcast_to(np.eye(m, n, dtype=dtype).T, (2, n, m)).copy()
        vt = np.broadcast_to(np.eye(n, dtype=dtype), (2, n, n)).copy()
        native = [np.asarray(t) for t in irax.jit(functools.partial(_native_qr, max_sweeps=30 * n))(d, e, ut, vt)]
        portable = [np.asarray(t) for t in irax.jit(functools.partial(
            lax_svd_bidiagonal._bidiagonal_qr_loop, max_sweeps=30 * n))(d, e, ut, vt)]
    for x, y in zip(native, portable):
        np.testing.assert_allclose(x[0], y[0], rtol=0, atol=1e3 * eps)
    s, ut, vt = native
    np.testing.assert_allclose(np.swapaxes(ut[..., :n], -1, -2) @ (s[..., :, None] * vt), b, rtol=0,
                               atol=64 * eps * n)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_svd_through_the_kernels_is_accurate(dtype):
    """A = U S Vᵀ, UᵀU = I and VᵀV = I to a fraction of an ulp times n, as
    LAPACK's (256x256: 0.07-0.15 ulps times n, JAX's gesdd 0.03-0.05); s
    descending and as NumPy's; full and reduced, tall and wide (xᵀ), and
    the values alone."""
    a = _batch(dtype)
    m, n = a.shape[-2:]
    eps = np.finfo(dtype).eps
    expected = np.linalg.svd(a.astype(np.float64), compute_uv=False)
    with x64_mode(dtype == np.float64):
        for x, full in [(a, True), (np.swapaxes(a, -1, -2), False)]:
            u, s, vt = (np.asarray(t, np.float64) for t in irax.jit(functools.partial(
                jnp.linalg.svd, full_matrices=full))(x))
            assert [t.shape for t in (u, s, vt)] == [t.shape for t in jax.numpy.linalg.svd(x, full_matrices=full)]
            np.testing.assert_allclose(s, expected, rtol=0, atol=n * eps * expected.max())
            assert np.all(np.diff(s, axis=-1) <= 0)
            np.testing.assert_allclose((u[..., :, :n] * s[..., None, :]) @ vt[..., :n, :], x, rtol=0,
                                       atol=m * eps * np.abs(a).max())
            for q in (u, np.swapaxes(vt, -1, -2)):
                np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(q.shape[-1]), (
                    2, q.shape[-1], q.shape[-1])), rtol=0, atol=m * eps)
        np.testing.assert_allclose(np.asarray(irax.jit(functools.partial(jnp.linalg.svd, compute_uv=False))(a)), s,
                                   rtol=0, atol=n * eps * expected.max())


def test_small_singular_values_of_an_ill_conditioned_matrix():
    """Singular values 1 .. 1e-6 (float32): the smallest to eps ‖A‖, as
    NumPy's (LAPACK's) in float64."""
    m, n = SHAPES[np.float32]
    q1, _ = np.linalg.qr(RNG.standard_normal((m, m)))
    q2, _ = np.linalg.qr(RNG.standard_normal((n, n)))
    a = ((q1[:, :n] * np.logspace(0, -6, n)) @ q2.T).astype(np.float32)
    s = np.asarray(lax_svd_bidiagonal.bidiagonal_svd(a, False, False)[0])
    np.testing.assert_allclose(s, np.linalg.svd(a.astype(np.float64), compute_uv=False), rtol=0,
                               atol=4 * np.finfo(np.float32).eps)


def test_nan_or_inf_gives_nans_as_jax():
    """JAX's SVD of a matrix with a NaN or an infinity is all NaN (the
    sweeps stop: a NaN e is negligible)."""
    a = np.stack([np.ones(SHAPES[np.float32], np.float32)] * 2)
    a[0, 1, 2], a[1, 0, 0] = np.nan, np.inf
    u, s, vt = lax_svd_bidiagonal.bidiagonal_svd(a, True, True)
    assert all(np.isnan(np.asarray(t)).all() for t in (u, s, vt))


def test_the_cpu_takes_the_bidiagonal_path():
    """A real SVD on the CPU runs the two kernels (and tridiagonal_q for Qᵀ
    and Pᵀ) as native code, not Jacobi's sweeps; vmap keeps them kernels."""
    a = _batch(np.float32)
    text = irax.jit(irax.vmap(jnp.linalg.svd)).lower(a).as_text("optimized")
    assert [text.count(f'irax.kernel = "{name}"') for name in ("bidiagonal_reduction", "bidiagonal_qr",
                                                                "tridiagonal_q", "svd_sweep")] == [1, 1, 2, 0]
    native = cpu.backend.prepare(text)
    assert "flow.dispatch.region" in native and "irax.kernel" not in native


def test_build_covers_static_f32_and_f64_only_and_what_fits_the_stack():
    """f16 stays portable, and so does a matrix whose scratch rows pass
    IREE's 32 KiB stack limit for a dispatch (2 rows of m for the reduction)."""
    def reduction(m, n, element):
        return cpu_kernels.build("bidiagonal_reduction", "k", [f"tensor<{m}x{n}x{element}>"],
                                 [f"tensor<{m}x{n}x{element}>", f"tensor<{n}x{element}>",
                                  f"tensor<{n - 1}x{element}>"], {})

    assert reduction(4096, 2, "f32") is not None and reduction(4097, 2, "f32") is None
    assert reduction(2048, 2, "f64") is not None and reduction(2049, 2, "f64") is None
    assert reduction(4, 3, "f16") is None
    with pytest.raises(ValueError, match="m >= n"):
        reduction(3, 4, "f32")
