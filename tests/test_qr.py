"""The QR decomposition (irax.lax.linalg.qr, householder_product,
jnp.linalg.qr, irax.scipy.linalg.qr) and what is built on it
(irax.random.orthogonal, the orthogonal initializers): values and signs
against JAX (LAPACK), the factorization's properties against NumPy,
errors as JAX's, gradients against jax.grad and finite differences.

Few shapes, so programs are few: a tall batch (2, 5, 3), a wide (3, 5),
and the (5, 3) that the initializers draw.
"""
import re

import numpy as np
import pytest

import irax
import irax.frontend.lax_linalg
import irax.numpy as jnp
from irax import lax

jax = pytest.importorskip("jax")
jjnp = jax.numpy

from helpers import check, x64_mode  # noqa: E402

RNG = np.random.default_rng(0)
TALL = RNG.standard_normal((2, 5, 3)).astype(np.float32)
WIDE = RNG.standard_normal((3, 5)).astype(np.float32)
INPUTS = {
    "tall": TALL,
    "wide": WIDE,
    # columns already zero below the diagonal: LAPACK leaves them (tau = 0), negative diagonal and all
    "triangular": np.triu(WIDE) - 2 * np.eye(3, 5, dtype=np.float32),
}


def _check_factorization(q, r, a, full_matrices):
    q, r = np.asarray(q), np.asarray(r)
    k = q.shape[-1]
    assert k == (a.shape[-2] if full_matrices else min(a.shape[-2:]))
    np.testing.assert_allclose(q.swapaxes(-1, -2) @ q, np.broadcast_to(np.eye(k), q.shape[:-2] + (k, k)), atol=1e-5)
    np.testing.assert_allclose(q @ r, a, atol=1e-5)
    np.testing.assert_array_equal(np.tril(r, -1), 0)


@pytest.mark.parametrize("full_matrices", [True, False])
@pytest.mark.parametrize("name", INPUTS)
def test_qr_matches_jax(name, full_matrices):
    a = INPUTS[name]
    q, r = lax.linalg.qr(a, full_matrices=full_matrices)
    expected = jax.lax.linalg.qr(a, full_matrices=full_matrices)
    check(q, expected[0])
    check(r, expected[1])
    _check_factorization(q, r, a, full_matrices)


def test_numpy_and_scipy_modes_match_jax():
    for mode in ["reduced", "complete", "r", "raw"]:
        ours, theirs = jnp.linalg.qr(TALL, mode=mode), jjnp.linalg.qr(TALL, mode=mode)
        for got, want in zip(*((ours, theirs) if mode != "r" else ((ours,), (theirs,)))):
            check(got, want)
    assert isinstance(jnp.linalg.qr(TALL), jnp.linalg.QRResult)
    for mode in ["full", "r", "economic"]:
        ours, theirs = irax.scipy.linalg.qr(WIDE, mode=mode), jax.scipy.linalg.qr(WIDE, mode=mode)
        assert len(ours) == len(theirs)
        for got, want in zip(ours, theirs):
            check(got, want)
    q, r = jnp.linalg.qr(WIDE.astype(np.int32))  # promoted to float, as in JAX
    assert q.dtype == r.dtype == np.float32


def test_householder_product_matches_jax():
    taus = RNG.uniform(0.5, 1.5, (2, 2)).astype(np.float32)  # fewer reflectors than columns
    check(lax.linalg.householder_product(TALL, taus), jax.lax.linalg.householder_product(TALL, taus))


def test_empty_matrices_as_jax():
    for shape, full_matrices in [((0, 3), True), ((2, 4, 0), True), ((2, 4, 0), False)]:
        a = np.zeros(shape, np.float32)
        for got, want in zip(lax.linalg.qr(a, full_matrices=full_matrices),
                             jax.lax.linalg.qr(a, full_matrices=full_matrices)):
            check(got, want)


def _jax_error(fn):
    with pytest.raises(Exception) as caught:
        fn()
    return type(caught.value), str(caught.value)


@pytest.mark.parametrize("call", [
    lambda m: m.lax.linalg.qr(np.ones(3, np.float32)),
    lambda m: m.numpy.linalg.qr(np.ones(3, np.float32)),
    lambda m: m.numpy.linalg.qr(WIDE, mode="bad"),
    lambda m: m.scipy.linalg.qr(WIDE, mode="economical"),
    lambda m: m.lax.linalg.householder_product(WIDE, np.ones(2, np.float32)),
    lambda m: m.lax.linalg.householder_product(TALL[0], np.ones(4, np.float32)),
], ids=["rank-1", "numpy-rank-1", "numpy-mode", "scipy-mode", "householder-wide", "householder-taus"])
def test_errors_as_jax(call):
    kind, message = _jax_error(lambda: call(jax))
    with pytest.raises(kind, match=re.escape(message)):
        call(irax)


def test_unsupported_inputs_raise_clearly():
    with pytest.raises(TypeError, match="int32"):  # JAX: TypeError, "qr does not accept dtype int32"
        lax.linalg.qr(WIDE.astype(np.int32))
    with pytest.raises(NotImplementedError, match="pivoting=False"):
        lax.linalg.qr(WIDE, pivoting=True)
    with pytest.raises(NotImplementedError, match="pivoting=False"):
        irax.scipy.linalg.qr(WIDE, pivoting=True)


def _loss(module, a, full_matrices):
    """A sum weighting every entry of Q and R differently."""
    q, r = module.lax.linalg.qr(a, full_matrices=full_matrices)
    return (q * np.arange(1, q.size + 1).reshape(q.shape) / q.size).sum() + (r * np.cos(np.arange(r.size))
                                                                             .reshape(r.shape)).sum()


@pytest.mark.parametrize("name,full_matrices", [("tall", True), ("tall", False), ("wide", True)])
def test_gradient_matches_jax_and_finite_differences(name, full_matrices):
    a = INPUTS[name]
    grad = irax.grad(lambda a: _loss(irax, a, full_matrices))(a)
    check(grad, jax.grad(lambda a: _loss(jax, a, full_matrices))(a), tol=1e-4)
    direction = RNG.standard_normal(a.shape).astype(np.float32)
    eps = 1e-2
    difference = (_loss(irax, a + eps * direction, full_matrices)
                  - _loss(irax, a - eps * direction, full_matrices)) / (2 * eps)
    np.testing.assert_allclose(float(difference), float((np.asarray(grad) * direction).sum()), rtol=1e-2, atol=1e-2)


def test_ormqr_matches_jax_and_finite_differences():
    """lax.linalg.ormqr (Q c, Qᴴ c, c Q and c Qᴴ from qr's raw reflectors,
    without making Q) as JAX's, and its gradient in the reflectors and c
    by central differences. It was missing."""
    h, taus = (np.asarray(x) for x in jjnp.linalg.qr(TALL[0], mode="raw"))
    a, left, right = h.T, RNG.standard_normal((5, 2)).astype(np.float32), RNG.standard_normal((2, 5)).astype(np.float32)

    def products(L, a, c, d):
        return [L.lax.linalg.ormqr(a, taus, c), L.lax.linalg.ormqr(a, taus, c, transpose=True),
                L.lax.linalg.ormqr(a, taus, d, left=False), L.lax.linalg.ormqr(a, taus, d, left=False, transpose=True)]

    for ours, theirs in zip(irax.jit(lambda *x: products(irax, *x))(a, left, right), products(jax, a, left, right)):
        check(ours, theirs, tol=1e-5)

    def loss(a, c):
        q_c, qh_c, _, _ = products(irax, a, c, right)
        return (q_c * np.arange(10.0).reshape(5, 2)).sum() + (jnp.sin(qh_c)).sum()

    grads = irax.jit(irax.grad(loss, argnums=(0, 1)))(a, left)
    directions = RNG.standard_normal(a.shape).astype(np.float32), RNG.standard_normal(left.shape).astype(np.float32)
    eps = 1e-2
    difference = (loss(a + eps * directions[0], left + eps * directions[1])
                  - loss(a - eps * directions[0], left - eps * directions[1])) / (2 * eps)
    expected = sum((np.asarray(g) * d).sum() for g, d in zip(grads, directions))
    np.testing.assert_allclose(float(difference), float(expected), rtol=1e-2, atol=1e-2)


def test_blocked_matches_jax(monkeypatch):
    """Matrices wider than BLOCK go by blocks: with BLOCK 2 the tall 5x3 is a
    full block and a partial one, the wide 3x5 has trailing columns too."""
    monkeypatch.setattr(irax.frontend.lax_linalg, "BLOCK", 2)
    for a in [TALL, WIDE]:
        q, r = lax.linalg.qr(a)
        expected = jax.lax.linalg.qr(a)
        check(q, expected[0])
        check(r, expected[1])


def test_the_cpu_runs_the_panels_as_native_code():
    """A panel's loop and larft's are the kernels "qr_panel" and
    "block_reflector": on the CPU one dispatch of native loops each
    (backends/cpu_kernels.py), where their steps were host loop iterations
    (jit(qr) of 512x512: 58 -> 16 ms CPU time). vmap keeps them kernels."""
    from irax.backends import cpu
    qr = irax.jit(irax.vmap(jnp.linalg.qr))
    text = qr.lower(TALL).as_text("optimized")
    assert text.count('irax.kernel = "qr_panel"') == 1
    assert text.count('irax.kernel = "block_reflector"') == 1  # Q's (one panel: no columns right of it)
    native = cpu.backend.prepare(text)
    assert "flow.dispatch.region" in native and "irax.kernel" not in native
    q, r = qr(TALL)  # (jnp.linalg.qr's mode "reduced")
    _check_factorization(q, r, TALL, False)
    check(q, jax.vmap(jjnp.linalg.qr)(TALL)[0])


def test_float64_in_x64_mode():
    with x64_mode(True):
        a = TALL.astype(np.float64)
        q, r = lax.linalg.qr(a)
        assert q.dtype == r.dtype == np.float64
        expected = jax.lax.linalg.qr(a)
        check(q, expected[0], tol=1e-12)
        check(r, expected[1], tol=1e-12)


def test_random_orthogonal_draws_what_jax_draws():
    # The normal draws are (2, 5, 3) (the tall batch's QR), transposed since n < m.
    got = irax.random.orthogonal(irax.random.key(0), 3, (2,), m=5)
    want = jax.random.orthogonal(jax.random.key(0), 3, (2,), m=5)
    assert got.shape == (2, 3, 5) and got.dtype == np.float32
    check(got, want)
    np.testing.assert_allclose(np.asarray(got) @ np.asarray(got).swapaxes(-1, -2), np.broadcast_to(np.eye(3), (2, 3, 3)),
                               atol=1e-5)


@pytest.mark.parametrize("name,shape", [("orthogonal", (5, 3)), ("delta_orthogonal", (3, 3, 5))])
def test_orthogonal_initializers_match_jax(name, shape):
    got = getattr(irax.nn.initializers, name)(scale=2.0)(irax.random.key(1), shape)
    check(got, getattr(jax.nn.initializers, name)(scale=2.0)(jax.random.key(1), shape))


def test_a_negative_zero_pivot_reflects_as_lapack(monkeypatch):
    """LAPACK's larfg takes a pivot of -0.0 as negative (beta = +norm), so
    the reflectors' and R's signs are JAX's: irax took it as positive (R's
    first row negated: a valid QR, not JAX's). qr (the CPU's native panel
    and the portable loop), hessenberg and tridiagonal share the rule."""
    a = np.array([[-0.0, 1.0, 2.0], [1.0, 2.0, 0.5], [0.5, 0.5, 3.0]], np.float32)
    h = np.array([[1.0, 2.0, 3.0], [-0.0, 1.0, 1.0], [1.0, 1.0, 1.0]], np.float32)
    t = np.array([[2.0, -0.0, 1.0], [-0.0, 3.0, 0.5], [1.0, 0.5, 1.0]], np.float32)
    cases = [(lax.linalg.qr, jax.lax.linalg.qr, a), (lax.linalg.hessenberg, jax.lax.linalg.hessenberg, h),
             (lax.linalg.tridiagonal, jax.lax.linalg.tridiagonal, t)]
    for ours, theirs, x in cases:
        for got, want in zip(ours(x), theirs(x), strict=True):
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-6)
    monkeypatch.setattr(irax.config, "irax_cpu_kernels", False)  # (the portable loop, where the CPU has a kernel)
    for got, want in zip(lax.linalg.qr(a), jax.lax.linalg.qr(a), strict=True):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-6)
