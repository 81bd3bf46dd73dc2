"""Linear algebra under transformations (grad, jvp, vmap, jit) at the sizes
where the factorizations take over from closed forms (n = 4), against JAX.

Shapes: a 4x4 matrix (with a 4x2 right-hand side) and a batch of two, so
programs are few.
"""
import ml_dtypes
import numpy as np
import pytest

import irax
import irax.lax.linalg
import irax.scipy.linalg

jax = pytest.importorskip("jax")
import jax.scipy.linalg  # noqa: E402

RNG = np.random.default_rng(0)
_B = RNG.standard_normal((2, 4, 4)).astype(np.float32)
SPD = (_B @ _B.transpose(0, 2, 1) / 4 + np.eye(4, dtype=np.float32)).astype(np.float32)
W = RNG.standard_normal((4, 4)).astype(np.float32)  # weights of the losses
D = RNG.standard_normal((4, 4)).astype(np.float32)  # a direction for jvp


def _close(actual, expected, tol=2e-4):
    expected = np.asarray(expected)
    assert np.asarray(actual).dtype == expected.dtype, (np.asarray(actual).dtype, expected.dtype)
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=tol, atol=tol * max(1.0, np.abs(expected).max()))


# The Cholesky factors of jax.scipy.linalg read one triangle of a without symmetrizing it (JAX's
# symmetrize_input=False), so their derivatives are lax.linalg.cholesky's unsymmetrized ones:
# Ā = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹ and L̇ = L Φ(L⁻¹ Ȧ L⁻ᵀ) for every Ȧ, not only symmetric ones.
CHOLESKY_FACTORS = {
    "scipy upper": lambda m, a: m.scipy.linalg.cholesky(a),
    "scipy cho_factor lower": lambda m, a: m.scipy.linalg.cho_factor(a, lower=True)[0],
    "lax unsymmetrized": lambda m, a: m.lax.linalg.cholesky(a, symmetrize_input=False),
}


@pytest.mark.parametrize("name", CHOLESKY_FACTORS)
def test_cholesky_factor_derivatives_match_jax(name):
    factor = CHOLESKY_FACTORS[name]
    a = SPD[0]
    loss = lambda m: lambda a: (factor(m, a) * W).sum()  # noqa: E731
    _close(irax.grad(loss(irax))(a), jax.grad(loss(jax))(a))
    _close(irax.jvp(lambda a: factor(irax, a), (a,), (D,))[1], jax.jvp(lambda a: factor(jax, a), (a,), (D,))[1])
    # The gradient is the derivative along symmetric directions (a stays a covariance).
    symmetric = D + D.T
    eps = 1e-2
    numerical = (float(loss(irax)(a + eps * symmetric)) - float(loss(irax)(a - eps * symmetric))) / (2 * eps)
    np.testing.assert_allclose(float((irax.grad(loss(irax))(a) * symmetric).sum()), numerical, rtol=2e-2)


def test_cho_solve_gradient_under_vmap_and_jit_matches_jax():
    b = RNG.standard_normal((2, 4, 2)).astype(np.float32)

    def loss(m):
        return lambda a, b: (m.scipy.linalg.cho_solve(m.scipy.linalg.cho_factor(a), b) ** 2).sum()

    expected = jax.vmap(jax.grad(loss(jax), argnums=(0, 1)))(SPD, b)
    for got, want in zip(irax.jit(irax.vmap(irax.grad(loss(irax), argnums=(0, 1))))(SPD, b), expected):
        _close(got, want)


def test_scipy_lu_permutation_matrix_is_real_for_complex_input():
    a = (SPD[0] + 1j * W).astype(np.complex64)
    p, l, u = irax.scipy.linalg.lu(a)
    jp, jl, ju = jax.scipy.linalg.lu(a)
    _close(p, jp)  # float32, as JAX's
    _close(l, jl)
    _close(u, ju)
    np.testing.assert_allclose(np.asarray(p) @ np.asarray(l) @ np.asarray(u), a, rtol=1e-5, atol=1e-5)


# A triangular solve with an upper triangle substitutes in reversed order (flip, solve, flip back);
# a reduction over the flipped rows made a module IREE rejected ("indexing maps are non-invertible").
ROW_REDUCTIONS = {
    "inv(a).sum(0)": lambda m, a: m.numpy.linalg.inv(a).sum(0),
    "cond(a, 1)": lambda m, a: m.numpy.linalg.cond(a, 1),
    "flip(a, 0).max(0)": lambda m, a: m.numpy.flip(a, 0).max(0),
}


@pytest.mark.parametrize("name", ROW_REDUCTIONS)
def test_reductions_over_reversed_rows_compile_under_jit(name):
    f = ROW_REDUCTIONS[name]
    a = SPD[0] + W
    _close(irax.jit(lambda a: f(irax, a))(a), f(jax, a))
    _close(irax.jvp(lambda a: f(irax, a), (a,), (D,))[1], jax.jvp(lambda a: f(jax, a), (a,), (D,))[1])


@pytest.mark.parametrize("position", [0, 1])
def test_symmetric_product_rejects_complex_as_jax(position):
    args = [SPD[0], SPD[1]]
    args[position] = args[position].astype(np.complex64)
    with pytest.raises(TypeError) as expected:
        jax.lax.linalg.symmetric_product(*args)
    with pytest.raises(TypeError, match=str(expected.value).replace(".", r"\.")):
        irax.lax.linalg.symmetric_product(*args)


def test_symmetric_product_dtypes_as_jax():
    """bfloat16 is a float (irax refused it: NumPy's issubdtype does not count
    it one); two float dtypes are JAX's TypeError (irax promoted them)."""
    a = SPD[0].astype(ml_dtypes.bfloat16)
    got, want = irax.lax.linalg.symmetric_product(a, a), jax.lax.linalg.symmetric_product(a, a)
    assert got.dtype == want.dtype == ml_dtypes.bfloat16
    np.testing.assert_allclose(np.asarray(got, np.float32), np.asarray(want, np.float32), rtol=1e-2)
    args = (SPD[0].astype(np.float16), SPD[1])
    with pytest.raises(TypeError) as expected:
        jax.lax.linalg.symmetric_product(*args)
    with pytest.raises(TypeError, match=str(expected.value).replace(".", r"\.")):
        irax.lax.linalg.symmetric_product(*args)


def test_gradient_of_det_times_an_lu_factor_compiles_under_jit():
    """The LU loop's arange, read inside its differentiated loop and beside
    it, failed IREE's CPU compile once LU was a native kernel ("streamable
    op expected to be in an execution region")."""
    def loss(m):
        return lambda a: m.numpy.linalg.det(a) * m.lax.linalg.lu(a)[0].sum()
    _close(irax.jit(irax.grad(loss(irax)))(SPD[0] + W), jax.grad(loss(jax))(SPD[0] + W), tol=1e-3)
