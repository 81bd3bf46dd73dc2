"""irax.jit: one program per argument signature, static arguments, pytrees,
closures, composition with grad, and the lowered IR."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp

jax = pytest.importorskip("jax")

rng = np.random.default_rng(0)
X = rng.normal(size=(3, 4)).astype(np.float32)


def counting(fn):
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        return fn(*args, **kwargs)

    wrapped.calls = calls
    return wrapped


def test_traced_once_per_signature():
    f = counting(lambda x, y: jnp.tanh(x) * y + 1)
    jf = irax.jit(f)
    for _ in range(3):
        out = jf(X, 2.0)
    np.testing.assert_allclose(out, np.tanh(X) * 2 + 1, rtol=1e-5)
    assert len(f.calls) == 1
    jf(X[:2], 2.0)  # a new shape: traced again
    assert len(f.calls) == 2
    jf(X, 3.0)  # a new value of a traced scalar: same program
    assert len(f.calls) == 2


def test_static_arguments_shape_the_program():
    @irax.jit
    def power(x, n):
        return x ** n if n > 1 else x

    jp = irax.jit(lambda x, n: x ** n if n > 1 else x, static_argnums=1)
    np.testing.assert_allclose(jp(X, 3), X**3, rtol=1e-5)
    np.testing.assert_allclose(jp(X, 1), X)
    with pytest.raises(irax.errors.ConcretizationTypeError, match="static"):
        power(X, 3)
    jk = irax.jit(lambda x, *, mode: x * 2 if mode == "double" else x, static_argnames="mode")
    np.testing.assert_allclose(jk(X, mode="double"), X * 2)
    with pytest.raises(ValueError, match="Non-hashable static arguments"):
        jp(X, [1, 2])


def test_pytrees_kwargs_and_python_scalars():
    @irax.jit
    def f(params, x, scale=1.0):
        return {"out": x @ params["w"] * scale, "norm": jnp.sum(params["w"] ** 2)}

    params = {"w": jnp.asarray(X.T)}
    out = f(params, X, scale=0.5)
    np.testing.assert_allclose(out["out"], X @ X.T * 0.5, rtol=1e-5)
    np.testing.assert_allclose(out["norm"], np.sum(X**2), rtol=1e-5)
    weak = irax.jit(lambda x: x * 2)(1.5)
    theirs = jax.jit(lambda x: x * 2)(1.5)
    assert (weak.dtype, weak.weak_type) == (theirs.dtype, theirs.weak_type)


def test_closed_over_arrays_are_arguments_not_constants():
    big = jnp.asarray(rng.normal(size=(64, 64)).astype(np.float32))
    f = irax.jit(lambda x: x @ big)
    np.testing.assert_allclose(f(np.eye(64, dtype=np.float32)), np.asarray(big), rtol=1e-6)
    text = f.lower(np.eye(64, dtype=np.float32)).as_text()
    assert "dense<" not in text and text.count("tensor<64x64xf32>") >= 2


def test_numpy_bool_constants():
    """A NumPy bool array in traced code is a dense<> constant of its own
    values (it was bit-packed: [1, 0, 1, 1] read as all true, 12 elements failed)."""
    for mask in (np.array([True, False, True, True]), rng.normal(size=(4, 3)) > 0):
        got = irax.jit(lambda x: jnp.where(mask, x, 0.0))(np.ones(mask.shape, np.float32))
        np.testing.assert_array_equal(got, mask.astype(np.float32))


def test_composes_with_grad():
    loss = lambda w, x: jnp.sum(jnp.tanh(x @ w) ** 2)  # noqa: E731
    jloss = lambda w, x: jax.numpy.sum(jax.numpy.tanh(x @ w) ** 2)  # noqa: E731
    w = rng.normal(size=(4, 2)).astype(np.float32)
    expected = jax.grad(jloss)(w, X)
    np.testing.assert_allclose(irax.jit(irax.grad(loss))(w, X), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(irax.grad(irax.jit(loss))(w, X), expected, rtol=1e-5, atol=1e-6)

    @irax.jit
    def update(w, x, lr=0.1):
        return w - lr * irax.grad(loss)(w, x)

    np.testing.assert_allclose(update(w, X), w - 0.1 * expected, rtol=1e-5, atol=1e-6)


def test_lower_shows_the_program():
    lowered = irax.jit(lambda x: jnp.sin(x) + 1).lower(X)
    assert "func.func @main" in lowered.as_text() and "math.sin" in lowered.as_text("optimized")


def test_lower_and_trace_take_shape_dtype_structs_as_jax():
    """Ahead-of-time lowering from shapes alone, as JAX's AOT docs do: jit(f).lower
    of a ShapeDtypeStruct raised a StopIteration, trace too."""
    for lib in (irax, jax):
        def f(x, n):
            return lib.numpy.sin(x) * n

        struct = lib.ShapeDtypeStruct(X.shape, np.float32)
        compiled = lib.jit(f, static_argnums=1).lower(struct, 2).compile()
        np.testing.assert_allclose(compiled(X), np.sin(X) * 2, rtol=1e-6)
        info = lib.jit(f, static_argnums=1).trace({"w": struct}["w"], 2).out_info
        assert (info.shape, info.dtype) == (X.shape, np.float32)
        with pytest.raises(TypeError):  # compiled for (3, 4)
            compiled(X[:2])


def test_errors_leave_the_next_call_working():
    @irax.jit
    def f(x):
        if x.sum() > 0:
            return x
        return -x

    with pytest.raises(irax.errors.ConcretizationTypeError, match="test_jit.py"):
        f(X)
    np.testing.assert_allclose(irax.jit(jnp.cos)(X), np.cos(X), rtol=1e-6)


UPDATES = {
    "set_int": lambda x: x.at[1].set(7.0),
    "set_slice": lambda x: x.at[1:3].set(0.0) * 2,
    "add_array": lambda x: x.at[jnp.array([0, 2, 0])].add(5.0),
    "multiply_array": lambda x: x.at[jnp.array([3])].multiply(2.0),
    "min_slice": lambda x: x.at[::2].min(1.5),
    "max_array": lambda x: x.at[jnp.array([1])].max(10.0),
    "set_then_more": lambda x: (x.at[0].set(1.0) + x, 3.0),
    "set_scalar_array": lambda x: x.at[jnp.array(2)].set(7.0),
    "add_scalar_array": lambda x: x.at[jnp.array(-1)].add(7.0),
}


@pytest.mark.parametrize("name", sorted(UPDATES))
def test_jit_never_writes_into_its_arguments(name):
    host = np.arange(4, dtype=np.float32)
    x = jnp.asarray(host)
    out = irax.jit(UPDATES[name])(x)
    np.testing.assert_array_equal(np.asarray(x), host)  # the caller's array is intact
    expected = UPDATES[name](jnp.asarray(host))  # eager, op by op
    for ours, theirs in zip(irax.tree_util.tree_leaves(out), irax.tree_util.tree_leaves(expected)):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_protect_arguments_puts_the_argument_behind_a_barrier():
    text = irax.jit(lambda x: x.at[0].set(1.0)).lower(jnp.zeros(3)).as_text("optimized")
    assert "util.optimization_barrier" in text and "%arg0" in text.split("util.optimization_barrier")[1]
    plain = irax.jit(lambda x: x * 2).lower(jnp.zeros(3)).as_text("optimized")
    assert "util.optimization_barrier" not in plain


def test_donated_arguments_are_updated_in_place_and_deleted():
    step = irax.jit(lambda x, i, v: x.at[i].set(v), donate_argnums=0, static_argnums=1)
    x = jnp.asarray(np.arange(4, dtype=np.float32))
    text = step.lower(x, 1, 9.0).as_text("optimized")
    assert "tensor.insert_slice" in text and "util.optimization_barrier" not in text  # IREE may write in place
    assert "util.optimization_barrier" in irax.jit(step.__wrapped__, static_argnums=1).lower(x, 1, 9.0).as_text("optimized")
    y = step(x, 1, 9.0)
    np.testing.assert_array_equal(y, [0, 9, 2, 3])
    assert x.is_deleted()
    for use in (lambda: np.asarray(x), lambda: x + 1, lambda: step(x, 0, 1.0)):
        with pytest.raises(RuntimeError, match="Array has been deleted"):
            use()
    y = step(y, 2, 5.0)  # a donated result can be donated again
    np.testing.assert_array_equal(y, [0, 9, 5, 3])
    at_traced = irax.jit(lambda x, i: x.at[i].set(9.0), donate_argnums=0)  # i traced: a slice at a run-time offset
    text = at_traced.lower(y, 1).as_text("optimized")
    assert "tensor.insert_slice" in text and "scatter" not in text and "util.optimization_barrier" not in text
    z = at_traced(y, 3)
    np.testing.assert_array_equal(z, [0, 9, 5, 9])
    assert y.is_deleted()
    kept = jnp.asarray(np.ones(3, np.float32))
    irax.jit(lambda a, b: a.at[0].set(b[0]), donate_argnums=1)(kept, jnp.zeros(3))
    np.testing.assert_array_equal(kept, np.ones(3))  # only the donated argument is given up


@pytest.mark.parametrize("donate_view", [False, True], ids=["donate-the-array", "donate-the-view"])
@pytest.mark.parametrize("view", [lambda x: x.reshape(2, 2), lambda x: irax.jit(lambda a: a)(x)],
                         ids=["reshape", "returned-argument"])
def test_donating_an_array_leaves_its_views_alone(view, donate_view):
    """A reshape (or an argument a program returns) shares its device buffer
    with the array it came from; donating one must not change the other (it
    did: the call wrote into the shared buffer). As JAX's views have buffers
    of their own, the donated one is copied before the call writes into it."""
    x = jnp.asarray(np.arange(4, dtype=np.float32))
    y = view(x)
    donated, kept = (y, x) if donate_view else (x, y)
    out = irax.jit(lambda a: a.reshape(4).at[0].set(7.0), donate_argnums=0)(donated)
    np.testing.assert_array_equal(out, [7, 1, 2, 3])
    np.testing.assert_array_equal(np.asarray(kept).reshape(4), np.arange(4))
    assert donated.is_deleted() and not kept.is_deleted()


def _donating(donate_argnums):
    return irax.jit(lambda a, b: a.at[0].set(100.0) + b, donate_argnums=donate_argnums)


@pytest.mark.parametrize("call, problem", [
    (lambda x: _donating(0)(x, x), "Attempt to use a buffer that was previously donated in the same call"),
    (lambda x: _donating(1)(x, x), "Attempt to donate a buffer which is also used by the same call"),
    (lambda x: _donating((0, 1))(x, x), "Attempt to use a buffer that was previously donated in the same call"),
    (lambda x: irax.jit(lambda t: t[0].at[0].set(100.0) + t[1], donate_argnums=0)((x, x)), "previously donated"),
    (lambda x: _donating(0)(x, x.reshape(4)), "previously donated"),  # another array on the same buffer
    (lambda x: irax.jit(lambda a: a.at[0].set(100.0) + x, donate_argnums=0)(x), "closes over"),
], ids=["donated-then-read", "read-then-donated", "donated-twice", "in-a-pytree", "reshaped", "closed-over"])
def test_a_donated_buffer_read_again_in_the_call_is_refused_like_jax(call, problem):
    """It would be overwritten in place while read (200 instead of 101): JAX's
    error before anything runs, and the array is left as it was."""
    x = jnp.asarray(np.arange(4, dtype=np.float32))
    with pytest.raises(irax.errors.DeviceError, match=f"INVALID_ARGUMENT: .*{problem}.*jnp.copy") as error:
        call(x)
    assert isinstance(error.value, RuntimeError)  # as JAX's JaxRuntimeError
    assert not x.is_deleted()
    np.testing.assert_array_equal(x + 1, np.arange(4) + 1)
    np.testing.assert_array_equal(_donating(0)(x, jnp.copy(x)), [100, 2, 4, 6])  # the hint's way out


def test_the_donation_error_is_jaxs():
    x = jax.numpy.arange(4.0)
    with pytest.raises(jax.errors.JaxRuntimeError, match="Attempt to use a buffer that was previously donated in the same call"):
        jax.jit(lambda a, b: a.at[0].set(100.0) + b, donate_argnums=0)(x, x)


# ---------------------------------------------------------------------------
# IRAX_LOG_COMPILES says why a function is compiled again.

def test_log_compiles_gives_the_reason(monkeypatch, capsys):
    monkeypatch.setattr(irax.config, "irax_log_compiles", True)

    def scale(x, n, bias=0.0):
        return x * n + bias

    f = irax.jit(scale, static_argnums=1)
    f(X, 2)
    f(X, 2)  # cached: no line
    f(X[:2], 2)
    f(X[:2], 3)
    f(X[:2], 3, bias=1.0)
    f(X[:2].astype(np.int32), 3, bias=1.0)
    lines = [line for line in capsys.readouterr().err.splitlines() if "compiling" in line]
    assert lines == [
        "irax: compiling jit(scale) for CpuDevice(id=0): first call",
        "irax: compiling jit(scale) for CpuDevice(id=0): new argument types args[0]: float32[2,4] (was float32[3,4])",
        "irax: compiling jit(scale) for CpuDevice(id=0): static arguments (args[1]=3) (was (args[1]=2))",
        "irax: compiling jit(scale) for CpuDevice(id=0): new argument structure PyTreeDef(((*,), {'bias': *})) "
        "(was PyTreeDef(((*,), {})))",
        "irax: compiling jit(scale) for CpuDevice(id=0): new argument types args[0]: int32[2,4] (was float32[2,4])",
    ]


def test_arrays_are_freed_as_soon_as_they_are_dropped():
    """Without waiting for the garbage collector: a reference cycle anywhere
    on the call path (a recursive closure holding the flattened arguments
    was one) kept every big argument alive until gc ran."""
    import gc
    import weakref

    calls = {"jit": irax.jit(lambda x: x + 1), "eager": lambda x: x + 1, "grad": irax.grad(lambda x: jnp.sum(x * x)),
             "jit of grad": irax.jit(irax.grad(lambda x: jnp.sum(jnp.sin(x)))),
             "fori_loop": lambda x: irax.lax.fori_loop(0, 2, lambda i, c: c * 2, x)}
    for name, call in calls.items():
        call(jnp.ones(3))  # traced and compiled
        gc.disable()
        try:
            x = jnp.ones(3)
            y = call(x)
            dropped = weakref.ref(x), weakref.ref(y)
            del x, y
            assert [r() for r in dropped] == [None, None], name
        finally:
            gc.enable()


def test_numpy_data_met_while_tracing_is_an_argument():
    """No dense data in a program (array.constant): IREE's load-time work on
    it lost lavapipe's device (docs/architecture.md); a splat stays a constant."""
    data = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    x = X[:2, :3]
    f = irax.jit(lambda x: x * data + np.full((2, 3), 2.0, np.float32))
    text = f.lower(x).as_text("optimized")
    assert "dense<[" not in text and "dense<2.0" in text
    assert text.count("tensor<2x3xf32>, %arg1: tensor<2x3xf32>") == 1
    np.testing.assert_allclose(np.asarray(f(x)), x * data + 2, rtol=1e-6)


# ---------------------------------------------------------------------------
# Warm calls (jit.py's warm path, executable.run): a call whose arguments are
# all Arrays skips the staging machinery, and must still check what it checks.

def test_a_warm_call_tells_signatures_apart_as_the_first_did():
    f = counting(lambda x: irax.tree_util.tree_map(lambda v: v * 2, x))
    jf = irax.jit(f)
    strong, weak = jnp.ones(()), jnp.asarray(1.0)
    for x in (strong, strong, weak, weak, jnp.ones(3), (strong, weak), [strong, weak], (strong, weak)):
        out = jf(x)
    assert len(f.calls) == 5  # float32[], ~float32[] (weak), float32[3], a tuple, a list
    assert [y.weak_type for y in out] == [False, True]
    jf(X)
    irax.config.update("irax_passes", "default,cse")
    try:
        jf(X)  # another pipeline: another program
    finally:
        irax.config.update("irax_passes", "default")
    irax.clear_caches()
    jf(X)
    assert len(f.calls) == 8


def test_a_warm_call_refuses_a_deleted_array_and_donates():
    step = irax.jit(lambda x: x + 1, donate_argnums=0)
    x = jnp.zeros(4)
    for i in range(1, 4):
        old, x = x, step(x)
        assert old.is_deleted()
        np.testing.assert_array_equal(x, np.full(4, i))
    with pytest.raises(RuntimeError, match=r"Array has been deleted with shape=float32\[4\]"):
        step(old)
    with pytest.raises(irax.errors.DeviceError, match="previously donated"):
        irax.jit(lambda a, b: a.at[0].set(1.0) + b, donate_argnums=0)(x, x)


@pytest.mark.parametrize("program", [
    lambda a, b: (a * 1.0, b + 1), lambda a, b: (jnp.where(True, a, b), b),
    lambda a, b: (irax.lax.cond(True, lambda t: t, lambda t: t * 2, a), b),
], ids=["times-one", "where-true", "cond"])
def test_a_result_iree_folds_to_an_argument_is_its_view(program):
    """IREE returns the argument itself for `a * 1.0` and the like, so the
    results that may be views are all those computed from an argument of
    their size (staging._aliases), not only reshapes: donating the argument
    later must leave the view alone."""
    x = jnp.asarray(np.arange(4, dtype=np.float32))
    f = irax.jit(program)
    for _ in range(2):  # the first call and a warm one
        view, _ = f(x, jnp.ones(4))
        out = irax.jit(lambda a: a.at[0].set(7.0), donate_argnums=0)(x)
        np.testing.assert_array_equal(view, np.arange(4))
        np.testing.assert_array_equal(out, [7, 1, 2, 3])
        x = jnp.asarray(np.arange(4, dtype=np.float32))


def test_only_results_computed_from_an_argument_of_their_size_are_compared():
    from irax.frontend import staging
    x = jnp.ones(4)
    irax.jit(lambda a, b, c: (a + b, a.reshape(2, 2), jnp.sum(a), c * 2.0, jnp.zeros(4)))(x, x, jnp.ones(3))
    assert list(staging._staged._entries.values())[-1][0].aliases == ((0, 1), (0,), (), (2,), ())


def test_numpy_on_a_tracer_raises_tracer_array_conversion_error_as_jax():
    """thinking_in_jax.md's np.sin inside jit: JAX's TracerArrayConversionError, by its words."""
    for lib in (irax, jax):
        for f in (lambda x: np.sin(x), lambda x: np.asarray(x)):
            with pytest.raises(lib.errors.TracerArrayConversionError,
                               match=r"The numpy.ndarray conversion method __array__\(\) was called on traced array "
                                     r"with shape float32\[3\]"):
                lib.jit(f)(lib.numpy.ones(3))


def test_a_leaked_tracer_has_the_attributes_of_jax_s():
    """A tracer kept past its trace (jit-compilation.md's global_list): its
    shape and dtype read, `hasattr`/`getattr(t, name, default)` of what it
    lacks are False/the default, as on JAX's; computing with it is the error."""
    for lib in (irax, jax):
        leaked = []
        lib.jit(lambda x: leaked.append(x) or x + 1)(1.0)
        t = leaked[0]
        assert t.shape == () and t.dtype == np.float32
        assert not hasattr(t, "_fields") and getattr(t, "foo", None) is None
        with pytest.raises(lib.errors.UnexpectedTracerError):
            t + 1


def test_bool_of_a_tracer_raises_tracer_bool_conversion_error_as_jax():
    """JAX's subclass of ConcretizationTypeError, which code catches by name."""
    for lib in (irax, jax):
        with pytest.raises(lib.errors.TracerBoolConversionError) as error:
            lib.jit(lambda x: 1 if x > 0 else 2)(1.0)
        assert isinstance(error.value, lib.errors.ConcretizationTypeError)


@pytest.mark.filterwarnings("ignore:backend and device argument on jit is deprecated")  # (JAX's own)
def test_jit_takes_jax_s_donate_argnames_keep_unused_inline_and_backend():
    """jit refused these options (a TypeError for JAX code passing them):
    donate_argnames donates what it names, through the signature, as
    static_argnames does; the others are accepted as JAX's."""
    f = irax.jit(lambda x, y: x + y, donate_argnames="y", keep_unused=True, inline=True, backend="cpu")
    x, y = jnp.ones(3), jnp.ones(3)
    np.testing.assert_array_equal(f(x, y), [2.0, 2.0, 2.0])
    assert y.is_deleted() and not x.is_deleted()
    for make in (lambda m: m.jit(lambda x: x, donate_argnames="z"),
                 lambda m: m.jit(lambda x: x, device=m.devices()[0], backend="cpu")):
        with pytest.raises(ValueError) as want:
            make(jax)
        with pytest.raises(ValueError, match=str(want.value).split(",")[0]):
            make(irax)


def test_jit_takes_shardings_of_one_device():
    """in_shardings/out_shardings were TypeErrors: shardings of one device
    run the program there; shardings over several devices are refused,
    irax running a program whole on one device."""
    import plugin_fakes
    from irax.sharding import SingleDeviceSharding

    cpu, other = irax.devices("cpu")[0], plugin_fakes.sync.devices()[0]
    f = irax.jit(lambda x, y: x + y, in_shardings=(SingleDeviceSharding(other), None),
                 out_shardings=SingleDeviceSharding(other))
    out = f(jnp.ones(2), jnp.ones(2))
    assert out.device is other
    np.testing.assert_array_equal(out, [2.0, 2.0])
    with pytest.raises(NotImplementedError, match="whole on one device"):
        irax.jit(lambda x: x, in_shardings=SingleDeviceSharding(cpu), out_shardings=SingleDeviceSharding(other))


@pytest.mark.parametrize("x64", [False, True])
def test_a_python_int_out_of_range_is_jaxs_overflow_error_naming_the_argument(x64):
    """JAX names the argument (its parameter, then its keys) of a Python int
    that does not fit its dtype; irax said only "Python int ... too large to
    convert to int32", whichever argument it was. The call after works."""
    big = 2**63 if x64 else 2**40
    cases = [(lambda x, y: x + y["a"], (1, {"a": big}), {}, ()),
             (lambda *a, **k: a[0] + k["z"], (1,), {"z": big}, ()),
             (lambda x, i: i * 2, (big, -big - 1), {}, (0,)),  # a static argument is not parsed
             (lambda x, i: x + i, (jnp.ones(2), -big - 1), {}, ())]
    with irax.enable_x64(x64), jax.enable_x64(x64):
        for fn, args, kwargs, static in cases:
            messages = []
            for lib in (irax, jax):
                with pytest.raises(OverflowError) as error:
                    lib.jit(fn, static_argnums=static)(*args, **kwargs)
                messages.append(str(error.value))
            assert messages[0] == messages[1] and "argument path is" in messages[0]
        f = irax.jit(lambda x, i: x + i)
        assert f(jnp.ones(2), 1).tolist() == [2.0, 2.0]  # (warm: the fast call, then the warm path, give way)
        assert f(jnp.ones(2), 1).tolist() == [2.0, 2.0]
        with pytest.raises(OverflowError, match="argument path is i"):
            f(jnp.ones(2), big)
        assert f(jnp.ones(2), 2).tolist() == [3.0, 3.0]


def test_a_warm_call_under_other_settings_traces_again():
    """A jitted function called on the same arrays inside `enable_x64(True)`
    or `numpy_dtype_promotion("strict")` ran the program traced outside it
    (jnp.arange gave int32 in 64-bit mode; a mixed-width add did not raise):
    the settings that change a trace (config.trace_context, JAX's trace
    context) are part of a program's key, on the warm path too."""
    f = irax.jit(lambda x, y: (jnp.arange(2) + x.sum().astype(int), x + y))
    x, y = jnp.ones(2, jnp.int8), jnp.ones(2, jnp.int16)
    for _ in range(3):  # (warm, then the one-frame fast call)
        assert [r.dtype for r in f(x, y)] == [np.int32, np.int16]
    with irax.enable_x64(True):
        assert [r.dtype for r in f(x, y)] == [np.int64, np.int16]
        assert [r.dtype for r in f(x, y)] == [np.int64, np.int16]
    assert [r.dtype for r in f(x, y)] == [np.int32, np.int16]
    with irax.numpy_dtype_promotion("strict"), pytest.raises(irax.dtypes.TypePromotionError):
        f(x, y)
    assert [r.dtype for r in f(x, y)] == [np.int32, np.int16]
