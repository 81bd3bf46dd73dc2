"""The strategies the CPU backend presets for matrix products and
convolutions, where IREE's own choice is measured to be worse.

IREE skips any op that carries a `compilation_info` (its preset strategy:
tile sizes and pipeline), so the ops below get one. The choice is IREE's
attribute syntax, so it is made here, on the module's text, for the
llvm-cpu target alone (the backend's `prepare` step). Times below: IREE
3.13, f32, plain `iree.runtime` calls.

**Small matrix products skip data tiling.** Data tiling
(`--iree-global-opt-data-tiling`) packs both operands of a product into the
tiles the kernel reads, runs `mmt4d` on the packed tiles and unpacks the
result: four dispatches where a plain product is one. For big products the
packed kernel is worth it; for small ones the packing and the extra
dispatches cost more than they save. Plain products get IREE's
DoubleTilingExpert, workgroups of 64 x 128 outputs, and register tiles of
two vectors' columns: 6 x 16 on AVX2 (12 accumulators, more than an FMA's
latency times its throughput, 10; IREE's own 8 x 8 leaves the FMA units
idle a fifth of the time), 8 x 32 on AVX-512. ms per call, packed vs plain:

    M x K x N          AVX2, 2 threads      AVX-512, 1 thread
                       packed   6 x 16      packed  6 x 16  8 x 32
    64 x 64 x 64        0.045   0.034
    256 x 256 x 256     0.36    0.25         0.33    0.33    0.21
    512 x 256 x 256                          0.61    0.64    0.42
    128 x 512 x 512     0.73    0.63
    128 x 784 x 512     1.13    1.36         1.06    1.34    0.81
    512 x 512 x 512     2.13    2.07         2.69            1.70
    1024^3             15.7    20-24        24.1            36.8

So products of at most `small` multiply-adds (M N K) skip data tiling:
2^24 on AVX2 (the products up to twice that were won or lost by noise on a
busy machine, and stay packed), 2^27 on AVX-512. Other CPUs (not measured)
keep IREE's own choices.

**Big products on AVX-512 are packed with tiles of our own.** IREE's data
tiling packs f32 into 16 x 16 register tiles (its mmt4d microkernel's, or
compiled): each step of k loads one vector and broadcasts 16 floats for 16
FMAs, so the loads, not the FMAs, set the pace. A product above the small
size (and at least a workgroup's tiles wide and high) is written out here
as IREE would make it, packs, `linalg.mmt4d` and an unpack, but with 12 x 32
register tiles (24 accumulators; 14 loads per 24 FMAs) and workgroups of 8
x 4 of them; the operands are padded to whole tiles. The microkernel has no
12 x 32 tile (it falls back to scalar code, 1.2 s for 1024^3), so these
hosts compile without microkernels (`compile_flags`): the data-tiled
products left (narrow ones, batches) measured the same or faster compiled.
CPU ms per call on one core (`taskset`, one worker; a machine at load 17-19):

    M x K x N          IREE's 16 x 16   12 x 32   JAX
    1024^3              21-29           15        15
    4096 x 512 x 512    23-26           18-22     13-14
    1024 x 4096 x 1024  87-96           73-80     55
    3000 x 700 x 200    8.3             6.5-7.6   5.8-6.1

(Measured beside them, one thread, per 1024^3 call: 16 x 16 in workgroups of
4 x 4 tiles instead of IREE's 1 x 2, 16.0 vs 18.7 ms; 8 x 32, 14 x 32 and 6
x 64 tiles 1-3 ms slower than 12 x 32; a k tile for the cache,
`cache_reduction`, no change. Packing and unpacking take ~1 ms each of
4096 x 512 x 512's 18.)

Where the output is whole 8 x 32 tiles (`IN_PLACE_TILES`; 12 rows divide
few sizes, not 1024), the product writes it in place instead: packs of A
and B and a generic that is the mmt4d with 8 x 32 tiles, reading and
writing C as (m1, m0, n1, n0), a reshape of it. That drops the unpack
(0.9 ms of CPU) and one of the three barriers between the workers.
iree-benchmark-module, CPU ms per 1024^2 call (Zen 4, load 4-16, in turns):

    threads    packed 12 x 32 + unpack    in place 8 x 32
    1          25.1-26.1                  23.6-24.9
    2          24.3-24.9                  22.6-23.7

and `benchmarks/bench_matmul.py`, 1024^2, three processes each in turns
(load ~20): irax 40.4-48.1 ms -> 34.0-36.8. 1024 x 4096 x 1024 and 2048^3
the same within the noise (CPU 88-90 vs 89-91 ms, 174 vs 174). Reading A
unpacked as well (only B packed) was 3x slower: the 8 rows a tile reads,
4 KB apart, share one L1 set. Workgroups of 4 x 8 to 32 x 1 tiles
measured within the noise.

**A big product with a small right operand stays plain.** Where the
right operand has at most PLAIN_RHS elements (2^18: 1 MB, the L2 of a
core of the Zen 4 measured) and the output is whole 8 x 32 tiles, the
plain tiles read it from L2 as fast as the packed kernel reads its packs,
and packing A and unpacking C cost 1.5-2 ms of CPU per 4096 x 512 x 512
call. CPU ms per call, one thread, iree-benchmark-module (Zen 4, load 7-16):

    M x K x N           packed 12 x 32   plain 8 x 32 (other tiles alike)
    4096 x 512 x 512     25.7-27.8        21-25
    3008 x 700 x 224     14.7-15.1        12.7-14.9
    3000 x 700 x 200     11.8-16.0        14.1-18.5  (last columns peeled)
    1024^3               25.5-26.7        24.5-30    (4 MB, rows 4 KB apart)

**A product of a transpose on the right is never plain.** dX = dY @ W^T
of a backward pass is a product whose right operand is a
`linalg.transpose`, which IREE folds into the product (it propagates
transposes): the plain tiles then read W^T across W's rows, twice the CPU
time. IREE's data tiling packs W as it lies, and so do our packs. CPU ms
per call, interleaved in one process, 2 threads (load 13-18):

    M x K x N of dY @ W^T   plain      IREE's data tiling   our packs   JAX
    128 x 512 x 512         1.6-2.3    0.8-1.4              0.9         0.7
    128 x 512 x 784         3.0-3.3    1.3-1.4              1.6         1.1
    4096 x 512 x 512        53         26                   24          24

So small ones keep IREE's data tiling and big ones get our packs (a
transposed left operand, dW = X^T @ dY, reads fine plain: 0.7-1.0 ms at
512 x 128 x 512, JAX 0.9).

**2-D convolutions get register tiles that fit their shape.** A
`linalg.conv_2d_nhwc_hwcf` (loops n, oh, ow, f, kh, kw, c) runs IREE's
ConvTileAndDecomposeExpert: each register tile is rows (n, ow) x columns
(f), accumulated over (kh, kw, c). IREE's own tiles for it are 1 x 4 x 4 on
AVX2 (a quarter of what the registers hold) and 1 x 8 x 16 on AVX-512, and
a tile that does not divide its loop is a disaster (IREE then peels it
into scalar code: 8 rows of a 58-wide output, 3.8 s instead of 51 ms). So
columns are the largest divisor of F up to 32, rows an ow-divisor up to
ROWS times an n-divisor filling the rest, the reduction c in steps of a
divisor up to 8, and a workgroup holds n-tile x 8 output rows x OW x F
(capped at 128 features). Single-thread CPU ms, (32, 56, 56, 64) NHWC * 3x3
x 64 -> 64 and the two convolutions of its gradient:

    convolution                   IREE's tiles   these   im2col + matmul
    forward (AVX-512 / AVX2)       96 / 320      48 / 118     ~ 270 / 460
    input gradient, OW = 58        (IREE's)       51
    kernel gradient, 56x56 window 446 / 882     108 / 168     ~ 400

(im2col: `--iree-global-opt-use-im2col-for-convs`, which irax used before:
it writes the (N*OH*OW, KH*KW*C) patch matrix, 231 MB here, and its
product is not data-tiled.)

**Grouped and one-channel convolutions are products of patches.** IREE
vectorizes neither a grouped convolution (the generic marked `irax.conv`;
vmap makes one of every convolution whose operands are both batched, as
the per-example kernel gradients of JAX's differentially_private_sgd
example, one group per example) nor a named one with one input channel
well. Each is rewritten as a copy of its input's patches and a product
(cv.patch_product: a batch of products over the groups, else a matmul),
whose strategy is then the products' above, where the patches take at
most 2^24 floats. Single-thread ms, AVX-512 (that example's model, batch
64; patches and product together):

    convolution                                   as is    patches
    8x8 / 2 kernel gradient, 64 groups (14x14)     4.7      0.57
    4x4 / 2 kernel gradient, 64 groups (5x5)      11.1      0.93
    8x8 / 2 forward, 1 channel, (64, 34, 34, 1)    5.2      0.85
    3x3, 1 channel, (32, 58, 58, 1) -> 32          8.2      0.89  (2 threads)
    3x3, 2 groups, (8, 30, 30, 32) -> 32           7.8      1.5   (2 threads)

**Column folds read whole rows.** irax's reductions fold a long axis in
stages (frontend/primitives/reductions.py); a static stage is a generic
folding the rows of a (C, G) view into its G columns. IREE gives each
workgroup 25 columns: 100 bytes of every 40 KB row, which the prefetcher
does not follow. Workgroups of an eighth of the columns (a multiple of 64)
and vectors of 64 read rows whole: the first stage of a 1e7 float32 sum,
single-thread, 4.7-6.3 ms -> 1.5-2.1 ms (AVX-512; AVX2 7-9 -> 4.1-5.2 ms).
Where the columns are a multiple of 64, a group's columns divide them
(reductions.py makes them so where it can): a workgroup that ended in a
partial vector had IREE mask every vector of its rows.
A row of 2^20 elements or more is folded as contiguous chunks instead, a
(P, C, 64) view folded along C: workgroups of an eighth of the chunks,
vectors of 64, each workgroup one stream of memory (first stage of a 1e7
float32 sum, 2 threads: 1.2-1.6 ms as columns, 0.5-0.8 ms as chunks).
The elementwise work a fold reads is moved into it first
(cpu_fold_fusion.py), since IREE's own fusion drops the strategy.
"""
import functools
import math
import re

from iree.compiler import ir

from irax.backends import prepare_steps
from irax.backends.cpu_fold_fusion import fuse_into_folds
from irax.ir import convolution as cv
from irax.ir import mlir
from irax.ir.linalg import RESHAPES, iterator_names, reads_broadcast

ROWS = 12  # a convolution's register tile rows (n x ow) at most


def _product_info(rows, columns, batch=False) -> str:
    """The strategy of a plain product (the loops m, n, k; b, m, n, k for a batch)."""
    b, skip = ("1, ", "0, ") if batch else ("", "")
    return ("#iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<"
            f"cache_parallel = [{b}64, 128, 0], distribution = [{b}64, 128, 0], "
            f"vector_common_parallel = [{b}{rows}, {columns}, 0], vector_reduction = [{skip}0, 0, 8]>, "
            "translation_info = #iree_codegen.translation_info<"
            "pipeline = #iree_cpu.pipeline<DoubleTilingExpert>, {enable_loop_peeling}>>")


_CONV_INFO = (
    "#iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<"
    "distribution = {distribution}, vector_common_parallel = {registers}, vector_reduction = {reduction}>, "
    "translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<ConvTileAndDecomposeExpert>>>")

_COLUMN_FOLD_INFO = (
    "#iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<"
    "distribution = [{group}, 0], vector_common_parallel = [64, 0], vector_reduction = [0, 1]>, "
    "translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>")

_PRESET = re.compile(r"\blinalg\.(matmul|conv_2d_nhwc_hwcf|generic)\b")
_PLAIN_MAPS = ("[affine_map<(d0, d1, d2) -> (d0, d2)>, affine_map<(d0, d1, d2) -> (d2, d1)>, "
               "affine_map<(d0, d1, d2) -> (d0, d1)>]")


def _annotated(module):
    """`module` with each op the module docstring names given its
    compilation strategy (a new parse of it where convolutions became
    products); None where there is none."""
    fused = fuse_into_folds(module, lambda op: op.name == "linalg.generic" and _fold(op) is not None)
    converted = _convs_to_products(module)
    if converted:  # (read back: the builders leave out attributes the parser fills in)
        module = ir.Module.parse(str(module))
    rewritten = _products_to_mmt4d(module)
    ops = mlir.ops_where(module.operation, lambda op: op.name in STRATEGIES)
    chosen = [(op, info) for op, info in ((op, STRATEGIES[op.name](op)) for op in ops) if info is not None]
    for op, info in chosen:
        op.attributes["compilation_info"] = ir.Attribute.parse(info)
        if op.name in BARRIERED:
            _read_through_barriers(op)
    return module if fused or converted or rewritten or chosen else None


# This file's step of the CPU's prepare step: only a module with such ops is parsed.
PRESETS = prepare_steps.Step(lambda mlir_text: _PRESET.search(mlir_text) is not None, _annotated)


# The most elements (f32) a convolution's patches may take to be made a product.
_PATCHES = 1 << 24


def _by_patches(op) -> bool:
    """Whether `op` is a static f32 convolution that runs faster as a product
    of its patches (cv.patch_product): a grouped one (the generic marked
    CONV: vmap's per-example kernel gradients, one group per example) or a
    named 2-D one with one input channel (a first layer on gray images)."""
    if op.name == "linalg.generic" and cv.marker(op) == cv.CONV:
        grouped = True
    elif op.name == "linalg.conv_2d_nhwc_hwcf":
        grouped = False
    else:
        return False
    shapes = static_f32(op)
    if shapes is None or host_f32_lanes() is None or getattr(op.operands[2].owner, "name", "") != "linalg.fill":
        return False  # (a fill of zeros: cv.conv's accumulator, which the product does not read)
    parts = cv.ConvParts(op)
    lhs, rhs = parts.grouped_shape(op.operands[0], "lhs"), parts.grouped_shape(op.operands[1], "rhs")
    return ((grouped or lhs[-1] == 1) and 0 not in lhs + rhs + shapes[-1]
            and cv.patch_count(lhs, rhs, parts.strides, parts.dilations) <= _PATCHES)


def _convs_to_products(module):
    """Each convolution `_by_patches` picks rewritten as cv.patch_product
    (before the strategies are chosen: its product gets theirs); how many."""
    convs = mlir.ops_where(module.operation, _by_patches)
    for op in convs:
        parts = cv.ConvParts(op)
        with ir.InsertionPoint(op), op.location:
            out = cv.patch_product(parts.lhs, parts.rhs, parts.strides, parts.dilations)
            op.results[0].replace_all_uses_with(parts.ungrouped(out, "out"))
        op.erase()
    return len(convs)


def _read_through_barriers(op):
    """Make `op` read its inputs through `util.optimization_barrier`s, so
    that IREE cannot fold their producers into it: it folds the transposes
    of a convolution's kernel gradient into the convolution, which turns it
    into a generic that the preset tiles do not fit (and that IREE's own
    code runs in 2.5 s where the tiled convolution of the transposed
    copies, copies included, takes 0.1 s)."""
    for i, value in enumerate(list(op.operands)[:-1]):  # (not the accumulator)
        with ir.InsertionPoint(op), op.location:
            barrier = ir.Operation.create("util.optimization_barrier", results=[value.type], operands=[value])
        op.operands[i] = barrier.results[0]


def static_f32(op) -> list | None:
    """The shapes of op's operands and result if all are static f32 tensors."""
    types = [ir.RankedTensorType(v.type) for v in list(op.operands) + list(op.results)]
    if all(t.has_static_shape and str(t.element_type) == "f32" for t in types):
        return [t.shape for t in types]
    return None


@functools.cache
def host_f32_lanes() -> int | None:
    """How many f32 fit the host's widest vectors (llvm-cpu compiles for
    the host: `--iree-llvmcpu-target-cpu=host`), where measured above: 16
    with AVX-512, 8 with AVX2; None elsewhere."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            flags = next((line.split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return None
    return 16 if "avx512f" in flags else 8 if "avx2" in flags else None


# f32 lanes -> (register tile rows, columns, the most multiply-adds of a product that skips data tiling)
MATMUL_TILES = {8: (6, 16, 1 << 24), 16: (8, 32, 1 << 27)}

# f32 lanes -> a big product's packed tiles: (rows m0, columns n0) of its
# mmt4d's register tile, and a workgroup's (rows, columns) of such tiles.
# Only AVX-512 measured (the module docstring); AVX2 keeps IREE's data tiling.
MMT4D_TILES = {16: ((12, 32), (8, 4))}

# f32 lanes -> the same for a big product whose output is whole such tiles,
# which writes its output in place (`_PACKED_IN_PLACE`): 8 rows, since 12
# divides few sizes (not 1024).
IN_PLACE_TILES = {16: ((8, 32), (8, 4))}


def compile_flags() -> list:
    """The CPU backend's flags that go with these tiles: where big products
    come packed with them, no microkernels, since IREE's mmt4d microkernel
    has no 12 x 32 tile (its fallback is scalar: 1.2 s for 1024^3) and its
    16 x 16 one, the default on data-tiled products, measured no faster
    than compiled code (the module docstring)."""
    return ["--iree-llvmcpu-enable-ukernels=none"] if host_f32_lanes() in MMT4D_TILES else []


# A big product, C + A @ B, as packs, an mmt4d with our tiles and an unpack.
_MMT4D = """
func.func private @product(%a: tensor<{m}x{k}xf32>, %b: tensor<{k}x{n}xf32>, %c: tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
  %zero = arith.constant 0.0 : f32
  %ea = tensor.empty() : tensor<{m1}x{k}x{m0}x1xf32>
  %pa = linalg.pack %a padding_value(%zero : f32) outer_dims_perm = [0, 1] inner_dims_pos = [0, 1] inner_tiles = [{m0}, 1] into %ea : tensor<{m}x{k}xf32> -> tensor<{m1}x{k}x{m0}x1xf32>
  %eb = tensor.empty() : tensor<{n1}x{k}x{n0}x1xf32>
  %pb = linalg.pack %b padding_value(%zero : f32) outer_dims_perm = [1, 0] inner_dims_pos = [1, 0] inner_tiles = [{n0}, 1] into %eb : tensor<{k}x{n}xf32> -> tensor<{n1}x{k}x{n0}x1xf32>
  %ec = tensor.empty() : tensor<{m1}x{n1}x{m0}x{n0}xf32>
  %pc = linalg.pack %c padding_value(%zero : f32) outer_dims_perm = [0, 1] inner_dims_pos = [0, 1] inner_tiles = [{m0}, {n0}] into %ec : tensor<{m}x{n}xf32> -> tensor<{m1}x{n1}x{m0}x{n0}xf32>
  %r = linalg.mmt4d {{compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [{rows}, {columns}, 0, 0, 0, 0], vector_common_parallel = [1, 1, 0, {m0}, {n0}, 0], vector_reduction = [0, 0, 1, 0, 0, 1]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<Mmt4dTilingExpert>>>}} ins(%pa, %pb : tensor<{m1}x{k}x{m0}x1xf32>, tensor<{n1}x{k}x{n0}x1xf32>) outs(%pc : tensor<{m1}x{n1}x{m0}x{n0}xf32>) -> tensor<{m1}x{n1}x{m0}x{n0}xf32>
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %u = linalg.unpack %r outer_dims_perm = [0, 1] inner_dims_pos = [0, 1] inner_tiles = [{m0}, {n0}] into %e : tensor<{m1}x{n1}x{m0}x{n0}xf32> -> tensor<{m}x{n}xf32>
  return %u : tensor<{m}x{n}xf32>
}}"""


# A big product whose output is whole register tiles, C + A @ B, as packs of
# A and B and a generic that is the mmt4d with C's tiles read and written in
# place (C seen as (m1, m0, n1, n0): a reshape), in IREE's loop order
# (parallel loops first): no pack of C, no unpack.
_PACKED_IN_PLACE = """
func.func private @product(%a: tensor<{m}x{k}xf32>, %b: tensor<{k}x{n}xf32>, %c: tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32> {{
  %ea = tensor.empty() : tensor<{m1}x{k}x{m0}x1xf32>
  %pa4 = linalg.pack %a outer_dims_perm = [0, 1] inner_dims_pos = [0, 1] inner_tiles = [{m0}, 1] into %ea : tensor<{m}x{k}xf32> -> tensor<{m1}x{k}x{m0}x1xf32>
  %pa = tensor.collapse_shape %pa4 [[0], [1], [2, 3]] : tensor<{m1}x{k}x{m0}x1xf32> into tensor<{m1}x{k}x{m0}xf32>
  %eb = tensor.empty() : tensor<{n1}x{k}x{n0}x1xf32>
  %pb4 = linalg.pack %b outer_dims_perm = [1, 0] inner_dims_pos = [1, 0] inner_tiles = [{n0}, 1] into %eb : tensor<{k}x{n}xf32> -> tensor<{n1}x{k}x{n0}x1xf32>
  %pb = tensor.collapse_shape %pb4 [[0], [1], [2, 3]] : tensor<{n1}x{k}x{n0}x1xf32> into tensor<{n1}x{k}x{n0}xf32>
  %tc = tensor.expand_shape %c [[0, 1], [2, 3]] output_shape [{m1}, {m0}, {n1}, {n0}] : tensor<{m}x{n}xf32> into tensor<{m1}x{m0}x{n1}x{n0}xf32>
  %r = linalg.generic {{indexing_maps = [affine_map<(m1, n1, m0, n0, k) -> (m1, k, m0)>, affine_map<(m1, n1, m0, n0, k) -> (n1, k, n0)>, affine_map<(m1, n1, m0, n0, k) -> (m1, m0, n1, n0)>], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"], compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<distribution = [{rows}, {columns}, 0, 0, 0], vector_common_parallel = [1, 1, {m0}, {n0}, 0], vector_reduction = [0, 0, 0, 0, 1]>, translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<Mmt4dTilingExpert>>>}} ins(%pa, %pb : tensor<{m1}x{k}x{m0}xf32>, tensor<{n1}x{k}x{n0}xf32>) outs(%tc : tensor<{m1}x{m0}x{n1}x{n0}xf32>) {{
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }} -> tensor<{m1}x{m0}x{n1}x{n0}xf32>
  %u = tensor.collapse_shape %r [[0, 1], [2, 3]] : tensor<{m1}x{m0}x{n1}x{n0}xf32> into tensor<{m}x{n}xf32>
  return %u : tensor<{m}x{n}xf32>
}}"""


# The most elements of a big product's right operand (k x n) for it to run
# plain rather than packed: 1 MB of f32, one core's L2 on the Zen 4 measured,
# which every row of workgroups reads again (the module docstring).
PLAIN_RHS = 1 << 18


def _big_shape(op) -> tuple | None:
    """(m, k, n) of a static f32 `linalg.matmul` above the small size, at
    least a workgroup's packed tiles in rows and columns (a narrower one
    keeps IREE's data tiling, which has narrow tiles for it), on a host
    with packed tiles of ours (MMT4D_TILES)."""
    shapes = static_f32(op) if op.name == "linalg.matmul" else None
    tiles, mmt4d = MATMUL_TILES.get(host_f32_lanes()), MMT4D_TILES.get(host_f32_lanes())
    if shapes is None or mmt4d is None or str(op.attributes["indexing_maps"]) != _PLAIN_MAPS:
        return None
    (m, k), (_, n) = shapes[:2]
    (m0, n0), (rows, columns) = mmt4d
    return (m, k, n) if m * n * k > tiles[2] and m >= rows * m0 and n >= columns * n0 else None


def _plain_big(m, k, n) -> bool:
    """Whether a big product (`_big_shape`) runs faster plain than packed:
    its right operand at most PLAIN_RHS elements, its output whole plain
    register tiles (3000 x 700 x 200, whose last columns IREE peels, ran
    15-20% slower plain; 3008 x 700 x 224 10-15% faster)."""
    rows, columns, _ = MATMUL_TILES[host_f32_lanes()]
    return k * n <= PLAIN_RHS and m % rows == 0 and n % columns == 0


def _transposed_rhs(op) -> bool:
    """Whether the right operand of the product `op` is a transpose (dX =
    dY @ W^T of a backward pass), which IREE folds into the product: the
    plain tiles then read it across its rows (the module docstring)."""
    producer = op.operands[1].owner
    return isinstance(producer, (ir.Operation, ir.OpView)) and producer.name == "linalg.transpose"


def _mmt4d_shape(op) -> tuple | None:
    """(m, k, n) of a big product (`_big_shape`) that runs faster as our own
    packed product (`_products_to_mmt4d`): one that does not run plain."""
    shape = _big_shape(op)
    return shape if shape is not None and (_transposed_rhs(op) or not _plain_big(*shape)) else None


def _packed_form(m, n) -> tuple:
    """(template, tiles) of a big packed product with an m x n output: in
    place where the output is whole IN_PLACE_TILES (no pack of C, no
    unpack; the module docstring), else padded to whole MMT4D_TILES."""
    tiles = IN_PLACE_TILES.get(host_f32_lanes())
    if tiles is not None and m % tiles[0][0] == 0 and n % tiles[0][1] == 0:
        return _PACKED_IN_PLACE, tiles
    return _MMT4D, MMT4D_TILES[host_f32_lanes()]


def _products_to_mmt4d(module):
    """Each big product `_mmt4d_shape` picks rewritten as packs of its
    operands and accumulator, an mmt4d with our tiles and an unpack (what
    IREE's data tiling makes of it, with the tiles the module docstring
    measured), or with its output in place where that is whole tiles
    (`_packed_form`); how many."""
    products = [(op, shape) for op in mlir.ops_where(module.operation, lambda op: op.name == "linalg.matmul")
                if (shape := _mmt4d_shape(op)) is not None]
    for op, (m, k, n) in products:
        template, ((m0, n0), (rows, columns)) = _packed_form(m, n)
        text = template.format(m=m, k=k, n=n, m0=m0, n0=n0, m1=-(-m // m0), n1=-(-n // n0), rows=rows, columns=columns)
        parsed = ir.Module.parse(text)  # (kept alive while its body is cloned)
        with ir.InsertionPoint(op), op.location:
            out, = mlir.inline_function(parsed.body.operations[0], list(op.operands))
        op.results[0].replace_all_uses_with(out)
        op.erase()
    return len(products)


def _matmul(op) -> str | None:
    shapes = static_f32(op)
    tiles = MATMUL_TILES.get(host_f32_lanes())
    if shapes is None or tiles is None or str(op.attributes["indexing_maps"]) != _PLAIN_MAPS:
        return None
    (m, k), (_, n) = shapes[:2]
    rows, columns, small = tiles
    plain = not _transposed_rhs(op) and (
        m * n * k <= small or ((big := _big_shape(op)) is not None and _plain_big(*big)))
    # A product with a unit dim is not one to IREE: it folds the dim away and
    # fuses what is left with its neighbours as elementwise work, where two
    # preset strategies in one dispatch are a compile error (qr of 1x1).
    return _product_info(rows, columns) if plain and 1 not in (m, n, k) else None


_BATCH_MAPS = ["affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>", "affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>",
               "affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>"]


def _batch_matmul(op) -> str | None:
    """(A generic that is a batch of plain products, as irax writes
    dot_general with one batch dim: IREE packs it as it packs a matmul.)
    A 64 x 128 x 128 x 128 batch, single-thread: packed 3.9-4.2 ms, plain
    2.0-2.4 (AVX-512); 6.9-7.1 and 4.4-5.1 (AVX2)."""
    shapes = static_f32(op)
    tiles = MATMUL_TILES.get(host_f32_lanes())
    if shapes is None or tiles is None or [str(m) for m in op.attributes["indexing_maps"]] != _BATCH_MAPS:
        return None
    if not multiply_adds(op):
        return None
    (b, m, k), (_, _, n) = shapes[:2]
    rows, columns, small = tiles
    return _product_info(rows, columns, batch=True) if m * n * k <= small and 1 not in (b, m, n, k) else None


def _divisor(n: int, at_most: int) -> int:
    """The largest divisor of n that is at most `at_most` (>= 1)."""
    return max(d for d in range(1, max(1, min(n, at_most)) + 1) if n % d == 0)


def _conv_2d(op) -> str | None:
    shapes = static_f32(op)
    if shapes is None or host_f32_lanes() is None:
        return None
    (_, _, c, _), (n, oh, ow, f) = shapes[1], shapes[-1]
    ow_tile = _divisor(ow, ROWS)
    n_tile = _divisor(n, ROWS // ow_tile)
    f_tile = _divisor(f, 32)
    f_group = f if f <= 128 else f_tile * (128 // f_tile)
    return _CONV_INFO.format(distribution=[n_tile, min(oh, 8), ow, f_group, 0, 0, 0],
                             registers=[n_tile, 1, ow_tile, f_tile, 0, 0, 0],
                             reduction=[0, 0, 0, 0, 1, 1, _divisor(c, 8)])


_FOLD_ITERATORS = ["#linalg.iterator_type<reduction>", "#linalg.iterator_type<parallel>"]


def _generic(op) -> str | None:
    """A generic's strategy: that of a column or chunk fold or of a batch of products."""
    return _fold(op) or _batch_matmul(op) or _dynamic_product(op)


def _dynamic_product(op) -> str | None:
    """The strategy of a product of sizes known only at run time (an eager
    kernel's, which serves every shape: `a @ b` of f32 matrices under
    2**20 elements): plain tiles, as a small static one's. IREE's data
    tiling packs both operands and unpacks the result, four dispatches with
    sizes it must read at each call. Its unit dims (a vector's) stay static
    in the kernel and IREE folds them away: those keep IREE's strategy
    (_matmul's reason). Batches keep it too: plain, a batch of 16 128^2
    products ran 1.7x slower with sizes known only at run time."""
    types = [ir.RankedTensorType(v.type) for v in list(op.operands) + list(op.results)]
    tiles = MATMUL_TILES.get(host_f32_lanes())
    if (tiles is None or str(op.attributes["indexing_maps"]) != _PLAIN_MAPS or not multiply_adds(op)
            or any(str(t.element_type) != "f32" or not all(map(t.is_dynamic_dim, range(t.rank))) for t in types)):
        return None
    return _product_info(*tiles[:2])


def multiply_adds(op) -> bool:
    """Whether a generic's body is a float product added up."""
    return [inner.operation.name for inner in op.regions[0].blocks[0].operations] == [
        "arith.mulf", "arith.addf", "linalg.yield"]


def _fold(op) -> str | None:
    """The strategy of a reduction's static first stage (a column or chunk fold)."""
    return _column_fold(op) or _chunk_fold(op)


def _column_fold(op) -> str | None:
    """(A generic folding the rows of a static matrix into its columns.)
    Its tiles are in the order IREE reads the loops in, parallel first: it
    interchanges the op's (reduction, parallel) before choosing."""
    op = op.opview
    maps = [str(m) for m in op.attributes["indexing_maps"]]
    if ([str(t) for t in op.attributes["iterator_types"]] != _FOLD_ITERATORS or host_f32_lanes() is None
            or any(m not in ("affine_map<(d0, d1) -> (d0, d1)>", "affine_map<(d0, d1) -> ()>")
                   for m in maps[:len(op.inputs)])  # (a scalar: what fused elementwise work reads)
            or any(m != "affine_map<(d0, d1) -> (d1)>" for m in maps[len(op.inputs):])):
        return None
    types = [ir.RankedTensorType(v.type) for v in op.inputs]
    matrices = [t for t in types if t.rank == 2]
    if not matrices or not all(t.has_static_shape for t in types) or any(_read_broadcast(r) for r in op.results):
        return None
    columns = matrices[0].shape[1]
    vectors = -(-columns // 64)
    wanted = max(1, -(-vectors // 8))  # an eighth of the columns a workgroup
    if columns % 64 == 0:  # a group that divides the columns, near that: no workgroup ends in a partial vector
        near = [k for k in range(-(-wanted // 2), 2 * wanted + 1) if vectors % k == 0]
        wanted = min(near, key=lambda k: (abs(k - wanted), k), default=wanted)
    return _COLUMN_FOLD_INFO.format(group=64 * wanted)


_CHUNK_FOLD_INFO = (
    "#iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<"
    "distribution = {distribution}, vector_common_parallel = {vectors}, vector_reduction = {reduction}>, "
    "translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>")

# The fewest elements a chunk fold reads: reductions.py writes them for rows
# of reductions.STATIC_ABOVE elements or more (a smaller generic of this form,
# a reduction over the middle axis of a (P, C, 64) array, keeps IREE's choice).
_CHUNK_FOLD_ELEMENTS = 1 << 20


def _chunk_fold(op) -> str | None:
    """(A generic folding each chunk of a static (..., P, C, 64) view along
    C, into (..., P, 64): the first stage of a long reduction,
    reductions._fold_chunks.) Workgroups of an eighth of the P chunks (a
    divisor of P near that), vectors of 64 lanes, one row of C at a time:
    each workgroup streams whole chunks, contiguous memory. Without these
    IREE took 1.8 ms for the first stage of a 1e7 float32 sum (0.6 with
    them). Tiles in IREE's loop order, parallel first, as _column_fold's."""
    op = op.opview
    loops = [f"d{i}" for i in range(len(op.attributes["iterator_types"]))]
    if len(loops) < 3 or host_f32_lanes() is None:
        return None
    every, out = ", ".join(loops), ", ".join(loops[:-2] + loops[-1:])
    maps = [str(m) for m in op.attributes["indexing_maps"]]
    if (iterator_names(op) != ["parallel"] * (len(loops) - 2) + ["reduction", "parallel"]
            or any(m not in (f"affine_map<({every}) -> ({every})>", f"affine_map<({every}) -> ()>")
                   for m in maps[:len(op.inputs)])
            or any(m != f"affine_map<({every}) -> ({out})>" for m in maps[len(op.inputs):])):
        return None
    types = [ir.RankedTensorType(v.type) for v in op.inputs]
    chunks = [t for t in types if t.rank == len(loops)]
    if (not chunks or not all(t.has_static_shape for t in types) or chunks[0].shape[-1] != 64
            or math.prod(chunks[0].shape) < _CHUNK_FOLD_ELEMENTS or any(_read_broadcast(r) for r in op.results)):
        return None
    count = chunks[0].shape[-3]
    batch = [1] * (len(loops) - 3)
    return _CHUNK_FOLD_INFO.format(distribution=batch + [_divisor(count, max(1, round(count / 8))), 64, 0],
                                   vectors=batch + [1, 64, 0], reduction=[0] * (len(loops) - 1) + [1])


def _read_broadcast(value, depth=8) -> bool:
    """Whether a generic reads `value`, or elementwise work or a reshape of
    it, broadcast (`x - b.mean(0)`, softmax over axis 0): IREE then fuses
    that generic into the fold's dispatch, where these tiles make vectors
    of whole columns (1000 x 33: 32 KB, a compile error)."""
    if depth == 0:
        return False
    for use in value.uses:
        consumer = use.owner.operation
        if consumer.name in RESHAPES:
            if _read_broadcast(consumer.results[0], depth - 1):
                return True
        elif consumer.name == "linalg.generic" and (
                reads_broadcast(consumer, use.operand_number) or (
                    "reduction" not in iterator_names(consumer.opview)
                    and any(_read_broadcast(r, depth - 1) for r in consumer.results))):
            return True
    return False


# op name -> its strategy (a compilation_info's text) or None for IREE's own
STRATEGIES = {"linalg.matmul": _matmul, "linalg.conv_2d_nhwc_hwcf": _conv_2d, "linalg.generic": _generic}
BARRIERED = {"linalg.conv_2d_nhwc_hwcf"}
