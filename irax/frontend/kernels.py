"""Backend kernels: portable code that a backend may run as code of its own.

    L, L_inv = kernel_call("cholesky_block", portable, a)

is `portable(a)`, traced as a call of a private function that holds its
ops and is marked with the kernel's name and parameters (ir/kernels.py):

    func.func private @irax_kernel_N(%a) -> (...)
        attributes {no_inline, irax.kernel = "cholesky_block", irax.kernel_params = {...}}

The portable ops are the meaning: every backend runs them unless it knows
the kernel by name and replaces the function's body by its own code (the
CPU backend's `prepare` step: backends/cpu_kernels.py). Why: the
factorizations are sequential, a loop of n dependent steps; on a GPU each
step is whole-array work, but IREE runs such a loop on the host, one step
~15-60 us on the CPU, where the same loop as native code inside one
dispatch takes a few ns a step.

Transformations see the portable ops: grad inlines the call and
differentiates them (a kernel needs no derivative rules of its own), and
vmap batches the function into a new one that keeps the marks, since a
kernel takes any leading batch dims (transforms/batching.py). Eagerly the
call is one staged program, as every other staged call. Parameters are
static: bools, ints, floats and strings.
"""
import functools

import numpy as np

from iree.compiler import ir
from iree.compiler.dialects import func

from irax import tree_util
from irax.frontend import core, staging
from irax.ir import kernels, mlir


def kernel_call(name: str, portable, *args, **params):
    """`portable(*args, **params)`, as kernel `name` (module docstring)."""
    bind = functools.partial(_emit_call, name, portable, params)
    return staging.staged_call(("kernel", name, portable, tuple(sorted(params.items()))), bind, args)


def _emit_call(name, portable, params, *args):
    trace = core.current_trace()
    arguments = staging.Arguments(args)
    traced = staging.trace_arguments(functools.partial(portable, **params), arguments)
    if any(isinstance(x, core.Tracer) for x in traced.lifted):
        raise TypeError(f"the portable code of kernel {name!r} must take the traced arrays it reads as arguments")
    symbol = staging.fresh_name("irax_kernel")
    # the arrays it made (an arange) are constants: a kernel takes its arguments alone
    function = staging.add_private_function(
        trace, traced, symbol, lifted=lambda _: [mlir.dense_constant(np.asarray(x)) for x in traced.lifted])
    with trace.context, ir.Location.unknown():
        kernels.mark(function, name, params)
        call = func.CallOp(list(traced.func.type.results), ir.FlatSymbolRefAttr.get(symbol),
                           [trace.to_tracer(x).value for x in arguments.dynamic])
    results = [core.Tracer(trace, v, a) for v, a in zip(call.results, traced.out_avals)]
    return tree_util.tree_unflatten(traced.out_tree, results)
