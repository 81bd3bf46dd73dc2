"""Reading linalg ops: what the passes and the autodiff rules ask of a
`linalg.generic` before they rewrite it."""
from iree.compiler import ir


def iterator_names(op) -> list:
    """A linalg op's iterator types as "parallel" / "reduction" strings."""
    return [str(it).split("<")[-1].rstrip(">") for it in op.iterator_types]


def map_results(affine_map_attr) -> list:
    """The loop dimensions an indexing map reads, e.g. (d0, d1, d2) -> (d2, d0) gives [2, 0]."""
    amap = ir.AffineMapAttr(affine_map_attr).value
    dims = []
    for expr in amap.results:
        if not isinstance(expr, ir.AffineDimExpr):
            raise NotImplementedError(f"irax needs projected-permutation indexing maps (each result one loop dimension), got {amap}")
        dims.append(expr.position)
    return dims


def loop_sizes(op) -> dict:
    """{loop dimension: static size} of a linalg op with indexing maps, read
    off the operand dims its maps index by one loop dimension; dynamic ones
    are negative (MLIR's dynamic size). Window maps (o*s + k*d, ir/convolution.py)
    give none: a window op reads o and k whole in its other operands."""
    sizes = {}
    for value, attr in zip(op.operands, op.attributes["indexing_maps"]):
        for expr, size in zip(ir.AffineMapAttr(attr).value.results, ir.RankedTensorType(value.type).shape):
            if isinstance(expr, ir.AffineDimExpr):
                sizes[expr.position] = size
    return sizes


def is_projected(op) -> bool:
    """Whether each of a linalg op's indexing maps reads whole loop dimensions
    (projected permutations), as every generic but a window's does (ir/convolution.py)."""
    return all(isinstance(e, ir.AffineDimExpr) for m in op.indexing_maps for e in ir.AffineMapAttr(m).value.results)


RESHAPES = ("tensor.expand_shape", "tensor.collapse_shape")  # ops that only regroup dims, which IREE fuses through


def is_permutation(amap) -> bool:
    """Whether an AffineMap reads each loop dimension once (no broadcast, no constant index)."""
    dims = [e.position for e in amap.results if isinstance(e, ir.AffineDimExpr)]
    return len(dims) == len(amap.results) and sorted(dims) == list(range(amap.n_dims))


def reads_broadcast(op, operand_number: int) -> bool:
    """Whether generic `op` reads its operand broadcast (not each of its loops once)."""
    return not is_permutation(ir.AffineMapAttr(op.opview.indexing_maps[operand_number]).value)
