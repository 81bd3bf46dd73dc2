"""Calls of functions with a custom derivative, as the autodiff passes see them.

The frontend (irax/frontend/custom_derivatives.py) traces such a call as a
`func.call` of a private function, and the user's rules, traced at the same
moment, as private functions of the same module that symbol attributes of
the call name:

    %y = func.call @f(%x..., %c...) {irax.vjp_fwd = @f_fwd, irax.vjp_bwd = @f_bwd}
    func.func private @f_fwd(%x..., %c...) -> (%y..., %residuals...)
    func.func private @f_bwd(%residuals..., %ct_y..., %c...) -> (%ct_x...)

    %y = func.call @g(%x..., %c...) {irax.jvp = @g_jvp}
    func.func private @g_jvp(%x..., %t_x..., %c...) -> (%y..., %t_y...)

A call of irax's own `custom_vjp_and_jvp` (the linear algebra's solves)
carries both sets: reverse mode reads fwd/bwd, forward mode the jvp rule.
A call of a function with no derivative (`lax.composite`, schur) carries
the error to raise instead, as JAX raises it for a primitive without a
differentiation rule:

    %y = func.call @h(%x...) {irax.no_derivative = "NotImplementedError: Differentiation rule for 'schur' ..."}

A custom_jvp call whose rule gives tangents of types JAX rejects (an
integer output's tangent not float0 zeros) carries its rule and JAX's
error, which it raises when differentiated: JAX checks a rule only then.

%c are the arrays the function and its rules close over, passed last to
each. Nothing is differentiated with respect to them: as in JAX, the rules
only say how to differentiate with respect to the arguments %x.

So a module holds all it takes to differentiate it, printed or not: the
passes inline the rules in place of the call (vjp.py and jvp.py, `_call`),
and the `inline` pass removes the calls left afterwards. symbol-dce keeps
the rule functions as long as a call names them.
"""
from iree.compiler import ir

from irax.ir import mlir
from irax.transforms.ad.generic import NotDifferentiable

VJP_FWD = "irax.vjp_fwd"
VJP_BWD = "irax.vjp_bwd"
JVP = "irax.jvp"
NO_DERIVATIVE = "irax.no_derivative"
# On a call of a custom_vmap function (frontend/custom_batching.py): forward
# mode differentiates its function, reverse mode refuses, as JAX's (a
# custom_vmap has no transpose).
CUSTOM_VMAP = "irax.custom_vmap"
_ERRORS = {error.__name__: error for error in (ValueError, NotImplementedError, TypeError)}


def no_derivative_attribute(error: Exception) -> ir.Attribute:
    """The NO_DERIVATIVE attribute that makes `no_derivative` raise `error` (one of _ERRORS' types)."""
    return ir.StringAttr.get(f"{type(error).__name__}: {error}")


def no_derivative(call) -> Exception:
    """The error a call marked NO_DERIVATIVE raises when differentiated."""
    kind, _, message = ir.StringAttr(call.operation.attributes[NO_DERIVATIVE]).value.partition(": ")
    return _ERRORS[kind](message)


def rule_function(call, attribute):
    """The function that symbol attribute `attribute` of `call` names, looked
    up in the module around the call (None where the call has no such attribute)."""
    if attribute not in call.operation.attributes:
        return None
    return ir.SymbolTable(mlir.enclosing_module(call))[ir.FlatSymbolRefAttr(call.operation.attributes[attribute]).value]


def no_rule(call) -> NotDifferentiable:
    """The error for a call that names no rule (in MLIR written by hand)."""
    return NotDifferentiable(f"irax autodiff: func.call {call.operation.attributes['callee']} names no derivative "
                             "rule (only calls of irax.custom_vjp/custom_jvp functions do); inline it first")


def split_operands(call):
    """(the arguments %x, the closed-over arrays %c) of a custom call."""
    operands = list(call.operands)
    if VJP_BWD in call.operation.attributes:
        n = len(rule_function(call, VJP_BWD).type.results)  # a cotangent per argument
    elif JVP in call.operation.attributes:
        n = len(rule_function(call, JVP).type.inputs) - len(operands)  # a tangent per argument
    elif NO_DERIVATIVE in call.operation.attributes:
        n = len(operands)  # (what it closes over is never differentiated: it raises first)
    else:
        raise no_rule(call)
    return operands[:n], operands[n:]


def read_the_call_not_the_copy(results, copies, operands):
    """A custom_jvp rule, inlined, computes the primal `results` of the call
    again (`copies`), and its tangents read those copies: make them read the
    call's results, so that the copies are dead code. (CSE merges most copies
    anyway, but not loops: eigh's gradient ran its Jacobi sweeps twice.) A
    result the rule passes through from its `operands` is no copy."""
    operands = set(operands)
    for result, copy in zip(results, copies):
        if copy not in operands:
            copy.replace_all_uses_with(result)


def closure_error(call) -> NotDifferentiable:
    """The error for differentiating a custom call with respect to an array it closes over."""
    name = ir.FlatSymbolRefAttr(call.operation.attributes["callee"]).value
    kind = "custom_vjp" if VJP_BWD in call.operation.attributes else "custom_jvp"
    return NotDifferentiable(f"irax autodiff: {name} is a {kind} function differentiated with respect to an "
                             "array it closes over; its rules only give derivatives with respect to its "
                             "arguments (JAX raises UnexpectedTracerError here). Pass the array to the "
                             "function as an argument and adapt its rules.")


def no_reverse_mode() -> ValueError:
    """JAX's error for reverse mode through a custom_vmap function."""
    return ValueError("Linearization failed to produce known values for all output primals. This is typically "
                      "caused by attempting to differentiate a function uses an operation that does not support "
                      "reverse-mode autodiff.")
