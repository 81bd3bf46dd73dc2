"""The general eigendecomposition (irax.lax.linalg.eig: Hessenberg
reduction, complex shifted QR, back substitution) and what is built on it:
eigenvalues against NumPy's as sets (the order is the Schur form's, not
LAPACK's), A v = λ v and uᴴ A = λ uᴴ with geev's normalisation, the
Hessenberg and Schur forms, derivatives against finite differences and
jax; then jnp.roots, jnp.polyfit and jax.scipy.linalg's matrix functions
(expm, expm_frechet, sqrtm, funm, polar, solve_sylvester), eigh_tridiagonal,
rsf2csf, qr_multiply and special matrices.

Few shapes carry the eigen-solver tests (each is a slow compile, more so on
Vulkan): a real batch (2, 4, 4), a complex 4x4, a (4, 4, 4) batch of
awkward matrices and a 5x5.
"""
import re

import numpy as np
import pytest
import scipy.linalg

import irax
import irax.numpy as jnp
import irax.scipy.linalg
from irax import lax

jax = pytest.importorskip("jax")
jjnp = jax.numpy

from helpers import check, x64_mode  # noqa: E402

RNG = np.random.default_rng(0)
BATCH = RNG.standard_normal((2, 4, 4)).astype(np.float32)
COMPLEX = (RNG.standard_normal((4, 4)) + 1j * RNG.standard_normal((4, 4))).astype(np.complex64)
FIVE = RNG.standard_normal((5, 5)).astype(np.float32)
AWKWARD = np.stack([
    np.eye(4),  # one eigenvalue four times, any basis
    np.zeros((4, 4)),
    np.eye(4) * 2 + np.eye(4, k=1),  # a Jordan block: one eigenvector
    np.kron(np.eye(2), [[0, 1], [-1, 0]]) + np.diag([0, 0, 3, 3]),  # ±i and 3 ± i: exact complex pairs
]).astype(np.float32)
EPS = np.finfo(np.float32).eps


def _close(got, expected, tol):
    """check() for complex values too: same shape and dtype kind, close."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def _check_same_set(w, expected, tol):
    """w and expected equal as multisets: each of either has a partner in the other within tol."""
    w, expected = np.asarray(w), np.asarray(expected)
    assert w.shape == expected.shape
    distance = np.abs(w[..., :, None] - expected[..., None, :])
    assert distance.min(axis=-1).max() <= tol and distance.min(axis=-2).max() <= tol, (w, expected)


def _check_eigenvectors(a, w, vl, vr, tol):
    """A vr = vr diag(w), vlᴴ A = diag(w) vlᴴ, columns of unit norm, each
    with its largest component real and positive."""
    a, w, vl, vr = (np.asarray(t, np.complex128) for t in (a, w, vl, vr))
    scale = np.abs(a).max()
    np.testing.assert_allclose(a @ vr - vr * w[..., None, :], 0, atol=tol * scale)
    vl_h = np.conj(np.swapaxes(vl, -1, -2))
    np.testing.assert_allclose(vl_h @ a - w[..., :, None] * vl_h, 0, atol=tol * scale)
    for v in (vl, vr):
        np.testing.assert_allclose(np.linalg.norm(v, axis=-2), 1, rtol=tol)
        top = np.take_along_axis(v, np.abs(v).argmax(axis=-2)[..., None, :], axis=-2)
        np.testing.assert_allclose(top.imag, 0, atol=tol)
        assert (top.real > 0).all()


@pytest.mark.parametrize("a", [BATCH, COMPLEX], ids=["real batch", "complex"])
def test_eig_matches_numpy(a):
    w, vl, vr = lax.linalg.eig(a)
    assert (w.dtype, vl.dtype, vr.dtype) == (np.complex64,) * 3
    assert (w.shape, vl.shape, vr.shape) == (a.shape[:-1], a.shape, a.shape)
    _check_same_set(w, np.linalg.eigvals(a), tol=20 * EPS)
    _check_eigenvectors(a, w, vl, vr, tol=20 * EPS)
    result = jnp.linalg.eig(a)
    assert type(result).__name__ == "EigResult" and result._fields == ("eigenvalues", "eigenvectors")
    np.testing.assert_array_equal(np.asarray(result.eigenvalues), np.asarray(w))
    np.testing.assert_allclose(np.asarray(result.eigenvectors), np.asarray(vr), atol=4 * EPS)
    np.testing.assert_allclose(np.asarray(jnp.linalg.eigvals(a)), np.asarray(w), atol=4 * EPS)


def test_eig_of_awkward_matrices():
    """Repeated eigenvalues, a zero matrix, a defective (Jordan) one, exact
    complex pairs: eigenvalues exact to rounding, and finite eigenvectors
    (the Jordan block's all parallel, as LAPACK's)."""
    w, vl, vr = lax.linalg.eig(AWKWARD)
    _check_same_set(w, [[1] * 4, [0] * 4, [2] * 4, [1j, -1j, 3 + 1j, 3 - 1j]], tol=8 * EPS)
    assert np.isfinite(np.asarray(vr)).all() and np.isfinite(np.asarray(vl)).all()
    _check_eigenvectors(AWKWARD, w, vl, vr, tol=20 * EPS)
    jordan = np.asarray(vr)[2]
    np.testing.assert_allclose(np.abs(jordan[0]), 1, rtol=1e-6)  # every column is e_0


def test_hessenberg_and_schur():
    """lax.linalg.hessenberg is LAPACK's gehrd as JAX returns it; Q H Qᵀ = A
    (scipy.linalg.hessenberg), and the complex Schur form Z T Zᴴ = A."""
    h, taus = lax.linalg.hessenberg(FIVE)
    h_jax, taus_jax = jax.lax.linalg.hessenberg(FIVE)
    check(h, h_jax, tol=1e-5)
    check(taus, taus_jax, tol=1e-5)
    h, q = irax.scipy.linalg.hessenberg(FIVE, calc_q=True)
    h, q = np.asarray(h), np.asarray(q)
    assert (np.tril(h, -2) == 0).all()
    np.testing.assert_allclose(q @ h @ q.T, FIVE, atol=1e-5)
    t, z = irax.scipy.linalg.schur(FIVE, output="complex")
    assert t.dtype == z.dtype == np.complex64
    t, z = np.asarray(t), np.asarray(z)
    assert (np.tril(t, -1) == 0).all()
    np.testing.assert_allclose(z @ t @ z.conj().T, FIVE, atol=1e-5)
    np.testing.assert_allclose(z.conj().T @ z, np.eye(5), atol=1e-5)
    _check_same_set(np.diag(t), np.linalg.eigvals(FIVE), tol=1e-5)
    (t_only,) = lax.linalg.schur(FIVE.astype(np.complex64), compute_schur_vectors=False)
    np.testing.assert_allclose(np.asarray(t_only), t, atol=1e-6)


def test_errors_as_jax():
    with pytest.raises(ValueError) as expected:
        jax.lax.linalg.eig(np.ones((3, 4), np.float32))
    with pytest.raises(ValueError, match=re.escape(str(expected.value))):
        lax.linalg.eig(np.ones((3, 4), np.float32))
    with pytest.raises(TypeError, match="floating-point or complex"):
        lax.linalg.eig(np.ones((3, 3), np.int32))
    with pytest.raises(ValueError, match="Expected 'output' to be either 'real' or 'complex'"):
        irax.scipy.linalg.schur(FIVE, output="x")
    with pytest.raises(NotImplementedError, match="complex Schur form only"):
        irax.scipy.linalg.schur(FIVE)


def test_eigenvalue_derivatives_match_finite_differences_and_jax():
    """dλ = uᴴ dA v / uᴴ v (JAX's diag(V⁻¹ dA V)), against a central difference
    of NumPy's float64 eigenvalues; the gradient of a real loss of them as
    jax.grad's; eigenvector tangents as JAX's (enable_eigvec_derivs), up to
    each column's sign, which the normalisations leave to the order of work."""
    a, direction = BATCH[0], RNG.standard_normal((4, 4)).astype(np.float32)
    w, dw = irax.jvp(jnp.linalg.eigvals, (a,), (direction,))
    step = 1e-6

    def at(t):  # eigenvalues of a + t direction, in w's order
        moved = np.linalg.eigvals(a.astype(np.float64) + t * direction)
        return moved[np.abs(moved[None, :] - np.asarray(w)[:, None]).argmin(axis=1)]

    np.testing.assert_allclose(np.asarray(dw), (at(step) - at(-step)) / (2 * step), atol=1e-4)

    def loss(m):
        return lambda x: (m.real(m.linalg.eigvals(x)) ** 2 + m.imag(m.linalg.eigvals(x))).sum()

    check(irax.grad(loss(jnp))(a), jax.grad(loss(jjnp))(a), tol=1e-4)
    (w, v), (_, dv) = irax.jvp(lambda x: tuple(lax.linalg.eig(x, compute_left_eigenvectors=False)), (a,), (direction,))
    (w_jax, v_jax), (_, dv_jax) = jax.jvp(
        lambda x: tuple(jax.lax.linalg.eig(x, compute_left_eigenvectors=False, enable_eigvec_derivs=True)),
        (a,), (direction,))
    order = np.abs(np.asarray(w)[:, None] - np.asarray(w_jax)[None, :]).argmin(axis=1)
    sign = np.sign(np.real(np.sum(np.conj(np.asarray(v_jax)[:, order]) * np.asarray(v), axis=0)))
    np.testing.assert_allclose(np.asarray(v), np.asarray(v_jax)[:, order] * sign, atol=1e-5)
    np.testing.assert_allclose(np.asarray(dv), np.asarray(dv_jax)[:, order] * sign, atol=1e-4)


def test_eigvals_under_vmap():
    w = irax.vmap(jnp.linalg.eigvals)(BATCH)
    _check_same_set(w, np.linalg.eigvals(BATCH), tol=20 * EPS)


def test_eig_float64_in_x64_mode():
    with x64_mode(True):
        a = BATCH.astype(np.float64)
        w, v = jnp.linalg.eig(a)
        assert w.dtype == v.dtype == np.complex128
        _check_same_set(w, np.linalg.eigvals(a), tol=1e-13)
        np.testing.assert_allclose(a @ np.asarray(v) - np.asarray(v) * np.asarray(w)[..., None, :], 0, atol=1e-13)
        c = COMPLEX.astype(np.complex128)  # complex128 (its constants once made IREE fail)
        w, v = jnp.linalg.eig(c)
        assert w.dtype == v.dtype == np.complex128
        np.testing.assert_allclose(c @ np.asarray(v) - np.asarray(v) * np.asarray(w), 0, atol=1e-13)


# ---------------------------------------------------------------------------
# roots, poly, polyfit

def test_roots_as_numpy_and_jax():
    p = np.array([0, 0, 1, -3, 2], np.float32)  # (x - 1)(x - 2), two leading zeros
    _check_same_set(jnp.roots(p), np.roots(p), tol=1e-5)
    assert jnp.roots(p).dtype == np.complex64 and jnp.roots(np.array([5.0])).shape == (0,)
    _check_same_set(jnp.roots(np.array([1, 0, 0, -1])), np.roots([1, 0, 0, -1]), tol=1e-5)  # ints; cube roots of 1
    kept = np.asarray(irax.jit(lambda p: jnp.roots(p, strip_zeros=False))(p))
    _check_same_set(kept[:2], [1, 2], tol=1e-5)
    assert np.isnan(kept[2:]).all()  # the two roots the leading zeros stand for
    with pytest.raises(irax.errors.ConcretizationTypeError, match="pass strip_zeros=False"):
        irax.jit(jnp.roots)(p)
    with pytest.raises(ValueError, match="Input must be a rank-1 array"):
        jnp.roots(np.ones((2, 2)))
    characteristic = jnp.poly(BATCH[0])  # of a matrix: of its eigenvalues
    assert characteristic.dtype == np.complex64
    _close(characteristic, np.poly(BATCH[0].astype(np.float64)), tol=1e-4)


def test_polyfit_as_jax():
    x = np.linspace(0, 1, 8).astype(np.float32)
    y = (x ** 2 + 0.1 * np.sin(7 * x)).astype(np.float32)
    w = (1 + x).astype(np.float32)
    check(jnp.polyfit(x, y, 2), np.polyfit(x, y, 2), tol=1e-4)
    for kwargs in ({"full": True}, {"w": w, "cov": True}, {"cov": "unscaled"}):
        for ys in (y, np.stack([y, 2 * y + 1], axis=1)):
            for got, expected in zip(jnp.polyfit(x, ys, 2, **kwargs), jjnp.polyfit(x, ys, 2, **kwargs)):
                check(got, expected, tol=1e-4)
                assert got.weak_type == expected.weak_type  # full=True's rcond is weakly typed
    with pytest.raises(ValueError, match="expected deg >= 0"):
        jnp.polyfit(x, y, -1)
    with pytest.raises(TypeError, match="expected x and y to have same length"):
        jnp.polyfit(x, y[:3], 1)


# ---------------------------------------------------------------------------
# jax.scipy.linalg

def test_expm_as_scipy_and_differentiable():
    """Each Padé order and several squarings (norms 0.3 to 30), a batch,
    the triangular solve, the Fréchet derivative, and the gradient against
    finite differences."""
    a = BATCH * np.array([0.1, 10], np.float32)[:, None, None]
    expected = np.stack([scipy.linalg.expm(m.astype(np.float64)) for m in a])
    check(irax.scipy.linalg.expm(a), expected, tol=2e-4 * np.abs(expected).max())
    upper = np.triu(a[0])
    check(irax.scipy.linalg.expm(upper, upper_triangular=True), scipy.linalg.expm(upper), tol=1e-5)
    e = RNG.standard_normal((4, 4)).astype(np.float32)
    value, frechet = irax.scipy.linalg.expm_frechet(a[0], e)
    expected_value, expected_frechet = scipy.linalg.expm_frechet(a[0].astype(np.float64), e)
    check(value, expected_value, tol=1e-5)
    check(frechet, expected_frechet, tol=1e-4)
    grad = irax.grad(lambda m: (irax.scipy.linalg.expm(m) * e).sum())(a[0])
    step = 1e-3
    at = [np.sum(scipy.linalg.expm(a[0].astype(np.float64) + t * e) * e) for t in (step, -step)]
    np.testing.assert_allclose(np.sum(np.asarray(grad) * e), (at[0] - at[1]) / (2 * step), rtol=1e-3)


@pytest.mark.parametrize("dtype", [np.float16, "bfloat16"])
def test_expm_of_half_precision_is_jaxs_type_error(dtype):
    """JAX has Padé tables for single and double precision only. (irax
    computed float16 in float32's, and bfloat16 raised NumPy's ValueError.)"""
    a = (np.eye(2) * 0.5).astype(jnp.dtype(dtype))
    for library in (irax, jax):
        with pytest.raises(TypeError, match=f"A.dtype={jnp.dtype(dtype)} is not supported."):
            library.scipy.linalg.expm(a)


def test_sqrtm_and_polar():
    spd = FIVE @ FIVE.T + np.eye(5, dtype=np.float32)
    root = irax.scipy.linalg.sqrtm(spd)
    assert root.dtype == np.complex64
    _close(root, scipy.linalg.sqrtm(spd.astype(np.float64)), tol=1e-4)
    general = np.asarray(irax.scipy.linalg.sqrtm(FIVE))
    np.testing.assert_allclose(general @ general, FIVE, atol=1e-4)
    for side in ("right", "left"):
        u, p = irax.scipy.linalg.polar(BATCH, side=side, method="svd")
        for got, expected in zip((u, p), jax.scipy.linalg.polar(BATCH, side=side, method="svd")):
            check(got, expected, tol=1e-4)


def test_polar_by_qdwh_as_jax():
    """polar's default method is QDWH (lax.linalg.qdwh), for each matrix of a
    batch: a tall or square matrix on the right, a wide one on the left, and
    JAX's NotImplementedError for the others. (irax used the SVD whatever
    the method: the same decomposition to rounding, but not JAX's errors.)"""
    wide = np.ascontiguousarray(np.swapaxes(BATCH[:, :, :3], -1, -2))  # (2, 3, 4)
    for x, side in ((BATCH, "right"), (wide, "left")):
        for got, expected in zip(irax.scipy.linalg.polar(x, side=side), jax.scipy.linalg.polar(x, side=side)):
            check(got, expected, tol=1e-4)
    for library in (irax, jax):
        with pytest.raises(NotImplementedError, match="method='qdwh' only supports mxn matrices"):
            library.scipy.linalg.polar(BATCH, side="left")
        with pytest.raises(ValueError, match="Unknown polar decomposition method foo"):
            library.scipy.linalg.polar(BATCH, method="foo")


@pytest.mark.parametrize("transform", ["grad", "jacfwd", "jit_grad"])
def test_the_schur_form_has_no_derivative_as_in_jax(transform):
    """sqrtm's gradient (its Schur form's) raised DynamicBoundsError (reverse)
    or gave numbers (forward) where JAX says schur has no rule."""
    take = {"grad": lambda L, f: L.grad(f), "jacfwd": lambda L, f: L.jacfwd(f),
            "jit_grad": lambda L, f: L.jit(L.grad(f))}[transform]
    for library in (irax, jax):
        for f in (lambda a: library.scipy.linalg.sqrtm(a).real.sum(),
                  lambda a: library.scipy.linalg.schur(a, output="complex")[0].real.sum()):
            with pytest.raises(NotImplementedError, match="Differentiation rule for 'schur' not implemented"):
                take(library, f)(FIVE)
    # what nothing differentiates still runs: the Schur form of a constant beside a gradient
    check(irax.grad(lambda x: (x * irax.scipy.linalg.sqrtm(FIVE).real).sum())(FIVE),
          jax.grad(lambda x: (x * jax.scipy.linalg.sqrtm(FIVE).real).sum())(FIVE), tol=1e-3)


def test_funm_solve_sylvester_and_eigh_tridiagonal():
    """funm(A, exp) = expm(A) and its error estimate as JAX's; A X + X B = C
    solved as JAX does (NaN where λ(A) + λ(B) ~ 0); the tridiagonal
    eigenvalues as JAX's, all or by index, and eigenvectors."""
    value = irax.scipy.linalg.funm(FIVE, jnp.exp)
    assert value.dtype == np.complex64
    _close(value, scipy.linalg.expm(FIVE.astype(np.float64)), tol=1e-4)
    _, error = irax.scipy.linalg.funm(FIVE, jnp.exp, disp=False)
    np.testing.assert_allclose(error, jax.scipy.linalg.funm(FIVE, jjnp.exp, disp=False)[1], rtol=1e-3)
    c = RNG.standard_normal((4, 5)).astype(np.float32)
    x = irax.scipy.linalg.solve_sylvester(BATCH[0], FIVE, c)
    assert x.dtype == np.float32
    np.testing.assert_allclose(BATCH[0] @ np.asarray(x) + np.asarray(x) @ FIVE, c, atol=1e-4)
    check(x, jax.scipy.linalg.solve_sylvester(BATCH[0], FIVE, c), tol=1e-4)
    singular = irax.scipy.linalg.solve_sylvester(np.eye(4, dtype=np.float32), -np.eye(5, dtype=np.float32), c)
    assert np.isnan(np.asarray(singular)).all()
    d, e = FIVE[0], FIVE[1, :4]
    expected = jax.scipy.linalg.eigh_tridiagonal(d, e, eigvals_only=True)
    check(irax.scipy.linalg.eigh_tridiagonal(d, e, eigvals_only=True), expected, tol=1e-5)
    check(irax.scipy.linalg.eigh_tridiagonal(d, e, eigvals_only=True, select="i", select_range=(1, 2)),
          expected[1:3], tol=1e-5)
    w, v = irax.scipy.linalg.eigh_tridiagonal(d, e)
    tridiagonal = np.diag(d) + np.diag(e, 1) + np.diag(e, -1)
    np.testing.assert_allclose(tridiagonal @ np.asarray(v), np.asarray(v) * np.asarray(w), atol=1e-5)


def test_rsf2csf_and_qr_multiply_as_scipy_and_jax():
    t, z = scipy.linalg.schur(FIVE.astype(np.float64))  # real: 2x2 blocks for the complex pairs
    t, z = t.astype(np.float32), z.astype(np.float32)
    t_complex, z_complex = irax.scipy.linalg.rsf2csf(t, z)
    for got, expected in zip((t_complex, z_complex), scipy.linalg.rsf2csf(t, z)):
        _close(got, expected, tol=1e-5)
    a, c = FIVE[:, :3], RNG.standard_normal((2, 5)).astype(np.float32)
    for args, kwargs in [((a, c), {}), ((a, c[:, :3].T), {"mode": "left"}), ((a, c[0]), {})]:
        for got, expected in zip(irax.scipy.linalg.qr_multiply(*args, **kwargs),
                                 jax.scipy.linalg.qr_multiply(*args, **kwargs)):
            check(got, expected, tol=1e-5)


SPECIAL = {  # name -> arguments (float32 arrays, or sizes)
    "toeplitz": ([1, 2, 3, 4], [1, 5, 6]), "hankel": ([1, 2, 3, 4], [4, 5, 6]), "circulant": ([1, 2, 3],),
    "companion": ([2, 3, 4, 5],), "leslie": ([0.1, 2, 1.5], [0.2, 0.8]), "fiedler": ([1, 4, 12, 45],),
    "fiedler_companion": ([1, 2, 3, 4, 5, 6],), "block_diag": ([[1, 2]], [[3]], [[4], [5]]),
    "hilbert": 4, "invhilbert": 4, "pascal": 5, "invpascal": 5, "helmert": 4, "hadamard": 4, "dft": 5,
}


def _arguments(name):
    spec = SPECIAL[name]
    return (spec,) if isinstance(spec, int) else tuple(np.asarray(a, np.float32) for a in spec)


@pytest.mark.parametrize("name", SPECIAL)
def test_special_matrices_as_jax(name):
    got = getattr(irax.scipy.linalg, name)(*_arguments(name))
    expected = getattr(jax.scipy.linalg, name)(*_arguments(name))
    assert got.dtype == expected.dtype
    _close(got, expected, tol=1e-5)


def test_special_matrices_batched_and_modes():
    c = RNG.standard_normal((2, 4)).astype(np.float32)
    check(irax.scipy.linalg.toeplitz(c, c[0, :3]), jax.scipy.linalg.toeplitz(c, c[0, :3]))
    for mode in ("full", "valid", "same"):
        check(irax.scipy.linalg.convolution_matrix(c[0], 3, mode), jax.scipy.linalg.convolution_matrix(c[0], 3, mode))
