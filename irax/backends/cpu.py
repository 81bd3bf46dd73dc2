"""The CPU: IREE's llvm-cpu target tuned for this host, run on `local-task`
(a thread pool), with small calls inline on `local-sync` (see runtime.py).

IRAX_CPU_DEVICES=N splits it into N devices (for irax.pmap, as JAX's
--xla_force_host_platform_device_count): N `local-task` devices of one
driver, each with its own queue, timeline and inline twin. IREE's Python API
caches one driver per process, and the driver owns the task executor, so the
N devices share one pool of worker threads; IRAX_CPU_WORKERS sizes that pool
(IREE's process-wide `--task_topology_group_count` flag, which counts when
the driver is made, so both settings are read once, at the first device).
"""
import iree.runtime as rt
from iree.compiler import ir

from irax.backends import cpu_kernels, cpu_tiles
from irax.backends.iree_backend import IreeBackend
from irax.backends.cpu_tiles import preset_strategies
from irax.backends.cpu_scalar_reads import scalar_reads_apart
from irax.config import config
from irax.ir import iree, kernels, mlir


class CpuBackend(IreeBackend):
    def get_driver(self):
        if config.irax_cpu_workers:
            rt.flags.parse_flags(f"--task_topology_group_count={config.irax_cpu_workers}")
        return super().get_driver()

    def device_infos(self, driver) -> list:
        return driver.query_available_devices()[:1] * config.irax_cpu_devices


def pin_internal_stacks(mlir_text: str) -> str:
    """`mlir_text` with the stacks of the loops marked `iree.INTERNAL_STACKS`
    written in place (`iree.pin_loop_carries`): the CPU runtime releases the
    subview of a packed allocation that Vulkan's rejects
    (transforms/loop_carries.py says why only the CPU)."""
    if iree.INTERNAL_STACKS not in mlir_text:
        return mlir_text
    with ir.Context():
        module = ir.Module.parse(mlir_text)
        for loop in mlir.ops_where(module.operation, lambda op: iree.INTERNAL_STACKS in op.attributes):
            carries = list(ir.DenseI64ArrayAttr(loop.attributes[iree.INTERNAL_STACKS]))
            del loop.attributes[iree.INTERNAL_STACKS]
            iree.pin_loop_carries(loop, carries)
        return str(module)


def native_kernels(mlir_text: str) -> str:
    """`mlir_text` with the body of each kernel function (ir/kernels.py)
    that cpu_kernels.py has code for replaced by that code: one dispatch of
    native loops where the portable body is a host loop (IRAX_CPU_KERNELS=0
    keeps the portable bodies)."""
    if kernels.KERNEL not in mlir_text or not config.irax_cpu_kernels:
        return mlir_text
    with ir.Context():
        module = ir.Module.parse(mlir_text)
        replaced = False
        for function in list(module.body.operations):
            marks = kernels.kernel_of(function) if function.operation.name == "func.func" else None
            if marks is None:
                continue
            signature = ir.FunctionType(ir.TypeAttr(function.attributes["function_type"]).value)
            text = cpu_kernels.build(marks[0], ir.StringAttr(function.attributes["sym_name"]).value,
                                     [str(t) for t in signature.inputs], [str(t) for t in signature.results],
                                     marks[1])
            if text is not None:
                native = ir.Module.parse(text)  # (kept alive while its function moves)
                native.body.operations[0].operation.move_before(function)
                function.erase()
                replaced = True
        return str(module) if replaced else mlir_text


backend = CpuBackend(
    "cpu",
    target_backend="llvm-cpu",
    driver="local-task",
    inline_driver="local-sync",
    # IREE narrows f64 to f32 by default; irax's 64-bit mode needs real f64.
    # Data tiling packs matmul operands into the tiles the kernels read
    # (mmt4d): ~4x faster float matmuls, ~1.3x the MLP training step. Its
    # global-optimization path packs and unpacks in dispatches of their own;
    # the newer dispatch-creation path (--iree-opt-data-tiling) fuses them
    # into the matmuls and then fails on a matmul whose fused consumer has two
    # results ("large vector sizes": IREE 3.13 tiles only one of the unpacks).
    # Small products skip it, and 2-D f32 convolutions get register tiles
    # that fit their shapes (cpu_tiles.py, the prepare step). Convolutions
    # stay direct: im2col (--iree-global-opt-use-im2col-for-convs) writes
    # the whole patch matrix and its product is not data-tiled, ~2-5x slower
    # than the tiled direct code (cpu_tiles.py's table). Big f32 products
    # on AVX-512 come packed already, with tiles of cpu_tiles.py's own,
    # compiled rather than handed to IREE's microkernel (its flags).
    compile_flags=["--iree-llvmcpu-target-cpu=host", "--iree-input-demote-f64-to-f32=false",
                   "--iree-global-opt-data-tiling", *cpu_tiles.compile_flags()],
    prepare=lambda text: preset_strategies(native_kernels(pin_internal_stacks(scalar_reads_apart(text)))),
    priority=0,
)
