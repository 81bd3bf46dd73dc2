"""grad's fallback for Python control flow on values: a tape of eager ops.

`grad(f)(x)` traces f whole and compiles its derivative as one program
(autodiff.py), so a training step is one call. Python cannot branch on a
traced value, though (`if x < 3:`, `while abs(x * x - a) > 1e-6:`):
tracing raises ConcretizationTypeError. Called eagerly (no enclosing
trace), grad then runs f on its concrete arguments, as JAX's eager grad
does, and records on a tape each op that reads a value being differentiated:

    entry = (its VJP program, inputs, outputs)       in the order the ops ran

An array is *taped* when it is a differentiated argument or a float output
of an entry. Arrays are told apart by the identity of their irax.Array
objects, which the tape holds, so no id is reused while it lives; every
other array is a constant. The backward pass walks the entries in reverse:

    cts_in = VJP(inputs, cts_out);    ct[x] += cts_in[x]  for each taped input x

Each VJP program is irax's AD pass (transforms/ad) on that op alone: the
op's function, `@f(inputs...) -> outputs`, is declared differentiated with
respect to its taped inputs (differentiate.declare) and called from
`@main(inputs..., cts_out...) -> cts_in`, which the default pipeline's
`differentiate` pass defines. For a primitive, @f is its eager kernel
(eager.trace_kernel, shape-generic where the primitive is `dynamic_shapes`),
so its VJP is compiled once per (primitive, kernel avals, params, taped
inputs), and kept as eager kernels are. A staged call on taped values (a
jit-ed function, lax control flow, a custom_vjp function) is one entry, and
@f its whole traced function (with the arrays it closes over as inputs),
compiled once per (call, argument signature, taped inputs). Such a call
does not donate its arguments (jit's donate_argnums): the backward pass
reads them again.

Ops reach the tape by two hooks, Primitive.bind (each eager op) and
staging.run_staged (each staged call), which hand what they ran to
`core.current_tape()`: a thread-local that `value_and_grad` sets while f runs.
"""
import functools

from iree.compiler import ir
from iree.compiler.dialects import func

import irax.numpy as jnp
from irax import tree_util
from irax.backends.cache import LRU
from irax.config import config
from irax.frontend import core, dtypes, eager, executable, staging, tiered
from irax.frontend.array import Array
from irax.frontend.numpy.indexing import NonConcreteBooleanIndexError
from irax.frontend.numpy.util import asarray
from irax.transforms import pipeline
from irax.transforms.ad.differentiate import declare
from irax.transforms.ad.generic import DynamicBoundsError


class Tape:
    """The ops run on taped arrays, in order, and which arrays are taped."""

    def __init__(self, inputs):
        self.taped = {id(x): x for x in inputs}
        # (name, find its VJP Executable, inputs, positions of the taped ones, outputs,
        #  the op again: a function of its inputs giving its outputs)
        self.entries = []

    def record(self, prim, operands, params, outs):
        """Primitive.bind's hook: `prim` ran eagerly on `operands`."""
        wrt = self._taped_positions(operands)
        if wrt:
            find = functools.partial(_op_vjp, prim, tuple(params.items()), len(operands), wrt, _seeded(outs))
            self._append(prim.name, find, operands, wrt, outs, functools.partial(_bind, prim, params))

    def record_staged(self, key, fn, arguments, lifted, out):
        """staging.run_staged's hook: the program staged from `fn` under `key`
        ran on `arguments`, reading the closed-over arrays `lifted`."""
        operands, outs = list(arguments.dynamic) + list(lifted), tree_util.tree_flatten_data(out)[0]
        wrt = self._taped_positions(operands)
        if wrt:
            find = functools.partial(_staged_vjp, key, fn, arguments, len(operands), wrt, _seeded(outs))
            rerun = functools.partial(_call, fn, arguments)
            self._append(getattr(fn, "__name__", "function"), find, operands, wrt, outs, rerun)

    def reads_taped(self, operands) -> bool:
        """Whether an op on `operands` would be recorded (it reads a taped array)."""
        return bool(self._taped_positions(operands))

    def _taped_positions(self, operands) -> tuple:
        return tuple(i for i, x in enumerate(operands) if id(x) in self.taped)

    def _append(self, name, find, operands, wrt, outs, rerun):
        self.entries.append((name, find, operands, wrt, outs, rerun))
        self.taped.update((id(y), y) for y in outs if dtypes.is_inexact(y.dtype))

    def backward(self, output, ct, inputs) -> list:
        """The cotangents of the arrays `inputs`, from the cotangent `ct` of `output`."""
        cts = {id(output): ct}
        for name, find, operands, wrt, outs, _ in reversed(self.entries):
            floats = [y for y in outs if dtypes.is_inexact(y.dtype)]
            out_cts = [cts.pop(id(y), None) for y in floats]
            if all(c is None for c in out_cts):
                continue  # nothing the output depends on
            seeds = [jnp.zeros_like(y) if c is None else c for c, y in zip(out_cts, floats)]
            for i, g in zip(wrt, executable.execute(name, list(operands) + seeds, find)):
                x = operands[i]
                cts[id(x)] = g if id(x) not in cts else cts[id(x)] + g
        return [cts[id(x)] if id(x) in cts else jnp.zeros_like(x) for x in inputs]

    def rerun(self, values: dict) -> dict:
        """Run the recorded ops again, in order, on `values` (the id of a
        recorded array -> its new value; the inputs to begin with), which
        gets their outputs; any other array they read is as it was."""
        for _, _, operands, _, outs, rerun in self.entries:
            values.update(zip(map(id, outs), rerun(*[values.get(id(x), x) for x in operands])))
        return values


def _bind(prim, params, *operands) -> list:
    out = prim.bind(*operands, **params)
    return out if prim.multiple_results else [out]


def _call(fn, arguments, *operands) -> list:
    """A staged call again, on `operands`: its dynamic arguments, then the
    arrays it closed over. Where those are as they were, `fn` closes over
    them again; where one is new (a taped value, traced: a loop's body
    reading the differentiated x), fn's traced body takes the new values,
    else a Jacobian of the straight line would miss the derivatives that
    flow through the closure."""
    n = len(arguments.dynamic)
    if not any(isinstance(x, core.Tracer) for x in operands[n:]):
        args, kwargs = arguments.rebuild(operands[:n])
        return tree_util.tree_flatten_data(fn(*args, **kwargs))[0]
    traced = staging.trace_arguments(fn, arguments)
    if [x.aval for x in traced.lifted] != [x.aval for x in operands[n:]]:
        raise NotImplementedError(
            f"irax: the eager fallback cannot differentiate the staged function {fn!r}: the arrays it closes "
            "over changed since it ran. Pass them to it as arguments.")
    results = staging.inline(traced.func, operands, traced.out_avals)
    return tree_util.tree_flatten_data(traced.out_tree.unflatten(results))[0]


_branching = LRU()  # a staged call's key -> the argument signatures whose trace branched on a value


# What staging a function whole raises where it needs a value that only a
# call on values has: Python control flow on a traced value, a traced static
# argument of an inner jit, reverse mode through a loop of traced bounds
# (`fori_loop(0, n)` with n a non-differentiated Python int argument), an
# array boolean index (`x[x > 0]`: its shape is the mask's count).
VALUE_NEEDED = (core.ConcretizationTypeError, core.TracedStaticArgumentError, DynamicBoundsError,
                NonConcreteBooleanIndexError)


def staged_or_on_values(key, staged, on_values, args, kwargs=None):
    """`staging.staged_call(key, staged, args, kwargs)`; where staging needs
    a value (VALUE_NEEDED) and no trace encloses the call,
    `on_values(args, kwargs)` instead, and from then on at once for this key
    and argument signature (a failed trace cost 3.7 of the 5.4 ms of a small
    MLP's grad). Under a trace the error stays, as JAX's."""
    signatures = _branching.get(key)
    if signatures is not None and core.current_trace() is None:
        if staging.Arguments(args, kwargs).signature() in signatures:
            return on_values(args, kwargs)
    try:
        return staging.staged_call(key, staged, args, kwargs)
    except VALUE_NEEDED:
        if core.current_trace() is not None:
            raise
    signature = staging.Arguments(args, kwargs).signature()
    if signatures is None:
        signatures = _branching[key] = set()
    signatures.add(signature)
    return on_values(args, kwargs)


def _own(x: Array) -> Array:
    """An Array object of its own for the same buffer: one passed twice is two inputs."""
    return Array(x._buffer, x.aval, x.device, x._committed, x._ready)


def straight_line(fun, args, kwargs=None):
    """`(f, fun(*args, **kwargs))`: f is `fun` as it runs at these
    arguments, a function of arguments with their structure that runs the
    ops `fun` ran on them, recorded on a tape, without the Python that chose
    them, so it can be traced. What did not depend on a float argument is a
    constant of it. The eager transformations of a function with Python
    control flow on values apply to this, as JAX's follow the path its
    values take."""
    arguments = staging.Arguments(args, kwargs)
    leaves = [_own(x) for x in arguments.dynamic]
    tape = Tape([x for x in leaves if dtypes.is_inexact(x.dtype)])
    args, kwargs = arguments.rebuild(leaves)
    with core.recording(tape):
        out = fun(*args, **kwargs)
    flat_out, out_tree = tree_util.tree_flatten_data(out)  # (a key array's data: rerun too)

    def path(*new_args, **new_kwargs):
        values = tape.rerun({id(x): v for x, v in zip(leaves, staging.Arguments(new_args, new_kwargs).dynamic)})
        return tree_util.tree_unflatten(out_tree, [values.get(id(y), y) for y in flat_out])

    core.named_as(path, fun)
    return path, out


def on_straight_line(transform, fun, fun_args, args, kwargs=None):
    """`transform(f)(*args, **kwargs)` as a staged call, where f is `fun`'s
    straight line at `fun_args`, a pair (args, kwargs): traced for this
    call alone (key None; the same path compiles once, by its text). A tape
    recording it (an outer fallback) sees one staged call."""
    return staging.staged_call(None, transform(straight_line(fun, *fun_args)[0]), args, kwargs)


def value_and_grad(fun_pair, argnums, seed, has_aux, args, kwargs):
    """grad's fallback: what autodiff's staged `differentiate` returns,
    `(value or (value, aux), gradients per argnum)`, from `fun_pair(*args,
    **kwargs) -> (output, aux)` run op by op on a tape. `seed(out_tree,
    out_avals)` gives the output's cotangent (or grad's error)."""
    arguments = staging.Arguments(args, kwargs)
    wrt = [k for i in argnums for k in arguments.dynamic_indices(i) if dtypes.is_inexact(arguments.dynamic[k].dtype)]
    # The other arguments as given, as JAX's eager grad passes them: a Python
    # int stays one (a loop bound, an inner jit's static argument).
    leaves = list(arguments.given)
    for k in wrt:
        leaves[k] = _own(arguments.dynamic[k])
    inputs = [leaves[k] for k in wrt]
    tape = Tape(inputs)
    with core.recording(tape):
        args, kwargs = arguments.rebuild(leaves)
        output, aux = fun_pair(*args, **kwargs)
    flat, out_tree = tree_util.tree_flatten(output)
    flat = [asarray(y) for y in flat]
    (ct,) = seed(out_tree, [y.aval for y in flat])
    grads = dict(zip(wrt, tape.backward(flat[0], ct, inputs)))
    per_arg = [tree_util.tree_unflatten(arguments.arg_trees[i], [grads.get(k) for k in arguments.dynamic_indices(i)])
               for i in argnums]
    value = tree_util.tree_unflatten(out_tree, flat)
    return ((value, aux) if has_aux else value), tuple(per_arg)


# ---------------------------------------------------------------------------
# VJP programs: `find` functions for executable.execute, on (inputs..., cts_out...).

# Both bounded by config.irax_cache_size (cache.LRU), as eager.py's caches.
_programs = LRU()  # (prim, kernel avals, params, wrt, device, passes) -> loaded Program
_dispatch = LRU()  # (prim, avals, params, wrt, device, passes) or a staged call's -> Executable


def _seeded(outs) -> tuple:
    """Which outputs take a cotangent: the float ones."""
    return tuple(dtypes.is_inexact(y.dtype) for y in outs)


def _op_vjp(prim, params, n_in, wrt, seeded, device, operands) -> executable.Executable:
    avals = tuple(x.aval for x in operands)
    key = (prim, avals, params, wrt, device, config.irax_passes)
    hit = _dispatch.get(key)
    if hit is None:
        # as eager.run decides, unless the pass cannot differentiate this shape-generic kernel
        dynamic = prim.dynamic_shapes and all(a.size for a in avals) and (prim, params) not in _per_shape
        hit = executable.Executable(None, tuple(avals[i] for i in wrt))
        hit.program = _op_program(prim, params, n_in, wrt, seeded, avals, dynamic, device, hit)
        _dispatch[key] = hit  # (once it has a program: building one may raise)
    return hit


_per_shape = set()  # (prim, params) whose shape-generic kernel the AD pass cannot differentiate


def _op_program(prim, params, n_in, wrt, seeded, avals, dynamic, device, made):
    kernel_avals = tuple(eager.kernel_aval(a, dynamic) for a in avals)
    key = (prim, kernel_avals, params, wrt, device, config.irax_passes)
    try:
        return tiered.kernel(_programs, key, device, made, lambda: _vjp_module(
            eager.trace_kernel(prim, kernel_avals[:n_in], dict(params)), wrt, seeded))
    except (ValueError, NotImplementedError, ir.MLIRError):
        # The AD rules are written for the static shapes of traced programs, and some
        # fail on dynamic ones: a sum of a dynamic length adds in blocks, in a loop of
        # dynamic bounds (reverse mode takes static ones), and a dot_general's adjoint
        # makes a tensor.empty without its dynamic sizes. Per shape, they work.
        if not dynamic:
            raise
        _per_shape.add((prim, params))
        return _op_program(prim, params, n_in, wrt, seeded, avals, False, device, made)


def _staged_vjp(key, fn, arguments, n_in, wrt, seeded, device, operands) -> executable.Executable:
    avals = tuple(x.aval for x in operands)
    # a call not kept (key None: on_straight_line's) holds for its values alone
    kept = key[0] is not None
    cache_key = (key, arguments.signature(), avals[len(arguments.dynamic):], wrt, device, config.irax_passes,
                 config.trace_context())
    hit = _dispatch.get(cache_key) if kept else None
    if hit is None:
        traced = staging.trace_arguments(fn, arguments)
        if tuple(x.aval for x in traced.lifted) != avals[len(arguments.dynamic):n_in]:
            raise NotImplementedError(
                f"irax: grad's eager fallback cannot differentiate the staged function {fn!r}: the arrays it "
                "closes over changed since it was compiled. Pass them to it as arguments.")
        module = _vjp_module(traced.module, wrt, seeded, key[1])
        program = executable.load(device, device.backend.compile(str(module)), traced.trace.host_functions)
        hit = executable.Executable(program, tuple(avals[i] for i in wrt))
        if kept:
            _dispatch[cache_key] = hit
    return hit


def _vjp_module(module, wrt, seeded, passes=None):
    """`module`, whose `@main(x...) -> y...` becomes `@main(x..., cotangents
    of y[seeded]...) -> cotangents of x[wrt]`, through the pass pipeline."""
    with module.context, ir.Location.unknown():
        primal = ir.SymbolTable(module.operation)["main"]
        primal.attributes["sym_name"] = ir.StringAttr.get("irax_tape_f")
        primal.attributes["sym_visibility"] = ir.StringAttr.get("private")
        signature = ir.FunctionType(ir.TypeAttr(primal.attributes["function_type"]).value)
        ins, outs = list(signature.inputs), list(signature.results)
        cts = [t for t, s in zip(outs, seeded) if s]
        grads = [ins[i] for i in wrt]
        with ir.InsertionPoint(module.body):
            declare("irax_tape_f_vjp", ins + cts, outs + grads, "irax_tape_f", wrt, list(seeded))
            main = func.FuncOp("main", ir.FunctionType.get(ins + cts, grads))
            with ir.InsertionPoint(main.add_entry_block()):
                call = func.CallOp(outs + grads, ir.FlatSymbolRefAttr.get("irax_tape_f_vjp"), list(main.arguments))
                func.ReturnOp(call.results[len(outs):])
    pipeline.run(module, passes)
    return module
