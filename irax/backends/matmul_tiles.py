"""Which matrix products the CPU compiles without data tiling, and how.

Data tiling (`--iree-global-opt-data-tiling`) packs both operands of a
product into the tiles the kernel reads, runs `mmt4d` on the packed tiles
and unpacks the result: four dispatches where a plain product is one. For
big products the packed kernel is worth it; for small ones the packing and
the extra dispatches cost more than they save. Measured on this 2-core
AVX2 machine (IREE 3.13, f32, ms per call, packed vs plain with the tiles
below):

    M x K x N          packed   plain
    64 x 64 x 64        0.045   0.034
    256 x 256 x 256     0.36    0.25
    256 x 512 x 256     1.12    0.78
    128 x 512 x 512     0.73    0.63
    128 x 784 x 512     1.13    1.36     <- above the threshold: packed
    512 x 512 x 512     2.13    2.07
    1024^3             15.7    20-24

So products of at most SMALL multiply-adds (M N K) skip data tiling; the
products up to twice that size were won or lost by noise on a busy machine,
and stay packed. IREE
skips any op that carries a `compilation_info` (its preset strategy), so
the small products get one: IREE's DoubleTilingExpert, workgroups of
64 x 128 outputs, and 6 x 16 register tiles: 12 vector accumulators, more
than an FMA's latency times its throughput (10 on AVX2), where IREE's own
8 x 8 choice leaves the FMA units idle a fifth of the time. The choice is
IREE's attribute syntax, so it is made here, on the module's text, for the
llvm-cpu target alone.
"""
import functools
import re

from iree.compiler import ir

SMALL = 1 << 24  # multiply-adds: 256 x 256 x 256
COMPILATION_INFO = (
    "#iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<"
    "cache_parallel = [64, 128, 0], distribution = [64, 128, 0], vector_common_parallel = [6, 16, 0], "
    "vector_reduction = [0, 0, 8]>, translation_info = #iree_codegen.translation_info<"
    "pipeline = #iree_cpu.pipeline<DoubleTilingExpert>, {enable_loop_peeling}>>")

_MATMUL = re.compile(r"\blinalg\.matmul\b")
_PLAIN_MAPS = ("[affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, "
               "affine_map<(d0, d1, d2) -> (d0, d1)>]")


def small_matmuls_untiled(mlir_text: str) -> str:
    """`mlir_text` with each small, static f32 `linalg.matmul` given the
    compilation strategy above (the text unchanged if there is none)."""
    if not _MATMUL.search(mlir_text):
        return mlir_text
    return _annotated(mlir_text)


@functools.lru_cache(maxsize=64)
def _annotated(mlir_text: str) -> str:
    with ir.Context():
        module = ir.Module.parse(mlir_text)
        small = [op for op in _walk(module.operation) if op.name == "linalg.matmul" and _is_small_f32(op)]
        if not small:
            return mlir_text
        info = ir.Attribute.parse(COMPILATION_INFO)
        for op in small:
            op.attributes["compilation_info"] = info
        return str(module)


def _walk(op):
    for region in op.regions:
        for block in region.blocks:
            for inner in block.operations:
                yield inner.operation
                yield from _walk(inner.operation)


def _is_small_f32(op) -> bool:
    a, b = (ir.RankedTensorType(v.type) for v in op.operands[:2])
    if not (a.has_static_shape and b.has_static_shape and str(a.element_type) == str(b.element_type) == "f32"):
        return False
    (m, k), (_, n) = a.shape, b.shape
    return str(op.attributes["indexing_maps"]) == _PLAIN_MAPS and m * n * k <= SMALL
