"""Matrix-vector products and reductions along rows on the CPU: rewritten
as folds that stream the matrix once, where IREE packs it or reduces each
row's lanes at every step.

irax writes `A @ v` (A m x k, v of k) as a generic of a float product
added up, parallel over the m outputs and reducing over k; `w @ A` (w of
m) reduces over the rows instead. IREE takes either for a contraction: it
packs all of A into tiles (a copy of the whole matrix, its own dispatch)
and runs an mmt4d on one row of tiles, or without data tiling transposes
16 x 16 blocks of A to multiply them in one chain of FMAs. Both read A two
or more times at a product's speed where one pass at memory speed is the
whole work. This step (after cpu_tiles' presets) writes each static f32
one as a fold IREE does not take for a contraction: the product is
fma(a, b, -0.0), the same number (cpu_fold_fusion.py's device), and

  - `A @ v`: A seen as (m, k / L, L), L a vector's lanes: R rows at a time
    keep R vector accumulators, acc[r, :] += A[r, c, :] * v[c, :] over the
    chunks c, then a small generic adds up each row's L lanes into the
    result (k must be whole vectors; other k keep IREE's way);
  - `w @ A`: columns in vectors, acc[j, ...] += w[i] * A[i, j, ...] row by
    row, workgroups of column groups (cpu_tiles' column folds).

A sum, max or min along a static f32 matrix's rows (`x.sum(1)`; a body of
one add, max or min) is the first form without v: IREE's own code reduced
each chunk's 16 lanes at every step (`vector.reduction`), one dependent
chain a row; here the lanes start at the op's exact identity (-0.0 for a
sum: -0.0 + x is x) and the accumulator keeps the reduction's initial
value. 1024^2, one thread: 0.38 -> 0.12 ms; jit, the calling thread
(IRAX_INLINE_BYTES above 4 MB): sum 191 -> 66 us, max 189 -> 73 (JAX 68).

CPU time per call, 1024 x 1024 f32 (iree-benchmark-module, one thread,
Zen 5, load ~3): `A @ v` 0.15-0.21 ms (IREE without data tiling; irax's
jit with it 0.33) -> 0.09-0.11, `w @ A` 0.37 -> 0.12-0.14 (JAX 0.06 and
0.07 over its two threads).
"""
from __future__ import annotations

from iree.compiler import ir

from irax.backends import prepare_steps
from irax.backends.cpu_tiles import host_f32_lanes, multiply_adds, static_f32
from irax.ir import mlir
from irax.ir.linalg import RESHAPES, iterator_names

ROWS = 8  # the rows of A @ v whose accumulators a vector step keeps

_CONFIG = ("compilation_info = #iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<"
           "distribution = {distribution}, vector_common_parallel = {vectors}, vector_reduction = {reduction}>, "
           "translation_info = #iree_codegen.translation_info<pipeline = #iree_cpu.pipeline<DoubleTilingExpert>>>")

_PRODUCT_BODY = """^bb0(%x: f32, %y: f32, %s: f32):
    %p = math.fma %x, %y, %negative_zero : f32
    %t = arith.addf %s, %p : f32
    linalg.yield %t : f32"""

_MATRIX_VECTOR = """
func.func private @product(%a: tensor<{m}x{k}xf32>, %v: tensor<{k}xf32>, %acc: tensor<{m}xf32>) -> tensor<{m}xf32> {{
  %zero = arith.constant 0.0 : f32
  %negative_zero = arith.constant -0.0 : f32
  %a3 = tensor.expand_shape %a [[0], [1, 2]] output_shape [{m}, {c}, {L}] : tensor<{m}x{k}xf32> into tensor<{m}x{c}x{L}xf32>
  %v2 = tensor.expand_shape %v [[0, 1]] output_shape [{c}, {L}] : tensor<{k}xf32> into tensor<{c}x{L}xf32>
  %e = tensor.empty() : tensor<{m}x{L}xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<{m}x{L}xf32>) -> tensor<{m}x{L}xf32>
  %lanes = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2, d1)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"], {config}}} ins(%a3, %v2 : tensor<{m}x{c}x{L}xf32>, tensor<{c}x{L}xf32>) outs(%f : tensor<{m}x{L}xf32>) {{
  {body}
  }} -> tensor<{m}x{L}xf32>
  %r = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}} ins(%lanes : tensor<{m}x{L}xf32>) outs(%acc : tensor<{m}xf32>) {{
  ^bb0(%x: f32, %s: f32):
    %t = arith.addf %s, %x : f32
    linalg.yield %t : f32
  }} -> tensor<{m}xf32>
  return %r : tensor<{m}xf32>
}}"""

_ROW_FOLD = """
func.func private @fold(%a: tensor<{m}x{k}xf32>, %acc: tensor<{m}xf32>) -> tensor<{m}xf32> {{
  %identity = arith.constant {identity} : f32
  %a3 = tensor.expand_shape %a [[0], [1, 2]] output_shape [{m}, {c}, {L}] : tensor<{m}x{k}xf32> into tensor<{m}x{c}x{L}xf32>
  %e = tensor.empty() : tensor<{m}x{L}xf32>
  %f = linalg.fill ins(%identity : f32) outs(%e : tensor<{m}x{L}xf32>) -> tensor<{m}x{L}xf32>
  %lanes = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"], {config}}} ins(%a3 : tensor<{m}x{c}x{L}xf32>) outs(%f : tensor<{m}x{L}xf32>) {{
  ^bb0(%x: f32, %s: f32):
    %t = {combine} %s, %x : f32
    linalg.yield %t : f32
  }} -> tensor<{m}x{L}xf32>
  %r = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}} ins(%lanes : tensor<{m}x{L}xf32>) outs(%acc : tensor<{m}xf32>) {{
  ^bb0(%x: f32, %s: f32):
    %t = {combine} %s, %x : f32
    linalg.yield %t : f32
  }} -> tensor<{m}xf32>
  return %r : tensor<{m}xf32>
}}"""

# A row fold's combining op -> its exact identity (-0.0 + x is x for every x, +0.0 and -0.0 included).
_IDENTITIES = {"arith.addf": "-0.0", "arith.maximumf": "0xFF800000", "arith.minimumf": "0x7F800000"}

_VECTOR_MATRIX = """
func.func private @product(%a: tensor<{m}x{k}xf32>, %w: tensor<{m}xf32>, %acc: tensor<{k}xf32>) -> tensor<{k}xf32> {{
  %negative_zero = arith.constant -0.0 : f32
  %r = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"], {config}}} ins(%a, %w : tensor<{m}x{k}xf32>, tensor<{m}xf32>) outs(%acc : tensor<{k}xf32>) {{
  {body}
  }} -> tensor<{k}xf32>
  return %r : tensor<{k}xf32>
}}"""

def _form(op) -> tuple | None:
    """(form, matrix, vector) of a static f32 matrix-vector product (the
    module docstring) that this step rewrites, its two loops in either
    order; None for any other op."""
    if op.name != "linalg.generic" or len(op.operands) not in (2, 3) or host_f32_lanes() is None:
        return None
    op = op.opview
    loops = iterator_names(op)
    if sorted(loops) != ["parallel", "reduction"] or static_f32(op) is None:
        return None
    p, r = ("d0", "d1") if loops[0] == "parallel" else ("d1", "d0")
    maps = [str(m).removeprefix("affine_map<(d0, d1) -> (").removesuffix(")>") for m in op.attributes["indexing_maps"]]
    if len(maps) == 2:
        return _row_fold(op, maps, p, r)
    if maps[2] != p or maps[:2].count(r) != 1 or not multiply_adds(op):
        return None
    matrix_at = 1 - maps.index(r)
    form = {f"{p}, {r}": "matrix-vector", f"{r}, {p}": "vector-matrix"}.get(maps[matrix_at])
    matrix = op.inputs[matrix_at]
    m, k = ir.RankedTensorType(matrix.type).shape
    if form is None or 1 in (m, k) or (form == "matrix-vector" and k % host_f32_lanes()):
        return None
    return form, matrix, op.inputs[1 - matrix_at]


def _row_fold(op, maps, p, r) -> tuple | None:
    """("row fold", matrix, None) of a reduction along a static f32
    matrix's rows (its contiguous dim), `maps` its input's and output's:
    a body that is one add, max or min of the element and the accumulator
    (sum, max, min along the last axis; elementwise work before it is
    IREE's to fuse)."""
    body = list(op.regions[0].blocks[0].operations)
    if maps != [f"{p}, {r}", p] or len(body) != 2 or body[0].name not in _IDENTITIES:
        return None
    arguments, combine = list(op.regions[0].blocks[0].arguments), body[0]
    if list(combine.operands) not in (arguments, arguments[::-1]) or body[1].operands[0] != combine.result:
        return None
    m, k = ir.RankedTensorType(op.inputs[0].type).shape
    if 1 in (m, k) or k % host_f32_lanes() or _computed(op.inputs[0]):
        return None
    return ("row fold", combine.name), op.inputs[0], None


def _computed(value) -> bool:
    """Whether `value` is a linalg op's result (through reshapes): IREE fuses
    such a producer into the fold as a new op, which loses the fold's
    strategy (`(x * x).sum(1)` at 1024^2 ran 374 -> 445 us)."""
    while isinstance(value, ir.OpResult) and value.owner.name in RESHAPES:
        value = value.owner.operands[0]
    return isinstance(value, ir.OpResult) and value.owner.name.startswith("linalg.")


def _text(form, m, k) -> str:
    """The template of `form`, filled in for an m x k matrix."""
    lanes = host_f32_lanes()
    if isinstance(form, tuple):  # ("row fold", its combining op)
        config = _CONFIG.format(distribution=[64, 0, 0], vectors=[ROWS, lanes, 0], reduction=[0, 0, 1])
        return _ROW_FOLD.format(m=m, k=k, c=k // lanes, L=lanes, config=config, combine=form[1],
                                identity=_IDENTITIES[form[1]])
    if form == "matrix-vector":
        config = _CONFIG.format(distribution=[64, 0, 0], vectors=[ROWS, lanes, 0], reduction=[0, 0, 1])
        return _MATRIX_VECTOR.format(m=m, k=k, c=k // lanes, L=lanes, config=config, body=_PRODUCT_BODY)
    columns = 8 * lanes  # a group of columns per vector step; an eighth of them per workgroup, as column folds
    group = columns * max(1, round(k / 8 / columns))
    config = _CONFIG.format(distribution=[group, 0], vectors=[columns, 0], reduction=[0, 1])
    return _VECTOR_MATRIX.format(m=m, k=k, config=config, body=_PRODUCT_BODY)


def _as_folds(module):
    """`module` with each matrix-vector product `_form` picks written as
    its fold; None where there is none."""
    products = [(op, form) for op in mlir.ops_where(module.operation, lambda op: op.name == "linalg.generic")
                if (form := _form(op)) is not None]
    for op, (form, matrix, vector) in products:
        m, k = ir.RankedTensorType(matrix.type).shape
        parsed = ir.Module.parse(_text(form, m, k))  # (kept alive while its body is cloned)
        operands = [matrix, op.operands[1]] if vector is None else [matrix, vector, op.operands[2]]
        with ir.InsertionPoint(op), op.location:
            out, = mlir.inline_function(parsed.body.operations[0], operands)
        op.results[0].replace_all_uses_with(out)
        op.erase()
    return module if products else None


# This file's step of the CPU's prepare step: only a module with generics is parsed.
VECTOR_PRODUCTS = prepare_steps.Step(lambda mlir_text: "linalg.generic" in mlir_text, _as_folds)

__all__ = ["VECTOR_PRODUCTS"]
