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
