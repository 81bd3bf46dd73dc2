"""irax.debug.print, irax.debug.callback and irax.pure_callback: Python called
back from compiled programs (irax/frontend/callbacks.py), with NumPy for the
values and JAX for the semantics.

Not in CORE (conftest.py): CORE also runs the example plugin's sync-cpu
backend, whose device (written from the plugin protocol) loads programs
without callbacks only. The tests whose results depend on the device (its
buffers are read and written by the callback) take `device`: cpu and vulkan.
"""
import subprocess
import sys

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from helpers import device_or_skip
from irax.errors import DeviceError

jax = pytest.importorskip("jax")

F32_3 = irax.ShapeDtypeStruct((3,), jnp.float32)


@pytest.fixture(params=["cpu", "vulkan"])
def device(request):
    """The default device for the test."""
    device = device_or_skip(request.param)
    with irax.default_device(device):
        yield device


def test_debug_print_inside_jit_prints_the_values(device, capsys):
    @irax.jit
    def f(x):
        irax.debug.print("x = {x}, twice: {}", x * 2, x=x)
        return x + 1

    x = np.arange(3, dtype=np.float32)
    out = f(x)
    assert capsys.readouterr().out == f"x = {x}, twice: {x * 2}\n"
    np.testing.assert_array_equal(out, x + 1)
    f(x + 1)  # the same program, called again: prints again, the new values
    assert capsys.readouterr().out == f"x = {x + 1}, twice: {(x + 1) * 2}\n"


def test_debug_print_eagerly_just_prints(capsys):
    irax.debug.print("{} and {n:.2f}", jnp.arange(3), n=1.5)
    jax.debug.print("{} and {n:.2f}", jax.numpy.arange(3), n=1.5)
    irax_out, jax_out = capsys.readouterr().out.splitlines()
    assert irax_out == jax_out == "[0 1 2] and 1.50"


def test_debug_print_under_grad_prints_the_forward_values_once(capsys):
    def f(x):
        irax.debug.print("x = {}", x)
        return x ** 3

    assert irax.grad(f)(2.0) == 12.0
    assert capsys.readouterr().out == "x = 2.0\n"


@pytest.mark.parametrize("transform", ["jit", "grad", "jvp"])
def test_debug_print_in_a_loop_prints_each_iteration_once(device, capsys, transform):
    def body(i, c):
        irax.debug.print("i={i} c={c}", i=i, c=c)
        return c * 2

    def f(c):
        return irax.lax.fori_loop(0, 3, body, c)

    run = {"jit": irax.jit(f), "grad": irax.grad(f), "jvp": lambda c: irax.jvp(f, (c,), (1.0,))[1]}[transform]
    assert float(run(1.0)) == 8.0  # 2**3 c, and its derivative 2**3
    # under grad and jvp, the forward loop prints; the backward loop, which computes its body again, does not
    assert capsys.readouterr().out == "i=0 c=1.0\ni=1 c=2.0\ni=2 c=4.0\n"


# A loop of two steps over (i, c) whose body calls `call(lib, i, c)`, in each of
# the forms a loop takes: scf.for (static bounds) and scf.while.
LOOPS = {
    "fori_loop": lambda lib, call, c: lib.lax.fori_loop(0, 2, lambda i, c: (call(lib, i, c), c * 2)[1], c),
    "while_loop": lambda lib, call, c: lib.lax.while_loop(
        lambda ic: ic[0] < 2, lambda ic: (call(lib, *ic), (ic[0] + 1, ic[1] * 2))[1], (0, c)),
}
EFFECTS = {
    "debug.print": lambda lib, i, c: lib.debug.print("i={i} c={c}", i=i, c=c),
    "io_callback": lambda lib, i, c: _experimental(lib).io_callback(lambda i, c: print(f"i={i} c={c}") or c,
                                                                    lib.ShapeDtypeStruct((), np.float32), i, c),
}


def _experimental(lib):
    import irax.experimental
    import jax.experimental
    return {irax: irax.experimental, jax: jax.experimental}[lib]


@pytest.mark.parametrize("effect", EFFECTS)
@pytest.mark.parametrize("loop", LOOPS)
def test_a_loop_whose_results_nothing_reads_still_prints(device, capsys, loop, effect):
    """drop-unread-work erases unread loops, but not one around a callback,
    as JAX keeps it; IREE could not compile such a while loop ("maximum
    iteration count exceeded in fixed point pipeline") until its results
    were read (loop_carries.py)."""
    def run(lib):
        f = lib.jit(lambda c: (LOOPS[loop](lib, EFFECTS[effect], c), c + 1)[1])
        out = float(f(np.float32(1.0)))
        lib.effects_barrier()
        return out, capsys.readouterr().out

    assert run(irax) == run(jax) == (2.0, "i=0 c=1.0\ni=1 c=2.0\n")


def test_a_pure_callback_whose_results_nothing_reads_is_dropped_as_in_jax(device):
    """Under jit JAX drops a pure callback whose results nothing reads (in a
    loop's body too) and keeps one whose results something reads, an
    io_callback and a debug callback; eagerly each runs. (Not compared: a
    loop run eagerly, whose body's unread pure callback JAX runs and irax,
    which compiles the loop, drops.)"""
    def run(lib):
        calls = []

        def host(name):
            return lambda x: calls.append(name) or (x, x)

        def f(x, loop):
            lib.pure_callback(host("unread"), (F32_3, F32_3), x)
            if loop:
                lib.lax.fori_loop(0, 2, lambda i, c: (lib.pure_callback(host("loop"), (F32_3, F32_3), c), c + 1)[1], x)
            read, _ = lib.pure_callback(host("half read"), (F32_3, F32_3), x)
            _experimental(lib).io_callback(host("io"), (F32_3, F32_3), x)
            lib.debug.callback(host("debug"), x)
            return read

        x = np.ones(3, np.float32)
        lib.jit(f, static_argnums=1)(x, True)
        f(x, False)
        lib.effects_barrier()
        return calls

    assert run(irax) == run(jax) == ["half read", "io", "debug", "unread", "half read", "io", "debug"]


def test_debug_callback_receives_numpy_arrays(device):
    got = []

    def record(a, b, *, pair):
        got.append((a, b, pair))

    @irax.jit
    def f(x, u):
        irax.debug.callback(record, x * 2, u, pair=(x, "static"))
        return x

    x, u = np.arange(3, dtype=np.float32), np.array([250, 1, 7], np.uint8)
    f(x, u)
    ((a, b, (c, text)),) = got
    assert all(type(v) is np.ndarray for v in (a, b, c)) and text == "static"
    assert (a.dtype, b.dtype, c.dtype) == (np.float32, np.uint8, np.float32)
    np.testing.assert_array_equal(a, x * 2)
    np.testing.assert_array_equal(b, u)  # unsigned: 250 stays 250
    np.testing.assert_array_equal(c, x)


def test_pure_callback_results_are_used_later_in_the_computation(device):
    def host(x):
        return {"sorted": np.sort(x)[::-1], "count": np.int32(np.sum(x > 1))}

    shapes = {"sorted": F32_3, "count": irax.ShapeDtypeStruct((), jnp.int32)}

    @irax.jit
    def f(x):
        out = irax.pure_callback(host, shapes, jnp.sin(x) * 3)
        return out["sorted"] * 2 + out["count"]

    x = np.array([0.5, 2.0, 1.0], np.float32)
    expected = host(np.sin(x) * 3)
    np.testing.assert_allclose(f(x), expected["sorted"] * 2 + expected["count"], rtol=1e-6)
    eager = irax.pure_callback(host, shapes, np.sin(x) * 3)  # eagerly: called at once
    assert eager["count"].dtype == jnp.int32 and int(eager["count"]) == expected["count"]


def test_pure_callback_results_convert_as_jax_canonicalizes():
    """A float64 result is a float32 one when 64-bit mode is off, as JAX
    canonicalizes it; a Python scalar too."""
    shapes = (F32_3, irax.ShapeDtypeStruct((), jnp.float32))
    f = irax.jit(lambda x: irax.pure_callback(lambda x: (x.astype(np.float64) * 2, 1.0), shapes, x))
    doubled, one = f(np.arange(3, dtype=np.float32))
    np.testing.assert_array_equal(doubled, [0, 2, 4])
    assert float(one) == 1.0 and one.dtype == jnp.float32


@pytest.mark.parametrize("returned, message", [
    (lambda x: np.zeros(4, np.float32), "Incorrect output shape for return value #0: Expected: (3,), Actual: (4,)"),
    (lambda x: np.zeros(3, np.int32), "Incorrect output dtype for return value #0: Expected: float32, Actual: int32"),
    (lambda x: (x, x), "Mismatched number of outputs from callback. Expected: 1, Actual: 2"),
], ids=["shape", "dtype", "count"])
def test_pure_callback_wrong_results_are_jax_errors(device, returned, message):
    with pytest.raises(jax.errors.JaxRuntimeError, match="Incorrect|Mismatched") as jax_error:
        jax.jit(lambda x: jax.pure_callback(returned, jax.ShapeDtypeStruct((3,), np.float32), x))(
            np.zeros(3, np.float32)).block_until_ready()
    assert message in str(jax_error.value)
    x = np.arange(3, dtype=np.float32)
    for run in (irax.jit, lambda f: f):  # compiled, and eagerly
        with pytest.raises(DeviceError) as error:  # JAX's JaxRuntimeError: a RuntimeError too
            run(lambda x: irax.pure_callback(returned, F32_3, x))(x)
        assert message in str(error.value)
    np.testing.assert_array_equal(irax.jit(lambda x: x + 1)(x), x + 1)  # the device runs on


def test_exception_in_a_callback_as_jax():
    """A pure or io callback that raises: JAX's JaxRuntimeError (irax's
    DeviceError, a RuntimeError too) under jit and eagerly, from the
    callback's exception; an eager debug callback raises that exception."""
    import irax.experimental  # noqa: F401

    def boom(*_):
        raise KeyError("boom")

    x = np.ones(3, np.float32)
    for call in (lambda x: irax.pure_callback(boom, F32_3, x), lambda x: irax.experimental.io_callback(boom, F32_3, x)):
        for run in (irax.jit, lambda f: f):
            with pytest.raises(DeviceError, match="KeyError: 'boom'") as error:
                run(call)(x)
            assert isinstance(error.value.__cause__, KeyError)
    with pytest.raises(KeyError):
        irax.debug.callback(boom, x)


def test_grad_of_pure_callback_is_jax_error():
    def f(lib, x):
        return lib.pure_callback(np.sin, lib.ShapeDtypeStruct((), np.float32), x)

    with pytest.raises(ValueError) as jax_error:
        jax.grad(lambda x: f(jax, x))(1.0)
    for transform in (irax.grad, lambda g: lambda x: irax.jvp(g, (x,), (1.0,))):
        with pytest.raises(ValueError) as error:
            transform(lambda x: f(irax, x))(1.0)
        assert str(error.value) == str(jax_error.value).replace("jax.", "irax.")
    # where no derivative flows through it, a pure callback is fine under grad
    assert irax.grad(lambda x: x * f(irax, irax.lax.stop_gradient(x)))(1.0) == np.sin(np.float32(1.0))


def _unused_callbacks(lib):
    """Functions whose pure or io callback reads x (or not) but whose results nothing uses."""
    f32 = lib.ShapeDtypeStruct((), np.float32)
    io_callback = irax.experimental.io_callback if lib is irax else jax.experimental.io_callback
    pure = lambda v: lib.pure_callback(np.sin, f32, v)  # noqa: E731
    return {
        "pure": lambda x: (pure(x), x * 3)[1],
        "io": lambda x: (io_callback(np.sin, f32, x), x * 3)[1],
        "in a cond": lambda x: (lib.lax.cond(x > 0, lambda: pure(x), lambda: x), x * 3)[1],
        "in a loop body": lambda x: (lib.lax.fori_loop(0, 2, lambda i, c: c + pure(c), x), x * 3)[1],
        "reading no derivative": lambda x: (pure(lib.lax.stop_gradient(x)), x * 3)[1],
        "beside an active carry": lambda x: (lib.lax.fori_loop(0, 2, lambda i, c: (c[0] * x, pure(c[1])), (x, 1.0)),
                                             x * 3)[1],
        "a dead while loop": lambda x: (lib.lax.while_loop(lambda c: c < 10, lambda c: c * 2, x), x * 3)[1],
    }


@pytest.mark.parametrize("name", _unused_callbacks(jax))
def test_grad_through_unused_callback_results_as_jax(name):
    """JAX differentiates forward first: a pure or io callback reading a
    value with a derivative raises, whether its results are used or not."""
    import jax.experimental  # noqa: F401
    import irax.experimental  # noqa: F401
    try:
        expected = jax.grad(_unused_callbacks(jax)[name])(1.0)
    except ValueError as jax_error:
        with pytest.raises(ValueError) as error:
            irax.grad(_unused_callbacks(irax)[name])(1.0)
        assert str(error.value) == str(jax_error).replace("jax.", "irax.")
    else:
        assert float(irax.grad(_unused_callbacks(irax)[name])(1.0)) == float(expected)


def test_debug_print_format_errors_are_python_s_at_trace_time():
    for args in [("{} {}", 1), ("{y}", 1), ("{}", 1, 2)]:
        with pytest.raises(Exception) as jax_error:
            jax.debug.print(*args)
        with pytest.raises(type(jax_error.value)):
            irax.jit(lambda x: irax.debug.print(*args))(1.0)


def test_computing_inside_a_callback_is_an_error_not_a_hang():
    def inner(x):
        irax.numpy.sum(jnp.asarray(x)).block_until_ready()

    with pytest.raises(DeviceError) as error:
        irax.jit(lambda x: irax.debug.callback(inner, x))(np.ones(3, np.float32))
    assert "cannot run a computation inside a callback" in str(error.value.__cause__)


def test_callbacks_stay_out_of_the_program_text():
    """Two functions with different callbacks of the same types trace to the
    same module (one compile serves both): the Python functions are bound
    when the program is loaded."""
    x = np.arange(3, dtype=np.float32)
    texts = [irax.jit(lambda x: (irax.debug.print(fmt, x), x + 1)[1]).lower(x).as_text("optimized")
             for fmt in ("a {}", "b {}")]
    assert texts[0] == texts[1]
    assert "irax_host.callback_0" in texts[0]


@pytest.mark.parametrize("method", ["sequential", "sequential_unrolled", "expand_dims", "broadcast_all"])
def test_vmap_calls_a_pure_callback_as_its_vmap_method_says(device, method):
    calls = []
    x, y = np.arange(6, dtype=np.float32).reshape(2, 3), np.ones(3, np.float32)

    def f(lib):
        def add(a, b):
            calls.append(np.shape(a))
            return (np.asarray(a) + b).astype(np.float32)
        return lib.vmap(lambda x, y: lib.pure_callback(add, lib.ShapeDtypeStruct((3,), np.float32), x, y,
                                                       vmap_method=method), in_axes=(0, None))
    np.testing.assert_array_equal(np.asarray(irax.jit(f(irax))(x, y)), x + y)
    ours, calls[:] = list(calls), []
    f(jax)(x, y)
    assert ours == calls  # per member, or once on the whole batch, as JAX


def test_vmap_of_a_callback_without_a_vmap_method_is_jax_error():
    with pytest.raises(NotImplementedError, match="Got vmap_method=None"):
        irax.vmap(lambda x: irax.pure_callback(np.sin, irax.ShapeDtypeStruct((), jnp.float32), x))(
            np.ones(3, np.float32))


def test_debug_print_under_vmap_prints_each_member(capsys):
    irax.vmap(lambda v: irax.debug.print("v={v}", v=v))(np.arange(3, dtype=np.float32))
    assert capsys.readouterr().out == "v=0.0\nv=1.0\nv=2.0\n"


def test_a_process_with_callback_programs_exits_cleanly():
    """IREE's Python module holds Python objects from C: none may be left
    at exit, where nanobind would list them as leaks on stderr, nor be freed
    in the last garbage collection, which crashed. (Arrays of 400 kB: the
    calls are queued, not run inline.)"""
    code = ("import irax, numpy as np\n"
            "f = irax.jit(lambda x: (irax.debug.print('v {}', x[:2]), irax.pure_callback(np.cos, "
            "irax.ShapeDtypeStruct(x.shape, np.float32), x))[1])\n"
            "print(float(f(np.zeros(100_000, np.float32)).sum()))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "v [0. 0.]\n100000.0\n"
    assert "leak" not in done.stderr


def test_pure_callback_checks_vmap_method_as_jax():
    messages = []
    for lib in (jax, irax):
        with pytest.raises(ValueError) as error:
            lib.pure_callback(np.sin, lib.ShapeDtypeStruct((), np.float32), 1.0, vmap_method="loop")
        messages.append(str(error.value))
    assert messages[0] == messages[1]


def test_io_callback_as_in_jax(capsys):
    """docs/external-callbacks.md's `numpy_random_like`: an io_callback runs once
    per call (per member under vmap, per step of a scan), with the values
    JAX's gets, and its errors under vmap (ordered) and grad are JAX's."""
    import jax.experimental
    import irax.experimental

    def run(lib, experimental):
        rng = np.random.default_rng(0)

        def host_random_like(x):
            print(f"generating {x.dtype}{list(x.shape)}")
            return rng.uniform(size=x.shape).astype(x.dtype)

        f = lib.jit(lambda x: experimental.io_callback(host_random_like, x, x))
        x = lib.numpy.zeros(3)
        values = [f(x), lib.vmap(f)(x), lib.lax.scan(lambda c, v: (c, f(v)), None, x)[1],
                  experimental.io_callback(host_random_like, lib.ShapeDtypeStruct.like(x), x)]
        errors = []
        for bad in (lambda: lib.vmap(lambda v: experimental.io_callback(host_random_like, v, v, ordered=True))(x),
                    lambda: lib.grad(lambda v: f(v).sum())(x), lambda: lib.jvp(f, (x,), (x,))):
            with pytest.raises(ValueError) as error:
                bad()
            errors.append(str(error.value))
        lib.effects_barrier()
        return [np.asarray(v) for v in values], errors, capsys.readouterr().out

    (want, want_errors, want_out), (got, got_errors, got_out) = run(jax, jax.experimental), run(irax, irax.experimental)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert got_errors == want_errors and got_out == want_out


def test_shape_dtype_struct_like_is_jax_s():
    for x in (np.arange(3.0, dtype=np.float32), 3.0, np.ones((2, 1), np.int32), jnp.arange(2)):
        want = jax.ShapeDtypeStruct.like(np.asarray(x) if isinstance(x, irax.Array) else x)
        got = irax.ShapeDtypeStruct.like(x)
        assert (got.shape, got.dtype, got.weak_type) == (want.shape, want.dtype, want.weak_type)
