"""`lax.custom_root` and `lax.custom_linear_solve`: solves differentiated by
the implicit function theorem rather than through the solver, as JAX's.

custom_linear_solve(matvec, b, solve): x = solve(matvec, b) with A x = b.
Differentiating A x = b gives  ∂A x + A ∂x = ∂b, so

    forward:  ∂x = A⁻¹ (∂b - ∂A x)                     (solve again)
    reverse:  ct_b = A⁻ᵀ ct_x  (transpose_solve with vecmat = Aᵀ),
              ct_A = -(∂(A x)/∂A)ᵀ ct_b                 (a VJP of matvec at x)

custom_root(f, guess, solve, tangent_solve): u = solve(f, guess) with
f(u; m) = 0 for whatever f closes over (m). Then ∂_m f + ∂_u f ∂u = 0, so

    ∂u = -(∂_u f)⁻¹ (∂_m f ∂m)                           (tangent_solve)

and reverse mode is its transpose, ct_m = -(∂_m f)ᵀ (∂_u f)⁻ᵀ ct_u, with the
middle factor the transpose of tangent_solve (JAX transposes the JVP whole).

The derivatives are with respect to the arrays `matvec` and `f` close over:
closure conversion (closure.py) makes them arguments of an irax.custom_jvp /
custom_vjp_and_jvp function whose rules are the lines above. The arrays
`solve`, `transpose_solve` and `tangent_solve` close over are arguments too,
with no derivative: the solution is defined by the equation, not the solver.
Called outside every transformation nothing is differentiated, and the call
is `solve` itself, as JAX's eager call runs it.
"""
import functools
from collections.abc import Callable
from typing import Any

from irax import tree_util
from irax.frontend import core, lax_structural, shapes
from irax.frontend.autodiff import jvp, linear_transpose, vjp
from irax.frontend.closure import closure_convert
from irax.frontend.custom_derivatives import custom_jvp, custom_vjp_and_jvp

__all__ = ["custom_linear_solve", "custom_root"]


def _check_tree(func_name, expected_name, actual_tree, expected_tree, has_aux=False):
    """JAX's errors for a function whose output is not a pytree like `expected_tree`."""
    if has_aux:
        children = actual_tree.children()
        if len(children) != 2:
            raise ValueError(f"{func_name}() produced a pytree with structure {actual_tree}, but a pytree tuple with "
                             "auxiliary output was expected because has_aux was set to True.")
        actual_tree = children[0]
    if actual_tree != expected_tree:
        raise TypeError(f"{func_name}() output pytree structure must match {expected_name}, "
                        f"got {actual_tree} and {expected_tree}.")


def _check_output(func_name, expected_name, fun, example, has_aux=False):
    """`fun(example)` has the shapes and structure of `example` (found by
    tracing, nothing runs); JAX compares the shapes of the leaves first."""
    out = shapes.eval_shape(fun, example)
    tree = tree_util.tree_structure(out)
    if has_aux:
        _check_tree(func_name, expected_name, tree, tree_util.tree_structure(example), has_aux)
        out = out[0]
    actual = [tuple(x.shape) for x in tree_util.tree_leaves(out)]
    expected = [tuple(shapes.typeof(x).shape) for x in tree_util.tree_leaves(example)]
    if actual != expected:
        raise ValueError(f"{func_name}() output shapes must match {expected_name}, got {actual} and {expected}")
    _check_tree(func_name, expected_name, tree, tree_util.tree_structure(example), has_aux)


def _tree_sub(a, b):
    return tree_util.tree_map(lambda x, y: x - y, a, b)


def _zeros_like(tree):
    return tree_util.tree_map(lambda x: lax_structural.full_like(x, 0), tree)


# --- custom_linear_solve -----------------------------------------------------

class _LinearSolve:
    """The four maps of a linear solve, closure converted (each `map(v, *consts)`),
    and the custom function `call(consts, b)` solving with them. Its transpose
    swaps matvec with vecmat and solve with transpose_solve: the reverse-mode
    rule solves with it (and its own reverse mode with this one again)."""

    def __init__(self, matvec, vecmat, solve, transpose_solve, has_aux, transposed=None):
        self.matvec, self.vecmat, self.solve, self.transpose_solve = matvec, vecmat, solve, transpose_solve
        self.has_aux = has_aux
        self._transposed = transposed

    def transpose(self) -> "_LinearSolve":
        if self._transposed is None:
            self._transposed = _LinearSolve(self.vecmat, self.matvec, self.transpose_solve, self.solve, self.has_aux,
                                            transposed=self)
        return self._transposed

    def solution(self, out):
        return out[0] if self.has_aux else out

    @functools.cached_property
    def call(self):
        """custom function (consts, b) -> solve(matvec, b), consts a tuple of
        four lists (matvec's, vecmat's, solve's, transpose_solve's)."""

        def solve(consts, b):
            return self.solve(b, *consts[2])

        def jvp_rule(primals, tangents):
            (consts, b), (dconsts, db) = primals, tangents
            out = call(consts, b)
            x = self.solution(out)
            rhs = db
            if consts[0]:  # ∂A x, the matvec at x differentiated with respect to what it closes over
                dAx = jvp(lambda c: self.matvec(x, *c), (consts[0],), (dconsts[0],))[1]
                rhs = _tree_sub(db, dAx)
            dout = call(consts, rhs) if self.transpose_solve is not None else solve(consts, rhs)
            return out, ((self.solution(dout), _zeros_like(out[1])) if self.has_aux else dout)

        if self.transpose_solve is None:
            # No reverse mode of its own (JAX raises TypeError): irax transposes
            # the JVP rule, which it can where `solve` is linear and not a loop;
            # the rule solves with `solve` itself, as that transpose cannot
            # recurse into this function's own rule.
            call = custom_jvp(solve)
            call.defjvp(jvp_rule)
            return call

        def fwd(consts, b):
            out = solve(consts, b)
            return out, (consts, self.solution(out))

        def bwd(residuals, ct):
            consts, x = residuals
            ct_x = ct[0] if self.has_aux else ct
            transposed = self.transpose()
            ct_b = transposed.solution(transposed.call((consts[1], consts[0], consts[3], consts[2]), ct_x))
            ct_matvec = []
            if consts[0]:  # -(∂(A x)/∂A)ᵀ ct_b
                ct_matvec = [-c for c in vjp(lambda *c: self.matvec(x, *c), *consts[0])[1](ct_b)]
            return (ct_matvec, _zeros_like(consts[1]), _zeros_like(consts[2]), _zeros_like(consts[3])), ct_b

        call = custom_vjp_and_jvp(solve)
        call.defvjp(fwd, bwd)
        call.defjvp(jvp_rule)
        return call


def custom_linear_solve(matvec: Callable, b: Any, solve: Callable[[Callable, Any], Any],
                        transpose_solve: Callable[[Callable, Any], Any] | None = None, symmetric: bool = False,
                        has_aux: bool = False) -> Any:
    """jax.lax.custom_linear_solve: `solve(matvec, b)`, a solution x of the
    linear equation matvec(x) == b, differentiated implicitly (module
    docstring) with respect to `b` and the arrays `matvec` closes over.
    `transpose_solve(vecmat, b)` solves with the transposed map (found by
    autodiff), for reverse mode; `symmetric=True` makes `solve` that. With
    `has_aux`, the solvers return (x, aux) and aux has no derivative."""
    if transpose_solve is None and symmetric:
        transpose_solve = solve
    _check_output("matvec", "b", matvec, b)
    _check_output("solve", "b", lambda v: solve(matvec, v), b, has_aux)
    if transpose_solve is not None:
        vecmat = matvec if symmetric else (lambda y: linear_transpose(matvec, b)(y)[0])
        _check_output("transpose_solve", "b", lambda v: transpose_solve(vecmat, v), b, has_aux)
    if core.untraced():
        return solve(matvec, b)

    maps = [closure_convert(matvec, b), closure_convert(lambda v: solve(matvec, v), b)]
    if transpose_solve is not None:
        maps += [closure_convert(vecmat, b), closure_convert(lambda v: transpose_solve(vecmat, v), b)]
    else:
        maps += [(None, []), (None, [])]
    (mv, mv_c), (sv, sv_c), (vm, vm_c), (tv, tv_c) = maps
    return _LinearSolve(mv, vm, sv, tv, has_aux).call((mv_c, vm_c, sv_c, tv_c), b)


# --- custom_root ---------------------------------------------------------------

def custom_root(f: Callable, initial_guess: Any, solve: Callable[[Callable, Any], Any],
                tangent_solve: Callable[[Callable, Any], Any], has_aux: bool = False) -> Any:
    """jax.lax.custom_root: `solve(f, initial_guess)`, a root of `f`,
    differentiated implicitly (module docstring) with respect to the arrays
    `f` closes over. `tangent_solve(g, y)` solves the linear system g(x) = y
    for `g`, `f` linearized at the root (for a scalar: `lambda g, y: y / g(1.0)`).
    With `has_aux`, `solve` returns (root, aux) and aux has no derivative."""
    _check_output("f", "initial_guess", f, initial_guess)
    _check_output("solve", "initial_guess", lambda g: solve(f, g), initial_guess, has_aux)

    def linearize_and_solve(x, y):
        return tangent_solve(lambda t: jvp(f, (x,), (t,))[1], y)

    _check_output("tangent_solve", "initial_guess", lambda y: linearize_and_solve(initial_guess, y), initial_guess)
    if core.untraced():
        return solve(f, initial_guess)

    (fc, f_c), (sv, sv_c) = closure_convert(f, initial_guess), closure_convert(lambda g: solve(f, g), initial_guess)
    ls, ls_c = closure_convert(linearize_and_solve, initial_guess, initial_guess)

    def root_solve(consts, guess):
        return sv(guess, *consts[1])

    def solution_of(out):
        return out[0] if has_aux else out

    def root_jvp(primals, tangents):
        (consts, guess), (dconsts, _) = primals, tangents
        out = root(consts, guess)
        solution = solution_of(out)
        if not consts[0]:  # f closes over nothing differentiated: the root is constant
            return out, _zeros_like(out)
        df = jvp(lambda c: fc(solution, *c), (consts[0],), (dconsts[0],))[1]  # ∂_m f ∂m
        dsolution = tree_util.tree_map(lambda t: -t, ls(solution, df, *consts[2]))
        return out, ((dsolution, _zeros_like(out[1])) if has_aux else dsolution)

    def root_fwd(consts, guess):
        out = root_solve(consts, guess)
        return out, (consts, solution_of(out))

    def root_bwd(residuals, ct):
        """The transpose of the JVP: ct_m = -(∂_m f)ᵀ (∂_u f)⁻ᵀ ct_u, the middle
        factor the transpose of tangent_solve (linear in its right side)."""
        consts, solution = residuals
        zeros = (_zeros_like(consts[0]), _zeros_like(consts[1]), _zeros_like(consts[2]))
        if not consts[0]:
            return zeros, _zeros_like(solution)
        ct_solution = ct[0] if has_aux else ct
        w = linear_transpose(lambda y: ls(solution, y, *consts[2]), solution)(ct_solution)[0]
        ct_f = [-c for c in vjp(lambda *c: fc(solution, *c), *consts[0])[1](w)]
        return (ct_f,) + zeros[1:], _zeros_like(solution)

    root = custom_vjp_and_jvp(root_solve)
    root.defvjp(root_fwd, root_bwd)
    root.defjvp(root_jvp)
    return root((f_c, sv_c, ls_c), initial_guess)
