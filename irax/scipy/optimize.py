"""`irax.scipy.optimize`, as `jax.scipy.optimize`: `minimize(fun, x0, method="BFGS")`.

BFGS keeps an approximation H of the inverse Hessian (the identity at first).
Each iteration steps along p = -H g by the Wolfe line search
(optimize_line_search.py) and updates H from the step s and the change of
gradient y (Nocedal & Wright, eq. 6.17):

    H <- (I - rho s y^T) H (I - rho y s^T) + rho s s^T,   rho = 1 / (y . s)

(kept as it was where rho is not finite). Iterations stop when the gradient's
`norm` falls below `gtol`, the line search fails, or after `maxiter`. The
loop is one lax.while_loop, so minimize runs under jit and vmap, and in
float64 takes JAX's iterations step for step (in float32 the last steps,
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


# method (lower case) -> its solver
_METHODS = {"bfgs": _minimize_bfgs}
# JAX's other method, not here yet: its two-loop recursion (a fori_loop in the
# while_loop's body) met IREE codegen errors when this module was written
_NOT_YET = ("l-bfgs-experimental-do-not-rely-on-this",)


def minimize(fun: Callable, x0: Array, args: tuple = (), *, method: str, tol: float | None = None,
             options: Mapping[str, Any] | None = None) -> OptimizeResults:
    """The minimum of fun(x, *args) from the 1-d x0, by `method` ('BFGS';
    not yet JAX's 'l-bfgs-experimental-do-not-rely-on-this'). `options` go
    to the solver: maxiter (default 200 x0.size), norm (of the gradient,
    default inf), gtol (default 1e-5), line_search_maxiter (10). `tol` is
    accepted and unused, as in JAX: use options' gtol."""
    if not isinstance(args, tuple):
        raise TypeError(f"args argument to jax.scipy.optimize.minimize must be a tuple, got {args}")
    if method.lower() in _NOT_YET:
        raise NotImplementedError(f"minimize: method {method!r} is not implemented in irax yet; use 'BFGS'")
    solver = _METHODS.get(method.lower())
    if solver is None:
        raise ValueError(f"Method {method} not recognized")
    return solver(lambda x: fun(x, *args), x0, **(options or {}))


__all__ = ["OptimizeResults", "minimize"]
