"""irax.debug.breakpoint, as jax.debug.breakpoint's command-line debugger
(JAX's tests/debugger_test.py): the commands come from a StringIO (or, in a
subprocess, from stdin), and what the debugger prints is JAX's, eagerly and
under jit, loops, grad and vmap, with the values the program had there."""
import io
import os
import re
import subprocess
import sys
import textwrap

import pytest

import irax
import irax.numpy as jnp

jax = pytest.importorskip("jax")

foo = 2


def _io(commands):
    return io.StringIO("".join(c + "\n" for c in commands)), io.StringIO()


def _session(commands, fn, *args):
    """What the debugger printed while fn(*args) ran with these commands."""
    stdin, stdout = _io(commands)
    fn(stdin, stdout, *args)
    irax.effects_barrier()
    return stdout.getvalue()


def _f(stdin, stdout, x):
    y = jnp.sin(x)
    irax.debug.breakpoint(stdin=stdin, stdout=stdout, backend="cli")
    return y


def _g(stdin, stdout, x):
    y = x + 1.
    irax.debug.breakpoint(stdin=stdin, stdout=stdout)
    return y


_jit_f = irax.jit(_f, static_argnums=(0, 1))
_jit_g = irax.jit(_g, static_argnums=(0, 1))


def test_debugger_can_continue():
    assert _session(["c"], _f, jnp.float32(2.)) == "Entering jdb:\n(jdb) "


@pytest.mark.parametrize("fn", [_f, _jit_f], ids=["eager", "jit"])
def test_debugger_can_print_value(fn):
    assert _session(["p x", "c"], fn, jnp.float32(2.)) == "Entering jdb:\n(jdb) Array(2., dtype=float32)\n(jdb) "


def test_debugger_can_print_multiple_values_in_jit():
    out = _session(["p x, y", "c"], _jit_g, jnp.float32(2.))
    assert out == "Entering jdb:\n(jdb) (Array(2., dtype=float32), Array(3., dtype=float32))\n(jdb) "


def test_debugger_eof_exits():
    with pytest.raises(SystemExit):
        _session([], _f, jnp.float32(2.))


def test_debugger_can_print_context_and_backtrace():
    out = _session(["l", "w", "c"], _jit_g, jnp.float32(2.))
    assert re.search(r"\(jdb\) > .*test_debugger\.py\([0-9]+\)\n(.*\n)*->\s+irax\.debug\.breakpoint\(stdin=stdin, "
                     r"stdout=stdout\)\n", out)
    assert re.search(r'\(jdb\) Traceback:\n(.*\n)*  File ".*test_debugger\.py", line [0-9]+\n'
                     r"    irax\.debug\.breakpoint\(stdin=stdin, stdout=stdout\)\n\(jdb\) ", out)


def test_debugger_can_move_up_to_the_caller_and_read_globals_only_by_name_error():
    def outer(stdin, stdout, x):
        z = x * 4
        return _g(stdin, stdout, z)

    out = _session(["u", "p z", "p foo", "c"], irax.jit(outer, static_argnums=(0, 1)), jnp.float32(2.))
    assert "(jdb) Array(8., dtype=float32)\n" in out
    assert "*** NameError: name 'foo' is not defined" in out  # JAX shows locals only


def _commands_and_result(m, fn, args, commands):
    stdin, stdout = _io(commands)
    result = fn(m, stdin, stdout)(*args)
    (irax if m is irax else jax).effects_barrier()
    return stdout.getvalue(), str(result)


def _fori(m, stdin, stdout):
    def body(i, c):
        m.debug.breakpoint(stdin=stdin, stdout=stdout)
        return c + i
    return m.jit(lambda x: m.lax.fori_loop(0, 3, body, x))


def _grad(m, stdin, stdout):
    def loss(x):
        y = m.numpy.sin(x) * 2
        m.debug.breakpoint(stdin=stdin, stdout=stdout)
        return y.sum()
    return m.grad(loss)


def _vmap(m, stdin, stdout):
    def f(x):
        y = m.numpy.sin(x) * 2
        m.debug.breakpoint(stdin=stdin, stdout=stdout)
        return y
    return m.vmap(f)


def _token(m, stdin, stdout):
    def f(x):
        y = x * 3
        y = m.debug.breakpoint(stdin=stdin, stdout=stdout, token=y)
        return y + 1
    return m.jit(f)


@pytest.mark.parametrize("make, args, commands", [
    (_fori, [1.], ["p i, c", "c"] * 3),
    (_grad, [[1., 2.]], ["p y", "c"]),
    (_vmap, [[1., 2.]], ["p y", "c"] * 2),
    (_token, [1.], ["p y", "c"]),
], ids=["fori_loop", "grad", "vmap", "token"])
def test_debugger_in_transformations_as_jax(make, args, commands):
    ours = _commands_and_result(irax, make, [jnp.asarray(a, jnp.float32) for a in args], commands)
    theirs = _commands_and_result(jax, make, [jax.numpy.asarray(a, jax.numpy.float32) for a in args], commands)
    assert ours[0] == theirs[0]


def test_ordered_and_token_are_exclusive():
    with pytest.raises(ValueError, match="`ordered` and `token` are mutually exclusive arguments."):
        irax.debug.breakpoint(ordered=True, token=jnp.float32(1.))


def test_debugger_reads_stdin_in_a_subprocess():
    script = textwrap.dedent("""
        import irax, irax.numpy as jnp

        @irax.jit
        def f(x):
            y = jnp.sin(x) * 0 + x * 2
            irax.debug.breakpoint()
            return y

        print("result", f(jnp.float32(1.5)))
    """)
    env = {**os.environ, "IRAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", script], input="p x, y\nc\n", capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert "Entering jdb:\n(jdb) (Array(1.5, dtype=float32), Array(3., dtype=float32))\n(jdb) result 3.0" \
        in done.stdout


def test_debugger_at_end_of_input_under_jit_fails_the_computation_as_jax():
    """No commands left (no terminal): the debugger quits, a SystemExit in the
    callback, which fails the jitted computation with JAX's JaxRuntimeError
    (irax's DeviceError), naming the SystemExit and raised from it (it was
    IREE's bare message: only Exceptions were kept as the callback's)."""
    errors = []
    for m in (irax, jax):
        def f(x):
            m.debug.breakpoint(stdin=io.StringIO(), stdout=io.StringIO())
            return x + 1
        with pytest.raises(m.errors.JaxRuntimeError) as error:
            m.block_until_ready(m.jit(f)(m.numpy.float32(1.)))
        errors.append(error.value)
        with pytest.raises(SystemExit):  # eagerly: the SystemExit itself
            f(m.numpy.float32(1.))
    assert "SystemExit: 0" in str(errors[0]) and "SystemExit: 0" in str(errors[1])
    assert isinstance(errors[0].__cause__, SystemExit)
