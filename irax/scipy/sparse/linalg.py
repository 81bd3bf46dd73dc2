"""`irax.scipy.sparse.linalg`, as `jax.scipy.sparse.linalg`: Krylov solvers of
A x = b (cg, bicgstab, gmres), where A is a square matrix, anything with
`@`, or a function computing A(x), and b and x are arrays or pytrees of
arrays (a vector split into leaves of any shape). Each is one
`lax.while_loop`, so it runs eagerly, under `jit` and under `vmap`; gradients
are implicit, as JAX's `lax.custom_linear_solve` gives them (see
`_implicit_solve`), never through the loop. As in JAX they stop at
norm(r) <= max(tol norm(b), atol) or after `maxiter` steps (10 times b's
size by default, as SciPy), and return (x, info) with info None (gmres: 0,
or -1 where x is NaN)."""
from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend import dtypes
from irax.frontend.autodiff import jvp, linear_transpose, vjp
from irax.frontend.closure import convert_closure, is_traced
from irax.frontend.custom_derivatives import custom_vjp_and_jvp
from irax.frontend.lax import stop_gradient
from irax.frontend.numpy.util import asarray, convert, is_array
from irax.scipy.linalg import solve, solve_triangular
from irax.tree_util import Partial, tree_leaves, tree_map, tree_structure
from irax.typing import Array, ArrayLike

# --- vector algebra on pytrees: a vector is the concatenation of its leaves


def _vdot_real_part(x, y):
    """Re(x^H y), real even for complex leaves (the cross terms cancel in x^H x)."""
    result = jnp.vdot(x.real, y.real)
    if jnp.iscomplexobj(x) or jnp.iscomplexobj(y):
        result += jnp.vdot(x.imag, y.imag)
    return result


def _vdot_real_tree(x, y):
    return sum(tree_leaves(tree_map(_vdot_real_part, x, y)))


def _vdot_tree(x, y):
    return sum(tree_leaves(tree_map(jnp.vdot, x, y)))


def _norm(x):
    xs = tree_leaves(x)
    return jnp.sqrt(sum(map(_vdot_real_part, xs, xs)))


def _mul(scalar, tree):
    return tree_map(functools.partial(operator.mul, scalar), tree)


_add = functools.partial(tree_map, operator.add)
_sub = functools.partial(tree_map, operator.sub)


@Partial
def _identity(x):
    return x


def _normalize_matvec(f):
    """A (matrix, `@`-able or function) as the function x -> A x."""
    if callable(f) and not is_array(f):
        return f
    if isinstance(f, np.ndarray) or is_array(f):
        if f.ndim != 2 or f.shape[0] != f.shape[1]:
            raise ValueError(f"linear operator must be a square matrix, but has shape: {f.shape}")
        return functools.partial(jnp.dot, f)
    if hasattr(f, "__matmul__"):
        if hasattr(f, "shape") and len(f.shape) != 2 or f.shape[0] != f.shape[1]:
            raise ValueError(f"linear operator must be a square matrix, but has shape: {f.shape}")
        return functools.partial(operator.matmul, f)
    raise TypeError(f"linear operator must be either a function or ndarray: {f}")


def _shapes(tree):
    return [np.shape(leaf) for leaf in tree_leaves(tree)]


def _check_x0(x0, b, shapes=True):
    if tree_structure(x0) != tree_structure(b):
        raise ValueError(f"x0 and b must have matching tree structure: {tree_structure(x0)} vs {tree_structure(b)}")
    if shapes and _shapes(x0) != _shapes(b):
        raise ValueError(f"arrays in x0 and b must have matching shapes: {_shapes(x0)} vs {_shapes(b)}")


def _is_matrix(A):
    return isinstance(A, np.ndarray) or is_array(A)


def _implicit_solve(A, b, solve, symmetric=False):
    """solve(A, b), differentiated as JAX's lax.custom_linear_solve does it:
    x = A^-1 b, so the cotangent g of x gives b the cotangent lam = A^-T g
    (one more solve, with A itself when it is symmetric, else with A's
    transpose by linear_transpose) and whatever A is made of (a matrix, the
    arrays a function closes over) the cotangent of v -> -lam . A(v) at x.
    Forward mode: ẋ = A⁻¹ (ḃ - Ȧ x). The loops themselves are never
    differentiated."""
    # the arrays A closes over as arguments, so the rule can give them cotangents
    converted, consts = convert_closure(_normalize_matvec(A), (b,), is_traced)

    def matvec(consts, v):
        return converted(v, *consts)

    @custom_vjp_and_jvp
    def run(consts, b):
        return solve(functools.partial(matvec, consts), b)

    def fwd(consts, b):
        x = run(consts, b)
        return x, (consts, x)

    def bwd(residuals, g):
        consts, x = residuals
        A = functools.partial(matvec, consts)
        A_T = A if symmetric else (lambda v: linear_transpose(A, x)(v)[0])
        lam = solve(A_T, g)
        _, pullback = vjp(lambda c: matvec(c, x), consts)
        ct_consts = pullback(_mul(-1, lam))[0]
        # an integer array A closes over (an index) has no cotangent
        ct_consts = [ct if dtypes.is_inexact(c.dtype) else None for c, ct in zip(consts, ct_consts)]
        return ct_consts, lam

    run.defvjp(fwd, bwd)

    @run.defjvp
    def run_jvp(primals, tangents):  # forward mode: ẋ = A⁻¹ (ḃ - Ȧ x), JAX's custom_linear_solve JVP
        (consts, b), (consts_dot, b_dot) = primals, tangents
        x = run(consts, b)
        inexact = [k for k, c in enumerate(consts) if dtypes.is_inexact(c.dtype)]  # an index has no tangent

        def matvec_of_inexact(*chosen):
            full = list(consts)
            for k, c in zip(inexact, chosen):
                full[k] = c
            return matvec(full, x)

        _, a_dot_x = jvp(matvec_of_inexact, [consts[k] for k in inexact], [consts_dot[k] for k in inexact])
        return x, run(consts, tree_map(operator.sub, b_dot, a_dot_x))

    return run(consts, b)


def _setup(A, b, x0, M):
    """b and x0 (zeros by default) as arrays, M (identity by default) as a function; A checked.
    x0 and M are the solve's constants, as in JAX: no gradient flows to them (M's closure
    too: its arrays are stopped, so a preconditioner made from A, say its diagonal, is no
    closure over a differentiated array)."""
    _normalize_matvec(A)
    b = tree_map(asarray, b)
    x0 = tree_map(jnp.zeros_like, b) if x0 is None else tree_map(lambda v: stop_gradient(asarray(v)), x0)
    if M is None:
        return b, x0, _identity
    preconditioner, consts = convert_closure(_normalize_matvec(M), (b,), is_traced)
    consts = [stop_gradient(c) for c in consts]
    return b, x0, lambda v: preconditioner(v, *consts)


def _size(b):
    return sum(leaf.size for leaf in tree_leaves(b))


# --- conjugate gradients and BiCGSTAB


def _cg_solve(A, b, *, x0, maxiter, tol, atol, M):
    """Preconditioned CG (A Hermitian positive definite): the carry is
    (x, r, gamma = r^H M r, search direction p, step)."""
    atol2 = jnp.maximum(jnp.square(tol) * _vdot_real_tree(b, b), jnp.square(atol))

    def cond_fun(value):
        _, r, gamma, _, k = value
        rs = gamma.real if M is _identity else _vdot_real_tree(r, r)
        return (rs > atol2) & (k < maxiter)

    def body_fun(value):
        x, r, gamma, p, k = value
        Ap = A(p)
        alpha = gamma / _vdot_real_tree(p, Ap).astype(dtype)
        x_ = _add(x, _mul(alpha, p))
        r_ = _sub(r, _mul(alpha, Ap))
        z_ = M(r_)
        gamma_ = _vdot_real_tree(r_, z_).astype(dtype)
        p_ = _add(z_, _mul(gamma_ / gamma, p))
        return x_, r_, gamma_, p_, k + 1

    r0 = _sub(b, A(x0))
    p0 = M(r0)
    dtype = dtypes.result_type(*tree_leaves(p0))
    gamma0 = _vdot_real_tree(r0, p0).astype(dtype)
    return lax.while_loop(cond_fun, body_fun, (x0, r0, gamma0, p0, 0))[0]


# bicgstab's breakdowns, left in its step counter (negative stops the loop), as JAX's
_RHO_BREAKDOWN, _OMEGA_BREAKDOWN = -10, -11


def _bicgstab_solve(A, b, *, x0, maxiter, tol, atol, M):
    """Preconditioned BiCGSTAB (van der Vorst): the carry is
    (x, r, rhat = r0, alpha, omega, rho, p, q = A M p, step)."""
    atol2 = jnp.maximum(jnp.square(tol) * _vdot_real_tree(b, b), jnp.square(atol))

    def cond_fun(value):
        _, r, *_, k = value
        return (_vdot_real_tree(r, r) > atol2) & (k < maxiter) & (k >= 0)

    def body_fun(value):
        x, r, rhat, alpha, omega, rho, p, q, k = value
        rho_ = _vdot_tree(rhat, r)
        beta = rho_ / rho * alpha / omega
        p_ = _add(r, _mul(beta, _sub(p, _mul(omega, q))))
        phat = M(p_)
        q_ = A(phat)
        alpha_ = rho_ / _vdot_tree(rhat, q_)
        s = _sub(r, _mul(alpha_, q_))
        exit_early = _vdot_real_tree(s, s) < atol2  # the half step converged: take it alone
        shat = M(s)
        t = A(shat)
        omega_ = _vdot_tree(t, s) / _vdot_tree(t, t)
        x_ = tree_map(functools.partial(jnp.where, exit_early), _add(x, _mul(alpha_, phat)),
                      _add(x, _add(_mul(alpha_, phat), _mul(omega_, shat))))
        r_ = tree_map(functools.partial(jnp.where, exit_early), s, _sub(s, _mul(omega_, t)))
        k_ = jnp.where((omega_ == 0) | (alpha_ == 0), _OMEGA_BREAKDOWN, k + 1)
        k_ = jnp.where(rho_ == 0, _RHO_BREAKDOWN, k_)
        return x_, r_, rhat, alpha_, omega_, rho_, p_, q_, k_

    r0 = _sub(b, A(x0))
    one = convert(1, *dtypes.lattice_result_type(*tree_leaves(b)))
    return lax.while_loop(cond_fun, body_fun, (x0, r0, r0, one, one, one, r0, r0, 0))[0]


def _isolve(solver, A, b, x0, *, tol, atol, maxiter, M):
    b, x0, M = _setup(A, b, x0, M)
    if maxiter is None:
        maxiter = 10 * _size(b)  # SciPy's default
    _check_x0(x0, b)
    solve = functools.partial(solver, x0=x0, maxiter=maxiter, tol=tol, atol=atol, M=M)
    # cg's A is symmetric: its own transpose, where b is real (JAX's check_symmetric)
    symmetric = solver is _cg_solve and not any(jnp.iscomplexobj(leaf) for leaf in tree_leaves(b))
    return _implicit_solve(A, b, solve, symmetric), None


def cg(A: ArrayLike | Callable, b: Any, x0: Any = None, *, tol: float = 1e-5, atol: float = 0.0,
       maxiter: int | None = None, M: ArrayLike | Callable | None = None) -> tuple[Any, None]:
    """Conjugate gradients for A x = b, A Hermitian positive definite; M
    approximates A's inverse (a preconditioner). Returns (x, None)."""
    return _isolve(_cg_solve, A, b, x0, tol=tol, atol=atol, maxiter=maxiter, M=M)


def bicgstab(A: ArrayLike | Callable, b: Any, x0: Any = None, *, tol: float = 1e-5, atol: float = 0.0,
             maxiter: int | None = None, M: ArrayLike | Callable | None = None) -> tuple[Any, None]:
    """BiCGSTAB for A x = b, A any nonsingular operator; M approximates A's
    inverse. Returns (x, None)."""
    return _isolve(_bicgstab_solve, A, b, x0, tol=tol, atol=atol, maxiter=maxiter, M=M)


# --- GMRES: Arnoldi on the Krylov space of M A, restarted every `restart` vectors


def _safe_normalize(x, thresh=None):
    """(x / norm(x), norm(x)), or (0, 0) where the norm is below `thresh`
    (x's machine epsilon by default): a Krylov space that stopped growing."""
    norm = _norm(x)
    dtype, weak = dtypes.lattice_result_type(*tree_leaves(x))
    if thresh is None:
        thresh = jnp.finfo(norm.dtype).eps
    thresh = asarray(thresh).astype(dtype).real
    use_norm = norm > thresh
    norm_cast = convert(norm, dtype, weak)
    normalized = tree_map(lambda y: jnp.where(use_norm, y / norm_cast, 0.0), x)
    return normalized, jnp.where(use_norm, norm, 0.0)


def _project_on_columns(Q, v):
    """Q^H v, Q's leaves holding the basis vectors in their last axis."""
    return sum(tree_leaves(tree_map(lambda X, y: jnp.einsum("...n,...->n", X.conj(), y), Q, v)))


def _iterative_classical_gram_schmidt(Q, x, xnorm, max_iterations=2):
    """x orthogonalized against Q's orthonormal columns (classical Gram-Schmidt,
    repeated while the result lost more than half its norm, at most
    `max_iterations` times: "twice is enough"), and its overlaps r with them."""
    Q0 = tree_leaves(Q)[0]
    r = jnp.zeros(Q0.shape[-1], dtype=Q0.dtype)

    def body_function(carry):
        k, q, r, _ = carry
        h = _project_on_columns(Q, q)
        q = _sub(q, tree_map(lambda X: jnp.dot(X, h), Q))
        _, qnorm = _safe_normalize(q)
        return k + 1, q, _add(r, h), qnorm / np.sqrt(2.0)

    def cond_function(carry):
        k, _, r, qnorm_scaled = carry
        _, rnorm = _safe_normalize(r)
        return (k < max_iterations - 1) & (rnorm < qnorm_scaled)

    carry = body_function((0, x, r, xnorm / np.sqrt(2.0)))
    _, q, r, _ = lax.while_loop(cond_function, body_function, carry)
    return q, r


def _kth_arnoldi_iteration(k, A, M, V, H):
    """Arnoldi step k: the unit vector of M A V[:, k] orthogonal to V[:, :k+1]
    into V[:, k+1], its overlaps into row k of H; a vector below eps times
    its norm before orthogonalization is an invariant subspace: breakdown."""
    dtype, _ = dtypes.lattice_result_type(*tree_leaves(V))
    eps = jnp.finfo(dtype).eps
    v = M(A(tree_map(lambda X: X[..., k], V)))
    _, v_norm_0 = _safe_normalize(v)
    v, h = _iterative_classical_gram_schmidt(V, v, v_norm_0, max_iterations=2)
    unit_v, v_norm_1 = _safe_normalize(v, thresh=eps * v_norm_0)
    V = tree_map(lambda X, y: X.at[..., k + 1].set(y), V, unit_v)
    H = H.at[k, :].set(h.at[k + 1].set(v_norm_1.astype(dtype)))
    return V, H, v_norm_1 == 0.


def _rotate_vectors(H, i, cs, sn):
    x1, y1 = H[i], H[i + 1]
    return H.at[i].set(cs.conj() * x1 - sn.conj() * y1).at[i + 1].set(sn * x1 + cs * y1)


def _givens_rotation(a, b):
    """(cs, sn) of the rotation taking (a, b) to (r, 0), dividing by the larger."""
    b_zero = abs(b) == 0
    a_lt_b = abs(a) < abs(b)
    t = -jnp.where(a_lt_b, a, b) / jnp.where(a_lt_b, b, a)
    r = lax.rsqrt(1 + abs(t) ** 2).astype(t.dtype)
    cs = jnp.where(b_zero, 1, jnp.where(a_lt_b, r * t, r))
    sn = jnp.where(b_zero, 0, jnp.where(a_lt_b, r, r * t))
    return cs, sn


def _apply_givens_rotations(H_row, givens, k):
    """H_row rotated by the k rotations so far, then by a new one zeroing its entry k + 1."""
    R_row = lax.fori_loop(0, k, lambda i, row: _rotate_vectors(row, i, *givens[i, :]), H_row)
    factors = _givens_rotation(R_row[k], R_row[k + 1])
    return _rotate_vectors(R_row, k, *factors), givens.at[k, :].set(jnp.stack(factors))


def _krylov_basis(unit_residual, restart):
    """V: each leaf with a trailing axis of restart + 1 basis vectors, the first the residual's."""
    return tree_map(lambda x: jnp.pad(x[..., None], ((0, 0),) * x.ndim + ((0, restart),)), unit_residual)


def _finish_restart(A, b, x0, V, y, M):
    """x0 + V y, and its preconditioned residual normalized, with its norm."""
    x = _add(x0, tree_map(lambda X: jnp.dot(X[..., :-1], y), V))
    unit_residual, residual_norm = _safe_normalize(M(_sub(b, A(x))))
    return x, unit_residual, residual_norm


def _gmres_incremental(A, b, x0, unit_residual, residual_norm, ptol, restart, M):
    """One restart, the least-squares problem kept as a QR factorization by Givens
    rotations as the basis grows: the residual's norm is known each step, so it
    stops early at ptol."""
    V = _krylov_basis(unit_residual, restart)
    dtype = dtypes.result_type(*tree_leaves(b))
    R = jnp.eye(restart, restart + 1, dtype=dtype)
    givens = jnp.zeros((restart, 2), dtype=dtype)
    beta_vec = jnp.zeros(restart + 1, dtype=dtype).at[0].set(residual_norm.astype(dtype))

    def loop_cond(carry):
        k, err, *_ = carry
        return (k < restart) & (err > ptol)

    def arnoldi_qr_step(carry):
        k, _, V, R, beta_vec, givens = carry
        V, H, _ = _kth_arnoldi_iteration(k, A, M, V, R)
        R_row, givens = _apply_givens_rotations(H[k, :], givens, k)
        R = R.at[k, :].set(R_row)
        beta_vec = _rotate_vectors(beta_vec, k, *givens[k, :])
        return k + 1, abs(beta_vec[k + 1]), V, R, beta_vec, givens

    carry = lax.while_loop(loop_cond, arnoldi_qr_step, (0, residual_norm, V, R, beta_vec, givens))
    _, _, V, R, beta_vec, _ = carry
    y = solve_triangular(R[:, :-1].T, beta_vec[:-1])
    return _finish_restart(A, b, x0, V, y, M)


def _lstsq(a, b):
    """Least squares by the normal equations (a^H a is positive definite)."""
    return solve(jnp.dot(a.T.conj(), a), jnp.dot(a.T.conj(), b), assume_a="pos")


def _gmres_batched(A, b, x0, unit_residual, residual_norm, ptol, restart, M):
    """One restart: the whole basis first (until breakdown), then one dense
    least-squares solve; no early stop, fewer small ops."""
    del ptol  # no residual estimate inside a restart
    V = _krylov_basis(unit_residual, restart)
    dtype, weak = dtypes.lattice_result_type(*tree_leaves(b))
    H = convert(jnp.eye(restart, restart + 1, dtype=dtype), dtype, weak)

    def loop_cond(carry):
        _, _, breakdown, k = carry
        return (k < restart) & ~breakdown

    def arnoldi_process(carry):
        V, H, _, k = carry
        V, H, breakdown = _kth_arnoldi_iteration(k, A, M, V, H)
        return V, H, breakdown, k + 1

    V, H, _, _ = lax.while_loop(loop_cond, arnoldi_process, (V, H, False, 0))
    beta_vec = jnp.zeros(restart + 1, dtype=H.dtype).at[0].set(residual_norm.astype(dtype))
    return _finish_restart(A, b, x0, V, _lstsq(H.T, beta_vec), M)


_GMRES_METHODS = {"incremental": _gmres_incremental, "batched": _gmres_batched}


def _gmres_solve(A, b, x0, atol, ptol, restart, maxiter, M, gmres_func):
    """Restarts from the last solution until norm(M(b - A x)) <= atol or `maxiter` restarts."""
    unit_residual, residual_norm = _safe_normalize(M(_sub(b, A(x0))))

    def cond_fun(value):
        _, k, _, residual_norm = value
        return (k < maxiter) & (residual_norm > atol)

    def body_fun(value):
        x, k, unit_residual, residual_norm = value
        x, unit_residual, residual_norm = gmres_func(A, b, x, unit_residual, residual_norm, ptol, restart, M)
        return x, k + 1, unit_residual, residual_norm

    return lax.while_loop(cond_fun, body_fun, (x0, 0, unit_residual, residual_norm))[0]


def gmres(A: ArrayLike | Callable, b: Any, x0: Any = None, *, tol: float = 1e-5, atol: float = 0.0,
          restart: int = 20, maxiter: int | None = None, M: ArrayLike | Callable | None = None,
          solve_method: str = "batched") -> tuple[Any, Array]:
    """GMRES for A x = b, A any nonsingular operator, restarted every `restart`
    Krylov vectors, at most `maxiter` restarts; M approximates A's inverse.
    solve_method "incremental" (Givens QR, stops early within a restart) or
    "batched" (one dense solve per restart). Returns (x, info): info 0, or -1
    where x came out NaN."""
    b, x0, M = _setup(A, b, x0, M)
    size = _size(b)
    if maxiter is None:
        maxiter = 10 * size  # SciPy's default
    restart = min(restart, size)
    _check_x0(x0, b, shapes=False)  # JAX checks only the structure here
    b_norm = _norm(b)
    atol = stop_gradient(jnp.maximum(tol * b_norm, atol))
    ptol = stop_gradient(_norm(M(b)) * jnp.minimum(1.0, atol / b_norm))  # the tolerance in M's norm, within a restart
    if solve_method not in _GMRES_METHODS:
        raise ValueError(f"invalid solve_method {solve_method}, must be either 'incremental' or 'batched'")
    method = _GMRES_METHODS[solve_method]
    x = _implicit_solve(A, b, lambda A, b: _gmres_solve(A, b, x0, atol, ptol, restart, maxiter, M, method))
    return x, jnp.where(jnp.isnan(_norm(x)), -1, 0)
