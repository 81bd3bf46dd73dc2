"""The symmetric eigendecomposition (irax.lax.linalg.eigh, by parallel
Jacobi) and what is built on it: eigenvalues against NumPy, A V = V diag(w)
and orthonormal V, one triangle read, repeated eigenvalues, errors as JAX,
gradients against jax.grad and finite differences, and
multivariate_normal(method="eigh").

Two shapes carry the tests, a batch (2, 4, 4) and an odd 5x5 (padded to
6x6 inside), so programs are few.
"""
import re

import numpy as np
import pytest

import irax
import irax.numpy as jnp
import irax.scipy.linalg
from irax import lax

jax = pytest.importorskip("jax")
jjnp = jax.numpy

from helpers import check, x64_mode  # noqa: E402

RNG = np.random.default_rng(0)


def _symmetric(shape):
    x = RNG.standard_normal(shape).astype(np.float32)
    return (x + np.swapaxes(x, -1, -2)) / 2


BATCH, ODD = _symmetric((2, 4, 4)), _symmetric((5, 5))
W5 = RNG.standard_normal((5, 5)).astype(np.float32)  # weights, so no symmetry hides an error
EPS = np.finfo(np.float32).eps


def _check_decomposition(a, v, w, tol=8 * EPS):
    """w ascending as NumPy's, A V = V diag(w) and Vᵀ V = I, to a few ulps of ‖A‖."""
    a, v, w = (np.asarray(t, np.float64) for t in (a, v, w))
    scale = np.abs(np.linalg.eigvalsh(a)).max(axis=-1, keepdims=True)
    n = a.shape[-1]
    np.testing.assert_allclose(w / scale, np.linalg.eigvalsh(a) / scale, rtol=0, atol=n * tol)
    np.testing.assert_allclose((a @ v - v * w[..., None, :]) / scale[..., None], 0, atol=n * tol)
    np.testing.assert_allclose(np.swapaxes(v, -1, -2) @ v, np.broadcast_to(np.eye(n), v.shape), atol=n * tol)


@pytest.mark.parametrize("a", [BATCH, ODD], ids=["batch", "odd"])
def test_eigh_matches_numpy(a):
    v, w = lax.linalg.eigh(a)
    assert (v.dtype, w.dtype, v.shape, w.shape) == (np.float32, np.float32, a.shape, a.shape[:-1])
    _check_decomposition(a, v, w)
    result = jnp.linalg.eigh(a)
    assert type(result).__name__ == "EighResult" and result._fields == ("eigenvalues", "eigenvectors")
    _check_decomposition(a, result.eigenvectors, result.eigenvalues)
    check(jnp.linalg.eigvalsh(a), np.linalg.eigvalsh(a), tol=1e-5)
    w_scipy, v_scipy = irax.scipy.linalg.eigh(a)
    _check_decomposition(a, v_scipy, w_scipy)
    check(irax.scipy.linalg.eigh(a, eigvals_only=True), np.linalg.eigvalsh(a), tol=1e-5)


def test_eigh_reads_one_triangle():
    """With symmetrize_input=False only the `lower` (UPLO="L") or upper
    triangle is read: junk in the other one changes nothing."""
    lower_only = np.tril(ODD) + np.triu(np.full_like(ODD, 7), 1)
    upper_only = np.triu(ODD) + np.tril(np.full_like(ODD, 7), -1)
    expected = np.linalg.eigvalsh(ODD)
    check(lax.linalg.eigh(lower_only, symmetrize_input=False)[1], expected, tol=1e-5)
    check(lax.linalg.eigh(upper_only, lower=False, symmetrize_input=False)[1], expected, tol=1e-5)
    check(jnp.linalg.eigvalsh(upper_only, UPLO="U", symmetrize_input=False), expected, tol=1e-5)
    _check_decomposition(ODD, *lax.linalg.eigh(lower_only, symmetrize_input=False))


def test_repeated_eigenvalues():
    """Eigenvalues exact to rounding, and an orthonormal basis of each
    eigenspace, for the identity, diagonal matrices and Q diag(1, 1, 2, 2) Qᵀ."""
    q, _ = np.linalg.qr(RNG.standard_normal((4, 4)))
    batch = np.stack([np.eye(4), q @ np.diag([1.0, 1, 2, 2]) @ q.T]).astype(np.float32)
    v, w = lax.linalg.eigh(batch)
    check(w, [[1, 1, 1, 1], [1, 1, 2, 2]], tol=4 * EPS)
    _check_decomposition(batch, v, w)
    diagonal = np.diag([2.0, 1, 2, 0.5, 1]).astype(np.float32)
    v, w = lax.linalg.eigh(diagonal)
    np.testing.assert_array_equal(np.asarray(w), [0.5, 1, 1, 2, 2])
    _check_decomposition(diagonal, v, w)


def test_a_zero_matrix_has_zero_eigenvalues_and_the_identity_gradient():
    """Its scale was 2^minexp, an exp2 that flushed to 0: 0 / 0 gave NaN
    eigenvalues and gradients (found by a fuzzer)."""
    zero = np.zeros((4, 4), np.float32)
    np.testing.assert_array_equal(np.asarray(jnp.linalg.eigvalsh(zero)), np.zeros(4))
    gradient = irax.grad(lambda a: jnp.sum(jnp.linalg.eigvalsh(a)))(zero)
    np.testing.assert_array_equal(np.asarray(gradient), jax.grad(lambda a: jax.numpy.linalg.eigvalsh(a).sum())(zero))


def test_a_matrix_with_a_nan_is_all_nan_as_jax():
    """The rotations that never touched the NaN left some eigenvalues and
    eigenvector entries finite (found by a fuzzer); JAX's are all NaN. The
    other matrices of the batch are as they were."""
    a = BATCH.copy()
    a[0, 1, 1] = np.nan
    w, v = jnp.linalg.eigh(a)
    assert np.isnan(np.asarray(w[0])).all() and np.isnan(np.asarray(v[0])).all()
    assert np.isnan(np.asarray(jax.numpy.linalg.eigh(a)[0][0])).all()
    _check_decomposition(BATCH[1], np.asarray(v[1]), np.asarray(w[1]))


def test_subset_by_index_keeps_those_eigenpairs():
    v, w = lax.linalg.eigh(BATCH)
    v_sub, w_sub = lax.linalg.eigh(BATCH, subset_by_index=(1, 3))
    np.testing.assert_array_equal(np.asarray(w_sub), np.asarray(w)[..., 1:3])
    np.testing.assert_array_equal(np.asarray(v_sub), np.asarray(v)[..., 1:3])
    with pytest.raises(ValueError, match="subset_by_index must be"):
        lax.linalg.eigh(BATCH, subset_by_index=(2, 5))


def test_errors_as_jax():
    with pytest.raises(ValueError) as expected:
        jax.lax.linalg.eigh(np.ones((3, 4), np.float32), symmetrize_input=False)
    # JAX's message, but for "shape " before the tuple (as irax's other factorizations say it)
    with pytest.raises(ValueError, match=re.escape(str(expected.value).replace("got shape", "got"))):
        lax.linalg.eigh(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match=re.escape("UPLO must be one of None, 'L', or 'U', got X")):
        jnp.linalg.eigh(ODD, UPLO="X")
    with pytest.raises(NotImplementedError, match="Only the b=None case"):
        irax.scipy.linalg.eigh(ODD, ODD)


def _weighted_square_of_eigenvectors(m, w, v):
    """Σ W_ij v_ij²: the same for either sign of each eigenvector."""
    return (v * v * W5).sum()


LOSSES = {  # name -> the loss as a function of (numpy module, w, v)
    "eigenvalues": lambda m, w, v: (w * W5[0]).sum(),
    "eigenvectors": _weighted_square_of_eigenvectors,
}


@pytest.mark.parametrize("name", LOSSES)
def test_gradient_matches_jax_and_finite_differences(name):
    """The gradient of a loss of w, and of a sign-invariant one of V, as
    jax.grad's, and its directional derivative as a central difference
    (of NumPy's float64 eigh, (a + aᵀ)/2 as eigh reads it)."""
    loss = LOSSES[name]
    grad = irax.grad(lambda a: loss(jnp, *jnp.linalg.eigh(a)))(ODD)
    check(grad, jax.grad(lambda a: loss(jjnp, *jjnp.linalg.eigh(a)))(ODD), tol=1e-4)
    direction = RNG.standard_normal((5, 5))
    step = 1e-6

    def at(t):
        a = ODD + t * direction
        return loss(np, *np.linalg.eigh((a + a.T) / 2))

    np.testing.assert_allclose(np.sum(np.asarray(grad) * direction), (at(step) - at(-step)) / (2 * step), rtol=1e-4)


def test_eigenvalue_gradient_at_repeated_eigenvalues_is_finite_as_jax():
    """V's derivative is undefined there, but a loss of w alone has JAX's gradient, not NaN."""
    a = np.diag([1.0, 1, 2, 2, 3]).astype(np.float32)
    check(irax.grad(lambda a: (jnp.linalg.eigvalsh(a) * W5[0]).sum())(a),
          jax.grad(lambda a: (jjnp.linalg.eigvalsh(a) * W5[0]).sum())(a), tol=1e-5)


def test_jvp_of_eigenvalues_is_the_diagonal_of_vt_da_v():
    tangent = _symmetric((2, 4, 4))
    (w, _), (dw, _) = irax.jvp(lambda a: tuple(jnp.linalg.eigh(a)), (BATCH,), (tangent,))
    v = np.asarray(jnp.linalg.eigh(BATCH).eigenvectors)
    check(dw, np.einsum("...ji,...jk,...ki->...i", v, tangent, v), tol=1e-5)


def test_eigh_float64_in_x64_mode():
    with x64_mode(True):
        a = ODD.astype(np.float64)
        v, w = lax.linalg.eigh(a)
        assert v.dtype == w.dtype == np.float64
        _check_decomposition(a, v, w, tol=8 * np.finfo(np.float64).eps)


def test_multivariate_normal_eigh_draws_as_jax():
    """mean + V sqrt(w) z, z JAX's normal draws for the key: JAX's numbers
    where V is fixed (a diagonal cov); elsewhere the same formula, with
    eigenvector signs that are a convention (LAPACK's or irax's) F Fᵀ = cov
    does not fix. A singular cov works too."""
    mean = np.arange(5, dtype=np.float32)
    z = np.asarray(jax.random.normal(jax.random.key(0), (3, 5)))
    diagonal = np.diag([4.0, 1, 9, 0.25, 2]).astype(np.float32)
    draws = irax.random.multivariate_normal(irax.random.key(0), mean, diagonal, (3,), method="eigh")
    check(draws, jax.random.multivariate_normal(jax.random.key(0), mean, diagonal, (3,), method="eigh"), tol=1e-5)
    singular = ODD @ ODD.T
    singular[:, 0] = singular[0, :] = 0
    for cov in (ODD @ ODD.T + np.eye(5, dtype=np.float32), singular):
        draws = irax.random.multivariate_normal(irax.random.key(0), mean, cov, (3,), method="eigh")
        w, v = jnp.linalg.eigh(cov)
        factor = np.asarray(v) * np.sqrt(np.maximum(np.asarray(w), 0))
        np.testing.assert_allclose(factor @ factor.T, cov, atol=1e-5)
        check(draws, mean + z @ factor.T, tol=1e-5)


# The kernels that compute eigh on each platform: on the CPU (real matrices) the tridiagonal reduction and the QL
# sweeps (lax_eigh_tridiagonal.py), elsewhere Jacobi's sweeps.
EIGH_KERNELS = {"cpu": ("symmetric_tridiagonal", "tridiagonal_ql")}
JACOBI_KERNELS = ("eigh_sweep",)


def _kernel_calls(text, kernel):
    """How many calls in `text` call a function marked as `kernel`."""
    functions = re.findall(r'func\.func private @(\w+)\([^\n]*irax\.kernel = "' + kernel + '"', text)
    return sum(len(re.findall(rf"call @{name}\(", text)) for name in functions)


def _platform():
    return jnp.zeros(1).device.platform


def test_the_gradient_runs_the_eigendecomposition_once():
    """eigh's custom_jvp rule computes the eigendecomposition again; autodiff
    reads the call's results instead and drop-unread-work erases the copy
    (it ran twice: two while loops of Jacobi sweeps)."""
    grad = irax.jit(irax.grad(lambda a: (jnp.linalg.eigh(a)[0] * W5[0]).sum()))
    text = grad.lower(ODD).as_text("optimized")
    for kernel in EIGH_KERNELS.get(_platform(), JACOBI_KERNELS):
        assert _kernel_calls(text, kernel) == 1, kernel


def test_the_cpu_runs_eigh_as_native_kernels():
    """On the CPU a real eigh is a Householder reduction to tridiagonal form
    and QL sweeps, each one dispatch of native loops (jit(eigh) of 256x256
    float32: 33 -> ~3.5 ms; Jacobi's sweeps before); elsewhere a Jacobi
    sweep is the kernel "eigh_sweep". vmap keeps each one kernel."""
    from irax.backends import cpu
    a = _symmetric((2, 7, 7))  # an odd n: (Jacobi's) zero row and column
    eigh = irax.jit(irax.vmap(jnp.linalg.eigh))
    text = eigh.lower(a).as_text("optimized")
    for kernel in EIGH_KERNELS.get(_platform(), JACOBI_KERNELS):
        assert text.count(f'irax.kernel = "{kernel}"') == 1, kernel
    if _platform() == "cpu":
        native = cpu.backend.prepare(text)
        assert "flow.dispatch.region" in native and "irax.kernel" not in native
    w, v = eigh(a)
    _check_decomposition(a, v, w)
    check(w, jjnp.linalg.eigvalsh(a), tol=1e-5)
