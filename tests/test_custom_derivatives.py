"""custom_jvp and custom_vjp: rules that replace a function's derivative,
against jax's own custom functions (values, gradients, errors), and the
rules kept in a module's printed text."""
import functools

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from helpers import error_of

jax = pytest.importorskip("jax")
jjnp = jax.numpy
Y = np.random.default_rng(0).uniform(0.3, 1.1, (3, 4)).astype(np.float32)


def test_custom_jvp_gives_a_stable_log1pexp():
    @irax.custom_jvp
    def log1pexp(x):
        return jnp.log(1.0 + jnp.exp(x))

    @log1pexp.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return log1pexp(x), (1 - 1 / (1 + jnp.exp(x))) * t

    assert float(irax.grad(log1pexp)(100.0)) == 1.0  # the naive derivative is inf/inf = nan
    assert abs(float(irax.grad(irax.grad(log1pexp))(0.5)) - 0.2350037) < 1e-5


def test_custom_vjp_straight_through_and_clipping():
    @irax.custom_vjp
    def clip_gradient(x):
        return x

    clip_gradient.defvjp(lambda x: (x, ()), lambda res, g: (jnp.clip(g, -0.5, 0.5),))
    g = irax.grad(lambda x: jnp.sum(clip_gradient(x) * 3.0))(jnp.asarray(Y))
    np.testing.assert_allclose(g, np.full_like(Y, 0.5))


@irax.custom_vjp
def sin_clipped_grad(x):
    return jnp.sin(x)


sin_clipped_grad.defvjp(lambda x: (jnp.sin(x), (jnp.cos(x),)), lambda res, g: (res[0] * jnp.clip(g, -0.5, 0.5),))


@irax.custom_jvp
def sin_doubled_tangent(x):
    return jnp.sin(x)


@sin_doubled_tangent.defjvp
def _(primals, tangents):
    (x,), (t,) = primals, tangents
    return sin_doubled_tangent(x), 2.0 * jnp.cos(x) * t  # calls itself: its rule refers to its own function


@pytest.mark.parametrize("fwd, bwd, match", [
    (lambda x: x, lambda res, g: (g,), "fwd rule must produce a pair"),
    (lambda x: (x, ()), lambda res, g: g, "bwd rule must produce an output with the same container"),
])
def test_custom_vjp_rules_of_the_wrong_form_are_type_errors(fwd, bwd, match):
    @irax.custom_vjp
    def f(x):
        return x

    f.defvjp(fwd, bwd)
    with pytest.raises(TypeError, match=match):
        irax.grad(lambda x: jnp.sum(f(x)))(jnp.ones(3))


def nondiff_functions(lib):
    """JAX's nondiff_argnums examples: a function argument to custom_jvp, a
    (lo, hi) pair and an array to custom_vjp; the rules get them first."""
    jnp_ = lib.numpy

    @functools.partial(lib.custom_jvp, nondiff_argnums=(0,))
    def app(f, x):
        return f(x)

    app.defjvp(lambda f, primals, tangents: (app(f, primals[0]), 2.0 * tangents[0]))

    @functools.partial(lib.custom_vjp, nondiff_argnums=(0, 2))
    def clip_gradient(lohi, x, scale):
        return x * scale

    clip_gradient.defvjp(lambda lohi, x, scale: (x * scale, None),
                         lambda lohi, scale, res, g: (jnp_.clip(g, *lohi) * scale,))
    return app, clip_gradient


def test_custom_functions_with_nondiff_argnums_like_jax():
    x = np.array([0.1, 0.4, 0.9], np.float32)
    scale = np.array([1.0, 2.0, 3.0], np.float32)
    (app, clip), (app_j, clip_j) = nondiff_functions(irax), nondiff_functions(jax)
    cases = [
        (lambda x: jnp.sum(app(jnp.sin, x)), lambda x: jjnp.sum(app_j(jjnp.sin, x))),
        (lambda x: jnp.sum(clip((-0.75, 0.75), jnp.sin(x), jnp.asarray(scale)) * 3.0),
         lambda x: jjnp.sum(clip_j((-0.75, 0.75), jjnp.sin(x), scale) * 3.0)),
    ]
    for f, fj in cases:
        np.testing.assert_allclose(f(jnp.asarray(x)), fj(x), rtol=1e-6)
        np.testing.assert_allclose(irax.grad(f)(jnp.asarray(x)), jax.grad(fj)(x), rtol=1e-6)
        np.testing.assert_allclose(irax.jit(irax.grad(f))(x), jax.grad(fj)(x), rtol=1e-6)
        np.testing.assert_allclose(irax.vmap(irax.grad(f))(np.stack([x, 2 * x])),
                                   jax.vmap(jax.grad(fj))(np.stack([x, 2 * x])), rtol=1e-6)


def repeated(lib):
    """x doubled (custom_jvp) or tripled (custom_vjp) n times: a Python loop on
    a nondiff int argument, which JAX passes on as an int."""
    @functools.partial(lib.custom_jvp, nondiff_argnums=(1,))
    def doubled(x, n):
        for _ in range(n):
            x = x * 2.0
        return x

    doubled.defjvp(lambda n, primals, tangents: (doubled(primals[0], n), tangents[0] * 2.0 ** n))

    @functools.partial(lib.custom_vjp, nondiff_argnums=(1,))
    def tripled(x, n):
        for _ in range(n):
            x = x * 3.0
        return x

    tripled.defvjp(lambda x, n: (tripled(x, n), None), lambda n, saved, ct: (ct * 3.0 ** n,))
    return doubled, tripled


def test_a_nondiff_int_argument_stays_an_int_like_jax():
    """(Traced as an array, the loop raised ConcretizationTypeError: in the
    custom function, and in grad under jit with the int static.)"""
    for ours, theirs in zip(repeated(irax), repeated(jax)):
        for transform in (lambda lib, f: lib.grad(f), lambda lib, f: lib.jit(lib.grad(f), static_argnums=1)):
            for n in (2, 3):
                assert float(transform(irax, ours)(1.5, n)) == float(transform(jax, theirs)(1.5, n))
        assert float(irax.jit(irax.grad(lambda x: ours(x, 2)))(1.0)) == float(jax.grad(lambda x: theirs(x, 2))(1.0))
    plain = lambda x, n: sum(x * i for i in range(n))  # noqa: E731 (grad, not differentiating n, under jit)
    assert float(irax.jit(irax.grad(plain), static_argnums=1)(2.0, 4)) == 6.0


def test_custom_jvp_defjvps_and_keyword_arguments_like_jax():
    def make(lib):
        f = lib.custom_jvp(lambda x, y: lib.numpy.sin(x) * y)
        f.defjvps(lambda x_dot, out, x, y: lib.numpy.cos(x) * x_dot * y,
                  lambda y_dot, out, x, y: lib.numpy.sin(x) * y_dot)
        g = lib.custom_jvp(lambda x, y: x * y)
        g.defjvps(None, lambda y_dot, out, x, y: 3.0 * y_dot)  # None: x has no effect on the tangent
        return f, g

    (f, g), (fj, gj) = make(irax), make(jax)
    for ours, theirs in [(f, fj), (g, gj)]:
        want = jax.grad(theirs, argnums=(0, 1))(2.0, 3.0)
        np.testing.assert_allclose(irax.grad(ours, argnums=(0, 1))(2.0, 3.0), want, rtol=1e-6)
        np.testing.assert_allclose(irax.jvp(ours, (2.0, 3.0), (1.0, 0.5))[1], jax.jvp(theirs, (2.0, 3.0), (1.0, 0.5))[1],
                                   rtol=1e-6)
        np.testing.assert_allclose(ours(2.0, y=3.0), theirs(2.0, y=3.0), rtol=1e-6)
        np.testing.assert_allclose(irax.grad(lambda x: ours(x, y=3.0))(2.0), jax.grad(lambda x: theirs(x, y=3.0))(2.0),
                                   rtol=1e-6)
    def with_default(lib):  # a default argument is passed to the rules, as JAX binds it
        f = lib.custom_vjp(lambda x, y=2.0: x * y)
        f.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1], g * res[0]))
        return f

    np.testing.assert_allclose(irax.grad(with_default(irax))(3.0), jax.grad(with_default(jax))(3.0))
    with pytest.raises(TypeError, match="defjvps.*nondiff_argnums"):
        irax.custom_jvp(lambda f, x: f(x), nondiff_argnums=(0,)).defjvps(None, None)


def test_custom_vjp_bwd_may_give_none_for_zero_cotangents_like_jax():
    """None for a whole argument (an integer one too) or for part of a pytree one."""
    def make(lib):
        f = lib.custom_vjp(lambda x, n, p: x * n + p["a"] * p["b"])
        f.defvjp(lambda x, n, p: (f(x, n, p), (n, p)), lambda res, g: (g * res[0], None, {"a": g * res[1]["b"], "b": None}))
        return f

    f, fj = make(irax), make(jax)
    p = {"a": np.float32(2.0), "b": np.float32(5.0)}
    want = jax.grad(fj, argnums=(0, 2))(1.5, 3, p)
    got = irax.grad(f, argnums=(0, 2))(1.5, 3, p)
    np.testing.assert_allclose(got[0], want[0])
    for k in p:
        np.testing.assert_allclose(got[1][k], want[1][k])
    bad = irax.custom_vjp(lambda x, y: x * y)
    bad.defvjp(lambda x, y: (x * y, None), lambda res, g: ({"no": g}, None))
    with pytest.raises(TypeError, match="bwd rule must produce an output with the same container"):
        irax.grad(bad)(1.0, 2.0)


def scaled_sin(lib, c, kind):
    """x -> sin(x) * c as a lib.custom_{kind} function of x (lib is irax or jax)
    that closes over the array c, with a rule that doubles its derivative:
    the rule calls the function and closes over an array it does not."""
    two = lib.numpy.full((3,), 2.0)
    if kind == "vjp":
        f = lib.custom_vjp(lambda x: lib.numpy.sin(x) * c)
        f.defvjp(lambda x: (f(x), lib.numpy.cos(x)), lambda cos, g: (two * cos * c * g,))
    else:
        f = lib.custom_jvp(lambda x: lib.numpy.sin(x) * c)
        f.defjvp(lambda p, t: (f(p[0]), two * lib.numpy.cos(p[0]) * c * t[0]))
    return f


@pytest.mark.parametrize("kind", ["vjp", "jvp"])
def test_custom_functions_may_close_over_arrays(kind):
    """The arrays closed over are operands of the call and its rules, so the
    function runs eagerly, under jit, and differentiates by its rule."""
    x, c = np.array([0.1, 0.2, 0.3], np.float32), np.array([1.5, -2.0, 0.5], np.float32)
    f, fj = scaled_sin(irax, jnp.asarray(c), kind), scaled_sin(jax, jjnp.asarray(c), kind)
    loss, loss_j = (lambda x: jnp.sum(f(x))), (lambda x: jjnp.sum(fj(x)))
    want, want_grad = fj(x), jax.grad(loss_j)(x)
    np.testing.assert_allclose(f(jnp.asarray(x)), want, rtol=1e-6)
    np.testing.assert_allclose(irax.jit(f)(x), want, rtol=1e-6)
    np.testing.assert_allclose(irax.grad(loss)(x), want_grad, rtol=1e-6)
    np.testing.assert_allclose(irax.jit(irax.grad(loss))(x), want_grad, rtol=1e-6)
    np.testing.assert_allclose(want_grad, 2 * np.cos(x) * c, rtol=1e-6)  # the rule's, not sin's
    traced_c = irax.jit(lambda c, x: scaled_sin(irax, c, kind)(x))(c, x)  # c a Tracer of jit's trace
    np.testing.assert_allclose(traced_c, want, rtol=1e-6)
    if kind == "jvp":
        tangent = irax.jvp(f, (x,), (np.ones(3, np.float32),))[1]
        np.testing.assert_allclose(tangent, jax.jvp(fj, (x,), (np.ones(3, np.float32),))[1], rtol=1e-6)


def test_a_rule_that_calls_its_function_and_uses_numpy_data_traces_once_more_not_forever():
    """NumPy data met while tracing becomes an argument; the rule's trace is
    repeated once to pass it to the rule's own call of the function, and
    equal data must be the same argument again (it used to be a new one each
    time: tracing never ended)."""
    def make(lib):
        f = lib.custom_jvp(lambda x: x * 2)
        f.defjvp(lambda p, t: (f(p[0]), t[0] * 2 + 0 * f(p[0]) * np.arange(3.0, dtype=np.float32)))
        return lambda x: f(x).sum()

    x = np.ones(3, np.float32)
    np.testing.assert_allclose(irax.grad(make(irax))(x), jax.grad(make(jax))(x))


@pytest.mark.parametrize("kind", ["vjp", "jvp"])
def test_differentiating_a_custom_function_by_an_array_it_closes_over_is_an_error(kind):
    """Its rules give derivatives with respect to its arguments alone; JAX raises too."""
    x, c = np.array([0.1, 0.2, 0.3], np.float32), np.array([1.5, -2.0, 0.5], np.float32)
    with pytest.raises(jax.errors.UnexpectedTracerError):
        jax.grad(lambda c: jjnp.sum(scaled_sin(jax, c, kind)(x)))(c)
    with pytest.raises(NotImplementedError, match=f"custom_{kind} function differentiated with respect to an "
                                                  "array it closes over"):
        irax.grad(lambda c: jnp.sum(scaled_sin(irax, c, kind)(x)))(c)


# Given a module's text alone, a fresh process runs an autodiff pass on it
# and the function the pass added: ((text, "vjp" or "jvp"), ...) on stdin.
DIFFERENTIATE_TEXT = """
import json, sys
import numpy as np
from iree.compiler import ir
from helpers import run_module
from irax.ir import mlir
from irax.frontend.core import ShapedArray
from irax.transforms import pipeline

x = np.array([0.1, 0.2, 0.3], np.float32)
vector, scalar = ShapedArray((3,), np.float32), ShapedArray((), np.float32)
results = []
for text, mode in json.load(sys.stdin):
    module = ir.Module.parse(text, mlir.context())
    pipeline.run(module)  # its first pass, differentiate, defines the declared derivative
    inputs, avals = ([x], [vector]) if mode == "grad" else ([x, np.ones(3, np.float32)], [vector, vector])
    results.append(np.asarray(run_module(module, inputs, avals)[-1]).tolist())
print(json.dumps(results))
"""


def test_a_printed_module_holds_its_derivatives_and_custom_rules():
    """A traced grad or jvp declares its derivative in the module, and a
    custom_vjp / custom_jvp call's rules are functions of the module too, so
    the text alone, parsed in another process, differentiates as the rules
    say: d/dx sum(3 sin x) by the clipped rule is 0.5 cos x, not 3 cos x."""
    import json
    import os
    import re
    import subprocess
    import sys

    x = jnp.asarray(np.array([0.1, 0.2, 0.3], np.float32))
    vjp_loss = lambda x: jnp.sum(sin_clipped_grad(x) * 3.0)  # noqa: E731
    jvp_loss = lambda x: jnp.sum(sin_doubled_tangent(x) * 3.0)  # noqa: E731
    texts = [
        (irax.grad(vjp_loss).lower(x).as_text("traced"), "grad"),
        (irax.grad(jvp_loss).lower(x).as_text("traced"), "grad"),
        (irax.jit(lambda x, t: irax.jvp(sin_doubled_tangent, (x,), (t,))).lower(x, x).as_text("traced"), "jvp"),
    ]
    assert re.search(r"irax_custom_vjp_\d+_bwd\(", texts[0][0]) and re.search(r"irax_custom_jvp_\d+_rule\(", texts[2][0])
    assert all("irax.vjp_of" in t or "irax.jvp_of" in t for t, _ in texts)
    tests = os.path.dirname(__file__)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}
    child = subprocess.run([sys.executable, "-c", DIFFERENTIATE_TEXT], input=json.dumps(texts), env=env,
                           capture_output=True, text=True)
    assert child.returncode == 0, child.stderr
    grad_vjp, grad_jvp, tangent = json.loads(child.stdout)
    cos = np.cos(np.asarray(x))
    expected = [0.5 * cos, 6.0 * cos, 2.0 * cos]
    in_process = [irax.grad(vjp_loss)(x), irax.grad(jvp_loss)(x), irax.jvp(sin_doubled_tangent, (x,), (x * 0 + 1,))[1]]
    for got, ours, want in zip([grad_vjp, grad_jvp, tangent], in_process, expected):
        np.testing.assert_allclose(got, want, rtol=1e-6)
        np.testing.assert_allclose(ours, want, rtol=1e-6)


def cookbook_fixed_point(jax, np):
    """JAX's autodiff cookbook: a fixed point whose custom VJP solves another
    fixed point, by calling itself in its bwd rule with a new `partial`."""
    @functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
    def fixed_point(f, a, x_guess):
        def body(carry):
            return carry[1], f(a, carry[1])
        return jax.lax.while_loop(lambda c: np.abs(c[0] - c[1]) > 1e-6, body, (x_guess, f(a, x_guess)))[1]

    def fwd(f, a, x_init):
        x_star = fixed_point(f, a, x_init)
        return x_star, (a, x_star)

    def rev(f, res, x_star_bar):
        a, x_star = res
        _, vjp_a = jax.vjp(lambda a: f(a, x_star), a)
        a_bar, = vjp_a(fixed_point(functools.partial(rev_iter, f), (a, x_star, x_star_bar), x_star_bar))
        return a_bar, np.zeros_like(x_star)

    def rev_iter(f, packed, u):
        a, x_star, x_star_bar = packed
        _, vjp_x = jax.vjp(lambda x: f(a, x), x_star)
        return x_star_bar + vjp_x(u)[0]

    fixed_point.defvjp(fwd, rev)
    return lambda a: fixed_point(lambda a, x: 0.5 * (x + a / x), a, a)


def test_the_cookbook_fixed_point_like_jax():
    """Its rules were traced when it was called, and the bwd rule's own call
    traced its rules, without end: even the value hung. A call inside its
    own rules at other arguments is traced without rules now (JAX traces
    rules only to differentiate): one level deep with rules of its own, for
    the cookbook's second derivative (it reverse-differentiated the while
    loop, DynamicBoundsError)."""
    ours, theirs = cookbook_fixed_point(irax, jnp), cookbook_fixed_point(jax, jjnp)
    np.testing.assert_allclose(ours(2.0), theirs(2.0), rtol=1e-6)
    np.testing.assert_allclose(irax.grad(ours)(2.0), jax.grad(theirs)(2.0), rtol=1e-5)
    np.testing.assert_allclose(irax.jit(irax.grad(ours))(2.0), jax.grad(theirs)(2.0), rtol=1e-5)
    for second in (irax.grad(irax.grad(ours)), irax.jit(irax.grad(irax.grad(ours)))):
        np.testing.assert_allclose(second(2.0), jax.grad(jax.grad(theirs))(2.0), rtol=1e-5)


def _rounding(lib, numpy, tangent_of_int):
    """A function with an integer output whose rule gives that output's tangent as `tangent_of_int(shape)`."""
    @lib.custom_jvp
    def f(x):
        return x * 2, numpy.round(x).astype(numpy.int32)

    f.defjvp(lambda p, t: (f(*p), (t[0] * 2, tangent_of_int(p[0].shape))))
    return f


def test_a_rule_gives_float0_tangents_of_integer_outputs_as_jax_requires():
    """A rule written for JAX (float0 zeros for an int output) raised
    TypeError: float0 is not an irax array type."""
    float0 = lambda shape: np.zeros(shape, irax.dtypes.float0)  # noqa: E731
    x, t = np.arange(3.0, dtype=np.float32), np.ones(3, np.float32)
    ours, theirs = _rounding(irax, jnp, float0), _rounding(jax, jjnp, float0)
    (_, (t_out, t_int)), (_, (expected, expected_int)) = irax.jvp(ours, (x,), (t,)), jax.jvp(theirs, (x,), (t,))
    np.testing.assert_array_equal(t_out, expected)
    assert t_int.dtype == expected_int.dtype == irax.dtypes.float0
    np.testing.assert_array_equal(irax.jit(lambda x: irax.jvp(ours, (x,), (t,))[1][0])(x), expected)
    np.testing.assert_array_equal(irax.grad(lambda x: ours(x)[0].sum())(x), jax.grad(lambda x: theirs(x)[0].sum())(x))


@pytest.mark.parametrize("inner", ["jvp", "grad"])
def test_reverse_mode_through_a_rule_that_differentiates(inner):
    """A custom_jvp rule that calls jvp or grad (lax.custom_root's tangent
    solve does): reverse mode transposes the rule, which called a
    derivative it did not inline (NotDifferentiable: names no derivative rule)."""
    def make(lib, numpy):
        @lib.custom_jvp
        def f(x):
            return x * x

        if inner == "jvp":
            f.defjvp(lambda p, t: (f(p[0]), lib.jvp(numpy.sin, p, t)[1]))
        else:
            f.defjvp(lambda p, t: (f(p[0]), lib.grad(lambda y: numpy.sin(y) * y)(p[0]) * t[0]))
        return f

    ours, theirs = make(irax, jnp), make(jax, jjnp)
    expected = jax.grad(theirs)(1.0)
    np.testing.assert_allclose(irax.grad(ours)(1.0), expected, rtol=1e-6)
    np.testing.assert_allclose(irax.jit(irax.grad(ours))(1.0), expected, rtol=1e-6)


def _float0_or_dtype(t):
    """A rule's tangent or cotangent described as (dtype name, shape), float0 named so."""
    return ("float0" if t.dtype == jax.dtypes.float0 else str(t.dtype)), tuple(t.shape)


def _non_float_arguments(lib):
    """x, and an int, a bool and a key argument, which have no derivative."""
    x, n = np.arange(3, dtype=np.float32), np.arange(3, dtype=np.int32)
    return x, n, np.array([True, False, True]), lib.random.key(0)


@pytest.mark.parametrize("mode", ["jvp", "grad", "jit_grad"])
def test_jvp_rules_get_float0_tangents_of_int_bool_and_key_arguments_as_jax(mode):
    """JAX gives a rule float0 zeros of an int, bool or key argument's
    shape; irax gave zeros of the argument's dtype (or zero keys)."""
    def run(lib):
        seen = []

        @lib.custom_jvp
        def f(x, n, b, key):
            return lib.numpy.where(b, x * n, x) * lib.random.uniform(key)

        def rule(primals, tangents):
            seen.extend(_float0_or_dtype(t) for t in tangents)
            x, n, b, key = primals
            return f(*primals), lib.numpy.where(b, tangents[0] * n, tangents[0]) * lib.random.uniform(key)

        f.defjvp(rule)
        x, n, b, key = _non_float_arguments(lib)
        loss = lambda x: f(x, n, b, key).sum()  # noqa: E731
        if mode == "jvp":
            out = lib.jvp(loss, (x,), (np.ones(3, np.float32),))[1]
        else:
            out = (lib.grad(loss) if mode == "grad" else lib.jit(lib.grad(loss)))(x)
        return seen, np.asarray(out)

    (seen, out), (expected_seen, expected) = run(irax), run(jax)
    assert seen == expected_seen == [("float32", (3,)), ("float0", (3,)), ("float0", (3,)), ("float0", ())]
    np.testing.assert_allclose(out, expected, rtol=1e-6)


@pytest.mark.parametrize("tangent", ["int_zeros", "float_zeros", "float0_of_another_shape"])
def test_a_rule_must_give_float0_tangents_of_integer_outputs_as_jax(tangent):
    """JAX requires float0 zeros of an int output's shape as its tangent, when
    it differentiates the call (undifferentiated, the rule is not checked);
    irax accepted zeros (or any values) of the int dtype and float0 of any shape."""
    make = {"int_zeros": lambda lib: lambda shape: lib.numpy.zeros(shape, lib.numpy.int32),
            "float_zeros": lambda lib: lambda shape: lib.numpy.zeros(shape, lib.numpy.float32),
            "float0_of_another_shape": lambda lib: lambda shape: np.zeros((2, *shape), lib.dtypes.float0)}[tangent]
    x, t = np.arange(3.0, dtype=np.float32), np.ones(3, np.float32)
    ours, theirs = _rounding(irax, jnp, make(irax)), _rounding(jax, jjnp, make(jax))
    np.testing.assert_array_equal(irax.jit(ours)(x)[1], jax.jit(theirs)(x)[1])
    assert error_of(lambda: irax.jvp(ours, (x,), (t,))) == error_of(lambda: jax.jvp(theirs, (x,), (t,)))
    assert error_of(lambda: irax.grad(lambda x: ours(x)[0].sum())(x)) == \
        error_of(lambda: jax.grad(lambda x: theirs(x)[0].sum())(x))


@pytest.mark.parametrize("ct_of_int", ["none", "float0", "int_ones", "float_zeros", "int_of_another_shape"])
def test_bwd_rules_get_float0_and_may_give_anything_for_int_bool_and_key_values_as_jax(ct_of_int):
    """JAX gives a bwd rule float0 zeros as the cotangent of an int, bool or
    key output, and ignores what it gives for an int, bool or key argument;
    irax gave zeros of their dtypes (or zero keys), and raised TypeError
    where the rule gave float zeros or an array of another shape."""
    def run(lib):
        seen = []
        give = {"none": lambda n: None, "float0": lambda n: np.zeros(n.shape, lib.dtypes.float0),
                "int_ones": lambda n: lib.numpy.ones_like(n), "float_zeros": lambda n: lib.numpy.zeros(n.shape),
                "int_of_another_shape": lambda n: lib.numpy.zeros(2, lib.numpy.int32)}[ct_of_int]

        @lib.custom_vjp
        def f(x, n, b, key):
            return lib.numpy.where(b, x * n, x), n, b, key

        def bwd(residuals, cts):
            seen.extend(_float0_or_dtype(ct) for ct in cts)
            n, b = residuals
            return lib.numpy.where(b, cts[0] * n, cts[0]), give(n), give(b), None

        f.defvjp(lambda x, n, b, key: (f(x, n, b, key), (n, b)), bwd)
        x, n, b, key = _non_float_arguments(lib)
        grads = lib.jit(lib.grad(lambda *a: f(*a)[0].sum(), argnums=(0, 1, 2, 3), allow_int=True))(x, n, b, key)
        return seen, [_float0_or_dtype(g) for g in grads[1:]], np.asarray(grads[0])

    ours, theirs = run(irax), run(jax)
    assert ours[:2] == theirs[:2]
    assert ours[0] == [("float32", (3,)), ("float0", (3,)), ("float0", (3,)), ("float0", ())]
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-6)


@pytest.mark.parametrize("ct", ["another_shape", "float16", "complex64"])
def test_bwd_cotangents_of_another_shape_or_dtype_as_jax(ct):
    """JAX takes a bwd cotangent of another dtype than its argument's (its
    gradient then has that dtype; irax's keeps the argument's: the passes
    carry it), and raises ValueError for one of another shape, when it
    differentiates the call. irax raised TypeError for both, at every call
    (a jit of the function alone too)."""
    def run(lib):
        give = {"another_shape": lambda a: a[:2], "float16": lambda a: a.astype(lib.numpy.float16),
                "complex64": lambda a: a.astype(lib.numpy.complex64)}[ct]

        @lib.custom_vjp
        def f(x, p):
            return x * p["a"]

        f.defvjp(lambda x, p: (f(x, p), (x, p)), lambda r, g: (g * r[1]["a"], {"a": give(g * r[0])}))
        x = np.arange(3, dtype=np.float32)
        return np.asarray(lib.jit(f)(x, {"a": x})), lambda: lib.grad(lambda p: f(x, p).sum())({"a": x})["a"]

    (ours, our_grad), (theirs, their_grad) = run(irax), run(jax)
    np.testing.assert_array_equal(ours, theirs)
    if ct == "another_shape":
        assert error_of(our_grad) == error_of(their_grad)
    else:
        got, expected = our_grad(), their_grad()
        assert got.dtype == np.float32 and expected.dtype == np.dtype(ct)
        np.testing.assert_allclose(got, np.real(expected), rtol=1e-3)
