"""Structured control flow: `cond`, `switch`, `while_loop`, `fori_loop`, `scan`.

Each one traces its Python functions (branches, loop bodies) into functions
of their own (staging.trace_function), checks their types, and copies their
bodies into the regions of one `scf` op:

    cond(p, t, f, *x)        scf.if %p { t(x) } else { f(x) }
    switch(i, [b0, b1], *x)  scf.if %i == 0 { b0(x) } else { b1(x) }   (nested)
    while_loop(c, b, x)      scf.while (x) { c(x) } do { b(x) }
    fori_loop(lo, hi, b, x)  scf.for %i = lo to hi iter_args(x) { b(i, x) }
    scan(f, c, xs)           scf.for over xs' leading axis: each step reads row
                             k of xs and writes row k of the stacked ys

`unroll=k` (fori_loop, scan; JAX's argument) puts k steps of the body in
each rolled iteration, `scf.for %i = lo to lo + (n - n % k) step k`, and the
n % k steps left over after the loop, straight-line. IREE queues each
rolled iteration as a unit (allocations, a command buffer, fences: ~15 us on
the CPU; scan's stacked ys are written in place, pass update-stacks-in-place
in transforms/loop_carries.py), so a small body gains most: 200 steps of
tanh(h @ W + x) with h 8x128 took ~4.4 ms rolled, ~1.8 ms with unroll=8
(benchmarks/bench_loops.py, a loaded 2-core machine).
Left unset, `unroll` is chosen (`_auto_unroll`): when a step is small work
in few ops and the loop is longer than AUTO_UNROLL, enough steps for a
rolled iteration to hold ROLLED_WORK (the RNN: 20, a factor of 200), else 1.
Unrolling costs compile time (k copies of the body; the RNN's first calls
went from 2.0 to 3.0 s forward and 4.7 to 3.9 s for jit(grad) with 8, and
were 0.8-1.7 s and 2.1-3.5 s with 20 against 0.9-1.0 and 2.5-2.7 s with 8,
within the noise of that machine), hence the bounds on the ops. A loop whose
work is all elementwise on a few elements runs as native code inside one
dispatch anyway (transforms/elementwise_loops.py); docs/architecture.md,
"Compiled loops", says where the rest of a loop's time goes.

Arrays the functions close over become values the regions capture. Each
one is a staged call (staging.staged_call): nested in an enclosing trace,
or outside any trace a program of its own, cached by the functions and
argument signature, as JAX does. Reverse-mode
autodiff of these ops is in transforms/ad/control_flow.py: it goes through
`scf.if` and through `scf.for` (fixed trip count), not through `scf.while`.
"""
from __future__ import annotations

import inspect
import math
import operator
from collections.abc import Callable, Sequence

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, scf, tensor

from irax import tree_util
from irax.frontend import core, dtypes, extended, refs, staging
from irax.frontend.lax_elementwise import add as lax_add
from irax.ir import mlir
from irax.ir.convolution import NAMED_CONVS
from irax.ir.linalg import loop_sizes
from irax.frontend.numpy.util import asarray, convert
from irax.frontend.numpy import clip
from irax.frontend.numpy.shape import broadcast_to
from irax.frontend.primitives.elementwise import select as select_p
from irax.typing import Array, ArrayLike, PyTree


def _staged(name, fns, call, args):
    """`call(*args)` as one staged call, keyed by the op and its functions:
    nested in a trace, or eagerly a compiled program traced once per signature."""
    return staging.staged_call(("lax." + name, *fns), call, args)


def _flat_arrays(tree):
    leaves, treedef = tree_util.tree_flatten_data(tree)  # (a key array's data: its treedef wraps it again)
    return [asarray(x) for x in leaves], treedef


def _extended_wrappers(treedef) -> list:
    """For each leaf of `treedef` (a tree_flatten_data's), the extended array
    class whose data it is (a key array's), or None for a plain array."""
    if treedef.node_type is None:
        return [None]
    if issubclass(treedef.node_type, extended.ExtendedArray):
        return [treedef.node_type]
    return [wrapper for child in treedef.children() for wrapper in _extended_wrappers(child)]


def _inline(trace, traced, values):
    """Copy `traced`'s body at the insertion point, with its arguments bound to
    `values` (then its lifted values, read via trace.to_tracer beforehand)."""
    results = mlir.inline_function(traced.func, list(values))
    staging.copy_private_functions(traced.module.operation, trace.module.operation)
    return results


def _lifted(trace, traced):
    """The Values of the current trace for what `traced` closed over. Read
    before entering a region: lifting may add function arguments."""
    return [trace.to_tracer(x).value for x in traced.lifted]


def _values(trace, arrays):
    return [trace.to_tracer(x).value for x in arrays]


def _args_tree(*trees):
    """The tree of a function's argument tuple whose arguments have `trees`."""
    return tree_util.treedef_tuple(trees)


def _tracers(trace, values, avals, tree):
    return tree_util.tree_unflatten(tree, [core.Tracer(trace, v, a) for v, a in zip(values, avals)])


def _scalar(trace, x):
    """The scalar inside a 0-d array, as an MLIR Value."""
    return tensor.ExtractOp(trace.to_tracer(x).value, []).result


def _types(avals):
    return [mlir.tensor_type(a.shape, a.dtype) for a in avals]


def _type_mismatch(a, b):
    if a.shape != b.shape:
        return "the shapes do not match"
    return "the dtypes do not match" if a.dtype != b.dtype else None


# ---------------------------------------------------------------------------
# cond and switch

def _branch_outputs(kind, branches, names, fns):
    """The common output avals of traced branches, or JAX's error."""
    first = branches[0]
    for other, name, fn in zip(branches[1:], names[1:], fns[1:]):
        if other.out_tree != first.out_tree:
            raise TypeError(f"{kind} branches must have equal output types but they differ: {names[0]} output has "
                            f"tree structure {first.out_tree} and {name} output has {other.out_tree}.")
        for a, b in zip(first.out_avals, other.out_avals):
            problem = _type_mismatch(a, b)
            if problem:
                raise TypeError(
                    f"{kind} branches must have equal output types but they differ.\n\n"
                    f"{names[0]} is {core.function_name(fns[0])}\n{name} is {core.function_name(fn)}\n\n"
                    f"The output of {names[0]} has type {a.str_short()} but the corresponding output of {name} "
                    f"has type {b.str_short()}, so {problem}.\n\nRevise {names[0]} and/or {name} so that all "
                    "output types match."
                )
    return [a.update(weak_type=all(b.out_avals[i].weak_type for b in branches)) for i, a in enumerate(first.out_avals)]


def _trace_branches(branches, operands):
    flat, tree = _flat_arrays(operands)
    avals = [x.aval for x in flat]
    return flat, [staging.trace_function(b, avals, tree) for b in branches]


def _emit_cases(trace, tests, traced, arguments, out_avals):
    """scf.if tests[0] { traced[0] } else { scf.if tests[1] ... else { traced[-1] } }."""
    lifted = [_lifted(trace, t) for t in traced]

    def emit(k):
        if k == len(traced) - 1:
            return _inline(trace, traced[k], arguments + lifted[k])
        op = scf.IfOp(tests[k], _types(out_avals), has_else=True)
        with ir.InsertionPoint(op.then_block):
            scf.YieldOp(_inline(trace, traced[k], arguments + lifted[k]))
        with ir.InsertionPoint(op.else_block):
            scf.YieldOp(emit(k + 1))
        return list(op.results)

    return emit(0)


_NO_OPERAND = object()  # `operand=` not given


def _keyword_operand(operands, operand):
    """The operands, given positionally or as JAX's older `operand=` keyword."""
    if operand is _NO_OPERAND:
        return operands
    if operands:
        raise TypeError("if 'operand' keyword is passed then no positional operands can be passed, got "
                        f"{operand=} and positional operands {operands}")
    return (operand,)


def cond(pred: ArrayLike, true_fun: Callable, false_fun: Callable, *operands: PyTree,
         operand: PyTree = _NO_OPERAND) -> PyTree:
    """`true_fun(*operands)` if `pred` else `false_fun(*operands)`, with only
    the chosen branch run. Both must return the same types."""
    operands = _keyword_operand(operands, operand)
    return _staged("cond", (true_fun, false_fun), lambda p, *x: _cond_carrying_refs(p, true_fun, false_fun, x),
                   (pred, *operands))


def _cond_carrying_refs(pred, true_fun, false_fun, operands):
    """_cond, its branches allowed to write Refs from outside: refs.carry_refs,
    as a loop of one step whose carry is the operands and y the output."""
    def loop(bodies, init, _):
        return _cond(pred, *[lambda c, body=body: body(c, None) for body in bodies], init)

    def branch(fun):
        return lambda ops, _: (ops, fun(*ops))

    return refs.carry_refs(loop, [branch(true_fun), branch(false_fun)], operands)[1]


def _cond(pred, true_fun, false_fun, *operands):
    pred = asarray(pred)
    if pred.shape != ():
        raise TypeError(f"Pred must be a scalar, got {pred} of shape {pred.shape}.")
    trace = core.current_trace()
    flat, traced = _trace_branches((true_fun, false_fun), operands)
    out_avals = _branch_outputs("cond", traced, ("true_fun", "false_fun"), (true_fun, false_fun))
    test = _scalar(trace, convert(pred, dtypes.bool_, False))
    results = _emit_cases(trace, [test], traced, _values(trace, flat), out_avals)
    return _tracers(trace, results, out_avals, traced[0].out_tree)


def switch(index: ArrayLike, branches: Sequence[Callable], *operands: PyTree,
           operand: PyTree = _NO_OPERAND) -> PyTree:
    """`branches[index](*operands)`, with `index` clamped to the branches."""
    operands = _keyword_operand(operands, operand)
    if np.ndim(index) != 0:
        raise TypeError(f"Branch index must be scalar, got {index} of shape {np.shape(index)}.")
    try:
        index_dtype = dtypes.result_type(index)
    except TypeError as err:
        raise TypeError(f"Index type must be an integer, got {index}.") from err
    if not dtypes.is_int(index_dtype):  # a bool too, as in JAX
        raise TypeError(f"Index type must be an integer, got {index} as {index_dtype}")
    branches = list(branches)
    if not branches:
        raise ValueError("Empty branch sequence")
    if len(branches) == 1:  # JAX calls the one branch as it is: its outputs stay Python values
        return branches[0](*operands)
    return _staged("switch", tuple(branches), lambda i, *x: _switch(i, branches, *x), (index, *operands))


def _switch(index, branches, *operands):
    index = asarray(index)
    trace = core.current_trace()
    flat, traced = _trace_branches(branches, operands)
    names = [f"branch {k}" for k in range(len(branches))]
    out_avals = _branch_outputs("switch", traced, names, branches)
    index = _scalar(trace, clip(convert(index, np.dtype(np.int32), False), 0, len(branches) - 1))
    i32 = ir.IntegerType.get_signless(32)
    tests = [arith.cmpi(arith.CmpIPredicate.eq, index, arith.ConstantOp(i32, k).result)
             for k in range(len(branches) - 1)]
    results = _emit_cases(trace, tests, traced, _values(trace, flat), out_avals)
    return _tracers(trace, results, out_avals, traced[0].out_tree)


# ---------------------------------------------------------------------------
# Loops: a body must map its carry to a carry of the same types.

def _carry_name(fn, tree, i):
    try:
        names = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        names = []
    base = names[0] if names else "carry"
    return base if tree.num_leaves == 1 else f"{base}[{i}]"


def _promoted(a, b):
    """The carry type that makes input `a` and output `b` agree: `a`, or `b`'s
    dtype when `a` is a weakly typed value that promotes to it (a Python
    scalar init that the body turns into floats); None if they can't agree."""
    if a.shape != b.shape:
        return None
    if a.dtype == b.dtype:
        return a.update(weak_type=a.weak_type and b.weak_type)
    if a.weak_type and dtypes.lattice_result_type(a, b)[0] == b.dtype:
        return b.update(weak_type=False)  # JAX converts the init to that dtype, which makes it strongly typed
    return None


def _trace_body(kind, fn, trace_with, carry_avals, carry_tree):
    """Trace a loop body, `trace_with(carry avals) -> (traced, out carry avals,
    out carry tree)`, until its carry types are a fixed point (at most twice:
    weakly typed inits may be promoted once). Returns (traced, carry avals)."""
    for _ in range(2):
        traced, out_avals, out_tree = trace_with(carry_avals)
        if out_tree != carry_tree:
            raise TypeError(f"{kind} body function carry input and carry output must have equal types, but they "
                            f"differ: the input carry has tree structure {carry_tree} and the output carry "
                            f"{out_tree}.")
        agreed = [_promoted(a, b) for a, b in zip(carry_avals, out_avals)]
        for i, (a, b, c) in enumerate(zip(carry_avals, out_avals, agreed)):
            if c is None or (c.shape, c.dtype) != (b.shape, b.dtype):
                raise TypeError(
                    f"{kind} body function carry input and carry output must have equal types, but they differ:\n\n"
                    f"The input carry {_carry_name(fn, carry_tree, i)} has type {a.str_short()} but the "
                    f"corresponding output carry component has type {b.str_short()}, so "
                    f"{_type_mismatch(a, b)}.\n\nRevise the function so that all output types match the "
                    "corresponding input types."
                )
        if [(a.shape, a.dtype) for a in agreed] == [(a.shape, a.dtype) for a in carry_avals]:
            return traced, agreed
        carry_avals = agreed
    raise AssertionError("loop carry types did not settle")  # promotion is idempotent


def _convert_all(arrays, avals):
    return [convert(x, a.dtype, a.weak_type) for x, a in zip(arrays, avals)]


def while_loop(cond_fun: Callable, body_fun: Callable, init_val: PyTree) -> PyTree:
    """Run `val = body_fun(val)` while `cond_fun(val)`, from `init_val`; return val.
    Not reverse-differentiable (its trip count is data): use scan or fori_loop
    with static bounds for that."""
    return _staged("while_loop", (cond_fun, body_fun), lambda x: _while_loop_carrying_refs(cond_fun, body_fun, x),
                   (init_val,))


def _while_loop_carrying_refs(cond_fun, body_fun, init_val):
    """_while_loop, its body allowed to write Refs from outside (refs.carry_refs)."""
    def loop(bodies, init, reading):
        return _while_loop(reading(cond_fun), lambda val: bodies[0](val, None)[0], init), None

    return refs.carry_refs(loop, [lambda val, _: (body_fun(val), None)], init_val)[0]


def _while_loop(cond_fun, body_fun, init_val):
    trace = core.current_trace()
    flat, tree = _flat_arrays(init_val)

    in_tree = _args_tree(tree)

    def trace_with(avals):
        traced = staging.trace_function(body_fun, avals, in_tree)
        return traced, traced.out_avals, traced.out_tree

    body, avals = _trace_body("while_loop", body_fun, trace_with, [x.aval for x in flat], tree)
    test = staging.trace_function(cond_fun, avals, in_tree)
    if test.out_tree.num_leaves != 1 or test.out_avals[0].shape != () or test.out_avals[0].dtype != dtypes.bool_:
        got = ", ".join(repr(a) for a in test.out_avals)
        raise TypeError(f"cond_fun must return a boolean scalar, but got output type(s) [{got}].")
    flat = _convert_all(flat, avals)
    test_lifted, body_lifted = _lifted(trace, test), _lifted(trace, body)
    types = _types(avals)
    op = scf.WhileOp(types, _values(trace, flat))
    before = op.before.blocks.append(*types)
    with ir.InsertionPoint(before):
        (keep_going,) = _inline(trace, test, list(before.arguments) + test_lifted)
        scf.ConditionOp(tensor.ExtractOp(keep_going, []).result, list(before.arguments))
    after = op.after.blocks.append(*types)
    with ir.InsertionPoint(after):
        scf.YieldOp(_inline(trace, body, list(after.arguments) + body_lifted))
    return _tracers(trace, op.results, avals, tree)


def _index_scalar(iv, dtype):
    """A 0-d tensor of integer `dtype` holding the index Value `iv`."""
    typ = mlir.element_type(dtype)
    return tensor.FromElementsOp(ir.RankedTensorType.get([], typ), [arith.index_cast(typ, iv)]).result


def _static_bound(x):
    """A loop bound as a Python int, or None when it is traced."""
    if isinstance(x, core.Tracer):
        return None
    return int(x)


def _unroll_factor(unroll, length: int) -> int:
    """JAX's `unroll`: the steps per rolled iteration (True and 0: all of them)."""
    if isinstance(unroll, bool):
        return max(length, 1) if unroll else 1
    unroll = operator.index(unroll)  # a float is JAX's TypeError
    if unroll < 0:
        raise ValueError("`unroll` must be a `bool` or a non-negative `int`.")
    return max(length, 1) if unroll == 0 else unroll


# Unrolling when the caller leaves `unroll` unset: a step is small when its
# linalg ops run their bodies at most SMALL_STEP times in all (a multiply-add
# each for a matmul; ~20 us of work here, against ~15 us queueing per rolled
# iteration) and it has at most SMALL_BODY ops, so that the unrolled body
# stays cheap to compile. A small step is unrolled until a rolled iteration
# holds ROLLED_WORK (~80 us here), between AUTO_UNROLL and MAX_UNROLL steps
# and at most UNROLLED_OPS ops, preferring a factor that divides the length
# (no steps left over after the loop, each one more copy to compile).
# A fori_loop step that reads its index gets it as a 0-d tensor of its own,
# a buffer of the dispatch its readers fuse into, and IREE 3.13 allows 32
# buffers a dispatch (jit(grad) of a 64-step loop reading x[i], unrolled 32
# steps, failed to load: "binding count 34 > 32"): such a loop is unrolled
# MAX_INDEXED_UNROLL steps at most.
AUTO_UNROLL = 8
MAX_UNROLL = 32
MAX_INDEXED_UNROLL = 16
ROLLED_WORK = 1 << 21
UNROLLED_OPS = 256
SMALL_STEP = 1 << 20
SMALL_BODY = 32
_FREE_OPS = ("arith.constant", "tensor.empty", "func.return")


def _trips(op) -> int:
    """How many times the linalg op `op` runs its body: the product of its
    loop sizes (a window op's too), read off its operands' static shapes (a
    large number when one is dynamic)."""
    return math.prod(size if size >= 0 else SMALL_STEP + 1 for size in loop_sizes(op).values())


def _work(op):
    """The work of one op of a step, or None when it is not known (a loop, a
    call): a linalg op's body runs, or the elements of the results."""
    if "indexing_maps" in op.attributes:
        return _trips(op)
    if op.name in NAMED_CONVS:  # loops (n, spatial..., f) of the output and (window..., c) of the kernel
        kernel, out = (ir.RankedTensorType(v.type).shape for v in op.operands[1:3])
        return math.prod(out) * math.prod(kernel[:-1])
    if (len(op.regions) and not op.name.startswith("linalg.")) or op.name == "func.call":
        return None
    return sum(math.prod(ir.RankedTensorType(r.type).shape) for r in op.results
               if isinstance(r.type, ir.RankedTensorType))


def _auto_unroll(traced, length: int, indexed: bool = False) -> int:
    """The unroll factor for a loop of `length` steps whose step is the traced
    function `traced` (`indexed`: its first argument is the step's index). A
    loop of AUTO_UNROLL steps or fewer stays rolled: unrolling would remove
    it, which JAX leaves to the caller (unroll=True); a longer one keeps two
    rolled iterations at least."""
    block = traced.func.regions[0].blocks[0]
    ops = [op.operation for op in block.operations]
    ops = [op for op in ops if op.name not in _FREE_OPS]
    work = [_work(op) for op in ops]
    if length <= AUTO_UNROLL or len(ops) > SMALL_BODY or None in work or sum(work) > SMALL_STEP:
        return 1
    most = MAX_INDEXED_UNROLL if indexed and any(True for _ in block.arguments[0].uses) else MAX_UNROLL
    k = min(-(-ROLLED_WORK // max(sum(work), 1)), most, UNROLLED_OPS // max(len(ops), 1), length // 2)
    k = max(k, AUTO_UNROLL)
    return next((d for d in range(k, min(2 * k, most + 1)) if length % d == 0 and d <= length // 2), k)


def _unrolled_for(lo, n, k, carries, step):
    """`carries = step(i, carries)` for the index Values i = lo .. lo + n - 1:
    an `scf.for` whose iterations run k steps each, then the n % k steps left
    over, straight-line (all n when they would fill one rolled iteration at
    most). Returns the final carries."""
    rolled = n - n % k
    if k == 1 or rolled > k:
        op = scf.ForOp(mlir.index(lo), mlir.index(lo + rolled), mlir.index(k), carries)
        with ir.InsertionPoint(op.body):
            values = list(op.inner_iter_args)
            for j in range(k):
                values = step(op.induction_variable if j == 0 else arith.addi(op.induction_variable, mlir.index(j)),
                              values)
            scf.YieldOp(values)
        carries, lo, n = list(op.results), lo + rolled, n - rolled
    for i in range(lo, lo + n):
        carries = step(mlir.index(i), carries)
    return carries


def fori_loop(lower: ArrayLike, upper: ArrayLike, body_fun: Callable, init_val: PyTree, *,
              unroll: int | bool | None = None) -> PyTree:
    """`val = body_fun(i, val)` for i in range(lower, upper); return val. With
    bounds known at trace time this is an `scf.for` with a fixed trip count,
    which reverse-mode autodiff goes through; traced bounds make a while_loop.
    `unroll` steps run in each rolled iteration (module docstring)."""
    index_dtype = _fori_index_dtype(lower, upper)
    lo, hi = _static_bound(lower), _static_bound(upper)
    if (lo is None or hi is None) and unroll is not None:
        raise ValueError("Can only use `unroll` in `fori_loop` if the loop bounds are statically known.")
    if lo is None or hi is None:
        def step(state):
            i, upper_, val = state
            # lax's add of a 1 of i's type, as JAX's: the index keeps its type; a bool one is lax.add's TypeError
            return lax_add(i, convert(1, *dtypes.dtype_and_weak(i))), upper_, body_fun(i, val)

        # the index is `lower` itself (weakly typed for a Python int) unless its dtype must change, as in JAX
        start, end = (b if dtypes.dtype_and_weak(b)[0] == index_dtype else asarray(b, index_dtype)
                      for b in (lower, upper))
        return while_loop(lambda state: state[0] < state[1], step, (start, end, init_val))[2]
    k = None if unroll is None else _unroll_factor(unroll, max(hi - lo, 0))
    # Static bounds are Python ints to JAX, whatever their type: the index is a weakly typed default int.
    index_dtype = dtypes.canonicalize_dtype(int)
    return _staged("fori_loop", (body_fun, lo, hi, index_dtype, k), lambda x: _fori_loop_carrying_refs(
        lo, hi, index_dtype, body_fun, x, k), (init_val,))


def _fori_loop_carrying_refs(lo, hi, index_dtype, body_fun, init_val, k):
    """_fori_loop, its body allowed to write Refs from outside: refs.carry_refs,
    which takes scan's shapes (body(carry, x) -> (carry, y), (carry, ys))."""
    def loop(bodies, init, _):
        return _fori_loop(lo, hi, index_dtype, lambda i, val: bodies[0](val, i)[0], init, k), None

    return refs.carry_refs(loop, [lambda val, i: (body_fun(i, val), None)], init_val)[0]


def _fori_index_dtype(lower, upper):
    """The index dtype of a loop from `lower` to `upper`, with JAX's rule: their
    common dtype, or the strongly typed one's where the other is a weakly typed
    signed integer (a Python int); other mixes are a TypeError. Equal float
    (or bool) bounds are JAX's too: static ones count as Python ints, traced
    ones make a float index."""
    (lower_dtype, lower_weak), (upper_dtype, upper_weak) = dtypes.dtype_and_weak(lower), dtypes.dtype_and_weak(upper)
    dtype = lower_dtype if lower_dtype == upper_dtype else None
    if dtype is None and all(dtypes.issubdtype(d, np.signedinteger) for d in (lower_dtype, upper_dtype)):
        dtype = {(True, False): upper_dtype, (False, True): lower_dtype}.get((lower_weak, upper_weak))
    if dtype is None:
        raise TypeError("lower and upper arguments to fori_loop must have equal types, got "
                        f"{lower_dtype.name} and {upper_dtype.name}")
    return dtype


def _fori_loop(lo, hi, index_dtype, body_fun, init_val, unroll):
    trace = core.current_trace()
    flat, tree = _flat_arrays(init_val)
    index_aval = core.ShapedArray((), index_dtype, weak_type=True)
    pair_tree = _args_tree(tree_util.tree_structure(0), tree)

    def trace_with(avals):
        traced = staging.trace_function(body_fun, [index_aval] + list(avals), pair_tree)
        return traced, traced.out_avals, traced.out_tree

    body, avals = _trace_body("fori_loop", body_fun, trace_with, [x.aval for x in flat], tree)
    flat = _convert_all(flat, avals)
    lifted = _lifted(trace, body)
    n = max(hi - lo, 0)

    def step(i, carries):
        return _inline(trace, body, [_index_scalar(i, index_dtype)] + carries + lifted)

    k = _auto_unroll(body, n, indexed=True) if unroll is None else unroll
    results = _unrolled_for(lo, n, k, _values(trace, flat), step)
    return _tracers(trace, results, avals, tree)


def scan(f: Callable, init: PyTree, xs: PyTree = None, length: int | None = None, reverse: bool = False,
         unroll: int | bool | None = None) -> tuple[PyTree, PyTree]:
    """Loop `carry, y = f(carry, x)` over the leading axis of `xs` (pytrees),
    from `carry = init`; return `(carry, ys)` with the ys stacked along a new
    leading axis. `reverse` scans from the end; `unroll` steps run in each
    rolled iteration, chosen by irax when not given (module docstring)."""
    return _staged("scan", (f, length, reverse, unroll),  # (a body writing Refs from outside carries them)
                   lambda c, x: refs.carry_refs(lambda g, c, _: _scan(g[0], c, x, length, reverse, unroll), [f], c),
                   (init, xs))


def _scan(f, init, xs, length, reverse, unroll):
    trace = core.current_trace()
    flat_carry, carry_tree = _flat_arrays(init)
    flat_xs, xs_tree = _flat_arrays(xs)
    for x, wrapper in zip(flat_xs, _extended_wrappers(xs_tree)):
        x = wrapper._wrap(x) if wrapper else x  # a key array's axes: its data's but the last
        if x.ndim == 0:
            raise ValueError(f"scan got value with no leading axis to scan over: {x.aval.str_short()}.")
    sizes = sorted({x.shape[0] for x in flat_xs})
    if length is not None and sizes and sizes != [length]:
        raise ValueError(f"scan got `length` argument of {length} which disagrees with leading axis sizes {sizes}.")
    if length is None and len(sizes) != 1:
        raise ValueError("scan got no values to scan over and `length` not provided." if not sizes else
                         f"scan got values with different leading axis sizes: {sizes}.")
    n = int(length) if length is not None else sizes[0]
    x_avals = [x.aval.update(shape=x.shape[1:]) for x in flat_xs]
    in_tree = _args_tree(carry_tree, xs_tree)

    def trace_with(avals):
        traced = staging.trace_function(f, list(avals) + x_avals, in_tree)
        out = traced.out_tree
        if out.node_type not in (tuple, list) or len(out.children()) != 2:
            raise TypeError(f"scan body output must be a pair, got {out}.")
        carry_out = out.children()[0]
        return traced, traced.out_avals[:carry_out.num_leaves], carry_out

    body, avals = _trace_body("scan", f, trace_with, [x.aval for x in flat_carry], carry_tree)
    nc = len(avals)
    y_avals = body.out_avals[nc:]
    stacked = [a.update(shape=(n, *a.shape)) for a in y_avals]  # weakly typed ys stay so, as in JAX
    flat_carry = _convert_all(flat_carry, avals)
    lifted = _lifted(trace, body)
    xs_values = _values(trace, flat_xs)
    stacks = [mlir.empty(a.shape, a.dtype) for a in stacked]

    def step(k, values):
        carries, ys_so_far = values[:nc], values[nc:]
        if reverse:
            k = arith.subi(mlir.index(n - 1), k)
        out = _inline(trace, body, carries + [mlir.row(x, k) for x in xs_values] + lifted)
        return out[:nc] + [mlir.set_row(s, y, k) for s, y in zip(ys_so_far, out[nc:])]

    k = _auto_unroll(body, n) if unroll is None else _unroll_factor(unroll, n)
    results = _unrolled_for(0, n, k, _values(trace, flat_carry) + stacks, step)
    carry = _tracers(trace, results[:nc], avals, carry_tree)
    ys = _tracers(trace, results[nc:], stacked, body.out_tree.children()[1])
    return carry, ys


def select(pred: ArrayLike, on_true: ArrayLike, on_false: ArrayLike) -> Array:
    """Elementwise `on_true` where `pred` else `on_false`: arrays of one shape
    and dtype (a scalar pred selects whole arrays); typed keys too."""
    pred = asarray(pred)
    on_true, on_false = (x if extended.is_extended(x) else asarray(x) for x in (on_true, on_false))
    if on_true.shape != on_false.shape or on_true.dtype != on_false.dtype:
        raise TypeError(f"select cases must have the same shapes and dtypes, got "
                        f"{on_true.aval.str_short()} and {on_false.aval.str_short()}.")
    if pred.shape not in ((), on_true.shape):
        raise TypeError(f"select `which` must be scalar or have the same shape as cases, got `which` shape "
                        f"{pred.shape} but case shape {on_true.shape}.")
    if extended.is_extended(on_true):  # a select of the keys' data, pred broadcast over their trailing axes
        cls, data = type(on_true), on_true._data
        if pred.shape:
            pred = broadcast_to(extended.expand_trailing(cls, pred), data.shape)
        return cls._wrap(select(pred, data, on_false._data))
    if not (dtypes.is_bool(pred.dtype) or dtypes.is_int(pred.dtype)):
        raise TypeError(f"select `which` must be boolean or integer type, got {pred.dtype.name}.")
    return select_p.bind(convert(pred, dtypes.bool_, False), on_true, on_false)
