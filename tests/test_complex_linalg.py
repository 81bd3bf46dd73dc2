"""Complex matrices in the linear algebra (jnp.linalg, lax.linalg,
scipy.linalg): values against JAX where they are unique, invariants
(A V = V diag(w), unitary factors, reconstruction) where a factor's phases
are free, and gradients of real losses against jax.grad."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
import irax.scipy.linalg as isl
from irax import lax

from helpers import x64_mode

jax = pytest.importorskip("jax")
jjnp = jax.numpy
jsl = jax.scipy.linalg

_rng = np.random.default_rng(0)


def _complex(shape):
    return (_rng.standard_normal(shape) + 1j * _rng.standard_normal(shape)).astype(np.complex64)


def _H(x):
    return np.conj(np.swapaxes(x, -1, -2))


# One 4x4 and one batch of 3x3: a general A (well conditioned), a Hermitian
# positive definite P, a lower triangular L and right-hand sides B.
SHAPES = {"4x4": (4,), "2x3x3": (2, 3)}
DATA = {}
for _name, (*_batch, _n) in SHAPES.items():
    _a = _complex((*_batch, _n, _n)) + _n * np.eye(_n, dtype=np.complex64)
    DATA[_name] = {"A": _a, "P": (_a @ _H(_a) + np.eye(_n)).astype(np.complex64), "L": np.tril(_a),
                   "B": _complex((*_batch, _n, 2))}


def _close(got, want, rtol=2e-4, atol=2e-5):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def _lax(m):
    return lax.linalg if m is jnp else jax.lax.linalg


def _scipy(m):
    return isl if m is jnp else jsl


# name -> f(numpy module, data): the values must equal JAX's (unique results only).
VALUES = {
    "solve": lambda m, d: m.linalg.solve(d["A"], d["B"]),
    "inv": lambda m, d: m.linalg.inv(d["A"]),
    "det": lambda m, d: m.linalg.det(d["A"]),
    "slogdet": lambda m, d: m.linalg.slogdet(d["A"]),
    "cholesky": lambda m, d: m.linalg.cholesky(d["P"]),
    "cholesky_upper": lambda m, d: m.linalg.cholesky(d["P"], upper=True),
    "matrix_power": lambda m, d: m.linalg.matrix_power(d["A"], -2),
    "qr": lambda m, d: m.linalg.qr(d["A"]),
    "eigvalsh": lambda m, d: m.linalg.eigvalsh(d["P"]),
    "svdvals": lambda m, d: m.linalg.svdvals(d["A"]),
    "pinv": lambda m, d: m.linalg.pinv(d["A"]),
    "norm2": lambda m, d: m.linalg.norm(d["A"], 2, axis=(-2, -1)),
    "cond": lambda m, d: m.linalg.cond(d["A"]),
    "matrix_rank": lambda m, d: m.linalg.matrix_rank(d["A"]),
    "lax_lu": lambda m, d: _lax(m).lu(d["A"]),
    "triangular_solve": lambda m, d: _lax(m).triangular_solve(d["L"], d["B"], left_side=True, lower=True),
    "triangular_solve_conj_transpose": lambda m, d: _lax(m).triangular_solve(
        d["L"], d["B"], left_side=True, lower=True, transpose_a=True, conjugate_a=True),
    "triangular_solve_right_conj": lambda m, d: _lax(m).triangular_solve(
        d["L"], np.swapaxes(d["B"], -1, -2), left_side=False, lower=True, conjugate_a=True),
    "lu_solve_H": lambda m, d: _scipy(m).lu_solve(_scipy(m).lu_factor(d["A"]), d["B"], trans=2),
    "lu_solve_T": lambda m, d: _scipy(m).lu_solve(_scipy(m).lu_factor(d["A"]), d["B"], trans=1),
    "cho_solve": lambda m, d: _scipy(m).cho_solve(_scipy(m).cho_factor(d["P"]), d["B"]),
    "solve_triangular_C": lambda m, d: _scipy(m).solve_triangular(d["L"], d["B"], lower=True, trans="C"),
    "expm": lambda m, d: _scipy(m).expm(d["A"] * 0.2),
}


def _values_match_jax(got, name, d):
    want = jax.tree_util.tree_leaves(VALUES[name](jjnp, d))
    try:
        for g, w in zip(jax.tree_util.tree_leaves(got), want, strict=True):
            _close(g, w)
    except (AssertionError, ValueError) as error:
        raise AssertionError(name) from error


# Eagerly on the batch, each function's own programs (expm alone is ~28 eager
# kernels); the 4x4 all in one jitted program (test below): every function
# runs in both modes and on both ranks, for two compiles where each function
# on each shape was one or more.
@pytest.mark.parametrize("name", list(VALUES))
def test_values_match_jax(name):
    d = DATA["2x3x3"]
    _values_match_jax(VALUES[name](jnp, d), name, d)


def test_values_match_jax_under_jit():
    d = DATA["4x4"]
    got = irax.jit(lambda d: {name: f(jnp, d) for name, f in VALUES.items()})(d)
    for name in VALUES:
        _values_match_jax(got[name], name, d)


def test_lstsq_matches_jax():
    a, b = _complex((5, 3)), _complex((5, 2))
    for g, w in zip(jnp.linalg.lstsq(a, b), jjnp.linalg.lstsq(a, b)):
        _close(g, w)


@pytest.mark.parametrize("shape", list(SHAPES))
def test_eigh_invariants(shape):
    """Hermitian: real ascending eigenvalues (LAPACK's), A V = V diag(w), V unitary; under jit too."""
    p = DATA[shape]["P"]
    for w, v in (jnp.linalg.eigh(p), irax.jit(jnp.linalg.eigh)(p)):
        w, v = np.asarray(w), np.asarray(v)
        assert (w.dtype, v.dtype) == (np.float32, np.complex64)
        _close(w, np.linalg.eigvalsh(p), rtol=1e-5)
        scale = np.abs(w).max()
        np.testing.assert_allclose(p @ v, v * w[..., None, :], atol=2e-6 * scale)
        np.testing.assert_allclose(_H(v) @ v, np.broadcast_to(np.eye(p.shape[-1]), p.shape), atol=2e-6)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5), (2, 3, 3)])
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd_invariants(shape, full_matrices):
    a = _complex(shape)
    u, s, vh = (np.asarray(t) for t in jnp.linalg.svd(a, full_matrices=full_matrices))
    k = s.shape[-1]
    assert (u.dtype, s.dtype, vh.dtype) == (np.complex64, np.float32, np.complex64)
    _close(s, np.linalg.svd(a, compute_uv=False), rtol=1e-5)
    np.testing.assert_allclose((u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :], a, atol=2e-6)
    for q in (_H(u) @ u, vh @ _H(vh)):
        np.testing.assert_allclose(q, np.broadcast_to(np.eye(q.shape[-1]), q.shape), atol=2e-6)


def test_qr_tall_complete_is_unitary():
    a = _complex((5, 3))
    q, r = (np.asarray(t) for t in lax.linalg.qr(a, full_matrices=True))
    np.testing.assert_allclose(q @ r, a, atol=2e-6)
    np.testing.assert_allclose(_H(q) @ q, np.eye(5), atol=2e-6)


def _svd_loss(m, a):
    """Two svd calls in one gradient (IREE 3.13 once failed to compile the
    program unless irax's drop-unread-work pass was left out)."""
    u, s, vh = m.linalg.svd(a)
    u2, s2, vh2 = m.linalg.svd(a * 2 + 1j)
    return (m.sum(s * m.arange(1.0, 5.0)) + m.sum(m.real(u[:, :1] * vh[:1, :] * (1 + 1j)))
            + m.sum(s2 * s2) + m.sum(m.real(u2[:, :1] * vh2[:1, :] * (1 - 1j))))


# name -> (real loss of a complex matrix, which matrix); losses of eigenvectors
# and singular vectors use phase-free quantities (|v|², u_0 vh_0).
W = _complex((4, 4))
GRADS = {
    "solve": (lambda m, a: m.sum(m.real(m.linalg.solve(a, W[:, :2]) * W[:, 2:])), "A"),
    "inv": (lambda m, a: m.sum(m.real(m.linalg.inv(a) * W)) + m.sum(m.imag(m.linalg.inv(a)) ** 2), "A"),
    "det": (lambda m, a: m.real(m.linalg.det(a) * (1 + 2j)), "A"),
    "slogdet": (lambda m, a: m.linalg.slogdet(a)[1] + m.real(m.linalg.slogdet(a)[0] * (0.3 - 2j)), "A"),
    "cholesky": (lambda m, a: m.sum(m.real(m.linalg.cholesky(a) * W)), "P"),
    "triangular_solve": (lambda m, a: m.sum(m.real(_lax(m).triangular_solve(
        a, W[:, :2], left_side=True, lower=True, transpose_a=True, conjugate_a=True) * W[:, 2:])), "L"),
    "qr": (lambda m, a: m.sum(m.real(m.linalg.qr(a)[0] * W)) + m.sum(m.imag(m.linalg.qr(a)[1]) ** 2), "A"),
    "eigh": (lambda m, a: m.sum(m.linalg.eigh(a)[0] * m.arange(4.0)) + m.sum(m.abs(m.linalg.eigh(a)[1]) ** 2 * W.real),
             "P"),
    "svd": (_svd_loss, "A"),
    "pinv": (lambda m, a: m.sum(m.real(m.linalg.pinv(a) * W)), "A"),
}


def test_grad_matches_jax():
    """Under jit, every gradient in one program: one compile where each was
    one (eager det and slogdet gradients: test_det_gradients_...)."""
    d = DATA["4x4"]
    got = irax.jit(lambda d: {name: irax.grad(lambda x: f(jnp, x))(d[which])
                              for name, (f, which) in GRADS.items()})(d)
    for name, (f, which) in GRADS.items():
        want = jax.grad(lambda x: f(jjnp, x))(d[which])
        try:
            _close(got[name], want, rtol=2e-3, atol=2e-4 * float(np.abs(want).max()))
        except AssertionError as error:
            raise AssertionError(name) from error


DET_LOSSES = {
    "abs(det)": lambda m, a: m.abs(m.linalg.det(a)),
    "parts of det": GRADS["det"][0],
    "slogdet": GRADS["slogdet"][0],
}


@pytest.mark.parametrize("name", list(DET_LOSSES))
def test_det_gradients_eager_and_under_jit_match_jax_and_finite_differences(name):
    """An eager grad of det or slogdet, and grad of abs(det) even under jit,
    failed to compile: the complex zero of a `where`, merged with those of the
    LU and triangular-solve loops, was an IREE dispatch left out of every
    execution region (transforms/complex_fills.py)."""
    loss, a = DET_LOSSES[name], DATA["4x4"]["A"]
    want = jax.grad(lambda x: loss(jjnp, x))(a)
    got = irax.grad(lambda x: loss(jnp, x))(a)
    for g in (got, irax.jit(irax.grad(lambda x: loss(jnp, x)))(a)):
        _close(g, want, rtol=2e-3, atol=2e-4 * float(np.abs(want).max()))
    # finite differences (float64 NumPy): the gradient of a real loss is dL/dx - i dL/dy
    f, h, z, g = (lambda x: loss(np, x)), 1e-6, a.astype(np.complex128), np.asarray(got)
    for at in ((0, 0), (1, 3), (3, 2)):
        for step, part in ((h, np.real), (1j * h, lambda v: -np.imag(v))):
            bumped = z.copy()
            bumped[at] += step
            np.testing.assert_allclose((f(bumped) - f(z)) / h, part(g[at]), rtol=2e-3, atol=1e-3)


def test_complex128_det_gradients_in_x64_mode():
    """Compiled (as above), the complex128 gradients came out wrong: the
    product's initial 1, a complex128 fill written as its parts, was one
    constant IREE 3.13 let two reductions update in place."""
    with x64_mode(True):
        a = DATA["4x4"]["A"].astype(np.complex128)
        for loss in DET_LOSSES.values():
            want = jax.grad(lambda x: loss(jjnp, x))(a)
            _close(irax.grad(lambda x: loss(jnp, x))(a), want, rtol=1e-9, atol=1e-9 * float(np.abs(want).max()))


def _low_rank(*outer_products):
    return np.sum([np.outer(u, v) for u, v in outer_products], axis=0).astype(np.float32)


# Singular matrices of small integers: up to 3x3 det is the sum over
# permutations (autodiff); from 4x4 the LU with its custom JVP.
SINGULAR = {
    "2x2 rank 1": [[1.0, 2.0], [2.0, 4.0]],
    "3x3 rank 2": [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]],
    "3x3 rank 1": _low_rank(([1, 2, 3], [1, -1, 2])),
    "4x4 rank 3": _low_rank(([1, 2, 3, 4], [1, 0, 2, 1]), ([1, 0, 1, 2], [0, 1, 1, 3]), ([2, 1, 0, 1], [1, 1, 0, 0])),
    "4x4 rank 2": _low_rank(([1, 2, 3, 4], [1, 0, 2, 1]), ([1, 0, 1, 2], [0, 1, 1, 3])),
    "5x5 rank 4": [[2, 1, 0, 0, 1], [1, 3, 1, 0, 0], [0, 1, 2, 1, 0], [0, 0, 1, 3, 1],
                   [2, 2, 1, -2, 0]],  # rows 0 + 2 - 3
}


def _singular(name, dtype):
    """The matrix SINGULAR[name] of `dtype`, its det loss and JAX's gradient
    and tolerances."""
    a = np.asarray(SINGULAR[name], np.float32).astype(dtype) * (1 - 2j if dtype == np.complex64 else 1)
    loss = GRADS["det"][0] if dtype == np.complex64 else (lambda m, x: m.linalg.det(x))
    want = jax.grad(lambda x: loss(jjnp, x))(a)
    return a, loss, want, dict(rtol=2e-4, atol=2e-5 * float(np.abs(want).max(initial=1)))


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
@pytest.mark.parametrize("name", list(SINGULAR))
def test_det_gradient_at_singular_matrices_matches_jax(name, dtype):
    """grad(det) of [[1, 2], [2, 4]] was NaN (det(a) a⁻ᵀ = 0 · inf): JAX's is
    the adjugate's transpose, [[4, -2], [-2, 1]], and 0 at rank <= n - 2; in
    reverse and forward mode, eagerly (under jit: the test below)."""
    a, loss, want, tolerances = _singular(name, dtype)
    _close(irax.grad(lambda x: loss(jnp, x))(a), want, **tolerances)
    tangent = (np.arange(a.size).reshape(a.shape) % 5 - 2).astype(dtype)
    (det, det_dot), (want_det, want_dot) = irax.jvp(jnp.linalg.det, (a,), (tangent,)), jax.jvp(jjnp.linalg.det,
                                                                                               (a,), (tangent,))
    _close(det_dot, want_dot, **tolerances)
    if a.shape[-1] <= 3:  # JAX's det is exactly 0 there too; from 4x4 both LUs leave rounding noise
        assert np.asarray(det) == 0 and np.asarray(want_det) == 0


def test_det_gradient_at_singular_matrices_under_jit_matches_jax():
    """As above, under jit: every matrix and dtype in one program (one compile
    where each was one)."""
    cases = {f"{name} {dtype.__name__}": _singular(name, dtype)
             for name in SINGULAR for dtype in (np.float32, np.complex64)}
    inputs = {case: a for case, (a, _, _, _) in cases.items()}
    got = irax.jit(lambda xs: {case: irax.grad(lambda x: loss(jnp, x))(xs[case])
                               for case, (_, loss, _, _) in cases.items()})(inputs)
    for case, (_, _, want, tolerances) in cases.items():
        try:
            _close(got[case], want, **tolerances)
        except AssertionError as error:
            raise AssertionError(case) from error


def test_det_gradient_of_a_batch_mixing_singular_and_regular_matrices():
    """Batched (vmap eagerly, and a batch dimension under jit: every size in
    one program), in float32 and float64."""
    for dtype, rtol, x64 in ((np.float32, 2e-4, False), (np.float64, 1e-10, True)):
        with x64_mode(x64):
            batches = {}
            for n in (2, 3, 4, 5):
                singular = [np.asarray(m, dtype) for m in SINGULAR.values() if len(m) == n]
                batches[n] = np.stack(singular + [m + np.eye(n, dtype=dtype) for m in singular])
            under_jit = irax.jit(lambda bs: {n: irax.grad(lambda x: jnp.sum(jnp.linalg.det(x)))(b)
                                             for n, b in bs.items()})(batches)
            for n, batch in batches.items():
                want = jax.vmap(jax.grad(jjnp.linalg.det))(batch)
                atol = rtol * float(np.abs(want).max())
                _close(irax.vmap(irax.grad(jnp.linalg.det))(batch), want, rtol=rtol, atol=atol)
                _close(under_jit[n], want, rtol=rtol, atol=atol)


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_det_gradient_at_a_regular_matrix_matches_finite_differences(n):
    with x64_mode(True):
        a = np.random.default_rng(n).standard_normal((n, n))
        grad = np.asarray(irax.grad(jnp.linalg.det)(a))
        tangent = np.random.default_rng(n + 10).standard_normal((n, n))
        h = 1e-6
        numeric = (np.linalg.det(a + h * tangent) - np.linalg.det(a - h * tangent)) / (2 * h)
        np.testing.assert_allclose(np.sum(grad * tangent), numeric, rtol=1e-7)
        np.testing.assert_allclose(irax.jvp(jnp.linalg.det, (a,), (tangent,))[1], numeric, rtol=1e-7)
        np.testing.assert_allclose(grad, np.linalg.det(a) * np.linalg.inv(a).T, rtol=1e-9)


@pytest.mark.parametrize("a", [[[1.0, 2.0], [2.0, 4.0]], [[0.0]]])
def test_slogdet_gradient_at_a_singular_matrix_matches_jax(a):
    """Up to 2x2 slogdet is JAX's closed form: (0, -inf), and a gradient of
    cofactors / 0, ±inf (NaN where a cofactor is 0); it was -inf where JAX gives inf."""
    a = np.asarray(a, np.float32)
    for got, want in zip(jnp.linalg.slogdet(a), jjnp.linalg.slogdet(a)):
        _close(got, want)
    want = jax.grad(lambda x: jjnp.linalg.slogdet(x)[1])(a)
    assert not np.isfinite(want).any()
    _close(irax.grad(lambda x: jnp.linalg.slogdet(x)[1])(a), want)


def test_complex128_in_x64_mode():
    """complex128 factorizations compile (no complex128 splat, which IREE 3.13 cannot fill)."""
    with x64_mode(True):
        d = {k: v.astype(np.complex128) for k, v in DATA["4x4"].items()}
        for name in ("solve", "cholesky", "qr", "eigvalsh", "svdvals"):
            for g, w in zip(jax.tree_util.tree_leaves(VALUES[name](jnp, d)),
                            jax.tree_util.tree_leaves(VALUES[name](jjnp, d))):
                _close(g, w, rtol=1e-10, atol=1e-12)


def test_real_schur_form_still_raises_clearly():
    with pytest.raises(NotImplementedError, match="complex Schur form only"):
        isl.schur(np.eye(3, dtype=np.float32), output="real")
