"""`irax.debug.breakpoint()`: stop where it is called and inspect the
caller's variables in a debugger, as `jax.debug.breakpoint`.

    def f(x):
        y = jnp.sin(x)
        irax.debug.breakpoint()     # (jdb) p y   -> Array(0.9092974, dtype=float32)
        return y

It captures the Python frames above it (the user's: irax's own and the
standard library's are left out unless filter_frames=False) with their
locals. Eagerly the debugger starts at once, on the values. Traced (jit,
loops, grad, vmap), the locals' traced arrays are the operands of a debug
callback (callbacks.py), so the program stops when it reaches the
breakpoint, and the debugger shows their values at that point; the other
locals (Python values, concrete arrays) are kept as they were at trace
time. With `token=`, the breakpoint is a pure callback returning the token,
which orders it after the token's computation.

The debugger is a command line, as JAX's "cli" backend (the one JAX falls
back to): `p expr` / `pp expr` evaluate in the frame, `u`/`d` move between
frames, `l` lists the source, `w` prints the stack, `c` continues, `q`
exits (SystemExit). Other backends can be added by name with
`register_debugger`. While a compiled program is stopped, expressions that
compute with irax fail (its program is running: DeviceError); printing the
values does not.
"""
from __future__ import annotations

import cmd
import dataclasses
import inspect
import pprint
import sys
import threading
import traceback
from typing import IO, Any

import numpy as np

from irax import tree_util
from irax.frontend import callbacks, core
from irax.frontend.array import device_put_numpy
from irax.frontend.lax import stop_gradient
from irax.frontend.source_info import is_user_file
from irax.typing import PyTree


class _CantFlatten:
    """Stands for a local that is not a pytree (what JAX shows it as)."""
    __repr__ = lambda self: "<cant_flatten>"  # noqa: E731


CANT_FLATTEN = _CantFlatten()


def _leaves(value):
    try:
        return tree_util.tree_flatten_data(value)  # (a key array: its data, traced)
    except Exception:  # any object may be a local; those that do not flatten are shown as such
        return tree_util.tree_flatten(CANT_FLATTEN)


@dataclasses.dataclass(frozen=True)
class DebuggerFrame:
    """One Python frame as the debugger shows it."""
    filename: str
    locals: dict[str, Any]
    globals: dict[str, Any]
    code_context: Any
    source: list[str]
    lineno: int
    offset: int | None

    @classmethod
    def from_frameinfo(cls, frame_info) -> DebuggerFrame:
        try:
            lines, start = inspect.getsourcelines(frame_info.frame)
            # getsourcelines starts at line `start` (0 for a whole module: line 1)
            source, offset = [line.rstrip("\n") for line in lines], frame_info.lineno - max(start, 1)
            if offset >= len(source):  # (code from eval: no usable source)
                source, offset = [], None
        except (OSError, TypeError):
            source, offset = [], None
        return cls(frame_info.filename, dict(frame_info.frame.f_locals), {}, frame_info.code_context, source,
                   frame_info.lineno, offset)


def _split_traced(frames):
    """(the traced arrays among the frames' locals, a function of their
    values giving the frames back): only traced values go through the
    program; everything else is kept as it was."""
    tracers, rebuilders = [], []
    for frame in frames:
        names, parts = list(frame.locals), []
        for name in names:
            leaves, tree = _leaves(frame.locals[name])
            traced = [isinstance(x, core.Tracer) for x in leaves]
            tracers += [x for x, t in zip(leaves, traced) if t]
            parts.append((tree, leaves, traced))
        rebuilders.append((frame, names, parts))

    def rebuild(values):
        values, out = iter(values), []
        for frame, names, parts in rebuilders:
            local = {name: tree_util.tree_unflatten(tree, [next(values) if t else x for x, t in zip(leaves, traced)])
                     for name, (tree, leaves, traced) in zip(names, parts)}
            out.append(dataclasses.replace(frame, locals=local))
        return out

    return tracers, rebuild


_registry: dict[str, tuple[int, Any]] = {}
_lock = threading.Lock()  # one debugger session at a time, whichever thread stops


def register_debugger(name: str, debugger, priority: int) -> None:
    """Make `debugger(frames, thread_id, **kwargs)` available as backend `name`."""
    if name in _registry:
        raise ValueError(f'Debugger with name "{name}" already registered.')
    _registry[name] = (priority, debugger)


def get_debugger(backend: str | None = None):
    """The backend of that name, else the one of highest priority (as JAX's)."""
    if backend is not None and backend in _registry:
        return _registry[backend][1]
    if not _registry:
        raise ValueError("No debuggers registered!")
    return max(_registry.values(), key=lambda entry: entry[0])[1]


def breakpoint(*, backend: str | None = None, filter_frames: bool = True, num_frames: int | None = None,
               ordered: bool = False, token: PyTree | None = None, **kwargs: Any) -> PyTree | None:
    """Enter the debugger here, eagerly at once, traced when the program
    reaches this point (module docstring). `kwargs` go to the debugger
    (the cli one takes `stdin=` and `stdout=`). Returns `token` if given
    (pass it on: the breakpoint runs once its value is computed), else None."""
    if token is not None and ordered:
        raise ValueError("`ordered` and `token` are mutually exclusive arguments.")
    frame_infos = inspect.stack()[1:]
    frames = [DebuggerFrame.from_frameinfo(info) for info in frame_infos
              if not filter_frames or is_user_file(info.filename)]
    del frame_infos  # (frames reference each other's locals)
    if num_frames is not None:
        frames = frames[:num_frames]
    tracers, rebuild = _split_traced(frames)

    def stop(*arrays):
        # the traced values arrive as NumPy arrays: shown as irax arrays, as JAX's callbacks give jax.Arrays
        shown = rebuild([device_put_numpy(np.asarray(a)) for a in arrays])
        thread_id = None if threading.current_thread() is threading.main_thread() else threading.get_ident()
        with _lock:
            get_debugger(backend)(shown, thread_id, **kwargs)

    if token is None:
        callbacks.debug_callback(stop, *tracers, ordered=ordered)
        return None

    def stop_then_token(token_values, *arrays):
        stop(*arrays)
        return token_values

    token, tracers = stop_gradient((token, tracers))
    return callbacks.pure_callback(stop_then_token, token, token, *tracers)


class CliDebugger(cmd.Cmd):
    """The command-line debugger, JAX's "cli" backend: its prompt and commands."""
    prompt = "(jdb) "

    def __init__(self, frames: list[DebuggerFrame], thread_id, stdin: IO[str] | None = None,
                 stdout: IO[str] | None = None, completekey: str = "tab"):
        super().__init__(stdin=stdin, stdout=stdout, completekey=completekey)
        self.use_rawinput = stdin is None
        self.frames, self.frame_index, self.thread_id = frames, 0, thread_id
        self.intro = "Entering jdb:"

    def evaluate(self, expr):
        frame = self.frames[self.frame_index]
        return eval(expr, {}, {**frame.globals, **frame.locals})

    def _show(self, expr, format_value):
        try:
            print(format_value(self.evaluate(expr)), file=self.stdout)
        except Exception:  # an error in the user's expression is the debugger's message, not its end
            exc_type, exc = sys.exc_info()[:2]
            print("***", traceback.format_exception_only(exc_type, exc)[-1].strip(), file=self.stdout)

    def default(self, line):
        """Evaluate an expression and print its repr."""
        self._show(line, repr)

    def do_p(self, arg):
        """p expression\nEvaluate and print the value of an expression."""
        self._show(arg, repr)

    def do_pp(self, arg):
        """pp expression\nEvaluate and pretty-print the value of an expression."""
        self._show(arg, pprint.pformat)

    def print_context(self, num_lines=2):
        frame = self.frames[self.frame_index]
        context = [f"> {frame.filename}({frame.lineno})"]
        if frame.offset is not None:
            for i, line in enumerate(frame.source):
                if frame.offset - 1 - num_lines <= i <= frame.offset + num_lines:
                    context.append(("->  " if i == frame.offset else "    ") + line)
        print("\n".join(context), file=self.stdout)

    def print_backtrace(self):
        lines = ["Traceback:"]
        for frame in self.frames[::-1]:
            lines.append(f'  File "{frame.filename}", line {frame.lineno}')
            lines.append("    <no source>" if frame.offset is None else f"    {frame.source[frame.offset].strip()}")
        print("\n".join(lines), file=self.stdout)

    def do_up(self, arg, /):
        """u(p)\nMove up a stack frame."""
        if self.frame_index == len(self.frames) - 1:
            print("At topmost frame.", file=self.stdout)
        else:
            self.frame_index += 1
        self.print_context()

    def do_down(self, arg, /):
        """d(own)\nMove down a stack frame."""
        if self.frame_index == 0:
            print("At bottommost frame.", file=self.stdout)
        else:
            self.frame_index -= 1
        self.print_context()

    def do_list(self, arg):
        """l(ist)\nList the source around the current line."""
        self.print_context(num_lines=5)

    def do_where(self, arg):
        """w(here)\nPrint the stack, the most recent frame last ('bt' too)."""
        self.print_backtrace()

    def do_continue(self, arg):
        """c(ont(inue))\nContinue the program."""
        return True

    def do_quit(self, arg):
        """q(uit)\nQuit the debugger: the program is given an exit (SystemExit)."""
        sys.exit(0)

    do_u, do_d, do_l, do_w, do_bt = do_up, do_down, do_list, do_where, do_where
    do_c = do_cont = do_continue
    do_q = do_EOF = do_exit = do_quit

    def run(self):
        while True:
            try:
                self.cmdloop()
                break
            except KeyboardInterrupt:
                print("--KeyboardInterrupt--", file=sys.stdout)


def run_cli_debugger(frames, thread_id, **kwargs):
    CliDebugger(frames, thread_id, **kwargs).run()


register_debugger("cli", run_cli_debugger, -1)
