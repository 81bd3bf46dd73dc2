"""Python callbacks from compiled programs, as in JAX:

    irax.debug.print("x = {x}", x=x)        # prints x's value when the program runs
    irax.debug.callback(fn, *args)          # fn(*NumPy arrays) when the program runs; no results
    y = irax.pure_callback(fn, irax.ShapeDtypeStruct((3,), jnp.float32), x)   # fn's NumPy results

Traced, a callback is a call of a body-less private function that the
program imports from the host (transforms/ad/host_calls.py has the IR):

    func.func private @"irax_host.callback_0"(tensor<3xf32>) -> tensor<3xf32>
    %y = func.call @"irax_host.callback_0"(%x) {irax.callback = "pure"}

IREE passes the operands to it, and takes its results from it, as buffers;
irax's runtime gives a program that has such calls a Python module named
`irax_host` holding the Python functions (backends/runtime.py,
`host_module`). The outermost trace keeps them by name
(`Trace.host_functions`), and whatever compiles its module loads the
program with them (`executable.load`). Names are numbered per program, as
every function name a trace makes (`staging.fresh_name`): so the Python
functions are not part of the program's text or of its `.vmfb`, a retraced
program's text (its compile cache key) stays the same, and one compiled
program serves any callbacks of those types, bound when it is loaded.

What irax guarantees: a callback runs when its program reaches it, on the
thread that called the program, after the ops that compute its operands and
before the ops that read its results; callbacks run in program order (IREE
keeps calls of imports with side effects in order), once per time the
program reaches them (each iteration of a loop). Under grad a debug
callback runs once, in the forward pass; differentiating a pure callback's
results is JAX's ValueError. Under vmap a callback runs per member, or once
on the batch, as its vmap_method says (`batched_host_functions`). Eagerly, a
callback is just called. A callback gets NumPy copies of its arguments
(JAX's get jax.Arrays) and must not compute with irax: its program is still
running (that raises irax.errors.DeviceError). A pure or io callback that
raises raises DeviceError (JAX's JaxRuntimeError), from its exception, eagerly
too.
"""
import copy
import string
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import func

from irax import tree_util
from irax.backends import lifecycle, runtime
from irax.errors import DeviceError
from irax.frontend import core, dtypes, staging
from irax.frontend.array import device_put_numpy
from irax.ir import mlir
from irax.transforms.ad import host_calls

VMAP_METHODS = ["sequential", "sequential_unrolled", "expand_dims", "broadcast_all", "legacy_vectorized", None]


def host_call(kind, fn, arguments: staging.Arguments, out_avals, vmap_method="sequential") -> list:
    """`fn(*flat NumPy arrays)` -> NumPy arrays of `out_avals`, on the dynamic
    leaves of `arguments`: called now when eager, else traced as a call of
    an import (see the module's docstring). Returns the results as arrays."""
    trace = core.current_trace()
    if trace is None:
        try:
            results = fn(*[np.asarray(x) for x in arguments.dynamic])
        except Exception as error:
            if kind not in ("pure", "io") or isinstance(error, DeviceError):
                raise  # (JAX's debug callbacks raise the callback's exception when eager)
            raise DeviceError(f"A callback failed: {type(error).__name__}: {error}") from error
        return [device_put_numpy(r) for r in results]
    operands = [trace.to_tracer(x) for x in arguments.dynamic]
    symbol = declare_host_function(fn, [t.aval for t in operands], out_avals)
    out_types = [mlir.tensor_type(a.shape, a.dtype) for a in out_avals]
    call = func.CallOp(out_types, ir.FlatSymbolRefAttr.get(symbol), [t.value for t in operands])
    call.attributes[host_calls.CALLBACK] = ir.StringAttr.get(kind)
    call.attributes[host_calls.VMAP_METHOD] = ir.StringAttr.get(vmap_method or "none")
    return [core.Tracer(trace, v, a) for v, a in zip(call.results, out_avals)]


def declare_host_function(fn, in_avals, out_avals) -> str:
    """Declare `fn` (NumPy arrays of `in_avals` -> NumPy arrays of
    `out_avals`) as a function that the current trace's program imports
    from the host; its symbol, for func.call."""
    name = staging.fresh_name("callback")
    symbol = f"{runtime.HOST_MODULE}.{name}"
    in_types, out_types = ([mlir.tensor_type(a.shape, a.dtype) for a in avals] for avals in (in_avals, out_avals))
    with ir.InsertionPoint(core.current_trace().module.body):
        func.FuncOp(symbol, ir.FunctionType.get(in_types, out_types), visibility="private")
    core.outermost_trace().host_functions[name] = runtime.HostFunction(
        fn, tuple(a.dtype for a in in_avals), len(out_avals))
    return symbol


def _on_arrays(fn, arguments: staging.Arguments, results):
    """The host function of `fn(*args, **kwargs)`: the (args, kwargs) of
    `arguments` with NumPy arrays for their dynamic leaves, and
    `results(what fn returned)` for its results. It keeps a copy of
    `arguments` without their traced values: a loaded program keeps its
    callbacks, and they would keep the whole trace alive."""
    static = copy.copy(arguments)
    static.args = static.dynamic = ()

    def call(*arrays):
        args, kwargs = static.rebuild(arrays)
        return results(fn(*args, **kwargs))
    return call


def debug_callback(callback: Callable[..., Any], *args: Any, ordered: bool = False, **kwargs: Any) -> None:
    """Call `callback(*args, **kwargs)` when the computation runs, with its
    arrays as NumPy arrays (jax.debug.callback). Its result is dropped.
    `ordered` is accepted for JAX's sake: irax runs callbacks in program
    order anyway."""
    arguments = staging.Arguments(args, kwargs)
    host_call("debug", _on_arrays(callback, arguments, lambda _: ()), arguments, ())


class _FormatCheck(string.Formatter):
    """str.format's errors for a format string and its arguments, without
    formatting the values (traced, they have none yet); as jax.debug.print,
    arguments that the format does not use are an error too."""

    def format_field(self, value, format_spec):
        return ""

    def check_unused_args(self, used_args, args, kwargs):
        unused = [a for i, a in enumerate(args) if i not in used_args]
        unused_kw = [k for k in kwargs if k not in used_args]
        if unused:
            raise ValueError(f"Unused positional arguments to `irax.debug.print`: {unused}")
        if unused_kw:
            raise ValueError(f"Unused keyword arguments to `irax.debug.print`: {unused_kw}. You may be passing an "
                             "f-string (i.e, `f\"{x}\"`) into `irax.debug.print` and instead should pass in a "
                             "regular string.")


def debug_print(fmt: str, *args: Any, ordered: bool = False, **kwargs: Any) -> None:
    """Print `fmt.format(*args, **kwargs)` with the values the arrays have
    when the computation runs (jax.debug.print), on sys.stdout."""
    _FormatCheck().format(fmt, *args, **kwargs)
    debug_callback(lambda *a, **k: sys.stdout.write(fmt.format(*a, **k) + "\n"), *args, ordered=ordered, **kwargs)


def _checked(results, out_avals):
    """A pure callback's results as NumPy arrays of `out_avals`, or XLA's
    error (JAX's JaxRuntimeError, as irax's DeviceError) if they are not."""
    leaves = tree_util.tree_leaves(results)
    if len(leaves) != len(out_avals):
        raise DeviceError(f"Mismatched number of outputs from callback. Expected: {len(out_avals)}, "
                          f"Actual: {len(leaves)}")
    arrays = []
    for k, (leaf, aval) in enumerate(zip(leaves, out_avals)):
        array = np.asarray(leaf)
        dtype = dtypes.canonicalize_dtype(array.dtype)
        if array.shape != aval.shape:
            raise DeviceError(f"Incorrect output shape for return value #{k}: Expected: {aval.shape}, "
                              f"Actual: {array.shape}")
        if dtype != aval.dtype:
            raise DeviceError(f"Incorrect output dtype for return value #{k}: Expected: {aval.dtype}, "
                              f"Actual: {dtype}")
        arrays.append(array.astype(aval.dtype, copy=False))
    return arrays


def pure_callback(callback: Callable[..., Any], result_shape_dtypes: Any, *args: Any, vmap_method: str | None = None,
                  **kwargs: Any) -> Any:
    """`callback(*args, **kwargs)`, a pure Python function of NumPy arrays,
    as an op of the computation (jax.pure_callback): its results, NumPy
    arrays (or scalars) of the shapes and dtypes of `result_shape_dtypes`
    (a pytree of irax.ShapeDtypeStruct or arrays), are the op's results, in
    that pytree. `vmap_method` says how irax.vmap calls it (`_batched`)."""
    if vmap_method not in VMAP_METHODS:  # (JAX's words, typo included)
        raise ValueError(f"vmap_method must be on of the allowed methods {VMAP_METHODS}, but got: {vmap_method}")
    return _callback_with_results("pure", callback, result_shape_dtypes, args, kwargs, vmap_method)


def io_callback(callback: Callable[..., Any], result_shape_dtypes: Any, *args: Any, sharding: None = None,
                ordered: bool = False, **kwargs: Any) -> Any:
    """`callback(*args, **kwargs)`, a Python function with side effects, as
    an op of the computation (jax.experimental.io_callback): its NumPy
    results, of the shapes and dtypes of `result_shape_dtypes`, are the op's
    results, as pure_callback's. It runs each time its program reaches it,
    in program order (`ordered` or not: irax keeps every callback in order).
    Under vmap it runs per member, as JAX's; an `ordered` one cannot be
    vmapped, and neither is differentiable (JAX's ValueErrors)."""
    if sharding is not None:
        raise NotImplementedError("irax.experimental.io_callback: irax has no shardings; leave `sharding` None")
    method = ORDERED_IO if ordered else "sequential"
    return _callback_with_results("io", callback, result_shape_dtypes, args, kwargs, method)


ORDERED_IO = "ordered_io"  # an ordered io_callback's vmap_method: vmap refuses it, as JAX does


def effects_barrier() -> None:
    """Wait until every callback of the computations started so far has run (jax.effects_barrier)."""
    lifecycle.drain_all()


def _callback_with_results(kind, callback, result_shape_dtypes, args, kwargs, vmap_method):
    """A pure or io callback: the pytree of `result_shape_dtypes` holding the
    checked results of `callback(*args, **kwargs)` (see host_call)."""
    shapes, out_tree = tree_util.tree_flatten(result_shape_dtypes)
    out_avals = tuple(core.ShapedArray(s.shape, dtypes.canonicalize_dtype(s.dtype)) for s in shapes)
    arguments = staging.Arguments(args, kwargs)
    host = checked_host(_on_arrays(callback, arguments, lambda results: results), out_avals)
    return tree_util.tree_unflatten(out_tree, host_call(kind, host, arguments, out_avals, vmap_method))


def checked_host(call, out_avals):
    """The host function `call` with its results checked against `out_avals`
    (`_checked`), keeping both for vmap (`_batched`)."""
    def checked(*arrays):
        return _checked(call(*arrays), out_avals)
    checked.unchecked, checked.out_avals = call, out_avals
    return checked


def _batched(fn, batched, size, vmap_method):
    """The host function of a callback `fn` batched `size` times, given
    which of its operands are `batched` (batch axis first), as JAX's
    vmap_method says: per member ("sequential"; a debug callback's), or once,
    with the unbatched operands given a unit axis ("expand_dims") or
    broadcast ("broadcast_all"; "legacy_vectorized" passes them as they are),
    its results checked for the batch's shapes."""
    if vmap_method.startswith("sequential"):
        def per_member(*arrays):
            results = [fn(*[a[i] if b else a for a, b in zip(arrays, batched)]) for i in range(size)]
            return [np.stack(r) for r in zip(*results)]
        return checked_host(per_member, _batch_avals(fn, size)) if hasattr(fn, "out_avals") else per_member
    widen = {"expand_dims": lambda a: a[None], "broadcast_all": lambda a: np.broadcast_to(a, (size,) + a.shape),
             "legacy_vectorized": lambda a: a}[vmap_method]
    return checked_host(lambda *arrays: fn.unchecked(*[a if b else widen(a) for a, b in zip(arrays, batched)]),
                        _batch_avals(fn, size))


def _batch_avals(fn, size):
    return tuple(a.update(shape=(size,) + a.shape) for a in fn.out_avals)


def batched_host_functions(module):
    """Give each callback that `module`'s batching declared (see
    transforms/ad/host_calls.py) its Python, in the outermost trace's host
    functions, beside the callback it batches."""
    host_functions = core.outermost_trace().host_functions
    prefix = runtime.HOST_MODULE + "."
    for op in module.body.operations:
        if host_calls.BATCHED_OF not in op.attributes:
            continue
        name = ir.StringAttr(op.attributes["sym_name"]).value[len(prefix):]
        original = host_functions[ir.StringAttr(op.attributes[host_calls.BATCHED_OF]).value[len(prefix):]]
        method = ir.StringAttr(op.attributes[host_calls.VMAP_METHOD]).value
        if method == ORDERED_IO:
            raise ValueError("Cannot `vmap` ordered IO callback.")
        if method == "none":
            raise NotImplementedError(
                "vmap is only supported for the pure_callback primitive when vmap_method is one of 'sequential', "
                "'sequential_unrolled', 'expand_dims', 'broadcast_all', or 'legacy_vectorized'. Got vmap_method=None.")
        batched = list(ir.DenseBoolArrayAttr(op.attributes[host_calls.BATCHED]))
        size = ir.RankedTensorType(op.type.results[0] if op.type.results else op.type.inputs[0]).shape[0]
        host_functions[name] = runtime.HostFunction(
            _batched(original.fn, batched, size, method), original.in_dtypes, original.n_results)
