"""The tracer: abstract values, primitives, and the one way an op is run.

Every operation in `irax.numpy` ends in `primitive.bind(*operands, **params)`.
A primitive knows two things:

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
import os
import threading
import traceback
from dataclasses import dataclass

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import func

from irax.frontend import dtypes, mlir
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
    size = property(lambda self: int(np.prod(self.shape, dtype=np.int64)))

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
        return f"{self.dtype.name}[{dims}]"

    __str__ = str_short

    def __repr__(self):
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({self.str_short()}{weak})"


@dataclass(frozen=True)
class EmitContext:
    """What an emitter may know beyond its operand Values."""

    avals_in: tuple
    avals_out: tuple


class Primitive:
    """One operation: its shape rule, its MLIR emitter, how eager mode compiles it.

    dynamic_shapes: the eager kernel is compiled with every dimension that is
        not 1 made dynamic, so one kernel serves all sizes with the same rank,
        dtypes and broadcast pattern. Only for ops whose output shape follows
        from the operand shapes (elementwise, reductions, contractions).
    """

    def __init__(self, name, abstract_eval, emit, *, dynamic_shapes=False, multiple_results=False):
        self.name = name
        self.abstract_eval = abstract_eval
        self.emit = emit
        self.dynamic_shapes = dynamic_shapes
        self.multiple_results = multiple_results

    def __repr__(self):
        return self.name

    def out_avals(self, avals, params):
        out = self.abstract_eval(*avals, **params)
        return tuple(out) if self.multiple_results else (out,)

    def bind(self, *operands, **params):
        trace = current_trace()
        if trace is None:
            from irax.frontend import eager

            outs = eager.run(self, operands, params)
        else:
            outs = trace.emit(self, operands, params)
        return outs if self.multiple_results else outs[0]


# ---------------------------------------------------------------------------
# Tracing: a stack of functions under construction.

class TracerError(TypeError):
    """A traced value was used where a concrete Python value is needed."""


class ConcretizationTypeError(TracerError):
    pass


class Tracer(ArrayMethods):
    """An array inside a function being traced: an MLIR Value and its aval."""

    __slots__ = ("trace", "value", "aval")

    def __init__(self, trace, value, aval):
        self.trace = trace
        self.value = value
        self.aval = aval

    def __repr__(self):
        return f"Traced<{self.aval.str_short()}>"

    def _concrete_error(self, what):
        raise ConcretizationTypeError(
            f"Abstract tracer value encountered where concrete value is expected: {what} "
            f"was called on a traced array {self.aval.str_short()}{_user_line()}.\n"
            "The value of an array is not known while a function is traced (by grad or jit), "
            "so Python control flow cannot depend on it. Use jnp.where or irax.lax.cond for "
            "value-dependent choices, or pass the value as a static argument "
            "(static_argnums in jit)."
        )

    def __bool__(self):
        self._concrete_error("bool()")

    def __int__(self):
        self._concrete_error("int()")

    def __float__(self):
        self._concrete_error("float()")

    def __index__(self):
        self._concrete_error("__index__()")

    def __array__(self, *args, **kwargs):
        self._concrete_error("numpy.asarray()")


def _user_line() -> str:
    """' at file:line (`code`)' for the innermost frame outside irax."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for frame in reversed(traceback.extract_stack()):
        if not os.path.abspath(frame.filename).startswith(package + os.sep):
            return f" at {frame.filename}:{frame.lineno} (`{(frame.line or '').strip()}`)"
    return ""


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

    @contextlib.contextmanager
    def active(self):
        """Make this the current trace and put new ops at the end of its body."""
        with self.context, ir.Location.unknown(), ir.InsertionPoint(self.block):
            _stack().append(self)
            try:
                yield self
            finally:
                _stack().pop()

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
        if isinstance(x, Tracer) and x.trace not in _stack():
            raise TracerError(
                f"Encountered an unexpected tracer {x!r}: a value traced in another function "
                "escaped into this one (for example stored in a global or a closure). "
                "Pass it in as an argument instead."
            )
        if not isinstance(x, ArrayMethods):
            raise TypeError(f"irax primitives take arrays; got {type(x).__name__}")
        if id(x) not in self.lifted:
            self.lifted[id(x)] = (x, self.new_argument(x.aval))
        return self.lifted[id(x)][1]

    def emit(self, prim, operands, params):
        tracers = [self.to_tracer(x) for x in operands]
        avals_in = tuple(t.aval for t in tracers)
        avals_out = prim.out_avals(avals_in, params)
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


_local = threading.local()


def _stack():
    if not hasattr(_local, "stack"):
        _local.stack = []
    return _local.stack


def current_trace():
    stack = _stack()
    return stack[-1] if stack else None


def aval_of(x) -> ShapedArray:
    """The abstract value of an Array, Tracer, NumPy array or Python scalar."""
    if hasattr(x, "aval"):
        return x.aval
    dtype, weak = dtypes.dtype_and_weak(x)
    return ShapedArray(np.shape(x), dtype, weak)


def constant(value, dtype=None, weak_type=False):
    """A concrete value as an array of the current mode: a Tracer when tracing,
    else an `irax.Array` on the default device."""
    array = np.asarray(value, dtype=dtypes.canonicalize_dtype(dtype if dtype is not None else np.asarray(value).dtype))
    trace = current_trace()
    if trace is not None:
        return trace.constant(array, weak_type)
    from irax.frontend.array import device_put_numpy

    return device_put_numpy(array, weak_type=weak_type)
