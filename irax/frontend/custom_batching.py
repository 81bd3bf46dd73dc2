"""`irax.custom_batching`: `custom_vmap` and `sequential_vmap`, as `jax.custom_batching`.

    @irax.custom_batching.custom_vmap
    def f(x, y): ...
    @f.def_vmap
    def rule(axis_size, in_batched, xs, ys):   # in_batched: [bool pytree per argument]
        return out, out_batched                 # out_batched: a bool per output leaf (a pytree like out)

Outside vmap, `f` is its function. Under `vmap`, JAX calls the rule instead
of batching the function's ops: with the batch size, which argument leaves
carry the batch axis (their axis 0; the others are as one member sees
them), and those arguments; the rule's outputs carry the batch axis (first)
where it says so, and vmap broadcasts the others where it needs them. So

    vmap(f)(xs, ys)[b] == rule(B, [True, True], xs, ys)[0][b]

whatever f computes: the rule is the user's promise. Nested vmaps call the
rule at the innermost vmap that batches the arguments; the outer ones batch
the ops the rule is made of (and call the rule again where the rule calls
`f`, as `sequential_vmap`'s does).

Traced, a call of `f` is a `func.call` of a private function holding `f`,
marked with the number of its record here (`_calls`, per outermost trace:
the function, its arguments' structure, which arrays it closes over):

    %y = func.call @irax_custom_vmap_N(%x..., %c...) {irax.custom_vmap = 0}

The batching pass (transforms/batching.py, CALL_RULES) meets the call with
some operands batched and asks `_batched_rule`, which traces the rule for
that batch size and those operands into a private function of the module,
taking the call's operands (the batched ones with the batch axis first),
which the pass calls instead. A call vmap never batches is the function:
the `inline` pass inlines it, and the autodiff passes differentiate it.

So, as in JAX, jvp of `f` differentiates the function (the jvp pass
differentiates the marked call's body), grad or vjp of `f` is JAX's
ValueError (the vjp pass refuses the call: a custom_vmap has no
transpose), and jvp or grad of `vmap(f)` differentiate the ops of the
rule. One difference remains: `vmap(jvp(f))` batches the function's
derivative, where JAX batches by the JVP of the rule (the same values
where the rule is a faithful batching of `f`).
"""
from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import func

from irax import tree_util
from irax.frontend import core, staging
from irax.frontend.custom_derivatives import _resolve_kwargs, forward_definitions
from irax.frontend.lax_scans import map as lax_map
from irax.ir import mlir
from irax.transforms import batching
from irax.transforms.ad.custom import CUSTOM_VMAP  # (on a call: the number of its record in `_calls`)




@dataclass
class _Call:
    """A traced call of a custom_vmap function, as its rule needs it."""
    function: custom_vmap
    tree: tree_util.PyTreeDef  # of (args, kwargs), flattened as staging.Arguments flattens them
    is_dynamic: tuple  # which leaves are arrays; the others, `static`, are passed as they are
    static: tuple
    avals: list  # of the arrays, as one member has them
    out_tree: tree_util.PyTreeDef
    out_avals: tuple
    closed: list  # the values the function closes over: its call's operands after the arguments

    def unflatten(self, arrays, static=None) -> tuple:
        """The arguments with `arrays` for their arrays and `static` (default:
        their own) for the other leaves."""
        arrays, static = iter(arrays), iter(self.static if static is None else static)
        return tree_util.tree_unflatten(self.tree, [next(arrays) if d else next(static)
                                                    for d in self.is_dynamic])[0]


def _calls() -> list:
    """The custom_vmap calls traced under the current outermost trace, a
    call's mark its index: kept on that trace, so they live as long as it
    (a weak dictionary of traces would not let them go: a function made
    inside a trace closes over its Tracers, which hold their trace)."""
    return vars(core.outermost_trace()).setdefault("custom_vmap_calls", [])


def _rule_name(rule) -> str:
    return getattr(rule, "__name__", "<unnamed rule>")


class custom_vmap:
    """A function whose batching under `vmap` is given by `def_vmap(rule)`:
    `rule(axis_size, in_batched, *args) -> (out, out_batched)` (module docstring)."""

    __getattr__ = forward_definitions

    def __init__(self, fun: Callable[..., Any]):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.vmap_rule = None
        self._bind = functools.wraps(fun)(lambda *args: _emit_call(self, args))  # what staged_call traces

    def def_vmap(self, vmap_rule: Callable[..., tuple[Any, Any]]) -> Callable[..., tuple[Any, Any]]:
        """Make `vmap_rule` this function's rule under vmap; returns it unchanged."""
        self.vmap_rule = vmap_rule
        return vmap_rule

    def __call__(self, *args, **kwargs):
        name = getattr(self.fun, "__name__", repr(self.fun))
        try:
            args = _resolve_kwargs(self.fun, args, kwargs)
        except TypeError as e:
            raise TypeError(f"The input arguments to the custom_vmap-decorated function {name} could not be "
                            f"resolved to positional-only arguments. Binding failed with the error:\n{e}") from e
        if self.vmap_rule is None:
            raise AttributeError(f"No batching rule defined for custom_vmap function {name} using def_vmap.")
        if core.untraced():  # outside every transformation: nothing batches it (its outputs arrays, as JAX's)
            return tree_util.tree_map(lambda y: staging.output_array(self.fun, y), self.fun(*args))
        return staging.staged_call(("custom_vmap", self.fun, self.vmap_rule), self._bind, args)


def _emit_call(custom_fn, args):
    """Inside a trace: trace `custom_fn.fun(*args)` into a private function
    of the current module, call it there, marked, and return its outputs."""
    trace = core.current_trace()
    arguments = staging.Arguments(args)
    primal = staging.trace_arguments(custom_fn.fun, arguments)
    name = staging.fresh_name("irax_custom_vmap")
    staging.add_private(primal, name)
    calls = _calls()
    calls.append(_Call(custom_fn, arguments.tree, arguments.is_dynamic, arguments.static,
                       [x.aval for x in arguments.dynamic], primal.out_tree, primal.out_avals,
                       list(primal.lifted)))
    operands = [trace.to_tracer(x).value for x in arguments.dynamic + primal.lifted]
    call = func.CallOp(list(primal.func.type.results), ir.FlatSymbolRefAttr.get(name), operands)
    call.attributes[CUSTOM_VMAP] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), len(calls) - 1)
    results = [core.Tracer(trace, v, a) for v, a in zip(call.results, primal.out_avals)]
    return tree_util.tree_unflatten(primal.out_tree, results)


def _check_trees(rule, record, out_tree, out_batched_tree):
    """JAX's errors for a rule whose outputs or out_batched have the wrong structure."""
    if out_tree != out_batched_tree:
        raise ValueError("structure of output value and output batching specification returned by custom vmap "
                         f"rule ({_rule_name(rule)}) do not match.\nOutput values: {out_tree}\n"
                         f"Batching spec: {out_batched_tree}")
    if out_tree != record.out_tree:
        raise ValueError(f"structure of output returned by custom vmap rule ({_rule_name(rule)}) does not match "
                         f"that of original custom-vmapped function.\nOriginal output: {record.out_tree}\n"
                         f"Rule output: {out_tree}")


def _check_types(rule, record, out_avals, out_batched, size):
    """Each output of the rule is the function's output, with the batch axis
    first where the rule says it is batched (JAX does not check; here an
    output of another type would make a module MLIR rejects)."""
    for k, (got, aval, batched) in enumerate(zip(out_avals, record.out_avals, out_batched)):
        want = aval.update(shape=(size,) + aval.shape) if batched else aval
        if (got.shape, got.dtype) != (want.shape, want.dtype):
            raise ValueError(f"custom vmap rule ({_rule_name(rule)}) returned {got.str_short()} for output {k} "
                             f"of the custom-vmapped function, which is {aval.str_short()}; with out_batched "
                             f"{bool(batched)} it must be {want.str_short()}")


def _trace_rule(record, in_batched, size):
    """The rule, traced on the call's arguments (those `in_batched` with a
    leading batch axis of `size`): (its traced function, out_batched per output)."""
    rule = record.function.vmap_rule
    avals = [a.update(shape=(size,) + a.shape) if b else a for a, b in zip(record.avals, in_batched)]
    in_batched_tree = list(record.unflatten(in_batched, [False] * len(record.static)))
    out_batched = []

    def batched_call(*flat):
        out, batched = rule(size, in_batched_tree, *record.unflatten(flat))
        _check_trees(rule, record, tree_util.tree_flatten_data(out)[1], tree_util.tree_structure(batched))
        out_batched.extend(bool(b) for b in tree_util.tree_leaves(batched))
        return out

    core.named_as(batched_call, rule)
    with contextlib.ExitStack() as traces:
        # The Tracers the function closes over may be of a trace already
        # finished (the vmapped function's, c = jnp.ones(3) * 2 in it): the
        # rule, calling the function, lifts them too, which only the traces
        # active may do. Made so again here, they lift into the rule's trace
        # as values from outside, for which the call's operands come in.
        for trace in {id(x.trace): x.trace for x in record.closed if isinstance(x, core.Tracer)}.values():
            traces.enter_context(trace.active())
        traced = staging.trace_function(batched_call, avals, tree_util.tree_structure(tuple(avals)))
    _check_types(rule, record, traced.out_avals, out_batched, size)
    return traced, out_batched


def _lifted_values(record, traced, closed_values) -> list:
    """The values for the arrays the rule's trace lifted: the call's own
    operand where the function closes over the same array, else (an array
    the rule alone closes over) a constant."""
    position = {id(x): k for k, x in enumerate(record.closed)}
    values = []
    for x in traced.lifted:
        if id(x) in position:
            values.append(closed_values[position[id(x)]])
        elif isinstance(x, core.Tracer):
            raise NotImplementedError(f"irax.custom_batching: the vmap rule {_rule_name(record.function.vmap_rule)} "
                                      f"closes over a traced value ({x.aval.str_short()}) that its function does "
                                      "not; pass it to the function as an argument")
        else:
            values.append(mlir.dense_constant(np.asarray(x)))
    return values


def _batched_rule(call, batched, size):
    """batching.CALL_RULES' rule for a custom_vmap call: its rule traced for
    this batch into a private function of the call's module, taking the
    call's operands; (that function, which of its results are batched)."""
    record = _calls()[ir.IntegerAttr(call.attributes[CUSTOM_VMAP]).value]
    n = len(record.avals)
    if any(batched[n:]):  # (JAX: an AssertionError on the batched constants)
        name = core.function_name(record.function.fun)
        raise AssertionError(f"irax.custom_batching: the custom_vmap function {name} closes over a value the "
                             "vmap batches; pass it to the function as an argument")
    traced, out_batched = _trace_rule(record, batched[:n], size)
    module = mlir.enclosing_module(call)
    own = list(traced.trace.block.arguments)[:n]
    types = [a.type for a in own] + [v.type for v in list(call.operands)[n:]]
    with ir.InsertionPoint(module.regions[0].blocks[0]):
        function = func.FuncOp(staging.fresh_name("irax_custom_vmap_rule"),
                               ir.FunctionType.get(types, list(traced.func.type.results)), visibility="private")
    with ir.InsertionPoint(function.add_entry_block()):
        values = list(function.arguments)
        func.ReturnOp(mlir.inline_function(traced.func, values[:n] + _lifted_values(record, traced, values[n:])))
    staging.copy_private_functions(traced.module.operation, module)
    return function, out_batched


batching.CALL_RULES[CUSTOM_VMAP] = _batched_rule


def _split(in_batched, args):
    """(the batched arguments, the others), each with None in the other's places."""
    batched = tree_util.tree_map(lambda b, x: x if b else None, in_batched, args)
    given = tree_util.tree_map(lambda b, x: None if b else x, in_batched, args)
    return batched, given


def _merged(in_batched, batched, given):
    return tree_util.tree_map(lambda b, x, y: x if b else y, in_batched, batched, given, is_leaf=lambda x: x is None)


def sequential_vmap(f: Callable[..., Any]) -> custom_vmap:
    """`f` as a custom_vmap function whose rule is a loop: under vmap, f
    runs on each member in turn (`lax.map` over the batched arguments, the
    others passed as they are), every output batched. For functions that
    cannot be batched (a callback that takes one member)."""
    f = custom_vmap(f)

    @f.def_vmap
    def rule(axis_size, in_batched, *args):
        batched, given = _split(in_batched, list(args))
        out = lax_map(lambda members: f(*_merged(in_batched, members, given)), batched)
        return out, tree_util.tree_map(lambda _: True, out)

    return f
