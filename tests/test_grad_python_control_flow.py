"""grad through Python control flow on values, outside jit (irax/frontend/tape.py).

`if x < 3:` in a differentiated function cannot be traced; called eagerly,
grad then runs the function op by op on a tape, as JAX's eager grad does.
Values against jax.grad (JAX's autodiff cookbook examples among them); the
staged path still taken where no branch depends on a value; under jit the
error stays JAX's."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.frontend import tape

jax = pytest.importorskip("jax")
jjnp = jax.numpy

rng = np.random.default_rng(0)
X = rng.uniform(0.2, 0.9, (3, 4)).astype(np.float32)
W = rng.normal(size=(4, 3)).astype(np.float32)


def assert_trees_close(ours, theirs, rtol=2e-5, atol=2e-6):
    ours_leaves, ours_tree = jax.tree_util.tree_flatten(ours)
    theirs_leaves, theirs_tree = jax.tree_util.tree_flatten(theirs)
    assert ours_tree == theirs_tree
    for a, b in zip(ours_leaves, theirs_leaves):
        assert np.asarray(a).dtype == np.asarray(b).dtype
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=rtol, atol=atol)


def branch(x):  # the cookbook's
    if x < 3:
        return 3. * x ** 2
    else:
        return -4 * x


def newton_sqrt(a):  # a while loop on values: its trip count depends on a
    x = a
    while abs(x * x - a) > 1e-6:
        x = x - (x * x - a) / (2 * x)
    return x


def doubling(x):  # a loop whose trip count depends on x, and reads x in every step
    y = x
    while y < 10:
        y = y * 2 + x
    return y


def constant_branch(x):  # no op of the result reads x: a zero gradient
    if x > 0:
        return 3.0
    return x


@pytest.mark.parametrize("f, x", [(branch, 2.0), (branch, 5.0), (newton_sqrt, 2.0), (newton_sqrt, 9.0),
                                  (doubling, 0.7), (doubling, 3.0), (constant_branch, 2.0)],
                         ids=["if-taken", "else-taken", "newton-2", "newton-9", "loop-short", "loop-long", "constant"])
def test_grad_of_python_control_flow_like_jax(f, x):
    assert_trees_close(irax.grad(f)(x), jax.grad(f)(x), rtol=1e-5)


def mlp_loss(np_):
    """A loss of a pytree of params whose formula depends on a value."""
    def loss(params, x, scale):
        h = np_.tanh(x @ params["w"] + params["b"])
        s = np_.sum(h * h) * scale
        if s > 1.0:
            return np_.mean(np_.exp(-h)) + s / 10, {"s": s}
        return np_.max(h) * 2.0, {"s": s}
    return loss


@pytest.mark.parametrize("scale", [1.0, 0.01], ids=["first-branch", "second-branch"])
def test_pytrees_argnums_and_has_aux(scale):
    params = {"w": W, "b": np.linspace(-1, 1, 3).astype(np.float32)}
    ours = irax.value_and_grad(mlp_loss(jnp), argnums=(0, 1, 2), has_aux=True)(params, X, scale)
    theirs = jax.value_and_grad(mlp_loss(jjnp), argnums=(0, 1, 2), has_aux=True)(params, X, scale)
    assert_trees_close(ours, theirs)
    grads, aux = irax.grad(mlp_loss(jnp), has_aux=True)(params, X, scale)
    assert_trees_close((grads, aux), (theirs[1][0], theirs[0][1]))


def staged_calls(lib, np_):
    """A jit-ed function, lax.cond closing over values being differentiated,
    and a custom_vjp function (whose rule clips the cotangent) on them."""
    @lib.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, None), lambda _, g: (np_.clip(g, -0.5, 0.5),))
    inner = lib.jit(lambda v, w: np_.sin(v) * w)

    def f(x, w):
        y = inner(x, w)
        z = lib.lax.cond(x > 0, lambda: y * x, lambda: y - x)
        s = clip_gradient(z * 3)
        if s > 0:
            return s * w
        return -s
    return f


@pytest.mark.parametrize("x", [0.7, -0.4])
def test_staged_calls_inside_are_one_entry_each(x):
    ours = irax.grad(staged_calls(irax, jnp), argnums=(0, 1))(x, 1.5)
    assert_trees_close(ours, jax.grad(staged_calls(jax, jjnp), argnums=(0, 1))(x, 1.5))


def test_one_array_passed_twice_is_two_inputs():
    def f(a, b):
        if a > 0:
            return a * b * b
        return a
    x = jnp.asarray(2.0)
    assert_trees_close(irax.grad(f, (0, 1))(x, x), jax.grad(f, (0, 1))(2.0, 2.0))


def test_a_jitted_call_that_donates_a_taped_array_keeps_it_for_the_backward_pass():
    """The tape runs the call's VJP on its operands again, so it must not
    let the call delete them (JAX deletes them: its residuals live elsewhere)."""
    def f(lib, np_mod):
        double = lib.jit(lambda x: x * 2.0, donate_argnums=0)

        def loss(x):
            y = double(x)
            if y.sum() > 0:
                return (y * y).sum()
            return y.sum()
        return loss
    x = jnp.ones(3)
    np.testing.assert_allclose(irax.grad(f(irax, jnp))(x), jax.grad(f(jax, jjnp))(jjnp.ones(3)))


def test_integer_inputs_with_allow_int():
    def f(x, n):
        if n > 1:
            return x * n
        return x
    ours = irax.grad(f, (0, 1), allow_int=True)(2.0, 3)
    theirs = jax.grad(f, (0, 1), allow_int=True)(2.0, 3)
    assert_trees_close(ours[0], theirs[0])
    assert ours[1].dtype == theirs[1].dtype == jax.dtypes.float0


def test_the_staged_path_is_taken_without_value_dependent_branches(monkeypatch, capsys):
    taped = []
    monkeypatch.setattr(tape, "value_and_grad", lambda *a: taped.append(a) or pytest.fail("taped"))
    monkeypatch.setattr(irax.config, "irax_log_compiles", True)

    def no_branch(x):
        return jnp.sum(jnp.tanh(x) ** 2)
    np.testing.assert_allclose(irax.grad(no_branch)(X), jax.grad(lambda x: jjnp.sum(jjnp.tanh(x) ** 2))(X),
                               rtol=2e-5, atol=2e-6)
    assert "compiling value_and_grad(no_branch)" in capsys.readouterr().err
    assert not taped


def test_a_function_that_branched_goes_to_the_tape_at_once(monkeypatch, capsys):
    monkeypatch.setattr(irax.config, "irax_log_compiles", True)

    def f(x):
        return x * 2 if x > 0 else -x
    attempts = []
    for x in [1.0, 2.0, -3.0]:  # one argument signature: the staged trace is tried once
        assert float(irax.grad(f)(x)) == float(jax.grad(f)(x))
        attempts.append(capsys.readouterr().err.count("compiling value_and_grad(f)"))
    assert attempts == [1, 0, 0]


def test_under_jit_the_error_stays():
    assert float(irax.grad(branch)(2.0)) == 12.0  # eagerly, after which jit still raises
    with pytest.raises(irax.errors.ConcretizationTypeError, match="bool"):
        irax.jit(irax.grad(branch))(2.0)
    with pytest.raises(jax.errors.ConcretizationTypeError):
        jax.jit(jax.grad(branch))(2.0)


def growing(np):  # a vector function whose loop's trip count depends on its argument
    def f(x):
        y = x
        while np.sum(y * y) < 4.0:
            y = y * 1.5 + 0.1
        return np.sin(y)
    return f


TRANSFORMS = {  # every eager transformation follows the path the values take, as JAX's
    "grad(grad)": lambda lib, np: lib.grad(lib.grad(branch))(2.0),
    "grad(grad), the other branch": lambda lib, np: lib.grad(lib.grad(branch))(5.0),
    "jvp": lambda lib, np: lib.jvp(doubling, (0.7,), (2.0,)),
    "jvp of a vector function": lambda lib, np: lib.jvp(growing(np), (X[0],), (X[1],)),
    "vjp": lambda lib, np: lib.vjp(growing(np), X[0])[1](X[1]),
    "linearize": lambda lib, np: lib.linearize(newton_sqrt, 2.0)[1](1.0),
    "jacrev": lambda lib, np: lib.jacrev(growing(np))(X[0]),
    "jacfwd": lambda lib, np: lib.jacfwd(growing(np))(X[0]),
    "hessian": lambda lib, np: lib.hessian(lambda x: np.sum(growing(np)(x)))(X[0]),
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_every_transformation_follows_the_values_path_as_jax(name, platform):
    """Each eager transformation where tracing meets Python control flow on
    values applies to the path taken (tape.straight_line); grad of grad
    raised NotImplementedError, the others ConcretizationTypeError."""
    assert_trees_close(TRANSFORMS[name](irax, jnp), TRANSFORMS[name](jax, jax.numpy), rtol=1e-4, atol=1e-5)


def test_errors_of_grad_stay_in_the_fallback():
    def vector_output(x):
        if x[0] > 0:
            return x * 2
        return x
    with pytest.raises(TypeError, match="Gradient only defined for scalar-output functions"):
        irax.grad(vector_output)(X[0])


def power_by_loop(lib, lax):
    return lambda x, n: lax.fori_loop(0, n, lambda i, c: c * x, 1.0)


def power_by_static_jit(lib, lax):
    return lambda x, n: lib.jit(lambda x, n: x ** n, static_argnums=1)(x, n)


@pytest.mark.parametrize("make", [power_by_loop, power_by_static_jit])
def test_a_python_int_argument_not_differentiated_stays_a_value(make):
    """grad(f)(x, 3) where f needs its 3 while tracing (a fori_loop bound that
    reverse mode must know, an inner jit's static argument): irax traced the
    3 and failed with JAX's ValueError; JAX's eager grad passes it as it is.
    Now the staged path falls back to the tape, where it is a Python int.
    Under jit the error stays JAX's, as it is there."""
    ours, theirs = make(irax, irax.lax), make(jax, jax.lax)
    for n in (3, 5):
        assert_trees_close(irax.grad(ours)(2.0, n), jax.grad(theirs)(2.0, n))
        assert_trees_close(irax.value_and_grad(ours)(1.5, n), jax.value_and_grad(theirs)(1.5, n))
    with pytest.raises(ValueError):
        jax.jit(jax.grad(theirs))(2.0, 3)
    with pytest.raises(ValueError):
        irax.jit(irax.grad(ours))(2.0, 3)


def _branching_custom_jvp(lib):
    """Custom_derivative_rules_for_Python_code's: the function and its rule branch on x."""
    np_ = lib.numpy

    @lib.custom_jvp
    def f(x):
        return np_.sin(x) if x > 0 else np_.cos(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        (x,), (x_dot,) = primals, tangents
        ans = f(x)  # the function itself, inside its rule
        return (ans, 2 * x_dot * np_.cos(x)) if x > 0 else (ans, 3 * x_dot)
    return f


@pytest.mark.parametrize("x", [1.0, -1.0])
def test_custom_jvp_with_python_control_flow_as_jax(x):
    """Eagerly a custom_jvp function may branch on values, as in JAX: called,
    it is the function; under grad (and the other transformations) its rule
    at these values, to any order."""
    transforms = {
        "call": lambda lib, f: f(x),
        "grad": lambda lib, f: lib.grad(f)(x),
        "grad of a composition": lambda lib, f: lib.grad(lambda v: f(v) ** 2 + f(2 * v) * v)(x),
        "grad of grad": lambda lib, f: lib.grad(lib.grad(f))(x),
        "jvp": lambda lib, f: lib.numpy.asarray(lib.jvp(f, (x,), (1.0,))[1]),  # (JAX: a Python 3.0 at -1)
        "jacrev": lambda lib, f: lib.jacrev(f)(x),
        "vjp": lambda lib, f: lib.vjp(f, x)[1](1.0),
    }
    for name, t in transforms.items():
        assert_trees_close(t(irax, _branching_custom_jvp(irax)), t(jax, _branching_custom_jvp(jax)), rtol=1e-5)
    with pytest.raises(irax.errors.TracerBoolConversionError):  # under jit it stays an error, as JAX's
        irax.jit(irax.grad(_branching_custom_jvp(irax)))(x)


def test_a_custom_function_called_outside_transformations_runs_alone(capsys):
    """Custom_derivative_rules_for_Python_code's `print(f(3.))`: outside every
    transformation a custom_jvp or custom_vjp function is its function alone,
    as in JAX (its rules neither traced nor run), and it may branch on values."""
    for lib in (irax, jax):
        np_ = lib.numpy

        @lib.custom_jvp
        def f(x):
            print("called f!")
            return np_.sin(x)

        f.defjvp(lambda p, t: (print("called f_jvp!"), (f(p[0]), np_.cos(p[0]) * t[0]))[1])

        @lib.custom_vjp
        def g(x):
            print("called g!")
            return np_.sin(x)

        g.defvjp(lambda x: (print("called g_fwd!"), (g(x), np_.cos(x)))[1],
                 lambda c, ct: (print("called g_bwd!"), (c * ct,))[1])
        np.testing.assert_allclose([float(f(3.0)), float(g(3.0))], [np.sin(3.0)] * 2, rtol=1e-6)
        assert capsys.readouterr().out == "called f!\ncalled g!\n", lib

        branching = lib.custom_vjp(lambda x: np_.sin(x) if x > 0 else np_.cos(x))
        branching.defvjp(lambda x: (branching(x), x), lambda x, ct: (ct,))
        np.testing.assert_allclose([float(branching(3.0)), float(branching(-3.0))], [np.sin(3.0), np.cos(3.0)],
                                   rtol=1e-6)
