"""eigh's tridiagonal path on the CPU (frontend/lax_eigh_tridiagonal.py):
the kernels "symmetric_tridiagonal" (sytd2), "tridiagonal_q" (orgtr) and
"tridiagonal_ql" (steqr's QL sweeps), their native code (backends/cpu_kernels_tridiagonal.py)
against their portable loops run as irax ops (on the CPU, and on Vulkan,
which runs nothing else), and eigh's accuracy through them.

Rows of 21 f32 or 13 f64 are a whole chunk (16 or 8 lanes) and a narrower
one. Each batch holds a random matrix, one with a repeated eigenvalue and
one already diagonal (no sweep to make)."""
import functools

import numpy as np
import pytest
from helpers import device_or_skip, x64_mode

import irax
import irax.numpy as jnp
from irax.backends import cpu_kernels
from irax.frontend import lax_eigh_tridiagonal
from irax.frontend.kernels import kernel_call

jax = pytest.importorskip("jax")

RNG = np.random.default_rng(0)
SIZES = {np.float32: 21, np.float64: 13}
SWEEPS = 30 * 21


def _batch(dtype):
    """(3, n, n): a random symmetric matrix, Q diag(1, 1, 2, ...) Qᵀ, and a diagonal one."""
    n = SIZES[dtype]
    x = RNG.standard_normal((n, n))
    q, _ = np.linalg.qr(RNG.standard_normal((n, n)))
    repeated = q @ np.diag(np.r_[1.0, 1.0, np.arange(2, n)]) @ q.T
    return np.stack([(x + x.T) / 2, (repeated + repeated.T) / 2, np.diag(np.arange(n) - 3.0)]).astype(dtype)


def _native_reduction(a):
    return kernel_call("symmetric_tridiagonal", lax_eigh_tridiagonal._tridiagonal_loop, a)


def _native_q(packed, taus):
    return kernel_call("tridiagonal_q", lax_eigh_tridiagonal._orgtr_loop, packed, taus)


def _native_ql(d, e, y):
    return kernel_call("tridiagonal_ql", lax_eigh_tridiagonal._ql_loop, d, e, y, max_sweeps=SWEEPS)


def _tridiagonal(packed):
    return np.diagonal(packed, axis1=-2, axis2=-1).copy(), np.diagonal(packed, -1, axis1=-2, axis2=-1).copy()


def _eigenpairs(w, y):
    """(w ascending, Y's rows in that order with the sign that makes their largest entry positive)."""
    order = np.argsort(w, axis=-1)
    w, y = np.take_along_axis(w, order, -1), np.take_along_axis(y, order[..., :, None], -2)
    largest = np.take_along_axis(y, np.abs(y).argmax(-1)[..., None], -1)
    return w, y * np.sign(largest)


def _check_against_portable(dtype, portable):
    """The native kernels' results against `portable(function, *args)`, the
    portable loops jitted (no kernel marks: irax ops wherever they run)."""
    a = _batch(dtype)
    n = a.shape[-1]
    eps = np.finfo(dtype).eps
    exact = np.linalg.eigvalsh(a.astype(np.float64))
    packed, taus = (np.asarray(t) for t in irax.jit(_native_reduction)(a))
    expected_packed, expected_taus = (np.asarray(t) for t in portable(lax_eigh_tridiagonal._tridiagonal_loop, a))
    # (A repeated eigenvalue makes some e_k zero, up to rounding that then picks the later reflectors: those of
    # the second matrix differ, and its T keeps A's eigenvalues.)
    tolerance = 64 * eps * np.abs(a).max()
    np.testing.assert_allclose(packed[[0, 2]], expected_packed[[0, 2]], rtol=0, atol=tolerance)
    np.testing.assert_allclose(taus[[0, 2]], expected_taus[[0, 2]], rtol=0, atol=512 * eps)  # (Vulkan: 120 ulps)
    # Qᵀ from the same reflectors
    qt = np.asarray(irax.jit(_native_q)(packed, taus))
    np.testing.assert_allclose(qt, np.asarray(portable(lax_eigh_tridiagonal._orgtr_loop, packed, taus)), rtol=0,
                               atol=64 * eps)
    d, e = _tridiagonal(packed)
    t = np.apply_along_axis(np.diag, -1, d) + np.apply_along_axis(np.diag, -1, e, 1)
    np.testing.assert_allclose(np.linalg.eigvalsh(t.astype(np.float64), UPLO="U"), exact, rtol=0, atol=tolerance)
    q = np.swapaxes(qt, -1, -2).astype(np.float64)  # A = Q T Qᵀ
    np.testing.assert_allclose(q @ (t + np.swapaxes(t, -1, -2) - np.apply_along_axis(np.diag, -1, d)) @ qt, a,
                               rtol=0, atol=tolerance)
    y = np.broadcast_to(np.eye(n, dtype=dtype), a.shape)
    w, vectors = _eigenpairs(*(np.asarray(t) for t in irax.jit(_native_ql)(d, e, y)))
    expected_w, expected_vectors = _eigenpairs(*(np.asarray(t) for t in portable(
        functools.partial(lax_eigh_tridiagonal._ql_loop, max_sweeps=SWEEPS), d, e, y)))
    np.testing.assert_allclose(w, expected_w, rtol=0, atol=tolerance)
    np.testing.assert_allclose(w, exact, rtol=0, atol=n * tolerance)
    # (the repeated eigenvalue's eigenvectors are any basis of its plane)
    np.testing.assert_allclose(vectors[[0, 2]], expected_vectors[[0, 2]], rtol=0, atol=1e3 * eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_the_native_kernels_compute_the_portable_loops(dtype):
    with x64_mode(dtype == np.float64):
        _check_against_portable(dtype, lambda function, *args: irax.jit(function)(*args))


def test_the_portable_loops_on_vulkan():
    """Vulkan runs the portable loops (it has no native code): the same
    values as the CPU's native kernels."""
    vulkan = device_or_skip("vulkan")

    def on_vulkan(function, *args):
        with irax.default_device(vulkan):
            return irax.jit(function)(*args)

    _check_against_portable(np.float32, on_vulkan)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
def test_eigh_through_the_kernels_is_accurate(dtype):
    """A V = V diag(w) and Vᵀ V = I to a few ulps times n, as LAPACK's
    (here: 0.2-0.3 ulps times n at 64 and 256, JAX's syevd 0.03-0.1), w
    ascending as NumPy's; and the reconstruction from eigh's (w, V) as JAX's."""
    a = _batch(dtype)
    n = a.shape[-1]
    eps = np.finfo(dtype).eps
    with x64_mode(dtype == np.float64):
        w, v = (np.asarray(t, np.float64) for t in irax.jit(jnp.linalg.eigh)(a))
    assert w.dtype == v.dtype
    scale = np.abs(np.linalg.eigvalsh(a.astype(np.float64))).max(-1)[:, None, None]
    np.testing.assert_allclose(w, np.linalg.eigvalsh(a.astype(np.float64)), rtol=0, atol=4 * n * eps * scale.max())
    np.testing.assert_allclose((a @ v - v * w[..., None, :]) / scale, 0, atol=n * eps)
    np.testing.assert_allclose(np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(n), v.shape), atol=n * eps)


def test_a_one_by_one_matrix():
    """n = 1 has nothing to reduce (it stays on Jacobi's path)."""
    w, v = jnp.linalg.eigh(np.array([[-2.5]], np.float32))
    np.testing.assert_array_equal(np.asarray(w), [-2.5])
    np.testing.assert_array_equal(np.abs(np.asarray(v)), [[1]])


def test_build_covers_static_f32_and_f64_only_and_what_fits_the_stack():
    """f16 stays portable, and so does an n whose scratch rows pass IREE's
    32 KiB stack limit for a dispatch (2 rows of n, 1 for the QL: eigh
    takes Jacobi's way there, lax_eigh_tridiagonal.ROW_BYTES)."""
    def reduction(n, element):
        return cpu_kernels.build("symmetric_tridiagonal", "k", [f"tensor<{n}x{n}x{element}>"],
                                 [f"tensor<{n}x{n}x{element}>", f"tensor<{n - 1}x{element}>"], {})

    def ql(n, element):
        return cpu_kernels.build("tridiagonal_ql", "k", [f"tensor<{n}x{element}>", f"tensor<{n - 1}x{element}>",
                                                         f"tensor<{n}x{n}x{element}>"],
                                 [f"tensor<{n}x{element}>", f"tensor<{n}x{n}x{element}>"], {"max_sweeps": 30 * n})

    def q(n, element):
        return cpu_kernels.build("tridiagonal_q", "k", [f"tensor<{n}x{n}x{element}>", f"tensor<{n - 1}x{element}>"],
                                 [f"tensor<{n}x{n}x{element}>"], {})

    for build in (reduction, q, ql):
        assert build(8, "f32") is not None and build(8, "f64") is not None and build(8, "f16") is None
    assert reduction(4096, "f32") is not None and reduction(4097, "f32") is None
    assert reduction(2048, "f64") is not None and reduction(2049, "f64") is None
    assert q(2048, "f64") is not None and q(2049, "f64") is None
    assert ql(4097, "f64") is None


def test_mismatched_types_are_an_error():
    with pytest.raises(ValueError, match="symmetric_tridiagonal takes"):
        cpu_kernels.build("symmetric_tridiagonal", "k", ["tensor<4x4xf32>"], ["tensor<4x4xf32>"], {})
    with pytest.raises(ValueError, match="tridiagonal_q takes"):
        cpu_kernels.build("tridiagonal_q", "k", ["tensor<4x4xf32>", "tensor<4xf32>"], ["tensor<4x4xf32>"], {})
    with pytest.raises(ValueError, match="tridiagonal_ql takes"):
        cpu_kernels.build("tridiagonal_ql", "k", ["tensor<4xf32>", "tensor<4xf32>", "tensor<4x4xf32>"],
                          ["tensor<4xf32>", "tensor<4x4xf32>"], {"max_sweeps": 120})


def test_a_matrix_with_an_infinity_is_all_nan_as_jax():
    """JAX's (LAPACK's) eigenvalues are all NaN (its eigenvectors partly);
    the QL sweeps left some finite, and Jacobi's gave zeros and I. irax's
    are all NaN, as for a NaN. The other matrices of the batch are as they were."""
    a = _batch(np.float32)
    a[1, 0, 1] = a[1, 1, 0] = np.inf
    w, v = (np.asarray(t) for t in jnp.linalg.eigh(a))
    assert np.isnan(np.asarray(jax.numpy.linalg.eigvalsh(a[1]))).all()
    assert np.isnan(w[1]).all() and np.isnan(v[1]).all()
    np.testing.assert_allclose(w[[0, 2]], np.linalg.eigvalsh(a[[0, 2]].astype(np.float64)), rtol=0, atol=1e-4)
