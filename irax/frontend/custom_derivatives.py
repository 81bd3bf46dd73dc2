"""`irax.custom_vjp` and `irax.custom_jvp`: user-written derivative rules.

    @irax.custom_vjp
    def clip_gradient(x): ...
    clip_gradient.defvjp(fwd, bwd)   # fwd(x) -> (y, residuals); bwd(residuals, ct_y) -> (ct_x,)

    @irax.custom_jvp
    def log1pexp(x): ...
    log1pexp.defjvp(rule)            # rule(primals, tangents) -> (y, t_y)

Traced, a call of such a function becomes a `func.call` of a private
function `@irax_custom_N` (its forward computation), and RULES[N] holds the
user's rule. The autodiff passes differentiate that call with the rule
instead of looking inside; the `inline` pass removes the call afterwards.
Called outside any trace, the function simply runs.
"""
import functools
import itertools
from dataclasses import dataclass

from iree.compiler import ir
from iree.compiler.dialects import func

from irax import tree_util
from irax.frontend import core, mlir, staging

_ids = itertools.count()


@dataclass
class CustomCall:
    kind: str  # "vjp" or "jvp"
    rule: object  # bwd, or the jvp rule
    arguments: staging.Arguments  # structure of the call's arguments
    out_tree: tree_util.PyTreeDef
    n_outputs: int  # flat primal outputs; the results after them are residuals
    residual_tree: tree_util.PyTreeDef = None


RULES = {}  # callee symbol name -> CustomCall


def _emit_call(fn, args, kind, rule, split):
    """Trace `fn` as a private function of the current module, call it, and
    return (primal outputs, residuals) as the user's pytrees."""
    trace = core.current_trace()
    arguments = staging.Arguments(args)
    traced = staging.trace_arguments(fn, arguments)
    if traced.lifted:
        raise NotImplementedError(f"irax.custom_{kind}: the function may not close over arrays; pass them as arguments")
    name = f"irax_custom_{next(_ids)}"
    with trace.context, ir.Location.unknown(), ir.InsertionPoint(trace.module.body):
        callee = traced.func.operation.clone()
        callee.attributes["sym_name"] = ir.StringAttr.get(name)
        callee.attributes["sym_visibility"] = ir.StringAttr.get("private")
    operands = [trace.to_tracer(x) for x in arguments.dynamic]
    call = func.CallOp(list(traced.func.type.results), ir.FlatSymbolRefAttr.get(name),
                       [t.value for t in operands])
    results = [core.Tracer(trace, v, a) for v, a in zip(call.results, traced.out_avals)]
    outputs, residuals = split(traced.out_tree, results)
    out_tree = tree_util.tree_structure(outputs)
    RULES[name] = CustomCall(kind, rule, arguments, out_tree, out_tree.num_leaves,
                             tree_util.tree_structure(residuals))
    return outputs


class custom_vjp:
    """A function whose reverse-mode derivative is given by `defvjp(fwd, bwd)`."""

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun, self.fwd, self.bwd = fun, None, None

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        if core.current_trace() is None:
            return self.fun(*args)
        if self.fwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {self.__name__} using defvjp.")
        return _emit_call(self.fwd, args, "vjp", self.bwd, lambda tree, flat: tree_util.tree_unflatten(tree, flat))


class custom_jvp:
    """A function whose forward-mode derivative is given by `defjvp(rule)`;
    reverse mode transposes the rule (it must be linear in the tangents)."""

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun, self.jvp = fun, None

    def defjvp(self, jvp):
        self.jvp = jvp
        return jvp

    def __call__(self, *args):
        if core.current_trace() is None:
            return self.fun(*args)
        if self.jvp is None:
            raise AttributeError(f"No JVP defined for custom_jvp function {self.__name__} using defjvp.")
        return _emit_call(self.fun, args, "jvp", self.jvp, lambda tree, flat: (tree_util.tree_unflatten(tree, flat), ()))


# ---------------------------------------------------------------------------
# What the autodiff passes call for `func.call @irax_custom_N`.

def _trace_rule(fn, in_values):
    """Trace `fn(*values)` on the types of MLIR values (inside an autodiff pass)."""
    avals = [core.ShapedArray(*mlir.aval_parts(v.type)) for v in in_values]
    traced = staging.trace_function(fn, avals, tree_util.tree_structure(tuple(avals)))
    if traced.lifted:
        raise NotImplementedError("irax custom derivative rules may not close over arrays")
    return traced


def _inline(func_op, operands):
    """Copy `func_op` (and the private functions its module holds) to the
    insertion point. The caller keeps the TracedFunction that owns the
    module in a variable: the func lives only as long as its module."""
    results = mlir.inline_function(func_op, operands)
    target = ir.InsertionPoint.current.block.owner.parent
    staging.copy_private_functions(func_op.operation.parent, target)
    return results


def vjp_rule(op, cts):
    """Cotangents of the call's operands, as [(operand, cotangent)]."""
    call = RULES[op.attributes["callee"].value]
    operands = list(op.operands)
    if call.kind == "vjp":
        residuals = list(op.results)[call.n_outputs:]

        def backward(*flat):
            res = tree_util.tree_unflatten(call.residual_tree, flat[: len(residuals)])
            ct = tree_util.tree_unflatten(call.out_tree, flat[len(residuals):])
            return tuple(call.rule(res, ct))

        in_values = residuals + list(cts[: call.n_outputs])
        traced = _trace_rule(backward, in_values)
        grads = _inline(traced.func, in_values)
    else:
        from irax.transforms.ad.vjp import build_vjp

        n = len(operands)

        def tangent_out(*flat):
            primals, tangents = call.arguments.rebuild(flat[:n])[0], call.arguments.rebuild(flat[n:])[0]
            return call.rule(primals, tangents)[1]

        from irax.transforms.ad.tensor_ops import zeros_like

        zeros = [zeros_like(v) for v in operands]
        traced = _trace_rule(tangent_out, operands + zeros)
        linear = build_vjp(traced.func, list(range(n, 2 * n)))
        results = _inline(linear, operands + zeros + list(cts[: call.n_outputs]))
        grads = results[call.n_outputs:]
    return list(zip(operands, grads))


def jvp_rule(op, tangents):
    """Tangents of the call's results (None where not computed)."""
    call = RULES[op.attributes["callee"].value]
    if call.kind == "vjp":
        raise TypeError("can't apply forward-mode autodiff (jvp) to a custom_vjp function.")
    from irax.transforms.ad.tensor_ops import zeros_like

    operands = list(op.operands)
    n = len(operands)
    tangents = [t if t is not None else zeros_like(v) for v, t in zip(operands, tangents)]

    def rule(*flat):
        primals, tans = call.arguments.rebuild(flat[:n])[0], call.arguments.rebuild(flat[n:])[0]
        out, t_out = call.rule(primals, tans)
        return tree_util.tree_leaves(t_out)

    traced = _trace_rule(rule, operands + tangents)
    return _inline(traced.func, operands + tangents)
