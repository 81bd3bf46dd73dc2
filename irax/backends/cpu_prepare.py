"""The CPU backend's prepare step: the choices the llvm-cpu target makes on
irax's module before IREE compiles it, as steps on one parse of the module
(prepare_steps.py), in this order:

  scalar reads apart     cpu_scalar_reads.py
  shared while inits     `hide_shared_while_inits`
  pin internal stacks    `pin_internal_stacks`
  native kernels         `native_kernels` (cpu_kernels.py)
  preset strategies      cpu_tiles.py (cpu_fold_fusion.py first)
  matrix-vector folds    cpu_vector_products.py

This module holds only the prepare step's code, which the compile cache's
key names by a hash of its sources and theirs (prepare_steps.version),
apart from the backend (cpu.py), which imports the runtime: an edit there
need not compile the CPU's programs again.
"""
from iree.compiler import ir

from irax.backends import cpu_kernels, prepare_steps
from irax.backends.cpu_scalar_reads import SCALAR_READS
from irax.backends.cpu_tiles import PRESETS
from irax.backends.cpu_vector_products import VECTOR_PRODUCTS
from irax.config import config
from irax.ir import iree, kernels, mlir

# The settings the steps read: part of the compile cache's key with the code's
# hash. (The host's vector width, which cpu_tiles reads, is in it already: the
# flags compile for the host, and the key then holds the host's CPU.)
SETTINGS = ("irax_cpu_kernels",)


def pin_internal_stacks(module):
    """`module` with the stacks of the loops marked `iree.INTERNAL_STACKS`
    written in place (`iree.pin_loop_carries`): the CPU runtime releases the
    subview of a packed allocation that Vulkan's rejects
    (transforms/loop_carries.py says why only the CPU); None where none is marked."""
    loops = mlir.ops_where(module.operation, lambda op: iree.INTERNAL_STACKS in op.attributes)
    for loop in loops:
        carries = list(ir.DenseI64ArrayAttr(loop.attributes[iree.INTERNAL_STACKS]))
        del loop.attributes[iree.INTERNAL_STACKS]
        iree.pin_loop_carries(loop, carries)
    return module if loops else None


def native_kernels(module):
    """`module` with the body of each kernel function (ir/kernels.py) that
    cpu_kernels.py has code for replaced by that code: one dispatch of
    native loops where the portable body is a host loop; None where there
    is none (IRAX_CPU_KERNELS=0 keeps the portable bodies: the step's filter)."""
    replaced = set()
    for function in list(module.body.operations):
        marks = kernels.kernel_of(function) if function.operation.name == "func.func" else None
        if marks is None:
            continue
        name = ir.StringAttr(function.attributes["sym_name"]).value
        signature = ir.FunctionType(ir.TypeAttr(function.attributes["function_type"]).value)
        text = cpu_kernels.build(marks[0], name, [str(t) for t in signature.inputs],
                                 [str(t) for t in signature.results], marks[1])
        if text is not None:
            native = ir.Module.parse(text)  # (kept alive while its function moves)
            native.body.operations[0].operation.move_before(function)
            function.erase()
            replaced.add(name)
    if replaced:
        _unused_results_kept(module, replaced)
    return module if replaced else None


def _unused_results_kept(module, names):
    """Each result nothing reads of a call of the native kernels `names`,
    read by a barrier of its own. IREE drops a dispatch's unused results,
    and a native body's tensor for one becomes a stack allocation inside
    the dispatch, over IREE's limit of 32 KB for anything but a small
    matrix: `jit(lambda a: lu(a)[1])` of a 512 x 64 matrix (the pivots
    alone) did not compile ("exceeded stack allocation limit")."""
    calls = mlir.ops_where(module.operation, lambda op: op.name == "func.call"
                           and ir.FlatSymbolRefAttr(op.attributes["callee"]).value in names)
    for call in calls:
        unused = [r for r in call.results if not list(r.uses)]
        if unused:
            with ir.InsertionPoint.after(call), call.location:
                iree.opaque(*unused)


def hide_shared_while_inits(module):
    """`module` with each `scf.while` init that other work reads too passed
    to the loop through a barrier (`iree.hide_shared_inits`; the CPU's, see
    transforms/loop_carries.py); None where there is none."""
    loops = mlir.ops_where(module.operation, lambda op: op.name == "scf.while")
    hidden = [iree.hide_shared_inits(loop, 0) for loop in loops]
    return module if any(hidden) else None


# In order. The filters read the text as irax made it: no step makes what a
# later one's filter looks for (dispatch regions, allocas and barriers, the
# kernels' vector and scf ops are none of tensor.extract, loop marks,
# kernel marks or the linalg ops cpu_tiles presets).
STEPS = (
    SCALAR_READS,
    prepare_steps.Step(lambda text: "scf.while" in text, hide_shared_while_inits),
    prepare_steps.Step(lambda text: iree.INTERNAL_STACKS in text, pin_internal_stacks),
    prepare_steps.Step(lambda text: kernels.KERNEL in text and config.irax_cpu_kernels, native_kernels),
    PRESETS,
    VECTOR_PRODUCTS,
)


def prepare(mlir_text: str) -> str:
    """The module as the CPU's IREE compile gets it: `mlir_text` after
    STEPS, on one parse of it (the text itself where no step changes it)."""
    return prepare_steps.run(mlir_text, STEPS)
