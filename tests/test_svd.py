"""The singular value decomposition (irax.lax.linalg.svd) and what is built
on it: values against NumPy, U S Vᵀ = A and orthonormal factors, rank
deficiency, pinv/lstsq/matrix_rank/cond/norms, errors as JAX, gradients
against jax.grad and finite differences, multivariate_normal(method="svd").

Two shapes carry most tests, a tall batch (2, 4, 3) and a wide (3, 5), so
programs are few.
"""
import functools
import re

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax import lax

jax = pytest.importorskip("jax")
jjnp = jax.numpy

from helpers import check, x64_mode  # noqa: E402

RNG = np.random.default_rng(0)
TALL = RNG.standard_normal((2, 4, 3)).astype(np.float32)
WIDE = RNG.standard_normal((3, 5)).astype(np.float32)
SHAPES = {"tall": TALL, "wide": WIDE}


def rank_deficient():
    """A tall batch (a zero column; rank 1) and a wide matrix of rank 1 with zero columns."""
    tall = TALL.copy()
    tall[0, :, 1] = 0
    tall[1] = np.outer(TALL[1, :, 0], [1, -2, 3])
    wide = np.zeros_like(WIDE)
    wide[:, 1], wide[:, 3] = WIDE[:, 0], 2 * WIDE[:, 0]
    return {"tall": tall, "wide": wide}


def assert_orthonormal_columns(q, tol=1e-5):
    q = np.asarray(q)
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(q.shape[-1]), q.shape[:-2] +
                                                                           (q.shape[-1],) * 2), atol=tol)


def assert_svd(a, u, s, vt, full_matrices):
    expected = jax.lax.linalg.svd(a, full_matrices=full_matrices)
    assert [x.shape for x in (u, s, vt)] == [x.shape for x in expected]
    assert u.dtype == s.dtype == vt.dtype == a.dtype
    check(s, np.linalg.svd(a, compute_uv=False), tol=1e-5)
    assert np.all(np.diff(np.asarray(s), axis=-1) <= 0), "singular values descend"
    k = s.shape[-1]
    u, s, vt = np.asarray(u), np.asarray(s), np.asarray(vt)
    np.testing.assert_allclose((u[..., :, :k] * s[..., None, :]) @ vt[..., :k, :], a, atol=2e-5)
    assert_orthonormal_columns(u)
    assert_orthonormal_columns(np.swapaxes(vt, -1, -2))


def test_the_cpu_runs_the_jacobi_sweeps_as_native_code():
    """A sweep is the kernel "svd_sweep": on the CPU one dispatch of native
    loops (backends/cpu_kernels.py), where its n - 1 rounds were a host loop
    step each (jit(svd) of 64x64: 10.8 -> 0.6 ms). vmap keeps it one kernel.
    (The CPU takes Jacobi for the reduced U of a matrix over 4 times taller
    than wide: lax_svd._bidiagonal_applies.)"""
    from irax.backends import cpu
    a = RNG.standard_normal((2, 13, 3)).astype(np.float32)  # an odd n: a zero column
    svd = irax.jit(irax.vmap(functools.partial(jnp.linalg.svd, full_matrices=False)))
    text = svd.lower(a).as_text("optimized")
    assert text.count('irax.kernel = "svd_sweep"') == 1
    native = cpu.backend.prepare(text)
    assert "flow.dispatch.region" in native and "irax.kernel" not in native
    assert_svd(a, *svd(a), full_matrices=False)


@pytest.mark.parametrize("full_matrices", [True, False])
@pytest.mark.parametrize("shape", SHAPES)
def test_svd_matches_numpy_and_reconstructs(shape, full_matrices):
    a = SHAPES[shape]
    assert_svd(a, *lax.linalg.svd(a, full_matrices=full_matrices), full_matrices)
    check(lax.linalg.svd(a, compute_uv=False), np.linalg.svd(a, compute_uv=False), tol=1e-5)


@pytest.mark.parametrize("shape", SHAPES)
def test_rank_deficient_svd_has_orthonormal_factors(shape):
    """Zero singular values have no vectors of their own: U is completed to
    an orthonormal set (and to a square one with full_matrices)."""
    a = rank_deficient()[shape]
    u, s, vt = jnp.linalg.svd(a)
    assert_svd(a, u, s, vt, True)
    assert np.asarray(jnp.linalg.matrix_rank(a)).tolist() == np.linalg.matrix_rank(a).tolist()


def test_numpy_style_api():
    result = jnp.linalg.svd(TALL, full_matrices=False)
    assert type(result).__name__ == "SVDResult" and result._fields == ("U", "S", "Vh")
    check(result.S, np.linalg.svd(TALL, compute_uv=False), tol=1e-5)
    check(jnp.linalg.svdvals(WIDE), np.linalg.svd(WIDE, compute_uv=False), tol=1e-5)
    u, s, vh = irax.scipy.linalg.svd(WIDE)
    assert_svd(WIDE, u, s, vh, True)
    check(jnp.linalg.svd(np.arange(12).reshape(4, 3), compute_uv=False),  # integers promote, as in JAX
          np.linalg.svd(np.arange(12.0).reshape(4, 3), compute_uv=False), tol=1e-5)
    symmetric = TALL[0, :3] + TALL[0, :3].T
    check(jnp.linalg.svd(TALL[0, :3], hermitian=True, compute_uv=False),
          jjnp.linalg.svd(TALL[0, :3], hermitian=True, compute_uv=False), tol=1e-5)
    check(jnp.linalg.svd(symmetric, hermitian=True, compute_uv=False), np.linalg.svd(symmetric, compute_uv=False),
          tol=1e-5)


def test_subset_by_index_keeps_those_singular_values():
    u, s, vt = lax.linalg.svd(TALL, full_matrices=False, subset_by_index=(1, 3))
    full = lax.linalg.svd(TALL, full_matrices=False)
    assert (u.shape, s.shape, vt.shape) == ((2, 4, 2), (2, 2), (2, 2, 3))
    check(s, np.asarray(full[1])[..., 1:3])


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (2, 0, 0)])
@pytest.mark.parametrize("full_matrices", [True, False])
def test_empty_matrices_as_jax(shape, full_matrices):
    a = np.zeros(shape, np.float32)
    ours, theirs = lax.linalg.svd(a, full_matrices=full_matrices), jax.lax.linalg.svd(a, full_matrices=full_matrices)
    for x, y in zip(ours, theirs):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("shape", [(0, 2, 2), (0, 2, 3), (0, 0)])
def test_a_batch_of_no_matrices_as_jax(shape):
    """A batch of size 0 has no largest entry to sweep towards (a max over
    none); a complex one has float singular values, as JAX's."""
    for dtype in (np.float32, np.complex64):
        a = np.ones(shape, dtype)
        cases = [lambda m: m.numpy.linalg.svd(a), lambda m: m.numpy.linalg.svd(a, full_matrices=False),
                 lambda m: m.numpy.linalg.svd(a, compute_uv=False), lambda m: m.numpy.linalg.pinv(a),
                 lambda m: m.numpy.linalg.matrix_rank(a), lambda m: m.numpy.linalg.norm(a, 2, axis=(-2, -1)),
                 lambda m: m.numpy.linalg.norm(a, "nuc", axis=(-2, -1))]
        for case in cases:
            try:
                theirs = case(jax)
            except ValueError as e:  # matrix_rank of a 0x0: the max of no singular values
                with pytest.raises(ValueError, match=re.escape(str(e))):
                    case(irax)
                continue
            for x, y in zip(jax.tree_util.tree_leaves(case(irax)), jax.tree_util.tree_leaves(theirs)):
                assert (x.shape, x.dtype) == (y.shape, y.dtype), (dtype, x, y)
                np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("shape", SHAPES)
def test_pinv_lstsq_rank_cond_norms_match_numpy_and_jax(shape):
    check(jnp.linalg.pinv(SHAPES[shape]), jjnp.linalg.pinv(SHAPES[shape]), tol=1e-4)
    for a in (SHAPES[shape], rank_deficient()[shape]):
        # (float32 rounding leaves a rank-deficient a's zero singular values ~1e-7 s_max, which
        # LAPACK may keep; irax's pinv cuts them off as NumPy's does in float64)
        check(jnp.linalg.pinv(a), np.linalg.pinv(a.astype(np.float64), rcond=1e-5), tol=1e-4)
        assert np.asarray(jnp.linalg.matrix_rank(a)).tolist() == np.linalg.matrix_rank(a).tolist()
        for ord in (2, -2, "nuc"):
            check(jnp.linalg.norm(a, ord, axis=(-2, -1)), np.linalg.norm(a, ord, axis=(-2, -1)), tol=1e-5)
    a = SHAPES[shape]
    check(jnp.linalg.cond(a), np.linalg.cond(a), tol=1e-4)
    check(jnp.linalg.cond(a, -2), np.linalg.cond(a, -2), tol=1e-4)
    check(jnp.linalg.matrix_norm(a, ord="nuc", keepdims=True), np.linalg.norm(a, "nuc", axis=(-2, -1),
                                                                                keepdims=True), tol=1e-5)
    check(jnp.linalg.norm(np.swapaxes(a, -1, -2), 2, axis=(-1, -2)), np.linalg.norm(a, 2, axis=(-2, -1)), tol=1e-5)


def test_lstsq_matches_numpy():
    a, b = TALL[0], WIDE[:, :4].T  # a 4x3 system with three right-hand sides
    for rhs in (b, b[:, 0]):
        x, resid, rank, s = jnp.linalg.lstsq(a, rhs)
        expected = np.linalg.lstsq(a, rhs)
        check(x, expected[0], tol=1e-4)
        check(resid, expected[1], tol=1e-4)
        assert int(rank) == expected[2] and rank.dtype == jjnp.linalg.lstsq(a, rhs)[2].dtype
        check(s, expected[3], tol=1e-5)
    deficient = rank_deficient()["tall"][1]
    x, _, rank, _ = jnp.linalg.lstsq(deficient, b)
    check(x, np.linalg.lstsq(deficient.astype(np.float64), b, rcond=1e-5)[0], tol=1e-4)  # the least-norm solution
    assert int(rank) == 1
    assert jnp.linalg.lstsq(deficient, b, numpy_resid=True)[1].shape == (0,)


def test_cond_of_a_singular_matrix_is_inf_as_jax():
    a = np.array([[1, 2], [2, 4]], np.float32)
    assert float(jnp.linalg.cond(a, 1)) == float(jjnp.linalg.cond(a, 1)) == np.inf


ERRORS = [
    (lambda m: m.lax.linalg.svd(np.ones(3, np.float32)), TypeError),
    (lambda m: m.lax.linalg.svd(np.ones((3, 3), np.int32)), TypeError),
    (lambda m: m.numpy.linalg.svd(np.ones((3, 4), np.float32), subset_by_index=(0, 1)), ValueError),
    (lambda m: m.numpy.linalg.pinv(np.ones((3, 4), np.float32), rtol=0.1, rcond=0.1), ValueError),
    (lambda m: m.numpy.linalg.matrix_rank(np.ones((3, 4), np.float32), rtol=0.1, tol=0.1), ValueError),
    (lambda m: m.numpy.linalg.lstsq(np.ones((3, 4), np.float32), np.ones(4, np.float32)), ValueError),
    (lambda m: m.numpy.linalg.lstsq(np.ones((2, 3, 4), np.float32), np.ones((2, 3), np.float32)), TypeError),
    (lambda m: m.numpy.linalg.cond(np.ones(3, np.float32)), ValueError),
    (lambda m: m.numpy.linalg.cond(np.ones((3, 4), np.float32), "fro"), ValueError),
    (lambda m: m.numpy.linalg.norm(np.ones((3, 4), np.float32), 3), ValueError),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_as_jax(i):
    fn, kind = ERRORS[i]
    with pytest.raises(kind) as expected:
        fn(jax)
    with pytest.raises(kind, match=re.escape(str(expected.value))):
        fn(irax)


W = {"tall": RNG.standard_normal((2, 4, 3)).astype(np.float32), "wide": RNG.standard_normal((3, 5)).astype(np.float32)}


def _reconstruction(m, a, w):
    u, s, vt = m.linalg.svd(a, full_matrices=False)
    return (((u * s[..., None, :]) @ vt) * w).sum()


LOSSES = {  # each invariant under the signs of singular vector pairs
    "s": lambda m, a, w: (m.linalg.svd(a, compute_uv=False) * w[..., 0, :3]).sum(),
    "s of uv": lambda m, a, w: (m.linalg.svd(a, full_matrices=False)[1] * w[..., 0, :3]).sum(),
    "u squared": lambda m, a, w: (m.linalg.svd(a, full_matrices=False)[0] ** 2 * w[..., :a.shape[-2], :3]).sum(),
    "reconstruction": _reconstruction,
    "pinv": lambda m, a, w: (m.linalg.pinv(a) * np.swapaxes(w, -1, -2)).sum(),
    "nuclear norm": lambda m, a, w: m.linalg.norm(a, "nuc", axis=(-2, -1)).sum(),
}


@pytest.mark.parametrize("loss", LOSSES)
@pytest.mark.parametrize("shape", SHAPES)
def test_gradient_matches_jax(shape, loss):
    a, w, f = SHAPES[shape], W[shape], LOSSES[loss]
    check(irax.grad(lambda a: f(jnp, a, w))(a), jax.grad(lambda a: f(jjnp, a, w))(a), tol=1e-4)


@pytest.mark.parametrize("shape", SHAPES)
def test_full_matrices_tangent_keeps_u_and_v_orthogonal(shape):
    """JAX has no derivative for full_matrices with m != n; irax's turns
    the completing vectors with the others, so d(Uᵀ U) = 0 and A = U S Vᵀ
    differentiates to dA."""
    a, da = SHAPES[shape], W[shape]
    (u, s, vt), (du, ds, dvt) = irax.jvp(lambda a: tuple(lax.linalg.svd(a)), (a,), (da,))
    u, du, vt, dvt = map(np.asarray, (u, du, vt, dvt))
    np.testing.assert_allclose(np.swapaxes(du, -1, -2) @ u + np.swapaxes(u, -1, -2) @ du, 0, atol=1e-5)
    np.testing.assert_allclose(dvt @ np.swapaxes(vt, -1, -2) + vt @ np.swapaxes(dvt, -1, -2), 0, atol=1e-5)
    check(irax.grad(lambda a: _reconstruction(jnp, a, da))(a), da, tol=1e-5)


def test_float64_values_and_gradient_against_finite_differences():
    with x64_mode(True):
        a = WIDE.astype(np.float64)
        u, s, vt = lax.linalg.svd(a)
        assert s.dtype == u.dtype == np.float64
        check(s, np.linalg.svd(a, compute_uv=False), tol=1e-13)
        assert_orthonormal_columns(u, 1e-13)
        loss = lambda a: jnp.linalg.norm(a, "nuc") + jnp.linalg.norm(a, 2)  # noqa: E731
        grad = np.asarray(irax.grad(loss)(a))
        h, basis = 1e-6, np.eye(a.size).reshape((a.size,) + a.shape)
        numeric = [(np.linalg.norm(a + h * e, "nuc") + np.linalg.norm(a + h * e, 2) - np.linalg.norm(a - h * e, "nuc")
                    - np.linalg.norm(a - h * e, 2)) / (2 * h) for e in basis]
        np.testing.assert_allclose(grad.ravel(), numeric, atol=1e-7)


def test_svd_under_jit_and_vmap():
    check(irax.jit(jnp.linalg.svdvals)(TALL), np.linalg.svd(TALL, compute_uv=False), tol=1e-5)
    check(irax.vmap(jnp.linalg.svdvals)(TALL), np.linalg.svd(TALL, compute_uv=False), tol=1e-5)


def test_multivariate_normal_svd_draws_as_jax():
    """mean + U sqrt(s) z, with z JAX's normal draws for the key: the same
    numbers as JAX's but for the signs of U's columns, a convention (LAPACK's
    or irax's) that F Fᵀ = cov does not fix. A singular cov works too."""
    spd = TALL[0].T @ TALL[0] + np.eye(3, dtype=np.float32)
    singular = np.array([[2, 1, 0], [1, 2, 0], [0, 0, 0]], np.float32)
    mean = np.arange(3, dtype=np.float32)
    z = np.asarray(jax.random.normal(jax.random.key(0), (4, 3)))
    for cov in (spd, singular):
        draws = irax.random.multivariate_normal(irax.random.key(0), mean, cov, (4,), method="svd")
        u, s, _ = jnp.linalg.svd(cov)
        factor = np.asarray(u) * np.sqrt(np.asarray(s))
        np.testing.assert_allclose(factor @ factor.T, cov, atol=1e-5)
        check(draws, mean + z @ factor.T, tol=1e-5)
        u, s, _ = np.linalg.svd(cov)  # JAX's draws are the same formula with LAPACK's U
        np.testing.assert_allclose(jax.random.multivariate_normal(jax.random.key(0), mean, cov, (4,), method="svd"),
                                   mean + z @ (u * np.sqrt(s)).T, atol=1e-5)
