"""The line search of `irax.scipy.optimize`'s BFGS, as JAX's
(jax._src.scipy.optimize.line_search): a step size a along the direction p
from x that satisfies the strong Wolfe conditions (Nocedal & Wright,
Numerical Optimization, algorithms 3.5 and 3.6), with phi(a) = f(x + a p):

    sufficient decrease  phi(a) <= phi(0) + c1 a phi'(0)
    curvature            |phi'(a)| <= -c2 phi'(0)

The bracketing phase doubles a until the conditions hold or a bracket with a
minimum inside is found; `_zoom` then narrows the bracket by cubic, quadratic
or bisection steps. Both phases are lax.while_loops whose branches are
`where` selections, so the whole search runs under jit and vmap.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

import irax.numpy as jnp
from irax import lax
from irax.frontend.autodiff import value_and_grad
from irax.frontend.numpy.util import promote_args_inexact
from irax.typing import Array


def _cubicmin(a, fa, fpa, b, fb, c, fc):
    """The minimizer of the cubic through (a, fa) with slope fpa, (b, fb) and (c, fc)."""
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    rb, rc = fb - fa - fpa * db, fc - fa - fpa * dc
    A = (dc ** 2 * rb - db ** 2 * rc) / denom
    B = (-dc ** 3 * rb + db ** 3 * rc) / denom
    return a + (-B + jnp.sqrt(B * B - 3. * A * fpa)) / (3. * A)


def _quadmin(a, fa, fpa, b, fb):
    """The minimizer of the quadratic through (a, fa) with slope fpa and (b, fb)."""
    db = b - a
    B = (fb - fa - fpa * db) / (db ** 2)
    return a - fpa / (2. * B)


def _where(cond, state: NamedTuple, **new) -> NamedTuple:
    """state with the fields `new` where cond holds (the branch as a selection)."""
    return state._replace(**{k: jnp.where(cond, v, getattr(state, k)) for k, v in new.items()})


class _ZoomState(NamedTuple):
    done: Array
    failed: Array
    j: Array
    a_lo: Array
    phi_lo: Array
    dphi_lo: Array
    a_hi: Array
    phi_hi: Array
    dphi_hi: Array
    a_rec: Array  # the previous a_hi or a_lo, the cubic's third point
    phi_rec: Array
    a_star: Array
    phi_star: Array
    dphi_star: Array
    g_star: Array
    nfev: Array
    ngev: Array


def _zoom(phi_dphi_g, wolfe_one, wolfe_two, a_lo, phi_lo, dphi_lo, a_hi, phi_hi, dphi_hi, g_0,
          pass_through) -> _ZoomState:
    """Narrow [a_lo, a_hi] (phi(a_lo) the lower) until a step satisfies both
    Wolfe conditions; nothing runs where pass_through holds."""
    real = phi_lo.dtype
    state = _ZoomState(
        done=jnp.asarray(False), failed=jnp.asarray(False), j=jnp.asarray(0),
        a_lo=a_lo, phi_lo=phi_lo, dphi_lo=dphi_lo, a_hi=a_hi, phi_hi=phi_hi, dphi_hi=dphi_hi,
        a_rec=(a_lo + a_hi) / 2., phi_rec=(phi_lo + phi_hi) / 2.,
        a_star=jnp.asarray(1., a_lo.dtype), phi_star=phi_lo, dphi_star=dphi_lo, g_star=g_0,
        nfev=jnp.asarray(0), ngev=jnp.asarray(0))
    delta1, delta2 = 0.2, 0.1  # how far inside the bracket a cubic / quadratic step must fall
    threshold = 1e-5 if np.finfo(real).bits < 64 else 1e-10

    def body(s: _ZoomState) -> _ZoomState:
        dalpha = s.a_hi - s.a_lo
        lo, hi = jnp.minimum(s.a_hi, s.a_lo), jnp.maximum(s.a_hi, s.a_lo)
        # a bracket this narrow ends the search, failed: the minimization stops too
        s = s._replace(failed=s.failed | (dalpha <= threshold))
        a_cubic = _cubicmin(s.a_lo, s.phi_lo, s.dphi_lo, s.a_hi, s.phi_hi, s.a_rec, s.phi_rec)
        use_cubic = (s.j > 0) & (a_cubic > lo + delta1 * dalpha) & (a_cubic < hi - delta1 * dalpha)
        a_quad = _quadmin(s.a_lo, s.phi_lo, s.dphi_lo, s.a_hi, s.phi_hi)
        use_quad = ~use_cubic & (a_quad > lo + delta2 * dalpha) & (a_quad < hi - delta2 * dalpha)
        a_j = jnp.where(use_cubic, a_cubic, jnp.where(use_quad, a_quad, (s.a_lo + s.a_hi) / 2.))

        phi_j, dphi_j, g_j = phi_dphi_g(a_j)
        s = s._replace(nfev=s.nfev + 1, ngev=s.ngev + 1)
        hi_to_j = wolfe_one(a_j, phi_j) | (phi_j >= s.phi_lo)
        star_to_j = wolfe_two(dphi_j) & ~hi_to_j
        hi_to_lo = (dphi_j * (s.a_hi - s.a_lo) >= 0.) & ~hi_to_j & ~star_to_j
        lo_to_j = ~hi_to_j & ~star_to_j

        s = _where(hi_to_j, s, a_hi=a_j, phi_hi=phi_j, dphi_hi=dphi_j, a_rec=s.a_hi, phi_rec=s.phi_hi)
        s = _where(star_to_j, s, a_star=a_j, phi_star=phi_j, dphi_star=dphi_j, g_star=g_j)
        s = s._replace(done=s.done | star_to_j)
        s = _where(hi_to_lo, s, a_hi=s.a_lo, phi_hi=s.phi_lo, dphi_hi=s.dphi_lo, a_rec=s.a_hi, phi_rec=s.phi_hi)
        s = _where(lo_to_j & ~hi_to_lo, s, a_rec=s.a_lo, phi_rec=s.phi_lo)
        s = _where(lo_to_j, s, a_lo=a_j, phi_lo=phi_j, dphi_lo=dphi_j)
        # at most 30 steps (more than SciPy's 10: float32 narrows the bracket more slowly)
        return s._replace(j=s.j + 1, failed=s.failed | (s.j + 1 >= 30))

    return lax.while_loop(lambda s: ~s.done & ~pass_through & ~s.failed, body, state)


class _LineSearchState(NamedTuple):
    done: Array
    failed: Array
    i: Array
    a_i1: Array  # the previous step, its phi and phi'
    phi_i1: Array
    dphi_i1: Array
    nfev: Array
    ngev: Array
    a_star: Array
    phi_star: Array
    dphi_star: Array
    g_star: Array


class _LineSearchResults(NamedTuple):
    failed: Array
    nit: Array
    nfev: Array
    ngev: Array
    k: Array
    a_k: Array
    f_k: Array
    g_k: Array
    status: Array


def line_search(f: Callable, xk: Array, pk: Array, old_fval: Array | None = None, old_old_fval: Array | None = None,
                gfk: Array | None = None, c1: float = 1e-4, c2: float = 0.9, maxiter: int = 20) -> _LineSearchResults:
    """A step a_k along pk from xk satisfying the strong Wolfe conditions, with
    f and its gradient there; status 0 found, 1 zoom failed, 3 maxiter."""
    xk, pk = promote_args_inexact("line_search", xk, pk)

    def phi_dphi_g(t):
        value, g = value_and_grad(f)(xk + jnp.asarray(t, pk.dtype) * pk)
        return value, jnp.real(jnp.dot(g, pk)), g

    evaluated_at_0 = old_fval is None or gfk is None
    if evaluated_at_0:
        phi_0, dphi_0, gfk = phi_dphi_g(0)
    else:
        phi_0, dphi_0 = jnp.asarray(old_fval), jnp.real(jnp.dot(gfk, pk))
    real = phi_0.dtype
    if old_old_fval is not None:
        # the first step that would reach the previous decrease along a quadratic, at most 1
        candidate = 1.01 * 2 * (phi_0 - old_old_fval) / dphi_0
        start_value = jnp.where(candidate > 1, 1.0, candidate).astype(real)
    else:
        start_value = jnp.asarray(1, real)

    def wolfe_one(a_i, phi_i):  # sufficient decrease fails
        return phi_i > phi_0 + c1 * a_i * dphi_0

    def wolfe_two(dphi_i):  # curvature holds
        return jnp.abs(dphi_i) <= -c2 * dphi_0

    count = jnp.asarray(1 if evaluated_at_0 else 0)
    state = _LineSearchState(
        done=jnp.asarray(False), failed=jnp.asarray(False),
        i=jnp.asarray(1),  # from 1, as Nocedal & Wright (SciPy starts at 0: scipy/scipy#12157)
        a_i1=jnp.asarray(0., real), phi_i1=phi_0, dphi_i1=dphi_0, nfev=count, ngev=count,
        a_star=jnp.asarray(0., real), phi_star=phi_0, dphi_star=dphi_0, g_star=gfk)

    def body(s: _LineSearchState) -> _LineSearchState:
        a_i = jnp.where(s.i == 1, start_value, s.a_i1 * 2.)  # no amax: the step doubles, as SciPy
        phi_i, dphi_i, g_i = phi_dphi_g(a_i)
        s = s._replace(nfev=s.nfev + 1, ngev=s.ngev + 1)
        star_to_zoom1 = wolfe_one(a_i, phi_i) | ((phi_i >= s.phi_i1) & (s.i > 1))
        star_to_i = wolfe_two(dphi_i) & ~star_to_zoom1
        star_to_zoom2 = (dphi_i >= 0.) & ~star_to_zoom1 & ~star_to_i
        zoom1 = _zoom(phi_dphi_g, wolfe_one, wolfe_two, s.a_i1, s.phi_i1, s.dphi_i1, a_i, phi_i, dphi_i, gfk,
                      ~star_to_zoom1)
        zoom2 = _zoom(phi_dphi_g, wolfe_one, wolfe_two, a_i, phi_i, dphi_i, s.a_i1, s.phi_i1, s.dphi_i1, gfk,
                      ~star_to_zoom2)
        s = s._replace(nfev=s.nfev + zoom1.nfev + zoom2.nfev, ngev=s.ngev + zoom1.ngev + zoom2.ngev)
        for taken, found, failed in ((star_to_zoom1, zoom1, zoom1.failed),
                                     (star_to_i, _LineSearchStep(a_i, phi_i, dphi_i, g_i), False),
                                     (star_to_zoom2, zoom2, zoom2.failed)):
            s = _where(taken, s, a_star=found.a_star, phi_star=found.phi_star, dphi_star=found.dphi_star,
                       g_star=found.g_star)
            s = s._replace(done=s.done | taken, failed=s.failed | (taken & failed))
        return s._replace(i=s.i + 1, a_i1=a_i, phi_i1=phi_i, dphi_i1=dphi_i)

    state = lax.while_loop(lambda s: ~s.done & (s.i <= maxiter) & ~s.failed, body, state)
    status = jnp.where(state.failed, 1, jnp.where(state.i > maxiter, 3, 0))
    alpha_k = state.a_star
    if np.finfo(alpha_k.dtype).bits != 64:
        # a step under 1e-8 would leave a narrow float stuck where it is
        alpha_k = jnp.where(jnp.abs(alpha_k) < 1e-8, jnp.sign(alpha_k) * 1e-8, alpha_k)
    return _LineSearchResults(failed=state.failed | ~state.done, nit=state.i - 1, nfev=state.nfev, ngev=state.ngev,
                              k=state.i, a_k=alpha_k, f_k=state.phi_star, g_k=state.g_star, status=status)


class _LineSearchStep(NamedTuple):
    """A bracketing step that satisfies both conditions, in a zoom's field names."""
    a_star: Array
    phi_star: Array
    dphi_star: Array
    g_star: Array
