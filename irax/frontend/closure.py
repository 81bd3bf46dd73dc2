"""Closure conversion, and `custom_gradient` built on it (JAX's, from
jax/_src/custom_derivatives.py).

    converted, consts = irax.closure_convert(f, x)   # converted(x, *consts) == f(x)

`f` is traced once on the avals of the example arguments (staging's
trace_function); the values it turns out to close over are the trace's
lifted values. As in JAX, those that could carry a derivative (traced
values of an inexact dtype, in jit or grad) are hoisted: `converted` takes
them as extra arguments, so a custom_vjp can take them as its own and give
them cotangents; the others stay baked into `converted`. Outside every
transformation nothing is traced, so nothing is hoisted.

    @irax.custom_gradient
    def f(x):
        return x ** 2, lambda g: (g * x,)

`f`'s second output is its VJP rule; it closes over values of the forward
pass, which become the residuals of a custom_vjp by closure conversion.
"""
import functools
from typing import Any, Callable

from irax import tree_util
from irax.frontend import core, dtypes, staging
from irax.frontend.custom_derivatives import custom_vjp
from irax.frontend.jit import jit
from irax.frontend.numpy.util import asarray


def _maybe_perturbed(value) -> bool:
    """JAX's test for a value to hoist: a traced value whose tangent is not float0."""
    return isinstance(value, core.Tracer) and dtypes.is_inexact(value.dtype)


def convert_closure(fun: Callable, example_args: tuple, hoist: Callable[[Any], bool] = _maybe_perturbed):
    """(converted, consts): `fun` traced on the example arguments' avals, the
    values it closes over for which `hoist` holds taken as extra arguments."""
    flat, in_tree = tree_util.tree_flatten_data(example_args)
    traced = staging.trace_function(fun, [core.aval_of(x) for x in flat], in_tree)
    hoisted = [hoist(v) for v in traced.lifted]
    consts = [v for v, h in zip(traced.lifted, hoisted) if h]

    def body(flat_args, given):
        given = iter(given)
        closure = [next(given) if h else v for v, h in zip(traced.lifted, hoisted)]
        return staging.inline(traced.func, [asarray(x) for x in flat_args] + closure, traced.out_avals)

    @jit
    def run_eagerly(*operands):  # a trace for `body` to inline into
        return body(operands[:len(flat)], operands[len(flat):])

    def converted(*args_hconsts):
        n_args = len(args_hconsts) - len(consts)
        args, given = args_hconsts[:n_args], args_hconsts[n_args:]
        flat_args, tree = tree_util.tree_flatten_data(tuple(args))
        if tree != in_tree:
            raise TypeError("The inputs to the closure produced by closure_convert must have the same Pytree "
                            "structure as the example arguments passed when closure_convert was called. Expected "
                            f"{in_tree}, but got {tree}")
        if core.current_trace() is not None:
            outs = body(flat_args, given)
        elif all(g is c for g, c in zip(given, consts)):
            return fun(*args)  # its own closure: `fun` itself is the same function, and needs no compile
        else:
            outs = run_eagerly(*flat_args, *given)
        return tree_util.tree_unflatten(traced.out_tree, outs)

    return converted, consts


def closure_convert(fun: Callable, *example_args: Any) -> tuple[Callable[..., Any], list]:
    """jax.closure_convert: (converted, consts), where converted(*args,
    *consts) computes fun(*args) for arguments shaped like `example_args`,
    and consts are the traced values of an inexact dtype that `fun` closes
    over (in jit or grad), now arguments a custom_vjp can differentiate."""
    return convert_closure(fun, example_args)


def is_traced(value) -> bool:
    return isinstance(value, core.Tracer)


def custom_gradient(fun: Callable) -> Callable[..., Any]:
    """jax.custom_gradient: `fun(*args)` returns (value, vjp), vjp(ct) the
    cotangents of args (a tuple, or the one cotangent of a single argument);
    the result is a function returning `value`, differentiated by `vjp`."""

    @functools.wraps(fun)
    def primal(*args):
        value, _ = fun(*args)
        return value

    rule = []  # the rule of the forward pass traced last, closure converted, for the backward pass traced next

    def fwd(*args):
        value, vjp_fn = fun(*args)
        # every traced value the rule closes over is a residual: the backward
        # pass is traced apart, where the forward pass's values are out of reach
        converted, consts = convert_closure(vjp_fn, (value,), is_traced)
        rule[:] = [converted]
        return value, consts

    def bwd(consts, ct):
        cts = rule[0](ct, *consts)
        return (cts,) if tree_util.treedef_is_leaf(tree_util.tree_structure(cts)) else cts

    wrapped = custom_vjp(primal)
    wrapped.defvjp(fwd, bwd)
    return wrapped
