"""JAX's top-level names that irax adds: name scopes, settings as context
managers (dtype and rank promotion, ...), custom_gradient, closure_convert
and the process/array/environment functions; JAX is the oracle."""
import ast
import functools
import re
import warnings

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from helpers import error_of, x64_mode
from irax.backends import compiler
from irax.test_util import check_grads

jax = pytest.importorskip("jax")


# --- named_scope and named_call


def test_named_scope_names_the_traced_ops_locations():
    def f(x):
        with irax.named_scope("outer"):
            with irax.named_scope("inner"):
                y = jnp.sin(x)
        return y * 2

    lowered = irax.jit(f).lower(1.0)
    text = lowered.as_text(debug_info=True)
    assert 'loc("outer/inner/sin")' in text
    assert "outer" not in lowered.as_text()  # as JAX: no locations without debug_info
    assert "outer/inner/sin" in lowered.as_text("optimized", debug_info=True)
    # no other effect: the values, and the program without locations, are the same
    plain = irax.jit(lambda x: jnp.sin(x) * 2).lower(1.0)
    assert plain.as_text() == lowered.as_text()
    np.testing.assert_allclose(irax.jit(f)(1.0), np.sin(1.0) * 2, rtol=1e-6)
    np.testing.assert_allclose(f(1.0), np.sin(1.0) * 2, rtol=1e-6)  # eager: no effect


def test_named_call_names_the_ops_of_a_function():
    inc = irax.named_call(lambda x: x + 1, name="inc")
    assert 'loc("inc/add")' in irax.jit(inc).lower(1.0).as_text(debug_info=True)
    assert float(inc(1.0)) == 2.0

    def double(x):
        return x * 2

    named = irax.named_call(double)  # the default name is the function's
    assert named.__name__ == "double"
    assert 'loc("double/mul")' in irax.jit(named).lower(1.0).as_text(debug_info=True)


def test_named_scope_name_must_be_a_string():
    def enter(module):
        with module.named_scope(3):
            pass

    assert error_of(lambda: enter(irax)) == error_of(lambda: enter(jax))


# --- numpy_dtype_promotion


def _promotion_message(message):
    """(the dtypes named, the rest): JAX names them in the order of a set."""
    names, rest = re.fullmatch(r"Input dtypes (\(.*?\)) (have .*)", message).groups()
    return sorted(ast.literal_eval(names)), rest


@pytest.mark.parametrize("pair", ["int32+float32", "int8+float", "bool+int", "bool+bool", "int8+int", "float32+float"])
def test_strict_dtype_promotion_as_jax(pair):
    operands = {"int32+float32": lambda m: (m.numpy.ones(2, "int32"), m.numpy.ones(2, "float32")),
                "int8+float": lambda m: (m.numpy.ones(2, "int8"), 2.0),
                "bool+int": lambda m: (m.numpy.ones(2, "bool"), 2),
                "bool+bool": lambda m: (m.numpy.ones(2, "bool"), m.numpy.ones(2, "bool")),
                "int8+int": lambda m: (m.numpy.ones(2, "int8"), 2),
                "float32+float": lambda m: (m.numpy.ones(2, "float32"), 2.0)}[pair]

    def outcome(module):
        a, b = operands(module)
        with module.numpy_dtype_promotion("strict"):
            try:
                result = a + b
            except Exception as e:  # noqa: BLE001 (compared with JAX's)
                return type(e).__name__, *_promotion_message(str(e))
        return str(result.dtype), result.weak_type

    assert outcome(irax) == outcome(jax)


def test_strict_dtype_promotion_of_float32_and_float64():
    with x64_mode(True):
        for module in (irax, jax):
            with module.numpy_dtype_promotion("strict"):
                with pytest.raises(module.dtypes.TypePromotionError, match=(
                        r"Input dtypes \('float(32|64)', 'float(32|64)'\) have no available implicit dtype promotion "
                        "path when jax_numpy_dtype_promotion=strict. Try explicitly casting inputs to the desired "
                        "output type, or set jax_numpy_dtype_promotion=standard.")):
                    module.numpy.ones(2, "float32") + module.numpy.ones(2, "float64")
                # explicit casts still work
                assert (module.numpy.ones(2, "float32").astype("float64") + module.numpy.ones(2, "float64")).dtype \
                    == np.float64
    with irax.numpy_dtype_promotion("strict"):  # promote_types checks the dtypes as given, as JAX's
        with pytest.raises(irax.dtypes.TypePromotionError, match=r"\('float32', 'float64'\)"):
            jnp.promote_types("float32", "float64")


def test_dtype_promotion_setting_is_restored_and_checked():
    assert irax.numpy_dtype_promotion.value == "standard"
    with irax.numpy_dtype_promotion("strict"):
        assert irax.config.jax_numpy_dtype_promotion == "strict"
    assert (jnp.ones(2, "int32") + jnp.ones(2, "float32")).dtype == np.float32
    assert error_of(lambda: irax.config.update("jax_numpy_dtype_promotion", "bogus")) == \
        error_of(lambda: jax.config.update("jax_numpy_dtype_promotion", "bogus"))


# --- numpy_rank_promotion


def test_rank_promotion_raise_as_jax():
    def add(module):
        with module.numpy_rank_promotion("raise"):
            return module.numpy.ones(3) + module.numpy.ones((2, 3))

    assert error_of(lambda: add(irax)) == error_of(lambda: add(jax))
    with irax.numpy_rank_promotion("raise"):  # same ranks and scalars broadcast freely
        np.testing.assert_array_equal(jnp.ones((2, 3)) + jnp.ones((1, 3)) + 1.0, np.full((2, 3), 3.0))
        np.testing.assert_array_equal(jnp.sin(jnp.zeros(2)), np.zeros(2))


def test_rank_promotion_warn_as_jax():
    def messages(module):
        with module.numpy_rank_promotion("warn"), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module.numpy.add(module.numpy.ones(3), module.numpy.ones((2, 3)))
            module.numpy.multiply(module.numpy.ones(3), 2.0)  # a scalar: no warning
        return [(w.category, str(w.message)) for w in caught if "rank promotion" in str(w.message)]

    assert messages(irax) == messages(jax) and len(messages(irax)) == 1


def test_rank_promotion_bad_value_as_jax():
    def enter(module):
        with module.numpy_rank_promotion("bogus"):
            pass

    assert error_of(lambda: enter(irax)) == error_of(lambda: enter(jax))


# --- the settings that are recorded


@pytest.mark.parametrize("name,value", [
    ("default_matmul_precision", "highest"), ("default_matmul_precision", "float32"),
    ("transfer_guard_host_to_device", "disallow"), ("transfer_guard_device_to_host", "log"),
    ("transfer_guard_device_to_device", "allow"), ("check_tracer_leaks", True), ("debug_key_reuse", True),
    ("enable_checks", True), ("explain_cache_misses", True)])
def test_recorded_settings_as_jax(name, value):
    manager, option = getattr(irax, name), f"jax_{name}"
    before = getattr(jax.config, option)
    assert manager.value == getattr(irax.config, option) == before
    with manager(value):
        assert manager.value == getattr(irax.config, option) == value
    assert manager.value == before
    x = jnp.arange(4.0).reshape(2, 2)
    with manager(value):  # accepted; nothing else changes
        np.testing.assert_allclose(x @ x, np.arange(4.0).reshape(2, 2) @ np.arange(4.0).reshape(2, 2))


@pytest.mark.parametrize("name", ["default_matmul_precision", "transfer_guard", "transfer_guard_host_to_device"])
def test_bad_setting_values_as_jax(name):
    def enter(module):
        with getattr(module, name)("bogus"):
            pass

    assert error_of(lambda: enter(irax)) == error_of(lambda: enter(jax))


def test_transfer_guard_sets_every_direction():
    with irax.transfer_guard("disallow"):
        assert [irax.config.jax_transfer_guard_host_to_device, irax.config.jax_transfer_guard_device_to_host,
                irax.config.jax_transfer_guard_device_to_device, irax.config.jax_transfer_guard] == ["disallow"] * 4
    assert irax.config.jax_transfer_guard is None


def test_checking_leaks_is_check_tracer_leaks():
    with irax.checking_leaks():
        assert irax.check_tracer_leaks.value is True
    assert irax.check_tracer_leaks.value is False


def test_ensure_compile_time_eval_makes_concrete_values_in_jit():
    y = jnp.ones(3)

    @irax.jit
    def f(x):
        with irax.ensure_compile_time_eval():
            z = jnp.sum(y @ y) + 1.0
            assert isinstance(z, irax.Array)
            scale = 2.0 if z > 3 else 0.0  # Python control flow on its value
        return x * scale + jnp.cos(x)

    np.testing.assert_allclose(f(1.0), 2.0 + np.cos(1.0), rtol=1e-6)
    np.testing.assert_allclose(irax.grad(f)(1.0), 2.0 - np.sin(1.0), rtol=1e-6)


# --- custom_gradient


def _custom_gradient_functions(module):
    @module.custom_gradient
    def square(x):
        return x ** 2, lambda g: (g * x,)  # a deliberately wrong rule: 1x, not 2x

    @module.custom_gradient
    def product(x, y):
        return x * y, lambda g: (g * y, g * x)

    @module.custom_gradient
    def sum_exp(x):
        e = module.numpy.exp(x)
        return module.numpy.sum(e), lambda g: g * e * 3  # one argument: a bare cotangent

    return square, product, sum_exp


def test_custom_gradient_as_jax():
    (square, product, sum_exp), (jsquare, jproduct, jsum_exp) = map(_custom_gradient_functions, (irax, jax))
    assert float(square(3.0)) == float(jsquare(3.0)) == 9.0
    np.testing.assert_allclose(irax.grad(square)(3.0), jax.grad(jsquare)(3.0))
    np.testing.assert_allclose(irax.jit(irax.grad(square))(2.0), jax.jit(jax.grad(jsquare))(2.0))
    np.testing.assert_allclose(irax.grad(product, argnums=(0, 1))(3.0, 4.0), jax.grad(jproduct, argnums=(0, 1))(3.0, 4.0))
    x = np.arange(3.0, dtype=np.float32)
    np.testing.assert_allclose(irax.grad(sum_exp)(x), jax.grad(jsum_exp)(x), rtol=1e-6)
    np.testing.assert_allclose(irax.grad(lambda x: square(jnp.sin(x)) * 2)(1.0),
                               jax.grad(lambda x: jsquare(jax.numpy.sin(x)) * 2)(1.0), rtol=1e-6)
    np.testing.assert_allclose(irax.vmap(irax.grad(square))(x), jax.vmap(jax.grad(jsquare))(x))
    # called twice in one program: each call's rule closes over its own values
    np.testing.assert_allclose(irax.grad(lambda x: square(square(x)) * square(x * 2.0))(0.3),
                               jax.grad(lambda x: jsquare(jsquare(x)) * jsquare(x * 2.0))(0.3), rtol=1e-6)


def test_custom_gradient_with_a_true_rule_matches_finite_differences():
    @irax.custom_gradient
    def softplus(x):
        e = jnp.exp(x)
        return jnp.log1p(e), lambda g: (g * e / (1 + e),)

    check_grads(softplus, (np.array([-1.0, 0.5, 2.0], np.float32),), order=1, modes=("rev",))


# --- closure_convert


def _minimize_with(module, a):
    """JAX's closure_convert example: a custom_vjp's function takes the
    objective's closed-over arrays as arguments, so its rule differentiates them."""
    objective = lambda x: module.numpy.sum((x - a) ** 2)  # noqa: E731 (the closure to convert)
    x0 = module.numpy.zeros(3)
    converted, consts = module.closure_convert(objective, x0)

    @functools.partial(module.custom_vjp, nondiff_argnums=(0,))
    def minimize(objective_fn, x0, *args):
        grad = module.grad(objective_fn)
        x = x0
        for _ in range(50):  # gradient descent to the minimum, x = a
            x = x - 0.25 * grad(x, *args)
        return x

    def fwd(objective_fn, x0, *args):
        x = minimize(objective_fn, x0, *args)
        return x, (x, args)

    def bwd(objective_fn, residuals, g):
        x, args = residuals
        # implicit function theorem: d(x*)/d(args) = -H^-1 d2f/dx dargs, with H = 2I here
        _, pullback = module.vjp(lambda *c: module.grad(objective_fn)(x, *c), *args)
        return (module.numpy.zeros_like(x), *pullback(-g / 2.0))

    minimize.defvjp(fwd, bwd)
    return module.numpy.sum(minimize(converted, x0, *consts) ** 2), len(consts)


def test_closure_convert_in_a_custom_vjp_as_jax():
    a = np.array([1.0, -2.0, 0.5], np.float32)
    value, n_consts = _minimize_with(irax, jnp.asarray(a))
    assert n_consts == _minimize_with(jax, jax.numpy.asarray(a))[1] == 0  # concrete closure: nothing hoisted
    np.testing.assert_allclose(value, np.sum(a ** 2), rtol=1e-5)
    grads = irax.grad(lambda a: _minimize_with(irax, a)[0])(a)
    np.testing.assert_allclose(grads, jax.grad(lambda a: _minimize_with(jax, a)[0])(a), rtol=1e-5)
    np.testing.assert_allclose(grads, 2 * a, rtol=1e-5)


def test_closure_convert_hoists_traced_inexact_values():
    def outer(module, a, n):
        f = lambda x: module.numpy.sin(a * x) + n  # noqa: E731 (n: an integer, never hoisted)
        converted, consts = module.closure_convert(f, 1.0)
        return converted(2.0, *consts), len(consts)

    for module in (irax, jax):
        assert module.jit(lambda a, n: outer(module, a, n)[1] * 1.0)(0.5, 3) == 1.0
    np.testing.assert_allclose(irax.grad(lambda a: outer(irax, a, 3)[0])(0.5),
                               jax.grad(lambda a: outer(jax, a, 3)[0])(0.5), rtol=1e-6)


def test_closure_convert_with_other_constants_and_wrong_arguments():
    @irax.jit
    def converted_with(a, b):
        converted, (const,) = irax.closure_convert(lambda x: a * x, 1.0)
        return converted(2.0, b)  # another value in place of the closed-over one

    np.testing.assert_allclose(converted_with(3.0, 5.0), 10.0)
    made = {}

    @irax.jit
    def scaled(a):
        made["converted"], consts = irax.closure_convert(lambda x: a * x, 1.0)
        return made["converted"](2.0, *consts)

    np.testing.assert_allclose(scaled(3.0), 6.0)
    np.testing.assert_allclose(made["converted"](2.0, jnp.float32(5.0)), 10.0)  # eagerly, with another value
    double = lambda pair: (pair[0] * 2, pair[1] * 2)  # noqa: E731
    converted, consts = irax.closure_convert(double, (1.0, 2.0))
    assert consts == []
    np.testing.assert_allclose(converted((3.0, 4.0)), (6.0, 8.0))
    jconverted, _ = jax.closure_convert(double, (1.0, 2.0))
    assert error_of(lambda: converted(3.0))[0] == error_of(lambda: jconverted(3.0))[0] == "TypeError"


# --- processes, arrays, devices, environment


def test_host_names_are_the_process_names():
    for old, value in [("host_id", 0), ("host_count", 1), ("host_ids", [0])]:
        with pytest.warns(UserWarning, match="has been renamed"):
            assert getattr(irax, old)() == value
        with pytest.warns(UserWarning, match="has been renamed"):
            assert getattr(jax, old)() == value
    assert irax.process_indices() == jax.process_indices() == [0]


def test_live_arrays_and_copy_to_host_async():
    x = jnp.arange(3.0)
    assert any(a is x for a in irax.live_arrays())
    assert any(a is x for a in irax.live_arrays("cpu"))
    tree = {"a": x, "b": 1}
    assert irax.copy_to_host_async(tree) is tree
    x.delete()
    assert not any(a is x for a in irax.live_arrays())


def test_device_is_the_type_of_devices():
    assert isinstance(irax.devices()[0], irax.Device)


def test_print_environment_info():
    text = irax.print_environment_info(return_string=True)
    assert f"irax:          {irax.__version__}" in text and "numpy:" in text and "process_count: 1" in text
    assert f"iree compiler: {compiler.iree_version()}" in text  # the build loaded, with its git revision


def test_make_jaxpr_static_argnums_and_process_queries_take_jax_s_arguments():
    """make_jaxpr's static_argnums and process_count/process_index's backend were TypeErrors."""
    program = irax.make_jaxpr(lambda n, x: x[:n].sum(), static_argnums=0)(2, np.arange(4.0, dtype=np.float32))
    assert [a.shape for a in program.in_avals] == [(4,)]  # n is a value of the program, not an argument
    assert (irax.process_count(backend="cpu"), irax.process_index("cpu")) == (1, 0)
