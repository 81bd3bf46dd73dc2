"""The marks of a kernel function: portable code that a backend may replace
by code of its own (frontend/kernels.py makes them, transforms/batching.py
keeps them, a backend's `prepare` step reads them: backends/cpu_kernels.py).

    func.func private @irax_kernel_N(...) -> (...) attributes {no_inline,
        irax.kernel = "cholesky_block", irax.kernel_params = {unit_diagonal = true}}

`no_inline` keeps the call through irax's passes (MLIR's inliner honours it).
"""
from iree.compiler import ir

KERNEL = "irax.kernel"  # the kernel's name
PARAMS = "irax.kernel_params"  # its static parameters: bools, ints, floats, strings
MARKS = ("no_inline", KERNEL, PARAMS)


def mark(function, name: str, params: dict) -> None:
    """Mark `function` (a func.func) as kernel `name` with `params`."""
    function.attributes["no_inline"] = ir.UnitAttr.get()
    function.attributes[KERNEL] = ir.StringAttr.get(name)
    function.attributes[PARAMS] = ir.DictAttr.get({k: _attribute(v) for k, v in params.items()})


def _attribute(value) -> ir.Attribute:
    if isinstance(value, bool):
        return ir.BoolAttr.get(value)
    if isinstance(value, int):
        return ir.IntegerAttr.get(ir.IntegerType.get_signless(64), value)
    if isinstance(value, float):
        return ir.FloatAttr.get_f64(value)
    return ir.StringAttr.get(str(value))


def kernel_of(function) -> tuple | None:
    """(name, params) of a kernel function, else None."""
    if KERNEL not in function.attributes:
        return None
    params = {named.name: named.attr.value for named in ir.DictAttr(function.attributes[PARAMS])}
    return ir.StringAttr(function.attributes[KERNEL]).value, params


def copy_marks(source, target) -> None:
    """Give `target` the marks of kernel function `source` (its batched copy)."""
    for name in MARKS:
        if name in source.attributes:
            target.attributes[name] = source.attributes[name]
