"""`irax.scipy.optimize`, as `jax.scipy.optimize`: `minimize(fun, x0, method="BFGS")`
and JAX's experimental L-BFGS (method="l-bfgs-experimental-do-not-rely-on-this").

BFGS keeps an approximation H of the inverse Hessian (the identity at first).
Each iteration steps along p = -H g by the Wolfe line search
(optimize_line_search.py) and updates H from the step s and the change of
gradient y (Nocedal & Wright, eq. 6.17):

    H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T,   rho = 1 / (y . s)

(kept as it was where rho is not finite). Iterations stop when the gradient's
`norm` falls below `gtol`, the line search fails, or after `maxiter`.

L-BFGS keeps only the last `maxcor` steps s and gradient changes y instead
of H, and gets p = -H g from them by the two-loop recursion (Nocedal &
Wright, algorithm 7.4), starting from H = gamma I, gamma = (s . y) / (y . y)
of the last step. It also stops, as failed, when f decreases by less than
`ftol` or after `maxfun` / `maxgrad` evaluations.

Each method is one lax.while_loop, so minimize runs under jit and vmap, and
in float64 takes JAX's iterations step for step (in float32 the last steps,
where f changes in its last bits, can differ with the compilers' rounding).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend.autodiff import value_and_grad
from irax.scipy.optimize_line_search import line_search
from irax.typing import Array


class OptimizeResults(NamedTuple):
    """What `minimize` returns: the solution x, whether it converged
    (success, and status: 0 converged, 1 maxiter reached, 2 + the line
    search's status where it failed), fun and its gradient jac there, the
    final inverse-Hessian approximation, and the counts of function and
    gradient evaluations and iterations."""
    x: Array
    success: bool | Array
    status: int | Array
    fun: Array
    jac: Array
    hess_inv: Array | None
    nfev: int | Array
    njev: int | Array
    nit: int | Array


class _BFGSState(NamedTuple):
    converged: Array
    failed: Array
    k: Array
    nfev: Array
    ngev: Array
    x_k: Array
    f_k: Array
    g_k: Array
    H_k: Array
    old_old_fval: Array  # f one iteration back, for the line search's first step
    line_search_status: Array


def _minimize_bfgs(fun: Callable, x0: Array, maxiter: int | None = None, norm: float = np.inf, gtol: float = 1e-5,
                   line_search_maxiter: int = 10) -> OptimizeResults:
    """BFGS on fun from x0 (1-d)."""
    x0 = jnp.asarray(x0)
    if maxiter is None:
        maxiter = np.size(x0) * 200
    d = x0.shape[0]
    f_0, g_0 = value_and_grad(fun)(x0)
    state = _BFGSState(
        converged=jnp.linalg.norm(g_0, ord=norm) < gtol, failed=jnp.asarray(False), k=jnp.asarray(0),
        nfev=jnp.asarray(1), ngev=jnp.asarray(1), x_k=x0, f_k=f_0, g_k=g_0, H_k=jnp.eye(d, dtype=x0.dtype),
        old_old_fval=f_0 + jnp.linalg.norm(g_0) / 2, line_search_status=jnp.asarray(0))

    def body(s: _BFGSState) -> _BFGSState:
        p_k = -jnp.dot(s.H_k, s.g_k)
        ls = line_search(fun, s.x_k, p_k, old_fval=s.f_k, old_old_fval=s.old_old_fval, gfk=s.g_k,
                         maxiter=line_search_maxiter)
        s_k = ls.a_k.astype(p_k.dtype) * p_k
        y_k = ls.g_k - s.g_k
        rho_k = jnp.reciprocal(jnp.dot(y_k, s_k))
        w = jnp.eye(d, dtype=rho_k.dtype) - rho_k * jnp.outer(s_k, y_k)
        H_kp1 = jnp.dot(jnp.dot(w, s.H_k), w.T) + rho_k * jnp.outer(s_k, s_k)
        return _BFGSState(
            converged=jnp.linalg.norm(ls.g_k, ord=norm) < gtol, failed=ls.failed, k=s.k + 1,
            nfev=s.nfev + ls.nfev, ngev=s.ngev + ls.ngev, x_k=s.x_k + s_k, f_k=ls.f_k, g_k=ls.g_k,
            H_k=jnp.where(jnp.isfinite(rho_k), H_kp1, s.H_k), old_old_fval=s.f_k, line_search_status=ls.status)

    s = lax.while_loop(lambda s: ~s.converged & ~s.failed & (s.k < maxiter), body, state)
    status = jnp.where(s.converged, 0,
                       jnp.where(s.k == maxiter, 1,
                                 jnp.where(s.failed, 2 + s.line_search_status, -1)))
    return OptimizeResults(x=s.x_k, success=s.converged & ~s.failed, status=status, fun=s.f_k, jac=s.g_k,
                           hess_inv=s.H_k, nfev=s.nfev, njev=s.ngev, nit=s.k)


class _LBFGSState(NamedTuple):
    converged: Array
    failed: Array
    k: Array
    nfev: Array
    ngev: Array
    x_k: Array
    f_k: Array
    g_k: Array
    s_history: Array  # the last maxcor steps and gradient changes, oldest first (zero rows until there are as many)
    y_history: Array
    rho_history: Array
    gamma: Array  # the first inverse-Hessian guess's scale, (s . y) / (y . y) of the last step
    status: Array


def _two_loop_recursion(s: _LBFGSState) -> Array:
    """-H g for the L-BFGS inverse Hessian H of the history stored so far (the
    newest min(k, maxcor) rows; Nocedal & Wright, algorithm 7.4)."""
    dtype = s.rho_history.dtype
    size = s.rho_history.shape[0]
    used = jnp.minimum(s.k, size)

    def newest_first(j, carry):
        q, alphas = carry
        i = size - 1 - j
        a_i = s.rho_history[i] * jnp.real(jnp.dot(jnp.conj(s.s_history[i]), q)).astype(dtype)
        return q - a_i * jnp.conj(s.y_history[i]), alphas.at[i].set(a_i)

    q, alphas = lax.fori_loop(0, used, newest_first, (-jnp.conj(s.g_k), jnp.zeros_like(s.rho_history)))

    def oldest_first(j, q):
        i = size - used + j
        b_i = s.rho_history[i] * jnp.real(jnp.dot(s.y_history[i], q)).astype(dtype)
        return q + (alphas[i] - b_i) * s.s_history[i]

    return lax.fori_loop(0, used, oldest_first, s.gamma * q)


def _push(history: Array, new: Array) -> Array:
    """history less its oldest row, with `new` appended as the newest."""
    return jnp.concatenate([history[1:], new[None]], axis=0)


def _minimize_lbfgs(fun: Callable, x0: Array, maxiter: float | None = None, norm: float = np.inf, maxcor: int = 10,
                    ftol: float = 2.220446049250313e-09, gtol: float = 1e-05, maxfun: float | None = None,
                    maxgrad: float | None = None, maxls: int = 20) -> OptimizeResults:
    """Limited-memory BFGS, JAX's experimental method: the inverse Hessian is
    gamma I updated by only the last `maxcor` steps. Converges at gtol; fails
    (status, the later overriding: 4 f decreased by under ftol, 3 maxgrad,
    2 maxfun, 1 maxiter, 5 line search failed) otherwise."""
    x0 = jnp.asarray(x0)
    d, dtype = x0.shape[0], x0.dtype
    if maxiter is None and maxfun is None and maxgrad is None:
        maxiter = d * 200  # at least one limit
    maxiter, maxfun, maxgrad = (np.inf if v is None else v for v in (maxiter, maxfun, maxgrad))
    f_0, g_0 = value_and_grad(fun)(x0)
    state = _LBFGSState(
        converged=jnp.asarray(False), failed=jnp.asarray(False), k=jnp.asarray(0), nfev=jnp.asarray(1),
        ngev=jnp.asarray(1), x_k=x0, f_k=f_0, g_k=g_0, s_history=jnp.zeros((maxcor, d), dtype),
        y_history=jnp.zeros((maxcor, d), dtype), rho_history=jnp.zeros((maxcor,), dtype),
        gamma=jnp.asarray(1., g_0.dtype), status=jnp.asarray(0))

    def body(s: _LBFGSState) -> _LBFGSState:
        p_k = _two_loop_recursion(s)
        ls = line_search(fun, s.x_k, p_k, old_fval=s.f_k, gfk=s.g_k, maxiter=maxls)
        s_k = ls.a_k.astype(p_k.dtype) * p_k
        y_k = ls.g_k - s.g_k
        rho_k_inv = jnp.real(jnp.dot(y_k, s_k))
        status = jnp.asarray(0)
        for stop, code in _lbfgs_stops(s, ls, ftol, maxgrad, maxfun, maxiter):
            status = jnp.where(stop, code, status)
        converged = jnp.linalg.norm(ls.g_k, ord=norm) < gtol
        return _LBFGSState(
            converged=converged, failed=(status > 0) & ~converged, k=s.k + 1, nfev=s.nfev + ls.nfev,
            ngev=s.ngev + ls.ngev, x_k=(s.x_k + s_k).astype(s.x_k.dtype), f_k=ls.f_k.astype(s.f_k.dtype),
            g_k=ls.g_k.astype(s.g_k.dtype), s_history=_push(s.s_history, s_k), y_history=_push(s.y_history, y_k),
            rho_history=_push(s.rho_history, jnp.reciprocal(rho_k_inv).astype(y_k.dtype)),
            gamma=(rho_k_inv / jnp.real(jnp.dot(jnp.conj(y_k), y_k))).astype(s.g_k.dtype),
            status=jnp.where(converged, 0, status))

    s = lax.while_loop(lambda s: ~s.converged & ~s.failed, body, state)
    return OptimizeResults(x=s.x_k, success=s.converged & ~s.failed, status=s.status, fun=s.f_k, jac=s.g_k,
                           hess_inv=None, nfev=s.nfev, njev=s.ngev, nit=s.k)


def _lbfgs_stops(s, ls, ftol, maxgrad, maxfun, maxiter):
    """(condition, status) of L-BFGS's reasons to stop, in JAX's order: a later
    one that holds overrides the earlier."""
    return ((s.f_k - ls.f_k < ftol, 4), (s.ngev >= maxgrad, 3), (s.nfev >= maxfun, 2), (s.k >= maxiter, 1),
            (ls.failed, 5))


# method (lower case) -> its solver
_METHODS = {"bfgs": _minimize_bfgs, "l-bfgs-experimental-do-not-rely-on-this": _minimize_lbfgs}


def minimize(fun: Callable, x0: Array, args: tuple = (), *, method: str, tol: float | None = None,
             options: Mapping[str, Any] | None = None) -> OptimizeResults:
    """The minimum of fun(x, *args) from the 1-d x0, by `method`: 'BFGS', or
    JAX's experimental 'l-bfgs-experimental-do-not-rely-on-this'. `options`
    go to the solver: for BFGS maxiter (default 200 x0.size), norm (of the
    gradient, default inf), gtol (default 1e-5), line_search_maxiter (10);
    for L-BFGS also maxcor (history length, 10), ftol, maxfun, maxgrad and
    maxls (line-search steps, 20). `tol` is accepted and unused, as in JAX:
    use options' gtol."""
    if not isinstance(args, tuple):
        raise TypeError(f"args argument to jax.scipy.optimize.minimize must be a tuple, got {args}")
    solver = _METHODS.get(method.lower())
    if solver is None:
        raise ValueError(f"Method {method} not recognized")
    return solver(lambda x: fun(x, *args), x0, **(options or {}))


__all__ = ["OptimizeResults", "minimize"]
