"""irax.lax.linalg.tridiagonal against JAX's (LAPACK's sytrd/hetrd on CPU):
the packed array (d, e and the Householder vectors, the other triangle as
given), d, e and the taus, which LAPACK's larfg conventions make unique, so
they agree to rounding; Q T Qᴴ = A with Q rebuilt from the reflectors in
NumPy; the zero-column case (tau = 0); jit, vmap, x64; JAX's errors, and
JAX's error when differentiated."""
import numpy as np
import pytest

import irax
from irax import lax

jax = pytest.importorskip("jax")

from helpers import x64_mode  # noqa: E402

RNG = np.random.default_rng(0)
FIVE = RNG.standard_normal((5, 5)).astype(np.float32)  # not symmetric: one triangle is read
BATCH = RNG.standard_normal((2, 4, 4)).astype(np.float32)
COMPLEX = (RNG.standard_normal((4, 4)) + 1j * RNG.standard_normal((4, 4))).astype(np.complex64)
# A[2:, 0] = 0: the first lower reflector is H = I (tau = 0); reversed, the last upper one is.
ZERO_COLUMN = np.array([[4, 1, 0, 0], [1, 3, 1, 2], [0, 1, 5, 2], [0, 2, 2, 1]], np.float32)
TOL = 2e-5


def _hermitian(a, lower):
    """The Hermitian matrix whose `lower` (or upper) triangle a holds."""
    part = np.tril(a, -1) if lower else np.triu(a, 1)
    return part + np.conj(np.swapaxes(part, -1, -2)) + np.real(np.diagonal(a, axis1=-2, axis2=-1))[..., None] * np.eye(
        a.shape[-1])


def _q(packed, taus, lower):
    """Q = H_0 … H_{n-2} (lower) or H_{n-2} … H_0 (upper) of one matrix, H_i = I - tau_i v_i v_iᴴ."""
    n = packed.shape[-1]
    q = np.eye(n, dtype=packed.dtype)
    for i in range(n - 1):
        v = np.zeros(n, packed.dtype)
        if lower:
            v[i + 1], v[i + 2:] = 1, packed[i + 2:, i]
        else:
            v[i], v[:i] = 1, packed[:i, i + 1]
        h = np.eye(n) - taus[i] * np.outer(v, np.conj(v))
        q = q @ h if lower else h @ q
    return q


def _check(a, lower, tol=TOL, result=None):
    """irax's result (or `result`) as JAX's, and Q T Qᴴ = A."""
    got = lax.linalg.tridiagonal(a, lower=lower) if result is None else result
    expected = jax.lax.linalg.tridiagonal(a, lower=lower)
    for ours, theirs in zip(got, expected):
        assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (ours, theirs)
        np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=tol, atol=tol)
    packed, d, e, taus = (np.asarray(x).astype(np.complex128) for x in got)
    hermitian = _hermitian(a.astype(np.complex128), lower)
    for i in np.ndindex(a.shape[:-2]):
        t = np.diag(d[i]) + np.diag(e[i], -1) + np.diag(e[i], 1)
        q = _q(packed[i], taus[i], lower)
        np.testing.assert_allclose(q @ t @ np.conj(q.T), hermitian[i], atol=10 * tol)
    return got


@pytest.mark.parametrize("lower", [True, False])
def test_float32_as_jax(lower):
    _check(FIVE, lower)


@pytest.mark.parametrize("lower", [True, False])
def test_complex_as_jax(lower):
    packed, d, e, taus = _check(COMPLEX, lower)
    assert (d.dtype, e.dtype, taus.dtype) == (np.float32, np.float32, np.complex64)


def test_batch_under_jit_and_vmap():
    _check(BATCH, True, result=irax.jit(lax.linalg.tridiagonal)(BATCH))
    _check(BATCH, False, result=irax.vmap(lambda a: lax.linalg.tridiagonal(a, lower=False))(BATCH))


def test_zero_column_gives_tau_zero():
    lower = _check(ZERO_COLUMN, True)
    upper = _check(ZERO_COLUMN[::-1, ::-1].copy(), False)
    assert float(lower[3][0]) == 0 and float(upper[3][-1]) == 0
    assert float(lower[3][1]) != 0  # the next one is not


def test_one_by_one_complex_diagonal_made_real():
    packed, d, e, taus = _check(np.array([[2 + 5j]], np.complex64), True)
    assert complex(packed[0, 0]) == 2 and e.shape == taus.shape == (0,)


def test_float64_in_x64_mode():
    with x64_mode(True):
        a = BATCH[0].astype(np.float64)
        packed, d, e, taus = _check(a, True, tol=1e-12)
        assert d.dtype == np.float64
        packed, d, e, taus = _check(COMPLEX.astype(np.complex128), False, tol=1e-12)
        assert (packed.dtype, d.dtype) == (np.complex128, np.float64)


@pytest.mark.parametrize("shape, error, message", [
    ((3, 4), ValueError, r"The input to tridiagonal must be a square matrix. Got shape \(3, 4\)."),
    ((0, 0), ValueError, r"must be a square matrix. Got shape \(0, 0\)."),
    ((3,), TypeError, r"Input 0 to tridiagonal must have rank at least 2, but got shape=\(3,\)"),
])
def test_shape_errors_as_jax(shape, error, message):
    for tridiagonal in (jax.lax.linalg.tridiagonal, lax.linalg.tridiagonal):
        with pytest.raises(error, match=message):
            tridiagonal(np.zeros(shape, np.float32))


def test_integer_input_error_as_jax():
    for tridiagonal in (jax.lax.linalg.tridiagonal, lax.linalg.tridiagonal):
        with pytest.raises(TypeError, match="tridiagonal does not accept dtype int32 at position 0"):
            tridiagonal(np.zeros((3, 3), np.int32))


def test_differentiation_raises_as_jax():
    for grad, tridiagonal in ((jax.grad, jax.lax.linalg.tridiagonal), (irax.grad, lax.linalg.tridiagonal)):
        with pytest.raises(NotImplementedError, match="Differentiation rule for 'tridiagonal' not implemented"):
            grad(lambda a: tridiagonal(a)[1].sum())(FIVE)
