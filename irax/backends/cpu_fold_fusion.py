"""Elementwise work moved into the column folds that read it (the CPU
backend's prepare step, before cpu_tiles presets their strategies).

A long static reduction's first stage is a generic folding the rows of a
(C, G) view into its G columns, or of each (C, 64) chunk of a (G / 64, C,
64) view (frontend/primitives/reductions.py), and cpu_tiles gives it tiles
that read rows or chunks whole. When what it folds is
computed, `sum(a * b)`, IREE fuses the elementwise generic into the fold
as a new op, without the fold's `compilation_info`, and compiles that with
its own choice ("matvec_like"): 24-26 ms for `jit(lambda a, b: sum(a * b))`
of 1e7 float32, where the fold of a stored array takes 1.5. So the fusion
is made here, where the fold keeps its attribute:

    p = generic(x..., identity maps (or 0-d x), parallel)
    v = views(p)                         (reshapes, static slices; each used once)
    s = fold(v, ...)            ->       s = fold(views(x)..., ...)

with the producer's body run before the fold's on each element; the
producer stays for its other readers if it has any (the fold's leftover
elements, which IREE fuses as before: the work is done once either way).
Repeated until no fold reads such a producer, so a chain of elementwise
ops is folded whole. A producer that reads anything broadcast but a
scalar stays as it is; a constant scalar becomes a constant in the body.
A float product added up is written so that IREE does not take the fold
for a matrix-vector product (_not_a_contraction). jit, 1e7 float32, ms on
this 2-core machine: sum(a * b) 17-26 -> 3.3, sum(a + b) 9-11 -> 2.0-3.3,
mean((a - b)**2) 7.5-8 -> 3.2, sum(tanh(a)) 7-8 -> 3.4. An integer product
added up has no such form, so the fold reads it through a barrier instead
(_apart): a dispatch of its own writes the products, which the fold then
reads with its strategy.
"""
from iree.compiler import ir
from iree.compiler.dialects import arith, math, tensor

from irax.ir import iree, mlir
from irax.ir.linalg import RESHAPES, iterator_names, map_results


def fuse_into_folds(module, is_fold):
    """Fuse into every generic of `module` that `is_fold` accepts the
    elementwise producers it reads (integer products added up: read through
    a barrier, `_apart`); how many fusions and barriers were made."""
    changed = 0
    for fold in mlir.ops_where(module.operation, is_fold):
        fold = fold.opview
        while (found := _first_producer(fold)) is not None:  # the new fold reads the producer's inputs
            fold = _fuse(fold, *found)
            changed += 1
        changed += _apart(fold)
    return changed


def _first_producer(fold):
    """(k, views, producer) of the first input of `fold` to fuse, or None."""
    for k, value in enumerate(fold.inputs):
        found = _producer(value)
        if found is not None and not _integer_products_added(fold, found[1]):
            return (k, *found)
    return None


def _producer(value):
    """(the views from the producer to `value`, in order, the producer), or
    None where `value` is not an elementwise generic's (identity maps, static
    shapes, not reading its output nor its position), through views
    (_is_view) used once."""
    views = []
    while isinstance(value, ir.OpResult) and _is_view(value.owner) and _used_once(value):
        views.insert(0, value.owner)
        value = value.owner.operands[0]
    if not isinstance(value, ir.OpResult) or value.owner.name != "linalg.generic":
        return None
    producer = value.owner.opview
    rank = len(iterator_names(producer))
    if len(producer.results) != 1 or set(iterator_names(producer)) != {"parallel"}:
        return None
    maps = [map_results(m) for m in producer.indexing_maps]
    if any(m not in (list(range(rank)), []) for m in maps):
        return None  # each input read elementwise, or a scalar (a 0-d tensor) read everywhere
    if list(range(rank)) not in maps[:len(producer.inputs)]:
        return None  # (nothing read elementwise, as a gather of a 0-d index: nothing would size the fold's loops)
    output = producer.regions[0].blocks[0].arguments[len(producer.inputs)]
    if list(output.uses) or not ir.RankedTensorType(value.type).has_static_shape:
        return None
    if any(op.name == "linalg.index" for op in producer.regions[0].blocks[0].operations):
        return None  # its element's position: moved into the fold, it would count the fold's loops
    return views, producer


def _is_view(op) -> bool:
    """A reshape, or a slice of static offsets, sizes and strides (the first
    blocks of a fold, its leftover): what commutes with elementwise work."""
    if op.name in RESHAPES:
        return True
    return op.name == "tensor.extract_slice" and len(op.operands) == 1


def _yielded_by(generic, name) -> bool:
    """Whether `generic` yields one value (an arg-reduction yields two), made by an op `name`."""
    values = list(list(generic.regions[0].blocks[0].operations)[-1].operands)
    return len(values) == 1 and mlir.made_by(values[0], name)


def _integer_products_added(fold, producer) -> bool:
    """Whether the fused fold would add up integer products: IREE compiles
    that as a matrix-vector product, badly with these tiles (the 1e7 int32
    dot 19 -> 48 ms), and no rewrite keeps the same integers (as fma(a, b,
    -0.0) does floats): such a product is not fused (`_apart`)."""
    return _yielded_by(fold, "arith.addi") and _yielded_by(producer, "arith.muli")


def _apart(fold) -> int:
    """Make `fold` read each integer product it adds up through a
    `util.optimization_barrier`; how many. Left to IREE, the product is
    fused into the fold as a new op without its strategy, a matrix-vector
    product again: the 1e7 int32 dot took 32 ms of CPU time that way
    (iree-benchmark-module, this 2-core machine at load 12), and 15 ms
    written out by a dispatch of its own and folded with the strategy."""
    products = [k for k, value in enumerate(fold.inputs)
                if (found := _producer(value)) is not None and _integer_products_added(fold, found[1])]
    for k in products:
        with ir.InsertionPoint(fold), fold.location:
            fold.operands[k] = iree.opaque(fold.inputs[k])[0]
    return len(products)


def _used_once(value) -> bool:
    return len(list(value.uses)) == 1


def _viewed(value, views):
    """`value` through copies of `views` (static shapes), in its own element type."""
    element = ir.RankedTensorType(value.type).element_type
    for op in views:
        shape = ir.RankedTensorType(op.results[0].type).shape
        result = ir.RankedTensorType.get(shape, element)
        if op.name == "tensor.extract_slice":
            attrs = [op.attributes[a] for a in ("static_offsets", "static_sizes", "static_strides")]
            value = tensor.ExtractSliceOp(result, value, [], [], [], *attrs).result
        elif op.name == "tensor.expand_shape":
            value = tensor.ExpandShapeOp(result, value, op.attributes["reassociation"], [], shape).result
        else:
            value = tensor.CollapseShapeOp(result, value, op.attributes["reassociation"]).result
    return value


def _run_body(block, args) -> list:
    """The values a generic's `block` yields on `args`, its ops cloned at the insertion point."""
    mapping = dict(zip(block.arguments, args))
    *ops, terminator = block.operations
    for op in ops:
        mlir.clone_op(op, mapping)
    return [mapping.get(v, v) for v in terminator.operands]


def _not_a_contraction(value):
    """`acc + a * b` with the product as fma(a, b, -0.0), the same number
    (adding -0 changes nothing, not even a zero's sign). IREE takes a fold
    whose body is a product added up for a matrix-vector product
    ("matvec_like") and compiles it as one, into scalar code (11-25 ms for
    the 1e7 sum(a * b) where these tiles take 2); and with `acc + a * b` as
    one fma its vectorizer knows no such reduction (scalar too, 7 ms)."""
    if not mlir.made_by(value, "arith.addf"):
        return value
    for term in value.owner.operation.operands:
        if mlir.made_by(term, "arith.mulf"):
            mul = term.owner.operation
            with ir.InsertionPoint(mul):
                product = math.fma(*mul.operands, mlir.float_constant(term.type, -0.0))
            term.replace_all_uses_with(product)  # the mul, now unused, goes with _fuse's dead ops
    return value


def _splat(value):
    """The scalar attribute of a constant 0-d tensor, else None."""
    if not mlir.made_by(value, "arith.constant"):
        return None
    try:
        dense = ir.DenseElementsAttr(value.owner.operation.attributes["value"])
    except ValueError:  # not a dense attribute (a resource)
        return None
    return dense.get_splat_value() if dense.is_splat else None


def _fuse(fold, k, views, producer):
    """Replace `fold` by one (returned) that reads the producer's inputs (reshaped as
    its result was, through fold's map of input k) in place of input k, and
    runs the producer's body on them first. A constant scalar input becomes
    a constant in the body: IREE would make it one, in a new op without the
    fold's strategy."""
    maps = [map_results(m) for m in fold.indexing_maps]
    constants = {i: c for i, x in enumerate(producer.inputs) if (c := _splat(x)) is not None}
    read = [(i, x) for i, x in enumerate(producer.inputs) if i not in constants]
    with ir.InsertionPoint(fold), fold.location:
        inputs = list(fold.inputs)
        fused = [x if ir.RankedTensorType(x.type).rank == 0 else _viewed(x, views) for _, x in read]
        new_inputs = inputs[:k] + fused + inputs[k + 1:]
        n = len(fused)

        def body(*args):
            values = dict(zip([i for i, _ in read], args[k:k + n]))
            values.update((i, arith.ConstantOp(c.type, c).result) for i, c in constants.items())
            (element,) = _run_body(producer.regions[0].blocks[0], [values[i] for i in range(len(producer.inputs))] + [None])
            return [_not_a_contraction(v) for v in
                    _run_body(fold.regions[0].blocks[0], list(args[:k]) + [element] + list(args[k + n:]))]

        fused_maps = [[] if ir.RankedTensorType(x.type).rank == 0 else maps[k] for x in fused]
        new = mlir.generic(new_inputs, list(fold.outputs), maps[:k] + fused_maps + maps[k + 1:], iterator_names(fold),
                           body)
    *ops, _ = new[0].owner.regions[0].blocks[0].operations
    for op in reversed(ops):
        if not any(list(r.uses) for r in op.results):
            op.erase()
    for old, value in zip(fold.results, new):
        old.replace_all_uses_with(value)
    fold.operation.erase()
    for op in reversed(views):
        op.erase()
    if not list(producer.results[0].uses):  # else it stays for its other readers (a fold's leftover)
        producer.operation.erase()
    return new[0].owner.opview
