"""`irax.custom_vjp` and `irax.custom_jvp`: user-written derivative rules.

    @irax.custom_vjp
    def clip_gradient(x): ...
    clip_gradient.defvjp(fwd, bwd)   # fwd(x) -> (y, residuals); bwd(residuals, ct_y) -> (ct_x,)

    @irax.custom_jvp
    def log1pexp(x): ...
    log1pexp.defjvp(rule)            # rule(primals, tangents) -> (y, t_y)

Traced, a call of such a function becomes a `func.call` of a private
function holding the function, and its rules are traced right then into
private functions of the same module, which attributes of the call name
(the IR is in transforms/ad/custom.py):

    @irax_custom_vjp_N       (x...) -> (y...)                  the function
    @irax_custom_vjp_N_fwd   (x...) -> (y..., residuals...)    fwd, pytrees flattened
    @irax_custom_vjp_N_bwd   (residuals..., ct_y...) -> (ct_x...)
    @irax_custom_jvp_N_rule  (x..., t_x...) -> (y..., t_y...)

So the module alone says how to differentiate the call: the autodiff passes
inline the rules in its place; the `inline` pass removes calls never
differentiated. Called outside any trace, the function simply runs.

A rule may call the function it belongs to (log1pexp's rule computes
log1pexp(x)): that call, traced while the rule is, names the functions
being traced, and is differentiated by the same rule if it ever is.
"""
import functools
import weakref
from dataclasses import dataclass, field

from iree.compiler import ir
from iree.compiler.dialects import func

from irax import tree_util
from irax.frontend import core, staging
from irax.transforms.ad import custom


@dataclass
class _Symbols:
    """Names of custom calls made under one outermost trace: the traces nested
    in it copy their functions into one another, so names must not repeat,
    and numbering per program keeps a retraced program's text (its compile
    cache key) the same."""
    count: int = 0
    tracing: dict = field(default_factory=dict)  # (function, signature) -> (name, primal) while its rules are traced


_symbols = weakref.WeakKeyDictionary()  # outermost trace -> _Symbols


def _no_closure(traced, what):
    """`traced`, which must take all it reads as arguments: a rule function
    has no caller to pass it the arrays it closes over."""
    if traced.lifted:
        raise NotImplementedError(f"irax.custom_{what} may not close over arrays; pass them as arguments")
    return traced


def _trace(fn, avals, what):
    """Trace `fn(*flat values of avals)` into a function of its own."""
    return _no_closure(staging.trace_function(fn, avals, tree_util.tree_structure(tuple(avals))), what)


def _check_types(rule, got, expected, what):
    """A rule's derivatives have the shapes and dtypes of the values they are derivatives of."""
    for k, (g, e) in enumerate(zip(got, expected)):
        if (g.shape, g.dtype) != (e.shape, e.dtype):
            raise TypeError(f"{rule} must produce derivatives with the shapes and dtypes of the values they belong "
                            f"to, but produced {g.str_short()} for {what} {k} of type {e.str_short()}.")


def _add_private(trace, traced, name):
    """Copy `traced`'s function into `trace`'s module as private @name, with
    the private functions (of nested custom calls) it calls."""
    with trace.context, ir.Location.unknown(), ir.InsertionPoint(trace.module.body):
        copy = traced.func.operation.clone()
        copy.attributes["sym_name"] = ir.StringAttr.get(name)
        copy.attributes["sym_visibility"] = ir.StringAttr.get("private")
    staging.copy_private_functions(traced.module.operation, trace.module.operation)


def _emit_call(custom_fn, args):
    """Trace `custom_fn.fun(*args)` and its rules into private functions of
    the current module, call it there and return its outputs."""
    trace = core.current_trace()
    arguments = staging.Arguments(args)
    kind = custom_fn.kind
    symbols = _symbols.setdefault(core.outermost_trace(), _Symbols())
    key = (custom_fn, arguments.signature())
    if key in symbols.tracing:  # a call inside its own rule
        name, primal = symbols.tracing[key]
    else:
        name = f"irax_custom_{kind}_{symbols.count}"
        symbols.count += 1
        primal = _no_closure(staging.trace_arguments(custom_fn.fun, arguments), f"{kind} function")
        symbols.tracing[key] = name, primal
        try:
            rules = custom_fn.trace_rules(arguments, primal)
        finally:
            del symbols.tracing[key]
        _add_private(trace, primal, name)
        for suffix, traced in rules.items():
            _add_private(trace, traced, f"{name}_{suffix}")
    operands = [trace.to_tracer(x).value for x in arguments.dynamic]
    call = func.CallOp(list(primal.func.type.results), ir.FlatSymbolRefAttr.get(name), operands)
    for attribute, suffix in custom_fn.rule_attributes.items():
        call.attributes[attribute] = ir.FlatSymbolRefAttr.get(f"{name}_{suffix}")
    results = [core.Tracer(trace, v, a) for v, a in zip(call.results, primal.out_avals)]
    return tree_util.tree_unflatten(primal.out_tree, results)


class custom_vjp:
    """A function whose reverse-mode derivative is given by `defvjp(fwd, bwd)`."""

    kind = "vjp"
    rule_attributes = {custom.VJP_FWD: "fwd", custom.VJP_BWD: "bwd"}

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun, self.fwd, self.bwd = fun, None, None

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args):
        # Not a staging.staged_call yet: a custom call passes no lifted
        # values, so a staged eager call would reject closures over arrays.
        if core.current_trace() is None:
            return self.fun(*args)
        if self.fwd is None:
            raise AttributeError(f"No VJP defined for custom_vjp function {self.__name__} using defvjp.")
        return _emit_call(self, args)

    def trace_rules(self, arguments, primal):
        """fwd and bwd, their pytrees flattened: fwd(x...) -> (y..., residuals...)
        and bwd(residuals..., ct_y...) -> (ct_x...)."""
        fwd = _no_closure(staging.trace_arguments(self.fwd, arguments), "vjp fwd rule")
        pair = fwd.out_tree.children()
        if fwd.out_tree.node_type not in (tuple, list) or len(pair) != 2 or pair[0] != primal.out_tree:
            raise TypeError("Custom VJP fwd rule must produce a pair (list or tuple of length two) representing "
                            "primal outputs and residuals (values stored from the forward pass for use on the "
                            f"backward pass), with the primal outputs of the function ({primal.out_tree}); "
                            f"got {fwd.out_tree}.")
        out_tree, residual_tree = pair
        n_res = residual_tree.num_leaves
        args_tree = tree_util.tree_structure(tuple(arguments.args))

        def backward(*flat):
            residuals = tree_util.tree_unflatten(residual_tree, flat[:n_res])
            ct = tree_util.tree_unflatten(out_tree, flat[n_res:])
            cts = self.bwd(residuals, ct)
            if not isinstance(cts, (tuple, list)) or tree_util.tree_structure(tuple(cts)) != args_tree:
                raise TypeError("Custom VJP bwd rule must produce an output with the same container (pytree) "
                                "structure as the args tuple of the primal function, and in particular must "
                                "produce a tuple of length equal to the number of arguments to the primal "
                                f"function, but got bwd output structure {tree_util.tree_structure(cts)} for "
                                f"primal input structure {args_tree}.")
            leaves = tree_util.tree_leaves(tuple(cts))
            return tuple(c for c, dynamic in zip(leaves, arguments.is_dynamic) if dynamic)

        n_out = out_tree.num_leaves
        bwd = _trace(backward, fwd.out_avals[n_out:] + primal.out_avals, "vjp bwd rule")
        _check_types("Custom VJP bwd rule", bwd.out_avals, [x.aval for x in arguments.dynamic], "argument")
        return {"fwd": fwd, "bwd": bwd}


class custom_jvp:
    """A function whose forward-mode derivative is given by `defjvp(rule)`;
    reverse mode transposes the rule (it must be linear in the tangents)."""

    kind = "jvp"
    rule_attributes = {custom.JVP: "rule"}

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
        return _emit_call(self, args)

    def trace_rules(self, arguments, primal):
        """The rule, its pytrees flattened: (x..., t_x...) -> (y..., t_y...)."""
        n = len(arguments.dynamic)

        def rule(*flat):
            primals, tangents = arguments.rebuild(flat[:n])[0], arguments.rebuild(flat[n:])[0]
            out, t_out = self.jvp(primals, tangents)
            trees = tree_util.tree_structure(out), tree_util.tree_structure(t_out)
            if trees != (primal.out_tree, primal.out_tree):
                raise TypeError("Custom JVP rule must produce primal and tangent outputs with equal container "
                                f"(pytree) structures to the function's ({primal.out_tree}), but got {trees[0]} "
                                f"and {trees[1]} respectively.")
            return tuple(tree_util.tree_leaves(out) + tree_util.tree_leaves(t_out))

        avals = [x.aval for x in arguments.dynamic]
        traced = _trace(rule, avals + avals, "jvp rule")
        n_out = len(primal.out_avals)
        _check_types("Custom JVP rule", traced.out_avals[n_out:], primal.out_avals, "primal output")
        return {"rule": traced}
