"""The polar decomposition by QDWH (irax.lax.linalg.qdwh) against JAX's: the
same num_iters and is_converged (the same weights and stopping rule), u and h
to float rounding (to eps times the condition number for an ill-conditioned
x), u h = x and uᴴu = I; padding by dynamic_shape, max_iterations, jit and
vmap, float64, JAX's errors; and eigh's `implementation=`.

Shapes are few (each one compiled): 6x4 (and 8x6 holding it padded), 5x5.
"""
import re

import numpy as np
import pytest

import irax
from irax import lax

jax = pytest.importorskip("jax")

from helpers import device_or_skip, x64_mode  # noqa: E402

RNG = np.random.default_rng(0)
EPS = np.finfo(np.float32).eps
TALL = RNG.standard_normal((6, 4)).astype(np.float32)
SQUARE = RNG.standard_normal((5, 5)).astype(np.float32)
COMPLEX = (RNG.standard_normal((5, 5)) + 1j * RNG.standard_normal((5, 5))).astype(np.complex64)


def _ill_conditioned(condition):
    """A 5x5 float32 matrix with singular values from 1 down to 1/condition."""
    left, _ = np.linalg.qr(RNG.standard_normal((5, 5)))
    right, _ = np.linalg.qr(RNG.standard_normal((5, 5)))
    return ((left * np.logspace(0, -np.log10(condition), 5)) @ right.T).astype(np.float32)


ILL = _ill_conditioned(1e5)


def _check_polar(x, u, h, tol):
    """x = u h, uᴴu = I and h Hermitian, to tol relative to ‖x‖."""
    x, u, h = (np.asarray(t, np.complex128) for t in (x, u, h))
    np.testing.assert_allclose(u @ h, x, atol=tol * np.abs(x).max())
    np.testing.assert_allclose(u.conj().T @ u, np.eye(u.shape[1]), atol=tol)
    np.testing.assert_allclose(h, h.conj().T, atol=tol * np.abs(x).max())


def _check_as_jax(result, expected, tol):
    u, h, num_iters, is_converged = result
    assert (u.dtype, h.dtype, num_iters.dtype, is_converged.dtype) == tuple(t.dtype for t in expected)
    np.testing.assert_array_equal(np.asarray(num_iters), np.asarray(expected[2]))
    np.testing.assert_array_equal(np.asarray(is_converged), np.asarray(expected[3]))
    np.testing.assert_allclose(np.asarray(u), np.asarray(expected[0]), atol=tol)
    np.testing.assert_allclose(np.asarray(h), np.asarray(expected[1]), atol=tol * np.abs(np.asarray(h)).max())


@pytest.mark.parametrize("x, tol", [(TALL, 8 * EPS), (SQUARE, 8 * EPS), (COMPLEX, 8 * EPS), (ILL, EPS * 1e5)],
                         ids=["tall", "square", "complex64", "ill_conditioned"])
def test_qdwh_matches_jax(x, tol):
    result = lax.linalg.qdwh(x)
    _check_as_jax(result, jax.lax.linalg.qdwh(x), tol)
    assert bool(result[3])
    _check_polar(x, result[0], result[1], 8 * EPS)


def test_max_iterations_reached_is_not_converged():
    """Two steps (both QR steps, far from converged): num_iters 2, is_converged False, as JAX."""
    result = lax.linalg.qdwh(TALL, max_iterations=2)
    assert int(result[2]) == 2 and not bool(result[3])
    _check_as_jax(result, jax.lax.linalg.qdwh(TALL, max_iterations=2), 8 * EPS)


def test_larger_eps_takes_fewer_steps_as_jax():
    """eps 1e-3: fewer weighted steps (3, not 4) and a looser test, the same as JAX's."""
    result = lax.linalg.qdwh(TALL, eps=1e-3)
    assert int(result[2]) == 3 and bool(result[3])
    _check_as_jax(result, jax.lax.linalg.qdwh(TALL, eps=1e-3), 8 * EPS)


def test_dynamic_shape_pads_as_jax():
    """TALL padded to 8x6: JAX's padded result, TALL's in its corner and zeros around, also with
    the shape traced under jit."""
    padded = np.zeros((8, 6), np.float32)
    padded[:6, :4] = TALL
    expected = jax.lax.linalg.qdwh(padded, dynamic_shape=(6, 4))
    for result in (lax.linalg.qdwh(padded, dynamic_shape=(6, 4)),
                   irax.jit(lambda x, shape: lax.linalg.qdwh(x, dynamic_shape=shape))(padded, (6, 4))):
        _check_as_jax(result, expected, 8 * EPS)
        u, h = np.asarray(result[0]), np.asarray(result[1])
        assert not u[6:].any() and not u[:, 4:].any() and not h[4:].any() and not h[:, 4:].any()
        _check_polar(TALL, u[:6, :4], h[:4, :4], 8 * EPS)


def test_vmap_matches_jax():
    xs = np.stack([TALL, 2 * TALL[::-1]])
    _check_as_jax(irax.vmap(lax.linalg.qdwh)(xs), jax.vmap(jax.lax.linalg.qdwh)(xs), 8 * EPS)


def test_float64_in_x64_mode():
    with x64_mode(True):
        x = TALL.astype(np.float64)
        result = lax.linalg.qdwh(x)
        _check_as_jax(result, jax.lax.linalg.qdwh(x), 8 * np.finfo(np.float64).eps)
        _check_polar(x, result[0], result[1], 8 * np.finfo(np.float64).eps)


@pytest.mark.parametrize("x", [TALL.T, np.stack([TALL, TALL]), np.arange(6).reshape(3, 2)],
                         ids=["wide", "batched", "integer"])
def test_errors_as_jax(x):
    with pytest.raises(ValueError) as expected:
        jax.lax.linalg.qdwh(x)
    with pytest.raises(ValueError, match=f"^{re.escape(str(expected.value))}$"):
        lax.linalg.qdwh(x)


def test_eigh_implementation_as_jax():
    """JAX's members and values; eigh takes None, QR (and a string, which JAX does not check) with the
    same result, and refuses on the CPU what JAX refuses there, in its words."""
    assert {m.name: m.value for m in lax.linalg.EighImplementation} == \
        {m.name: m.value for m in jax.lax.linalg.EighImplementation}
    a = (SQUARE + SQUARE.T) / 2
    v, w = lax.linalg.eigh(a)
    for implementation in (None, lax.linalg.EighImplementation.QR, "qr"):
        v_, w_ = lax.linalg.eigh(a, implementation=implementation)
        np.testing.assert_array_equal(np.asarray(w_), np.asarray(w))
        np.testing.assert_array_equal(np.asarray(v_), np.asarray(v))
    if irax.default_backend() != "cpu":
        pytest.skip("JAX's refusals checked on the CPU")
    for name in ("JACOBI", "QDWH"):
        with pytest.raises(NotImplementedError) as expected:
            jax.lax.linalg.eigh(a, implementation=getattr(jax.lax.linalg.EighImplementation, name))
        with pytest.raises(NotImplementedError, match=f"^{expected.value}$"):
            lax.linalg.eigh(a, implementation=getattr(lax.linalg.EighImplementation, name))


def test_vmap_of_square_matrices_on_vulkan():
    """vmap of qdwh over square matrices on Vulkan gave wrong u and h (u h
    0.3 from x, num_iters 6 and 5 where the CPU took 4): IREE miscompiled
    the program's masks of the padding (all true there). Without padding
    the program has no masks."""
    device = device_or_skip("vulkan")
    x = np.random.default_rng(0).standard_normal((2, 4, 4)).astype(np.float32)
    with irax.default_device(device):
        for dynamic_shape in (None, (4, 4)):
            u, h, num_iters, _ = irax.vmap(lambda a: lax.linalg.qdwh(a, dynamic_shape=dynamic_shape))(x)
            np.testing.assert_allclose(np.einsum("bij,bjk->bik", np.asarray(u), np.asarray(h)), x, atol=1e-5)
            assert np.asarray(num_iters).tolist() == [int(lax.linalg.qdwh(x[i])[2]) for i in range(2)]
