"""Calls of functions with a custom derivative, as the autodiff passes see them.

The frontend (irax/frontend/custom_derivatives.py) traces such a call as a
`func.call` of a private function, and the user's rules, traced at the same
moment, as private functions of the same module that symbol attributes of
the call name:

    %y = func.call @f(%x) {irax.vjp_fwd = @f_fwd, irax.vjp_bwd = @f_bwd}
    func.func private @f_fwd(%x...) -> (%y..., %residuals...)
    func.func private @f_bwd(%residuals..., %ct_y...) -> (%ct_x...)

    %y = func.call @g(%x) {irax.jvp = @g_jvp}
    func.func private @g_jvp(%x..., %t_x...) -> (%y..., %t_y...)

So a module holds all it takes to differentiate it, printed or not: the
passes inline the rules in place of the call (vjp.py and jvp.py, `_call`),
and the `inline` pass removes the calls left afterwards. symbol-dce keeps
the rule functions as long as a call names them.
"""
from iree.compiler import ir

from irax.transforms.ad.generic import NotDifferentiable

VJP_FWD = "irax.vjp_fwd"
VJP_BWD = "irax.vjp_bwd"
JVP = "irax.jvp"


def rule_function(call, attribute):
    """The function that symbol attribute `attribute` of `call` names, looked
    up in the module around the call (None where the call has no such attribute)."""
    if attribute not in call.operation.attributes:
        return None
    module = call.operation.parent
    while module.name != "builtin.module":
        module = module.parent
    return ir.SymbolTable(module)[ir.FlatSymbolRefAttr(call.operation.attributes[attribute]).value]


def no_rule(call) -> NotDifferentiable:
    """The error for a call that names no rule (in MLIR written by hand)."""
    return NotDifferentiable(f"irax autodiff: func.call {call.operation.attributes['callee']} names no derivative "
                             "rule (only calls of irax.custom_vjp/custom_jvp functions do); inline it first")
