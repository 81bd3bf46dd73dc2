"""The tracer: abstract values, traces and the Tracers that stand for values.

Every operation in `irax.numpy` ends in `primitive.bind(*operands, **params)`
(the Primitive class: irax/frontend/primitives/__init__.py). A primitive
knows two things:

    abstract_eval(*avals, **params) -> out avals   shapes and dtypes, and all
                                                   error checks, before any IR
    emit(ctx, *values, **params)    -> out values  the MLIR ops it stands for

`bind` then does one of two things with the same emitter:

    inside a trace   (jit, grad, building a kernel)  emit into the function
                                                     being traced
    outside a trace  (eager)  emit into a one-op `func.func @main`, compile it
                     once (see `eager.py`), run it on the operands' device.
"""
import contextlib
import functools
import inspect
import linecache
import math
import os
import sys
import threading
from dataclasses import dataclass

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import func

from irax.frontend import dtypes, name_stack, source_info
from irax.ir import mlir
from irax.frontend.array_methods import ArrayMethods


class ShapedArray:
    """The abstract value of an array: shape, dtype and JAX's weak-type flag.

    A dimension is None when it is dynamic (only inside eager kernels, which
    are compiled once for every size of that dimension).
    """

    __slots__ = ("shape", "dtype", "weak_type", "_hash")

    def __init__(self, shape, dtype, weak_type=False):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type)
        self._hash = hash((self.shape, self.dtype, self.weak_type))  # avals key the eager dispatch cache

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: int(math.prod(self.shape)))  # (np.prod costs ~1.5 us: eager paths ask often)
    nbytes = property(lambda self: self.size * self.dtype.itemsize)

    aval = property(lambda self: self)  # (an abstract value stands for an array in jit's `lower`)

    def update(self, shape=None, dtype=None, weak_type=None):
        return ShapedArray(
            self.shape if shape is None else shape,
            self.dtype if dtype is None else dtype,
            self.weak_type if weak_type is None else weak_type,
        )

    def _key(self):
        return (self.shape, self.dtype, self.weak_type)

    def __eq__(self, other):
        return isinstance(other, ShapedArray) and self._key() == other._key()

    def __hash__(self):
        return self._hash

    def str_short(self):
        dims = ",".join("?" if d is None else str(d) for d in self.shape)
        return f"{'float0' if self.dtype == dtypes.float0 else self.dtype.name}[{dims}]"

    def __str__(self):  # JAX's: ~ marks a weak type
        return ("~" if self.weak_type else "") + self.str_short()

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({self.str_short()}{weak})"


@dataclass(frozen=True)
class EmitContext:
    """What an emitter may know beyond its operand Values."""

    avals_in: tuple
    avals_out: tuple


# ---------------------------------------------------------------------------
# Tracing: a stack of functions under construction.

class TracerError(TypeError):
    """A traced value was used where a concrete Python value is needed."""


class ConcretizationTypeError(TracerError):
    pass


class TracedStaticArgumentError(ValueError):
    """JAX's ValueError for a traced value given as a static argument of a
    jit-ed function (a traced value is not hashable). An eager grad then
    runs its function on values (tape.py), where it may be a Python int."""


class TracerBoolConversionError(ConcretizationTypeError):
    """bool() of a traced array: Python control flow on a traced value (JAX's name)."""


class TracerArrayConversionError(ConcretizationTypeError):
    """NumPy conversion (np.asarray, a NumPy function) of a traced array (JAX's
    name; a ConcretizationTypeError here, which grad's eager fallback takes)."""


class TracerIntegerConversionError(ConcretizationTypeError):
    """__index__() of a traced array (range(x), a list indexed by x): JAX's
    name, a ConcretizationTypeError here, as TracerArrayConversionError."""


class UnexpectedTracerError(TracerError):
    """A Tracer was used after the trace it belongs to had ended (it leaked
    out, as through a global)."""


# The attributes of a concrete irax.Array (array.py adds them): read on a
# Tracer outside its trace, they show that it leaked.
CONCRETE_ARRAY_ATTRIBUTES = set()


class Tracer(ArrayMethods):
    """An array inside a function being traced: an MLIR Value and its aval,
    and the user's line that made it (for the error if it leaks)."""

    __slots__ = ("trace", "value", "aval", "origin")

    def __init__(self, trace, value, aval):
        self.trace = trace
        self.value = value
        self.aval = aval
        self.origin = trace.note_origin()

    def __repr__(self):  # JAX's repr of a tracer inside jit, ~ marking a weak type (inside vmap: vmap.Batch)
        described = self.trace.batch and self.trace.batch.describe(self)
        return described or f"JitTracer({self.aval})"

    def __getattr__(self, name):
        """Reached only for attributes a Tracer lacks: those of a concrete
        irax.Array (its buffer, its device), which code outside the trace
        reads, eager ops and jit calls among them. A Tracer there has leaked.
        (Protocols probed by name, such as NumPy's __array_interface__, are
        not Array attributes; nor is what neither has, which `hasattr` and
        `getattr(t, name, default)` probe, as on JAX's leaked tracers.)"""
        if name in CONCRETE_ARRAY_ATTRIBUTES and name not in Tracer.__slots__ and self.trace not in _thread.stack:
            raise self.leaked_error()
        raise AttributeError(f"'Tracer' object has no attribute '{name}'")

    def leaked_error(self) -> UnexpectedTracerError:
        """JAX's error for a tracer used after its trace ended, naming where it came from."""
        where = ""
        if self.trace.function is not None:
            name, filename, line = self.trace.function
            where = f"The function being traced when the value leaked was {name} at {filename}:{line}.\n"
        if self.origin is not None:
            where += f"The leaked intermediate value was created on line {_describe(*self.origin)}.\n"
        return UnexpectedTracerError(
            "Encountered an unexpected tracer. A function transformed by irax had a side effect, allowing for a "
            f"reference to an intermediate value with type {self.aval.str_short()} wrapped in a Tracer to escape "
            "the scope of the transformation.\n"
            "irax transformations require that functions explicitly return their outputs, and disallow saving "
            f"intermediate values to global state.\n{where}"
            "Return the value from the function instead (or pass it to the function as an argument)."
        )

    def _concrete_error(self, what, error=ConcretizationTypeError):
        raise error(
            f"Abstract tracer value encountered where concrete value is expected: {what} "
            f"was called on a traced array {self.aval.str_short()}{_user_line()}.\n"
            "The value of an array is not known while a function is traced (by grad or jit), "
            "so Python control flow cannot depend on it. Use jnp.where or irax.lax.cond for "
            "value-dependent choices, or pass the value as a static argument "
            "(static_argnums in jit)."
        )

    def __bool__(self):
        self._concrete_error("bool()", TracerBoolConversionError)

    def __int__(self):
        self._concrete_error("int()")

    def __float__(self):
        self._concrete_error("float()")

    def __index__(self):
        self._concrete_error("__index__()", TracerIntegerConversionError)

    def item(self, *args):
        self._concrete_error("item()")

    def tolist(self):
        self._concrete_error("tolist()")

    def __array__(self, *args, **kwargs):
        raise TracerArrayConversionError(
            f"The numpy.ndarray conversion method __array__() was called on traced array with shape "
            f"{self.aval.str_short()}{_user_line()}.\nNumPy cannot compute on a traced array, whose value is not "
            "known while the function is traced (by jit or grad): use irax.numpy's functions there (jnp.sin, not "
            "np.sin), or pass the value as a static argument (static_argnums in jit).")

    def __dlpack__(self, *args, **kwargs):
        self._concrete_error("__dlpack__()")


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


@functools.lru_cache(maxsize=None)
def _in_irax(filename) -> bool:
    return os.path.abspath(filename).startswith(_PACKAGE)


def _user_frames(stop=None):
    """The frames of user code (outside irax) on the stack, innermost first,
    up to the frame `stop`."""
    frame = sys._getframe(1)
    while frame is not None and frame is not stop:
        if not _in_irax(frame.f_code.co_filename):
            yield frame
        frame = frame.f_back


def named_as(wrapper, fun, name=None):
    """`wrapper`, calling `fun`, takes its name (or `name`) and names it as
    what it wraps (`__wrapped__`), so that an error names `fun` and where
    its code is (function_name)."""
    wrapper.__name__ = name or getattr(fun, "__name__", "function")
    wrapper.__wrapped__ = fun


def function_name(fn) -> str:
    """`fn`'s name and where its code starts, as JAX's messages name a
    function (of the function a wrapper's `__wrapped__` names, if any)."""
    fn = inspect.unwrap(fn)
    code = getattr(fn, "__code__", None)
    name = getattr(fn, "__name__", repr(fn))
    return name if code is None else f"{name} at {code.co_filename}:{code.co_firstlineno}"


def _describe(filename, line, function) -> str:
    """'file:line (function): `code`'."""
    code = linecache.getline(filename, line).strip()
    return f"{filename}:{line} ({function})" + (f": `{code}`" if code else "")


def _user_line() -> str:
    """' at file:line (function): `code`' for the innermost frame outside irax."""
    frame = next(_user_frames(), None)
    return "" if frame is None else f" at {_describe(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)}"


class Trace:
    """One `func.func @main` being built; values in it are Tracers."""

    def __init__(self, name="main"):
        self.context = mlir.context()
        with self.context, ir.Location.unknown():
            self.module = ir.Module.create()
            with ir.InsertionPoint(self.module.body):
                self.func = func.FuncOp(name, ir.FunctionType.get([], []))
            self.block = self.func.add_entry_block()
        self.lifted = {}  # id(value) -> (outside value, its argument Tracer)
        self.caller = None  # the frame that made this trace active
        self.function = None  # (name, file, line) of the user function being traced, once seen
        self.host_functions = {}  # name -> the Python callbacks its program calls, if outermost (callbacks.py)
        self.batch = None  # a vmap's trace: its batch (vmap.Batch), which says how its tracers print

    @contextlib.contextmanager
    def active(self):
        """Make this the current trace and put new ops at the end of its body."""
        outer, self.caller = self.caller, sys._getframe(2)  # past contextlib's __enter__
        with self.context, ir.Location.unknown(), ir.InsertionPoint(self.block):
            _thread.stack.append(self)
            try:
                yield self
            finally:
                _thread.stack.pop()
                self.caller = outer  # a frame kept would keep its locals alive

    def note_origin(self):
        """(file, line, function) of the user's line that is making a value of
        this trace, if any; the first one also names the traced function: the
        outermost user frame inside the trace."""
        frames = _user_frames(self.caller)
        inner = next(frames, None)
        if inner is None:
            return None
        if self.function is None:
            code = ([inner] + list(frames))[-1].f_code
            self.function = (code.co_name, code.co_filename, code.co_firstlineno)
        return inner.f_code.co_filename, inner.f_lineno, inner.f_code.co_name

    def new_argument(self, aval) -> Tracer:
        with self.context, ir.Location.unknown():
            value = self.block.add_argument(mlir.tensor_type(aval.shape, aval.dtype), ir.Location.unknown())
        return Tracer(self, value, aval)

    def to_tracer(self, x) -> Tracer:
        """A Tracer of this trace for an operand. Values from outside it (a
        concrete Array, or a Tracer of an enclosing trace, as when `grad` runs
        inside `jit`) become extra arguments of the function: `lifted`."""
        if isinstance(x, Tracer) and x.trace is self:
            return x
        if isinstance(x, Tracer) and x.trace not in _thread.stack:
            raise x.leaked_error()
        if not isinstance(x, ArrayMethods):
            raise TypeError(f"irax primitives take arrays; got {type(x).__name__}")
        if id(x) not in self.lifted:
            self.lifted[id(x)] = (x, self.new_argument(x.aval))
        return self.lifted[id(x)][1]

    def emit(self, prim, operands, params):
        tracers = [self.to_tracer(x) for x in operands]
        avals_in = tuple(t.aval for t in tracers)
        avals_out = prim.out_avals(avals_in, params)
        scopes = name_stack.current_names()
        if scopes or source_info.recording_now():  # irax.named_scope: the ops get a location named by it
            # (JAX's HLO metadata); print_saved_residuals: the user's source line as well
            with source_info.op_location("/".join(scopes + (prim.name,))):
                values = prim.emit(EmitContext(avals_in, avals_out), *[t.value for t in tracers], **params)
        else:
            values = prim.emit(EmitContext(avals_in, avals_out), *[t.value for t in tracers], **params)
        return [Tracer(self, v, a) for v, a in zip(values, avals_out)]

    def constant(self, array: np.ndarray, weak_type=False) -> Tracer:
        aval = ShapedArray(array.shape, array.dtype, weak_type)
        return Tracer(self, mlir.dense_constant(array), aval)

    def finish(self, outputs):
        """Return `outputs` from the function and fix up its signature."""
        with self.context, ir.Location.unknown(), ir.InsertionPoint(self.block):
            values = [self.to_tracer(o).value for o in outputs]
            func.ReturnOp(values)
            arg_types = [a.type for a in self.block.arguments]
            self.func.attributes["function_type"] = ir.TypeAttr.get(
                ir.FunctionType.get(arg_types, [v.type for v in values])
            )
        return self.module


class _ThreadState(threading.local):
    """What intercepts this thread's ops: its traces, innermost last, and the
    tape recording its eager ops, if any (grad's fallback for Python control
    flow on values, tape.py). One thread-local object, its attributes made
    per thread (__init__) or read from the class: a getattr that misses, or
    a hasattr, costs ~0.1-0.5 us, and every op and jitted call asks."""
    tape = None

    def __init__(self):
        self.stack = []


_thread = _ThreadState()


def current_trace():
    stack = _thread.stack
    return stack[-1] if stack else None


def current_tape():
    """The tape recording eager ops, if any."""
    return _thread.tape


def untraced() -> bool:
    """Whether ops run as they are, on concrete arrays: no trace and no tape
    (one look for a jitted call's fast path)."""
    return not _thread.stack and _thread.tape is None


@contextlib.contextmanager
def recording(tape):
    """Make `tape` the current tape (on this thread) for the block."""
    outer, _thread.tape = _thread.tape, tape
    try:
        yield tape
    finally:
        _thread.tape = outer


def outermost_trace():
    """The trace the current ones are nested in: what they trace ends up in
    its module, so symbol names they make must be unique across all of them."""
    stack = _thread.stack
    return stack[0] if stack else None


def aval_of(x) -> ShapedArray:
    """The abstract value of an Array, Tracer, NumPy array or Python scalar."""
    if hasattr(x, "aval"):
        return x.aval
    dtype, weak = dtypes.dtype_and_weak(x)
    return ShapedArray(np.shape(x), dtype, weak)
