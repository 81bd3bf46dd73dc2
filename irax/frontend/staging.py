"""Whole Python functions as MLIR functions.

    trace_function(fn, args)   trace `fn` on the avals of `args` (pytrees) into
                               its own `func.func @main`
    staged_call(key, fn, args) the call every transformation makes (jit,
                               grad/vjp/jvp, control flow, custom derivatives):
                               under a trace `fn` nests in it; eagerly, run_staged
    run_staged(key, fn, args)  trace once per (key, argument signature), run
                               the passes, compile, and call the program
                               (executable.execute)

A traced function takes its flat arguments, then its *lifted* values: arrays
it closed over (and, when traced inside another trace, the enclosing trace's
Tracers it used). They are passed in as arguments, never baked in as
constants, so a closure over a 100 MB array does not put 100 MB in the IR.
"""
import functools
import sys
import weakref
from dataclasses import dataclass

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import func

from irax import tree_util
from irax.backends.cache import LRU
from irax.config import config
from irax.frontend import core, dtypes
from irax.ir import mlir
from irax.frontend.array import NUMBERS, check_not_deleted, number_operand, place
from irax.frontend import executable, refs, tiered
from irax.frontend.numpy.util import asarray, is_array
from irax.transforms import pipeline


@dataclass
class TracedFunction:
    trace: core.Trace
    out_tree: tree_util.PyTreeDef
    out_avals: tuple
    lifted: list  # outside values passed after the flat arguments

    @property
    def module(self):
        return self.trace.module

    @property
    def func(self):
        return self.trace.func


def output_array(fn, x, path=None):
    """An output `x` of a traced function `fn` as an array (Python numbers
    and NumPy arrays become ones; float0 zeros stay, see `_Float0Zeros`), or
    JAX's TypeError."""
    if is_array(x) or is_float0(x):
        return x
    if isinstance(x, (bool, int, float, complex)) or hasattr(x, "__array__"):
        return asarray(x)
    name = getattr(fn, "__name__", repr(fn))
    where = "" if path is None else f" at output component {tree_util.keystr(path)}"
    raise TypeError(f"function {name} traced for jit returned a value of type {type(x)}{where}, which is not a "
                    "valid JAX type")


class _Float0Zeros:
    """An output of float0 zeros (the tangent or gradient of an integer), as
    a pytree node with no leaves: no program computes it, and unflattening
    the output gives the NumPy float0 array back, as JAX's jit does."""

    def __init__(self, shape):
        self.shape = shape


tree_util.register_pytree_node(_Float0Zeros, lambda z: ((), z.shape),
                               lambda shape, _: np.zeros(shape, dtypes.float0))


def is_float0(x) -> bool:
    """Whether `x` is a NumPy array of float0 zeros (no irax array holds them)."""
    return isinstance(x, np.ndarray) and x.dtype == dtypes.float0


def trace_function(fn, flat_avals, in_tree, batch=None) -> TracedFunction:
    """Trace `fn(*args)` where args = in_tree.unflatten(arguments of flat_avals)
    (`batch`: vmap's, for its tracers' repr; core.Trace.batch)."""
    if config.irax_no_tracing:
        raise RuntimeError(f"re-tracing function {core.function_name(fn)} for `jit`, but 'no_tracing' is set")
    trace = core.Trace()
    trace.batch = batch
    with trace.active():
        args = [trace.new_argument(a) for a in flat_avals]
        out = fn(*tree_util.tree_unflatten(in_tree, args))
        out = tree_util.tree_map(lambda x: _Float0Zeros(x.shape) if is_float0(x) else x, out)
        paths, out_tree = tree_util.tree_flatten_data_with_path(out)
        flat_out = [trace.to_tracer(output_array(fn, x, path)) for path, x in paths]
    trace.finish(flat_out)
    lifted = [value for value, _ in trace.lifted.values()]
    return TracedFunction(trace, out_tree, tuple(t.aval for t in flat_out), lifted)


def inline(func_op, operands, out_avals) -> list:
    """Call a function inside the current trace by copying its body there,
    with the private functions it may call (see custom_derivatives.py)."""
    trace = core.current_trace()
    values = [trace.to_tracer(x).value for x in operands]
    results = mlir.inline_function(func_op, values)
    copy_private_functions(func_op.operation.parent, trace.module.operation)
    return [core.Tracer(trace, v, a) for v, a in zip(results, out_avals)]


_counters = weakref.WeakKeyDictionary()  # outermost trace -> how many names fresh_name gave


def fresh_name(prefix) -> str:
    """A function name not given before under the current outermost trace:
    the traces nested in it copy their functions into one another, so names
    must not repeat, and numbering per program keeps a retraced program's
    text (its compile cache key) the same."""
    outermost = core.outermost_trace()
    n = _counters.get(outermost, 0)
    _counters[outermost] = n + 1
    return f"{prefix}_{n}"


def add_private(traced: TracedFunction, name: str):
    """Copy `traced`'s function into the current trace's module as private
    @name (taking its flat arguments, then its lifted values), with the
    private functions it calls."""
    trace = core.current_trace()
    with trace.context, ir.Location.unknown(), ir.InsertionPoint(trace.module.body):
        function = traced.func.operation.clone()
    function.attributes["sym_name"] = ir.StringAttr.get(name)
    function.attributes["sym_visibility"] = ir.StringAttr.get("private")
    copy_private_functions(traced.module.operation, trace.module.operation)


def add_private_function(trace, traced, name, extra_types=(), lifted=lambda extra: []):
    """Add `traced`'s function to `trace`'s module as private @name, taking
    its own flat arguments and then `extra_types`, with the private functions
    it calls; `lifted(extra)`, called in its body with the values of those
    extra arguments, gives the values of the arrays `traced` lifted (the
    arguments that carry them, or constants). Returns the new func.FuncOp."""
    own = list(traced.trace.block.arguments)[:len(traced.trace.block.arguments) - len(traced.lifted)]
    with trace.context, ir.Location.unknown():
        with ir.InsertionPoint(trace.module.body):
            function = func.FuncOp(name, ir.FunctionType.get([a.type for a in own] + list(extra_types),
                                                              list(traced.func.type.results)), visibility="private")
        with ir.InsertionPoint(function.add_entry_block()):
            values = list(function.arguments)
            func.ReturnOp(mlir.inline_function(traced.func, values[:len(own)] + lifted(values[len(own):])))
    copy_private_functions(traced.module.operation, trace.module.operation)
    return function


def copy_private_functions(source_module_op, target_module_op):
    target_body = target_module_op.regions[0].blocks[0]
    have = {op.attributes["sym_name"].value for op in target_body.operations}
    with ir.InsertionPoint(target_body):
        for op in source_module_op.regions[0].blocks[0].operations:
            private = "sym_visibility" in op.attributes and op.attributes["sym_visibility"].value == "private"
            if private and op.attributes["sym_name"].value not in have:
                op.operation.clone()


# ---------------------------------------------------------------------------
# Arguments: numbers and arrays are traced; anything else is static.

# The leaves of a call's arguments that are converted to arrays: numbers
# (Python's, weakly typed, and NumPy's) and NumPy arrays.
CONVERTED = (*NUMBERS, np.ndarray)


def is_traceable_leaf(leaf) -> bool:
    """Whether a leaf of arguments is traced (an array, a CONVERTED value, or
    the abstract value of one: jit's `lower`); others are static."""
    return is_array(leaf) or isinstance(leaf, (*CONVERTED, core.ShapedArray))


def argument_array(x, keep: bool):
    """The array a program takes for an argument leaf of a CONVERTED type
    (as asarray makes it: a Python number weakly typed, as in JAX). Where
    `keep` (the call donates nothing, so nothing deletes it) a number's
    array is the kept one (array.number_operand): a loop over `f(x, s)`
    puts s once, a put being ~5-15 us."""
    return number_operand(x) if keep and not isinstance(x, np.ndarray) else asarray(x)


class Arguments:
    """`(args, kwargs)` flattened: numbers and arrays (`dynamic`, as irax
    arrays) are traced, other leaves (strings, objects) are passed through
    as they are and are part of the cache key, as static values. So are the
    Python numbers of the positional arguments `static_numbers` (a custom
    function's nondiff_argnums, which JAX passes on as they are)."""

    def __init__(self, args, kwargs=None, static_numbers=()):
        self.args = args
        leaves, self.tree = tree_util.tree_flatten_data((tuple(args), dict(kwargs or {})))
        self.is_dynamic = tuple(map(is_traceable_leaf, leaves))
        if static_numbers:  # their numbers' leaves, counted from the trees just flattened
            static = [i in static_numbers for i, t in enumerate(self.arg_trees) for _ in range(t.num_leaves)]
            self.is_dynamic = tuple(d and not (s and isinstance(x, (bool, int, float, complex)))
                                    for x, d, s in zip(leaves, self.is_dynamic, static + [False] * len(leaves)))
        self.given = [x for x, d in zip(leaves, self.is_dynamic) if d]  # as passed: Python numbers, NumPy arrays
        self.dynamic = [x if isinstance(x, core.ShapedArray) else asarray(x) for x in self.given]
        self.static = tuple(x for x, d in zip(leaves, self.is_dynamic) if not d)

    @functools.cached_property
    def arg_trees(self):
        """The pytree structure of each positional argument (for grad's
        argnums): the children of the tuple flattened first."""
        return self.tree.children()[0].children()

    def signature(self):
        return (self.tree, self.is_dynamic, self.static, tuple(x.aval for x in self.dynamic))

    def rebuild(self, dynamic_values):
        """(args, kwargs) with the dynamic leaves replaced by `dynamic_values`."""
        dynamic, static = iter(dynamic_values), iter(self.static)
        leaves = [next(dynamic) if d else next(static) for d in self.is_dynamic]
        return tree_util.tree_unflatten(self.tree, leaves)

    def dynamic_indices(self, argnum):
        """Positions among the dynamic leaves of positional argument `argnum`'s leaves."""
        counts = [t.num_leaves for t in self.arg_trees]
        start = sum(counts[:argnum])
        flat = range(start, start + counts[argnum])
        position = {leaf: i for i, leaf in enumerate(j for j, d in enumerate(self.is_dynamic) if d)}
        return [position[j] for j in flat if j in position]


def trace_arguments(fn, arguments: Arguments) -> TracedFunction:
    """Trace `fn(*args, **kwargs)` with the dynamic leaves of `arguments` traced."""

    def flat_fn(*dynamic_values):
        args, kwargs = arguments.rebuild(dynamic_values)
        return fn(*args, **kwargs)

    core.named_as(flat_fn, fn)
    avals = [x.aval for x in arguments.dynamic]
    return trace_function(flat_fn, avals, tree_util.tree_structure(tuple(avals)))


# ---------------------------------------------------------------------------
# Eager: compile once per signature.

def staged_call(key, fn, args, kwargs=None, passes=None, donate_argnums=(), device=None, warm=None,
                static_numbers=()):
    """`fn(*args, **kwargs)` as one staged call: the step jit, grad/vjp/jvp,
    control flow and custom derivatives all take, as JAX's `pjit` is. Under
    a trace it nests: `fn` is traced into the function being traced (which
    is compiled whole later). Eagerly, `fn` is traced into a program of its
    own once per (`key`, argument signature), compiled and called
    (run_staged; the other arguments are its). A transformation that
    rewrites the callee (vmap, next) plugs in here. Python numbers among
    the positional arguments `static_numbers` are static (Arguments)."""
    if core.current_trace() is not None:
        return fn(*args, **(kwargs or {}))
    return run_staged(key, fn, args, kwargs, passes, donate_argnums, device, warm, static_numbers)


_staged = LRU()  # (key, signature, device, donated, passes, IRAX_PASSES) -> executable.Executable
_closed_refs = LRU()  # key -> the Refs its function closes over (refs.call_impure)


def run_staged(key, fn, args, kwargs=None, passes=None, donate_argnums=(), device=None, warm=None,
               static_numbers=()):
    """_run_staged, for a function that may use Refs from outside it (passed
    or closed over): their values are extra arguments and results of the
    program, written back after the call (refs.call_impure). Such a call is
    never jit's warm one. A call is first taken for a pure one (no extra
    flattening: ~8 us of an eager grad's or cond's ~30): a trace that meets
    a Ref from outside stops (refs.Found), and that key's calls are impure
    from then on (a Ref argument is a static leaf of the key, so a program
    traced without meeting it never read it)."""
    if key is None or _closed_refs.get(key) is None:
        try:
            return _run_staged(key, refs.watching(fn), args, kwargs, passes, donate_argnums, device, warm,
                               static_numbers)
        except refs.Found:
            if key is not None:
                _closed_refs[key] = []

    def run(pure, args, kwargs, impure):
        return _run_staged(key, pure, args, kwargs, passes, donate_argnums, device, None if impure else warm,
                           static_numbers)

    return refs.call_impure(key, fn, args, kwargs, run, _closed_refs)


def _run_staged(key, fn, args, kwargs=None, passes=None, donate_argnums=(), device=None, warm=None,
                static_numbers=()):
    """Run `fn(*args, **kwargs)` as one compiled program, traced on first use
    of this (key, argument structure, avals, static values). The arrays of
    the positional arguments `donate_argnums` may be overwritten by the
    program, and are deleted after the call. `passes` changes the pass
    pipeline (transforms/pipeline.py); `device` is where it runs (else
    array.place decides). With the key None, traced for this call alone.
    `warm(device, executable, donated)`, if given, is told what ran, for
    the caller to run it again itself (jit's warm calls), unless a tape
    recorded the call."""
    arguments = Arguments(args, kwargs, static_numbers)
    name = getattr(fn, "__name__", "function")
    check_not_deleted(arguments.dynamic)
    donated = tuple(k for i in donate_argnums for k in arguments.dynamic_indices(i))
    tape = core.current_tape()
    if tape is not None and tape.reads_taped(arguments.dynamic):
        donated = ()  # the tape's backward pass runs on these operands again, so they must live
    ran = ran_on = None  # the Executable called, and its device

    def find(device, flat):
        nonlocal ran, ran_on
        context = config.trace_context()
        cache_key = (key, arguments.signature(), device, donated, passes, config.irax_passes, context)
        staged = _staged.get(cache_key) if key is not None else None
        if staged is None:
            if config.irax_log_compiles:
                _log_compile(cache_key, name)
            traced = trace_arguments(fn, arguments)
            main = traced.func.attributes["sym_name"].value
            pipeline.run(traced.module, passes, donated=donated)
            lifted = place(name, traced.lifted, device)[1]  # closed-over arrays, moved once
            aliases = _aliases(mlir.find_function(traced.module.operation, main), arguments.dynamic,
                               traced.out_avals)
            # compiled now, or (a kept program) run at once while it compiles in the background
            staged = tiered.build(device, traced, lifted, aliases, tier=key is not None)
            staged.name = f"{name} (a staged program: run it under irax.disable_jit() to find the operation)"
            staged.fixed_sharing = not mlir.ops_where(traced.module.operation, _chooses_at_run_time)
            staged.context = context
            if key is not None:
                _staged[cache_key] = staged
        ran, ran_on = staged, device
        return staged

    out = executable.execute(name, arguments.dynamic, find, device, donated)
    if tape is not None:  # grad's fallback for Python control flow on values records the call (tape.py)
        tape.record_staged((key, passes), fn, arguments, ran.lifted, out)
    elif warm is not None:
        warm(ran_on, ran, donated)
    return out


def _chooses_at_run_time(op) -> bool:
    """Whether `op` may make the buffer a value lives in differ from call
    to call: control flow (a branch or loop returning an operand at one call
    and a new value at another), or a select of whole tensors. A program
    without one shares operands' buffers with results alike at every call
    (executable.Executable.fixed_sharing)."""
    name = op.name
    return name.startswith(_CONTROL_FLOW) or (name == "arith.select" and any(
        isinstance(r.type, ir.RankedTensorType) for r in op.results))


_CONTROL_FLOW = ("scf.", "cf.")


def _aliases(main, operands, out_avals) -> tuple:
    """For each result of the function `main` (after the passes), the
    operands whose buffer it may share: those it is computed from, of its
    size in bytes (executable.Executable.aliases)."""
    nbytes = [x.aval.nbytes for x in operands]
    return tuple(tuple(sorted(k for k in deps if k < len(operands) and nbytes[k] == a.nbytes))
                 for deps, a in zip(mlir.argument_dependencies(main), out_avals))


# ---------------------------------------------------------------------------
# IRAX_LOG_COMPILES: why a program is traced and compiled again.

_last_compiled = {}  # (kind, function) -> the cache key of its last compile


def _log_compile(cache_key, name):
    """One line on stderr: which function, for which device, and what is new
    since its last compile (cache keys are built in run_staged)."""
    key, device = cache_key[0], cache_key[2]
    previous = _last_compiled.get(key[:2])
    _last_compiled[key[:2]] = cache_key
    reason = "first call" if previous is None else _what_changed(previous, cache_key)
    print(f"irax: compiling {key[0]}({name}) for {device}: {reason}", file=sys.stderr)


def _what_changed(before, now) -> str:
    (key0, (tree0, dynamic0, static0, avals0), *rest0) = before
    (key1, (tree1, dynamic1, static1, avals1), *rest1) = now
    if (tree0, dynamic0) != (tree1, dynamic1):
        return f"new argument structure {tree1} (was {tree0})"
    paths = [_argument_path(path) for path, d in zip(tree1.key_paths(), dynamic1) if d]
    types = [f"{path}: {_type(a)} (was {_type(b)})" for path, a, b in zip(paths, avals1, avals0) if a != b]
    if types:
        return "new argument types " + ", ".join(types)
    labels = ("static arguments", "non-array arguments", "device", "donated leaves", "jit passes", "IRAX_PASSES")
    changes = zip(labels, (key0[2:], static0, *rest0), (key1[2:], static1, *rest1))
    return next((f"{label} {_text(new)} (was {_text(old)})" for label, old, new in changes if old != new),
                f"evicted from the cache of {config.irax_cache_size} programs")


def _argument_path(path: str) -> str:
    """A leaf's key path in (args, kwargs) as the user wrote it: "[0][1]['w']" -> "args[1]['w']"."""
    return ("args" if path.startswith("[0]") else "kwargs") + path[3:]


def _type(aval) -> str:
    return aval.str_short() + (" weak" if aval.weak_type else "")


def _text(values) -> str:
    """Static values, `(name, value)` pairs as name=value."""
    if not isinstance(values, tuple):
        return str(values)
    pairs = [f"{v[0]}={v[1]!r}" if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) else repr(v)
             for v in values]
    return "(" + ", ".join(pairs) + ")"
