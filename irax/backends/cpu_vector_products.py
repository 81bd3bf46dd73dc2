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

A sum, max or min along the rows of static f32 matrices (`x.sum(1)`,
`(x * x).sum(1)`: a body that ends in one add, max or min of the
accumulator) is the first form without v: IREE's own code reduced each
chunk's 16 lanes at every step (`vector.reduction`), one dependent chain a
row. The elementwise work it reads is moved into it first
(cpu_fold_fusion.py; left to IREE, that fusion made a new op without the
strategy); the lanes start at the op's exact identity (-0.0 for a sum:
-0.0 + x is x), and the accumulator keeps the reduction's initial value.
1024^2, one thread: 0.38 -> 0.12 ms; jit on the calling thread
(IRAX_INLINE_BYTES above 4 MB): sum 191 -> 47-66 us, max 189 -> 49-73,
sum of squares ~450 -> 49 (JAX 58-68).

CPU time per call, 1024 x 1024 f32 (iree-benchmark-module, one thread,
Zen 5, load ~3): `A @ v` 0.15-0.21 ms (IREE without data tiling; irax's
jit with it 0.33) -> 0.09-0.11, `w @ A` 0.37 -> 0.12-0.14 (JAX 0.06 and
0.07 over its two threads).
"""
from __future__ import annotations

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import tensor

from irax.backends import prepare_steps
from irax.backends.cpu_fold_fusion import fuse_into_folds
from irax.backends.cpu_tiles import host_f32_lanes, multiply_adds, static_f32
from irax.ir import mlir
from irax.ir.linalg import RESHAPES, iterator_names

ROWS = 8  # the rows of A @ v whose accumulators a vector step keeps

_INFO = ("#iree_codegen.compilation_info<lowering_config = #iree_cpu.lowering_config<"
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
  %lanes = linalg.generic {{indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2, d1)>, affine_map<(d0, d1, d2) -> (d2, d1)>, affine_map<(d0, d1, d2) -> (d0, d1)>], iterator_types = ["parallel", "parallel", "reduction"], compilation_info = {info}}} ins(%a3, %v2 : tensor<{m}x{c}x{L}xf32>, tensor<{c}x{L}xf32>) outs(%f : tensor<{m}x{L}xf32>) {{
  {body}
  }} -> tensor<{m}x{L}xf32>
  %r = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"]}} ins(%lanes : tensor<{m}x{L}xf32>) outs(%acc : tensor<{m}xf32>) {{
  ^bb0(%x: f32, %s: f32):
    %t = arith.addf %s, %x : f32
    linalg.yield %t : f32
  }} -> tensor<{m}xf32>
  return %r : tensor<{m}xf32>
}}"""

# A row fold's combining op -> its exact identity (-0.0 + x is x for every x, +0.0 and -0.0 included).
_IDENTITIES = {"arith.addf": -0.0, "arith.maximumf": float("-inf"), "arith.minimumf": float("inf")}

_VECTOR_MATRIX = """
func.func private @product(%a: tensor<{m}x{k}xf32>, %w: tensor<{m}xf32>, %acc: tensor<{k}xf32>) -> tensor<{k}xf32> {{
  %negative_zero = arith.constant -0.0 : f32
  %r = linalg.generic {{indexing_maps = [affine_map<(d0, d1) -> (d1, d0)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0)>], iterator_types = ["parallel", "reduction"], compilation_info = {info}}} ins(%a, %w : tensor<{m}x{k}xf32>, tensor<{m}xf32>) outs(%acc : tensor<{k}xf32>) {{
  {body}
  }} -> tensor<{k}xf32>
  return %r : tensor<{k}xf32>
}}"""

def _two_loops(op) -> tuple | None:
    """(p, r, maps) of a static f32 generic of one parallel loop and one
    reduction, in either order: the names of its parallel and reduction
    dims ("d0" or "d1") and what each indexing map reads ("d0, d1", "d1",
    "" for a scalar); None for other ops."""
    loops = iterator_names(op)
    if sorted(loops) != ["parallel", "reduction"] or static_f32(op) is None:
        return None
    p, r = ("d0", "d1") if loops[0] == "parallel" else ("d1", "d0")
    return p, r, [str(m).removeprefix("affine_map<(d0, d1) -> (").removesuffix(")>")
                  for m in op.attributes["indexing_maps"]]


def _lanes_info() -> str:
    """The strategy of a fold of each row's chunks into vector lanes: ROWS
    rows' accumulators a step, 64 rows a workgroup."""
    return _INFO.format(distribution=[64, 0, 0], vectors=[ROWS, host_f32_lanes(), 0], reduction=[0, 0, 1])


def _form(op) -> tuple | None:
    """(form, matrix, vector) of a static f32 matrix-vector product (the
    module docstring) that this step rewrites, its two loops in either
    order; None for any other op."""
    if op.name != "linalg.generic" or len(op.operands) != 3 or host_f32_lanes() is None:
        return None
    op = op.opview
    if (loops := _two_loops(op)) is None:
        return None
    p, r, maps = loops
    if len(maps) != 3 or maps[2] != p or maps[:2].count(r) != 1 or not multiply_adds(op):
        return None
    matrix_at = 1 - maps.index(r)
    form = {f"{p}, {r}": "matrix-vector", f"{r}, {p}": "vector-matrix"}.get(maps[matrix_at])
    matrix = op.inputs[matrix_at]
    m, k = ir.RankedTensorType(matrix.type).shape
    if form is None or 1 in (m, k) or (form == "matrix-vector" and k % host_f32_lanes()) or _computed(matrix):
        return None
    return form, matrix, op.inputs[1 - matrix_at]


def _row_fold(op) -> bool:
    """Whether `op` reduces along the rows of static f32 matrices (their
    contiguous dim): two loops, each input read as the matrix or as a
    scalar, a body that ends in one add, max or min of the accumulator and
    a value made without it (sum, max, min along the last axis, of
    elementwise work on the rows: cpu_fold_fusion moves that work in
    first), rows of two vectors or more, whole."""
    if op.name != "linalg.generic" or host_f32_lanes() is None:
        return False
    op = op.opview
    if len(op.outputs) != 1 or (loops := _two_loops(op)) is None:
        return False
    p, r, maps = loops
    if maps[-1] != p or any(m not in (f"{p}, {r}", "") for m in maps[:-1]) or f"{p}, {r}" not in maps[:-1]:
        return False
    block = op.regions[0].blocks[0]
    body, acc = list(block.operations), block.arguments[len(op.inputs)]
    combine = body[-2] if len(body) > 1 else None
    if (combine is None or combine.name not in _IDENTITIES or body[-1].operands[0] != combine.result
            or acc not in list(combine.operands) or len(list(acc.uses)) != 1):
        return False
    m, k = ir.RankedTensorType(op.inputs[maps.index(f"{p}, {r}")].type).shape
    return m > 1 and k > host_f32_lanes() and k % host_f32_lanes() == 0  # (a row of one chunk: its lanes, folded)


def _as_lanes(op):
    """Replace the row fold `op` (`_row_fold`) by a fold of each row's
    chunks into vector lanes and a fold of the lanes (the module
    docstring)."""
    op, lanes = op.opview, host_f32_lanes()
    block = op.regions[0].blocks[0]
    body = list(block.operations)
    combine = body[-2]
    m, k = next(t.shape for t in (ir.RankedTensorType(x.type) for x in op.inputs) if t.rank == 2)
    with ir.InsertionPoint(op), op.location:
        inputs, maps = [], []
        for x in op.inputs:
            if ir.RankedTensorType(x.type).rank == 0:
                inputs.append(x)
                maps.append([])
            else:
                chunks = ir.RankedTensorType.get([m, k // lanes, lanes], ir.F32Type.get())
                inputs.append(tensor.ExpandShapeOp(chunks, x, mlir.reassociation([[0], [1, 2]]), [],
                                                   [m, k // lanes, lanes]).result)
                maps.append([0, 2, 1])
        identity = mlir.float_constant(ir.F32Type.get(), _IDENTITIES[combine.name])
        start = mlir.fill(identity, [m, lanes], np.float32)

        def chunk(*arguments):
            mapping = dict(zip(block.arguments, arguments))
            for inner in body[:-1]:
                mlir.clone_op(inner, mapping)
            return [mapping[body[-1].operands[0]]]

        folded = mlir.generic(inputs, [start], maps + [[0, 1]], [mlir.PARALLEL, mlir.PARALLEL, "reduction"], chunk)[0]
        folded.owner.attributes["compilation_info"] = ir.Attribute.parse(_lanes_info())
        out = mlir.generic([folded], [op.outputs[0]], [[0, 1], [0]], [mlir.PARALLEL, "reduction"],
                           lambda x, s: [ir.Operation.create(combine.name, results=[x.type], operands=[s, x]).result])[0]
    op.results[0].replace_all_uses_with(out)
    op.erase()


def _computed(value) -> bool:
    """Whether `value` is an elementwise generic's (through reshapes): IREE
    would fuse it into the fold as a new op, which loses the fold's
    strategy (a row fold's that cpu_fold_fusion left out, read twice:
    (x * x).sum(1) at 1024^2 ran 374 -> 445 us; the patches jnp.convolve
    gathers for its product, 4096 by 64 taps: 0.36 -> 1.24 ms)."""
    while isinstance(value, ir.OpResult) and value.owner.name in RESHAPES:
        value = value.owner.operands[0]
    owner = value.owner if isinstance(value, ir.OpResult) else None
    return owner is not None and owner.name == "linalg.generic" and set(iterator_names(owner.opview)) == {"parallel"}


def _text(form, m, k) -> str:
    """The template of `form`, filled in for an m x k matrix."""
    lanes = host_f32_lanes()
    if form == "matrix-vector":
        return _MATRIX_VECTOR.format(m=m, k=k, c=k // lanes, L=lanes, info=_lanes_info(), body=_PRODUCT_BODY)
    columns = 8 * lanes  # a group of columns per vector step; an eighth of them per workgroup, as column folds
    group = columns * max(1, round(k / 8 / columns))
    info = _INFO.format(distribution=[group, 0], vectors=[columns, 0], reduction=[0, 1])
    return _VECTOR_MATRIX.format(m=m, k=k, info=info, body=_PRODUCT_BODY)


def _as_folds(module):
    """`module` with each matrix-vector product `_form` picks written as
    its fold; None where there is none."""
    products = [op for op in mlir.ops_where(module.operation, lambda op: op.name == "linalg.generic")
                if _form(op) is not None]
    for op in products:  # (its operands read now: a product before it may have made one, and been replaced)
        found = _form(op)
        if found is None:
            continue
        form, matrix, vector = found
        m, k = ir.RankedTensorType(matrix.type).shape
        parsed = ir.Module.parse(_text(form, m, k))  # (kept alive while its body is cloned)
        with ir.InsertionPoint(op), op.location:
            out, = mlir.inline_function(parsed.body.operations[0], [matrix, vector, op.operands[2]])
        op.results[0].replace_all_uses_with(out)
        op.erase()
    fused = fuse_into_folds(module, _row_fold)
    rows = [op for op in mlir.ops_where(module.operation, _row_fold)
            if not any(_computed(x) for x in op.opview.inputs)]
    for op in rows:
        _as_lanes(op)
    return module if products or fused or rows else None


# This file's step of the CPU's prepare step: only a module with generics is parsed.
VECTOR_PRODUCTS = prepare_steps.Step(lambda mlir_text: "linalg.generic" in mlir_text, _as_folds)

__all__ = ["VECTOR_PRODUCTS"]
