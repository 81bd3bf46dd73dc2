"""irax.scipy.sparse.linalg: cg, bicgstab and gmres solve a small SPD or
nonsymmetric system (a matrix or a function, an array or a pytree, with x0
and a preconditioner) under jit, against np.linalg.solve and JAX's results;
gradients (implicit, as JAX's custom_linear_solve, also through the arrays
a function A closes over) against jax.grad and central differences; errors as JAX's. One system size throughout."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
import irax.scipy.sparse.linalg as sla

jax = pytest.importorskip("jax")
jsla = jax.scipy.sparse.linalg

rng = np.random.default_rng(0)
F = rng.normal(size=(4, 4)).astype(np.float32)
SPD = (F @ F.T + 4 * np.eye(4)).astype(np.float32)
NONSYM = (F + 4 * np.eye(4)).astype(np.float32)
B = rng.normal(size=4).astype(np.float32)
JACOBI = np.diag(1 / np.diag(NONSYM)).astype(np.float32)
W = rng.normal(size=4).astype(np.float32)

# solver -> its matrix (cg's must be symmetric positive definite)
SOLVERS = {"cg": SPD, "bicgstab": NONSYM, "gmres": NONSYM}
# name -> keyword arguments, each run under jit against JAX with the same ones
OPTIONS = {
    "defaults": {},
    "x0 M tol": dict(x0=np.ones(4, np.float32), M=JACOBI, tol=1e-6),
    "atol maxiter": dict(atol=1e-3, tol=0.0, maxiter=2),  # stops early: JAX's iterate after 2 steps
}


def close(ours, theirs, tol=1e-5):
    assert np.asarray(ours).dtype == np.asarray(theirs).dtype
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=tol, atol=tol)


@pytest.mark.parametrize("option", sorted(OPTIONS))
@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_solvers_under_jit_match_numpy_and_jax(name, option):
    A, kw = SOLVERS[name], OPTIONS[option]
    ours = irax.jit(lambda A, b: getattr(sla, name)(A, b, **kw)[0])(A, B)
    close(ours, getattr(jsla, name)(A, B, **kw)[0], 1e-4)
    if option != "atol maxiter":
        close(ours, np.linalg.solve(A, B), 1e-4)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_function_operator_on_a_pytree(name):
    """A as a function of a pytree vector: {"a": 2 entries, "b": a (2, 1) block}."""
    A = SOLVERS[name]

    def matvec(np_):
        def f(tree):
            w = np_.dot(A, np_.concatenate([tree["a"], tree["b"].ravel()]))
            return {"a": w[:2], "b": w[2:].reshape(2, 1)}
        return f

    b = {"a": B[:2], "b": B[2:].reshape(2, 1)}
    ours, _ = getattr(sla, name)(matvec(jnp), b)
    theirs, _ = getattr(jsla, name)(matvec(jax.numpy), b)
    want = np.linalg.solve(A, B)
    for key, part in [("a", want[:2]), ("b", want[2:].reshape(2, 1))]:
        close(ours[key], theirs[key], 1e-4)
        close(ours[key], part, 1e-4)


def test_gmres_incremental_restarts_eager_preconditioner_and_info():
    for restart in (2, 4):
        ours, info = sla.gmres(NONSYM, B, restart=restart, solve_method="incremental")
        close(ours, jsla.gmres(NONSYM, B, restart=restart, solve_method="incremental")[0], 1e-4)
        close(ours, np.linalg.solve(NONSYM, B), 1e-4)
        assert int(info) == 0
    assert sla.cg(SPD, B)[1] is None and sla.bicgstab(NONSYM, B)[1] is None
    # eager, with a preconditioner gmres applies to b before its loop (outside any trace)
    for M in (JACOBI, lambda v: v / jnp.diag(jnp.asarray(NONSYM))):
        close(sla.gmres(NONSYM, B, M=M)[0], np.linalg.solve(NONSYM, B), 1e-4)


def test_complex_systems():
    """cg's A Hermitian positive definite; real parts of inner products where JAX takes them."""
    G = (F + 1j * rng.normal(size=(4, 4))).astype(np.complex64)
    b = (B + 1j * W).astype(np.complex64)
    for name, A in [("cg", G @ G.conj().T + 4 * np.eye(4, dtype=np.complex64)), ("bicgstab", G + 4 * np.eye(4)),
                    ("gmres", G + 4 * np.eye(4))]:
        A = A.astype(np.complex64)
        ours = getattr(sla, name)(A, b)[0]
        close(ours, getattr(jsla, name)(A, b)[0], 1e-4)
        close(ours, np.linalg.solve(A, b), 1e-4)


def test_vmap_over_right_hand_sides():
    bs = rng.normal(size=(3, 4)).astype(np.float32)
    for name, A in SOLVERS.items():
        ours = irax.vmap(lambda b: getattr(sla, name)(A, b)[0])(bs)
        close(ours, np.linalg.solve(A, bs.T).T, 1e-4)


# solver -> how its gradient test calls it: A as a matrix, or as a function closing over
# its matrix (JAX's closure_convert: the matrix gets the cotangent -lam x^T) with x0 = b
# and a Jacobi preconditioner made from A (x0 and M are constants of the solve, in JAX too)
CALLS = {
    "cg": lambda library, np_, A, b: library.cg(A, b),
    "bicgstab": lambda library, np_, A, b: library.bicgstab(lambda v: np_.dot(A, v), b, x0=b,
                                                            M=lambda v: v / np_.diag(A)),
    "gmres": lambda library, np_, A, b: library.gmres(A, b),
}


def test_gradients_match_jax_and_finite_differences():
    """d(W . x)/d(A, b) with x = A^-1 b: implicit (b's cotangent A^-T W, A's -that x^T),
    in one jitted program for the three solvers."""
    def total(library, np_):
        return lambda ps: {name: np_.sum(CALLS[name](library, np_, *ps[name])[0] * W) for name in ps}
    points = {name: (A, B) for name, A in SOLVERS.items()}
    ours = irax.jit(irax.grad(lambda ps: sum(total(sla, jnp)(ps).values())))(points)
    theirs = jax.grad(lambda ps: sum(total(jsla, jax.numpy)(ps).values()))(points)
    for name, A in SOLVERS.items():
        for o, t in zip(ours[name], theirs[name]):
            close(o, t, 1e-4)
        close(ours[name][1], np.linalg.solve(A.T, W), 1e-4)
    eps = 1e-2
    direction = {name: (rng.uniform(-1, 1, (4, 4)).astype(np.float32), rng.uniform(-1, 1, 4).astype(np.float32))
                 for name in points}
    direction["cg"] = ((direction["cg"][0] + direction["cg"][0].T) / 2, direction["cg"][1])  # A stays symmetric
    step = lambda sign: {n: tuple(p + sign * eps * d for p, d in zip(points[n], direction[n])) for n in points}
    values = irax.jit(total(sla, jnp))
    hi, lo = values(step(1)), values(step(-1))
    for name in points:
        numerical = (float(hi[name]) - float(lo[name])) / (2 * eps)
        analytic = sum(float(np.sum(np.asarray(g) * d)) for g, d in zip(ours[name], direction[name]))
        np.testing.assert_allclose(analytic, numerical, rtol=1e-2, atol=1e-3, err_msg=name)


def test_forward_mode_matches_jax_and_finite_differences():
    """jvp (ẋ = A^-1 (ḃ - Ȧ x), JAX's custom_linear_solve JVP: it raised "can't apply
    forward-mode autodiff (jvp) to a custom_vjp function") in one program for the three
    solvers, and cg's hessian (jacfwd over jacrev, which IREE failed to compile)."""
    points = {name: (A, B) for name, A in SOLVERS.items()}
    direction = {name: (SPD / 10 if name == "cg" else F / 10, W) for name in points}  # cg's A stays symmetric

    def tangents(library, np_, jvp):
        def solve(name):
            return lambda A, b: CALLS[name](library, np_, A, b)[0]
        return lambda ps, ds: {name: jvp(solve(name), ps[name], ds[name])[1] for name in ps}

    ours = irax.jit(tangents(sla, jnp, irax.jvp))(points, direction)
    theirs = tangents(jsla, jax.numpy, jax.jvp)(points, direction)
    eps = 1e-2
    for name, (A, b) in points.items():
        dA, db = direction[name]
        close(ours[name], theirs[name], 1e-4)
        hi, lo = np.linalg.solve(A + eps * dA, b + eps * db), np.linalg.solve(A - eps * dA, b - eps * db)
        numerical = (hi - lo) / (2 * eps)
        np.testing.assert_allclose(np.asarray(ours[name]), numerical, rtol=1e-2, atol=1e-3, err_msg=name)
    hessian = irax.hessian(lambda b: jnp.sum(sla.cg(SPD, b)[0] ** 2))(B)
    close(hessian, 2 * np.linalg.inv(SPD) @ np.linalg.inv(SPD), 1e-4)


@pytest.mark.parametrize("name", sorted(SOLVERS))
def test_errors_as_jax(name):
    fn, jfn = getattr(sla, name), getattr(jsla, name)
    cases = [((np.ones((4, 3), np.float32), B), {}, ValueError),
             ((SPD, B), dict(x0={"a": B}), ValueError),
             (("not an operator", B), {}, TypeError)]
    if name != "gmres":  # gmres checks only x0's structure, as JAX's
        cases.append(((SPD, B), dict(x0=B[:3]), ValueError))
    else:
        cases.append(((SPD, B), dict(solve_method="bogus"), ValueError))
    for args, kw, err in cases:
        with pytest.raises(err) as want:
            jfn(*args, **kw)
        with pytest.raises(err, match=str(want.value)[:30].replace("(", r"\(")):
            fn(*args, **kw)
