"""What JAX's own tutorials do, as they do it under JAX (benchmarks/jax_docs.py
runs the docs whole; these are the cells that differed, reduced)."""
import jax
import jax.numpy as jjnp
import numpy as np

import irax
import irax.numpy as jnp


def _sin_times(x, n):
    return jnp.sin(x) * n


def _jax_sin_times(x, n):
    return jjnp.sin(x) * n


def test_jit_trace_is_the_stage_before_lower():
    """jit(f).trace(x) (the 101/201 tutorials: `.trace(x).jaxpr`): the traced
    program, its outputs' shapes and dtypes as JAX's, and .lower() of it."""
    ours = irax.jit(_sin_times, static_argnums=1).trace(1.0, 2)
    theirs = jax.jit(_jax_sin_times, static_argnums=1).trace(1.0, 2)
    assert str(ours.jaxpr) == str(irax.make_jaxpr(lambda x: _sin_times(x, 2))(1.0))
    assert (ours.out_info.shape, ours.out_info.dtype, ours.out_info.weak_type) == \
        (theirs.out_info.shape, theirs.out_info.dtype, theirs.out_info.weak_type)
    assert (ours.fun_name, theirs.fun_name) == ("_sin_times", "_jax_sin_times")
    np.testing.assert_allclose(ours.lower().compile()(1.0), theirs.lower().compile()(1.0), rtol=1e-6)
    counted = irax.jit(lambda: 1).trace()  # no arguments (state.md's Counter)
    assert (counted.out_info.dtype, counted.out_info.weak_type) == (np.int32, True)


def test_the_remat_tutorial_s_option_is_accepted():
    """remat.md's first cell: jax.config.update('jax_remat3', True)."""
    for library in (jax, irax):
        before = library.config.jax_remat3
        try:
            library.config.update("jax_remat3", True)
            assert library.config.jax_remat3 is True
        finally:
            library.config.update("jax_remat3", before)


def _callback_error(library, io):
    """grad of a callback of a differentiated value with a non-scalar output
    (external-callbacks.md): the error each library raises."""
    def host(x):
        return np.sin(np.asarray(x))

    def f(x):
        if io:
            return library.experimental.io_callback(host, x, x)
        return library.pure_callback(host, library.ShapeDtypeStruct(x.shape, x.dtype), x)

    try:
        library.grad(f)(library.numpy.zeros(5))
    except Exception as e:  # noqa: BLE001 (the error is what is compared)
        return type(e), str(e).split(".")[0]


def test_grad_of_a_callback_raises_jax_s_error_before_the_output_s_shape_is_checked():
    """JAX differentiates first: the callback's ValueError, not grad's
    TypeError for a non-scalar output."""
    import jax.experimental  # noqa: F401 (io_callback)
    import irax.experimental  # noqa: F401
    for io in (False, True):
        assert _callback_error(irax, io) == _callback_error(jax, io)


def _point_outputs(library):
    """custom-jvp-vjp.md: a custom function of a namedtuple of Python floats."""
    @library.custom_jvp
    def f(pt):
        x, y = pt
        return {"a": x ** 2, "b": (library.numpy.sin(x), library.numpy.cos(y)), "c": x * 2.0 + y}

    f.defjvp(lambda p, t: (f(*p), f(*t)))
    out = f((1.0, 2.0))
    return {k: type(v).__name__ if isinstance(v, float) else (v.dtype, v.weak_type)
            for k, v in [("a", out["a"]), ("b", out["b"][0]), ("c", out["c"])]}, out["a"]


def test_python_arithmetic_on_python_numbers_in_a_custom_function_stays_python_s():
    """JAX's eager call runs the function on the numbers: x ** 2 is the float 1.0."""
    assert _point_outputs(irax) == _point_outputs(jax)


def test_a_failed_callback_is_caught_by_jax_s_name():
    """debugging.md: a callback that raises under jit (a breakpoint without a
    terminal) fails the computation, caught as jax.errors.JaxRuntimeError."""
    for library in (jax, irax):
        def fail(x):
            raise OSError("no terminal")

        def f(x):
            library.debug.callback(fail, x)
            return x

        try:
            library.block_until_ready(library.jit(f)(1.0))
        except library.errors.JaxRuntimeError as e:
            assert isinstance(e, RuntimeError)
        else:
            raise AssertionError(library.__name__)


def _printed_in_vmap(library):
    """transformations.md: print a value inside vmap (and a value made
    from it, and one of an inner vmap, whose batch alone it shows)."""
    seen = []

    def f(x, scale):
        seen.extend([repr(x), repr(x * 2.0)])
        library.vmap(lambda row: seen.append(repr(row)))(x[None])
        return x

    library.vmap(f, in_axes=(0, None))(library.numpy.arange(3), 2.0)
    library.vmap(lambda v: seen.append(repr(v)))(library.numpy.ones((3, 2)))
    return seen


def test_a_value_printed_inside_vmap_is_jax_s_vmap_tracer():
    assert _printed_in_vmap(irax) == _printed_in_vmap(jax)


def _layers_by_hand(library):
    """vjp-objects.md: a jitted forward returns the VJP function, a jitted
    backward takes it (JAX's is a pytree, tree_util.Partial)."""
    np_ = library.numpy

    def layer(W, x):
        return np_.tanh(x @ W)

    fwd = library.jit(lambda *args: library.vjp(layer, *args))
    bwd = library.jit(lambda f_vjp, y_bar: f_vjp(y_bar))
    W1, W2, x0 = np_.ones((3, 3)) / 4, np_.ones((3, 3)) / 2, np_.ones((2, 3))
    x1, res1 = fwd(W1, x0)
    x2, res2 = fwd(W2, x1)
    dW2, dx1 = bwd(res2, np_.ones_like(x2))
    dW1, dx0 = bwd(res1, dx1)
    _, eager_vjp = library.vjp(layer, W1, x0)
    try:
        eager_vjp(np_.ones((3, 3)))
    except ValueError as e:
        error = str(e).split(" for ")[0]
    return [np.asarray(v) for v in (x2, dW2, dW1, dx0)], error


def test_the_vjp_function_crosses_jit_as_jax_s_does():
    (ours, our_error), (theirs, their_error) = _layers_by_hand(irax), _layers_by_hand(jax)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert our_error == their_error


def _fwd_and_bwd(library, argnums, has_aux, jitted):
    np_ = library.numpy
    traces = []

    def layer(W, x, n):
        traces.append(1)
        y = np_.tanh(x @ W) * n
        return (y, np_.sum(y)) if has_aux else y

    fwd, bwd = library.fwd_and_bwd(layer, argnums=argnums, has_aux=has_aux, jitted=jitted)
    W, x, n = np_.ones((3, 3)) / 4, np_.ones((2, 3)), np_.float32(2.0)
    results = []
    for _ in range(3):
        y, residuals, *aux = fwd(W, x, n)
        results.append((y, *aux, bwd(residuals, np_.ones_like(y))))
        if not results[1:]:
            first = len(traces)
    return [np.asarray(leaf) for leaf in library.tree_util.tree_leaves(results)], len(traces) - first


def test_fwd_and_bwd_as_jax_s():
    """vjp-objects.md: the two passes apart, on the caller's schedule; jitted,
    the second and later iterations trace nothing again."""
    for argnums, has_aux, jitted in [(0, False, True), ((0, 1), True, True), (1, False, False)]:
        (ours, our_traces), (theirs, _) = [_fwd_and_bwd(m, argnums, has_aux, jitted) for m in (irax, jax)]
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-6)
        if jitted:
            assert our_traces == 0


class _Checked:
    """custom_pytrees.md's MyTree: a pytree whose constructor converts its leaf."""

    def __init__(self, a):
        self.a = jnp.asarray(a)


irax.tree_util.register_pytree_node(_Checked, lambda t: ((t.a,), None), lambda _, leaves: _Checked(*leaves))


def test_vjp_of_a_pytree_whose_constructor_checks_its_leaves():
    """vjp_fn keeps the output's structure and avals apart: rebuilding the
    pytree around avals would call the constructor on them."""
    y, f_vjp = irax.vjp(lambda x: _Checked(x * 2.0), jnp.ones(3))
    (ct,) = f_vjp(_Checked(jnp.ones(3)))
    np.testing.assert_array_equal(np.asarray(y.a), 2.0)
    np.testing.assert_array_equal(np.asarray(ct), 2.0)


def test_tracer_errors_are_caught_by_jax_s_names():
    """The sharp bits: a traced value as a Python index, a traced boolean mask."""
    for library in (jax, irax):
        np_, errors = library.numpy, library.errors
        for f, x, error, base in [(lambda i: [1, 2, 3][i], 1, errors.TracerIntegerConversionError, TypeError),
                                  (lambda v: v[v > 0], np_.arange(3.0), errors.NonConcreteBooleanIndexError,
                                   IndexError)]:
            try:
                library.jit(f)(x)
            except error as e:
                assert isinstance(e, base)
            else:
                raise AssertionError(library.__name__)


def _saved_arguments(library):
    np_ = library.numpy

    def layer(W, x):
        return np_.tanh(x @ W)

    W, x = np_.ones((3, 3)) / 4, np_.ones((2, 3))
    y, f_vjp = library.vjp(layer, W, x)
    saved = [np.asarray(a) for a in f_vjp.args_res]
    f_vjp.args_res[1] = x  # restored in place, as the doc does before the call
    grads = [np.asarray(g) for g in f_vjp(np_.ones_like(y))]
    try:
        f_vjp(np_.ones_like(y), np_.ones_like(y))
    except TypeError as e:
        error = str(e)
    _, nested = library.vjp(lambda p: p["a"] * p["b"][0], {"a": 2.0, "b": [3.0, 4.0]})
    return saved, grads, error, type(f_vjp.args_res).__name__, library.tree_util.tree_structure(nested.args_res)


def test_the_vjp_function_shows_the_arguments_it_saved_as_jax_s():
    """vjp-objects.md: `f_vjp.args_res` holds the arguments the backward pass
    reads, arranged as the arguments (each node a tuple), and may be assigned
    into before the call; called with two cotangents, JAX's TypeError. (irax
    saves every argument, JAX those its backward pass reads: both of
    `layer`'s, and NotNeeded() for the nested product's constants.)"""
    ours, theirs = _saved_arguments(irax), _saved_arguments(jax)
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert ours[2] == theirs[2] and "layer was called with 2 arguments" in ours[2]
    assert ours[3] == theirs[3] == "list"
    assert str(ours[4]) == "PyTreeDef([(*, (*, *))])"  # JAX's: [(NotNeeded, (NotNeeded, NotNeeded))] nodes
