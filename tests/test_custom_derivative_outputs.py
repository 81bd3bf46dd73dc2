"""Outputs of custom_jvp / custom_vjp functions that are Python scalars, as
JAX gives them: eagerly the scalar itself (JAX's eager call runs the Python
function), under jit a weakly typed array (or tracer inside)."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp

jax = pytest.importorskip("jax")


def _functions(m):
    @m.custom_jvp
    def scalar(x):
        return 1.0

    scalar.defjvp(lambda p, t: (1.0, 0.0))

    @m.custom_jvp
    def mixed(x):
        return x * 2, 3, 2.5

    # (float0 zeros, the tangent JAX requires of the int output 3: grad differentiates it below)
    mixed.defjvp(lambda p, t: ((p[0] * 2, 3, 2.5), (t[0] * 2, np.zeros((), m.dtypes.float0), 0.0)))

    @m.custom_vjp
    def pair(x):
        return x * 2, 1.0

    pair.defvjp(lambda x: ((x * 2, 1.0), None), lambda r, ct: (ct[0] * 2,))

    @m.custom_vjp
    def integer(x):
        return 7

    integer.defvjp(lambda x: (7, None), lambda r, ct: (m.numpy.zeros(()),))
    return {"scalar": scalar, "mixed": mixed, "pair": pair, "integer": integer}


IRAX, JAX = _functions(irax), _functions(jax)


def _describe(x):
    """(type kind, dtype, weak type, value): a Python scalar, or an array."""
    if isinstance(x, (bool, int, float, complex)):
        return type(x).__name__, None, None, x
    aval = x.aval
    concrete = isinstance(x, (irax.Array, jax.Array)) and not isinstance(x, jax.core.Tracer) and \
        type(x).__name__ != "Tracer"
    return "array", str(aval.dtype), aval.weak_type, np.asarray(x).item() if concrete else None


def _outcome(m, f, mode):
    x = m.numpy.float32(1.5)
    if mode == "eager":
        out = f(x)
    elif mode == "jit":
        out = m.jit(f)(x)
    else:  # inside a jit: tracers
        seen = []
        m.jit(lambda x: seen.append(m.tree_util.tree_map(_describe, f(x))) or x)(x)
        return seen[0]
    return m.tree_util.tree_map(_describe, out)


@pytest.mark.parametrize("mode", ["eager", "jit", "inside_jit"])
@pytest.mark.parametrize("name", sorted(JAX))
def test_python_scalar_outputs_of_custom_functions_as_jax(name, mode):
    assert _outcome(irax, IRAX[name], mode) == _outcome(jax, JAX[name], mode)


def test_python_scalar_outputs_do_not_hide_the_derivative_rules():
    assert irax.grad(lambda x: IRAX["mixed"](x)[0] + IRAX["pair"](x)[1])(jnp.float32(1.0)) == 2.0
    assert IRAX["mixed"](jnp.float32(2.0))[1:] == (3, 2.5)  # the second call: a cached program


def test_python_scalar_arguments_returned_as_they_came_as_jax():
    """JAX's custom-derivatives tutorial: f(Point(1., 2.)) returning pt.x gives 1.0 back, not an array
    (JAX 0.10 gives a float subclass carrying a dtype, TypedFloat, which prints as the float)."""
    def make(m):
        @m.custom_jvp
        def f(pt):
            return {"a": pt[0], "b": m.numpy.sin(pt[1]), "c": pt[1]}

        f.defjvp(lambda p, t: (f(*p), {"a": t[0][0], "b": m.numpy.cos(p[0][1]) * t[0][1], "c": t[0][1]}))
        return f

    def describe(x):
        scalar = next((t for t in (bool, int, float, complex) if isinstance(x, t)), None)
        return (scalar.__name__, str(x)) if scalar else _describe(x)

    ours, theirs = make(irax), make(jax)
    for point in [(1.0, 2.0), (3.0, 4.0)]:  # the second: the cached program
        want = jax.tree_util.tree_map(describe, theirs(point))
        assert irax.tree_util.tree_map(describe, ours(point)) == want, point
