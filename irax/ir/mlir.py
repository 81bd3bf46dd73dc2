"""Small helpers every emitter uses to write MLIR through the Python bindings.

An emitter works on `ir.Value`s of ranked tensor type. Some dimensions may be
dynamic (`?`): eager kernels are compiled once per rank and broadcast pattern,
so a dimension's size is either a Python int (known when the kernel is built)
or an `index` Value read at run time with `tensor.dim`. `dims(x)` gives that
mixed list and `empty(dims, dtype)` accepts it back, so emitters never care
which kind a dimension is.
"""
import threading

import numpy as np
from iree.compiler import ir
from iree.compiler.dialects import arith, linalg, tensor
from iree.compiler.dialects import complex as complex_dialect

from irax.ir import types

_local = threading.local()


def context() -> ir.Context:
    """One MLIR context per thread, shared by every module irax builds."""
    ctx = getattr(_local, "context", None)
    if ctx is None:
        ctx = _local.context = ir.Context()
    return ctx


DYNAMIC = ir.ShapedType.get_dynamic_size

_FLOAT_TYPES = {"f16": ir.F16Type.get, "bf16": ir.BF16Type.get, "f32": ir.F32Type.get, "f64": ir.F64Type.get}


def element_type(dtype) -> ir.Type:
    dtype = np.dtype(dtype)
    if types.is_complex(dtype):
        return ir.ComplexType.get(element_type(types.real_dtype(dtype)))
    name = types.to_mlir_name(dtype)
    if name in _FLOAT_TYPES:
        return _FLOAT_TYPES[name]()
    return ir.IntegerType.get_signless(int(name[1:]))


def aval_parts(typ: ir.RankedTensorType):
    """(shape, numpy dtype) of a tensor type; integers read as signed (MLIR
    integers carry no sign)."""
    elem = typ.element_type
    if isinstance(elem, ir.ComplexType):
        parts = aval_parts(ir.RankedTensorType.get([], ir.ComplexType(elem).element_type))[1]
        return [None if d == DYNAMIC() else d for d in typ.shape], types.complex_dtype(parts)
    for name, make in _FLOAT_TYPES.items():
        if elem == make():
            dtype = types.SHORT_NAMES[name]
            break
    else:
        width = ir.IntegerType(elem).width
        dtype = types.bool_ if width == 1 else np.dtype(f"int{width}")
    return [None if d == DYNAMIC() else d for d in typ.shape], dtype


def tensor_type(shape, dtype) -> ir.RankedTensorType:
    """`shape` entries are ints, or None for a dynamic dimension."""
    return ir.RankedTensorType.get([DYNAMIC() if d is None else d for d in shape], element_type(dtype))


def index(i: int) -> ir.Value:
    return arith.ConstantOp(ir.IndexType.get(), i).result


def dims(x: ir.Value) -> list:
    """Each dimension of `x` as an int when static, else as an index Value."""
    shape = ir.RankedTensorType(x.type).shape
    return [d if d != DYNAMIC() else tensor.DimOp(x, index(i)).result for i, d in enumerate(shape)]


def empty(sizes, dtype) -> ir.Value:
    return tensor.EmptyOp(list(sizes), element_type(dtype)).result


def scalar_constant(value, dtype) -> ir.Value:
    """An `arith.constant` scalar of `dtype` holding `value`."""
    dtype = np.dtype(dtype)
    typ = element_type(dtype)
    if types.is_float(dtype) and not types.is_bit_float(dtype):  # those are i8 bit patterns, below
        return arith.ConstantOp(typ, ir.FloatAttr.get(typ, float(value))).result
    if types.is_complex(dtype):
        return complex_constant(typ, value)
    # MLIR integers are signless: store the two's-complement bit pattern.
    bits = ir.IntegerType(typ).width
    as_int = int(bool(value)) if bits == 1 else int(np.array(value).astype(dtype).view(f"i{dtype.itemsize}"))
    if bits == 1:
        as_int = -as_int  # i1 true is -1 in a signed attribute
    return arith.ConstantOp(typ, ir.IntegerAttr.get(typ, as_int)).result


def float_constant(typ: ir.Type, value) -> ir.Value:
    """An `arith.constant` of float type `typ` (an MLIR type, as read off a Value)."""
    return arith.ConstantOp(typ, ir.FloatAttr.get(typ, float(value))).result


def complex_constant(typ: ir.Type, value) -> ir.Value:
    """A `complex.constant` of complex type `typ` (an MLIR type, as read off a Value)."""
    part, value = ir.ComplexType(typ).element_type, complex(value)
    return complex_dialect.ConstantOp(typ, ir.ArrayAttr.get(
        [ir.FloatAttr.get(part, value.real), ir.FloatAttr.get(part, value.imag)])).result


def dense_constant(array: np.ndarray) -> ir.Value:
    """An `arith.constant dense<...>` tensor holding a NumPy array. A complex
    array is two float constants, its parts, joined by a generic: the Python
    bindings cannot read a complex dense attribute back, and passes read
    every op's attributes."""
    if types.is_complex(array.dtype):
        loops = list(range(array.ndim))
        join = lambda re, im, _: [complex_dialect.create_(element_type(array.dtype), re, im)]  # noqa: E731
        return generic([dense_constant(array.real), dense_constant(array.imag)], [empty(array.shape, array.dtype)],
                       [loops] * 3, [PARALLEL] * array.ndim, join)[0]
    typ = tensor_type(array.shape, array.dtype)
    if array.dtype == types.bfloat16:
        attr = ir.DenseElementsAttr.get(array.view(np.uint16), type=typ)
    elif types.is_bit_float(array.dtype):
        attr = ir.DenseElementsAttr.get(np.ascontiguousarray(array).view(np.int8), type=typ)
    else:
        attr = ir.DenseElementsAttr.get(np.ascontiguousarray(array), type=typ)
    return arith.ConstantOp(typ, attr).result


def reassociation(groups) -> ir.ArrayAttr:
    """The attribute of tensor.collapse_shape/expand_shape: [[0, 1], [2]] merges dims 0 and 1."""
    i64 = ir.IntegerType.get_signless(64)
    return ir.ArrayAttr.get([ir.ArrayAttr.get([ir.IntegerAttr.get(i64, i) for i in g]) for g in groups])


def affine_map(n_dims: int, results) -> ir.AffineMapAttr:
    """`affine_map<(d0, ..., d{n-1}) -> (d{results[0]}, ...)>`."""
    exprs = [ir.AffineDimExpr.get(r) for r in results]
    return ir.AffineMapAttr.get(ir.AffineMap.get(n_dims, 0, exprs))


PARALLEL = "parallel"
REDUCTION = "reduction"


def generic(inputs, outputs, maps, iterators, body):
    """Build a `linalg.generic` and return its result Values.

    `maps` are lists of loop-dimension numbers (one list per input, then one
    per output); `body(*scalars)` receives the block arguments (one scalar per
    input, then the current output values) and returns the values to yield.
    """
    n_loops = len(iterators)
    op = linalg.GenericOp(
        [o.type for o in outputs],
        inputs,
        outputs,
        ir.ArrayAttr.get([affine_map(n_loops, m) for m in maps]),
        ir.ArrayAttr.get([ir.Attribute.parse(f"#linalg.iterator_type<{it}>") for it in iterators]),
    )
    block_types = [ir.RankedTensorType(v.type).element_type for v in list(inputs) + list(outputs)]
    block = op.regions[0].blocks.append(*block_types)
    with ir.InsertionPoint(block):
        linalg.YieldOp(list(body(*block.arguments)))
    return list(op.results)


STOP_GRADIENT = "irax.stop_gradient"  # attribute on an identity generic: a constant to autodiff
# Its value where only reverse mode takes the identity for a constant: forward
# mode passes tangents through (see stop_gradient).
REVERSE_ONLY = "reverse"


def stop_gradient(x: ir.Value, reverse_only: bool = False) -> ir.Value:
    """`x` through an identity generic that the autodiff passes take for a
    constant (lax.stop_gradient); canonicalization erases it afterwards.
    `reverse_only`: a constant to reverse mode, an identity to forward mode,
    as XLA's promise_in_bounds gather differentiates in JAX: its JVP reads
    the clamped element's tangent, its transpose drops an index out of bounds."""
    rank = ir.RankedTensorType(x.type).rank
    like_x = tensor.EmptyOp(dims(x), ir.RankedTensorType(x.type).element_type).result
    (out,) = generic([x], [like_x], [list(range(rank))] * 2,
                     [PARALLEL] * rank, lambda value, _: [value])
    out.owner.attributes[STOP_GRADIENT] = ir.StringAttr.get(REVERSE_ONLY) if reverse_only else ir.UnitAttr.get()
    return out


def fill(value: ir.Value, sizes, dtype) -> ir.Value:
    """A tensor of `sizes` filled with the scalar `value`."""
    return fill_tensor(value, empty(sizes, dtype))


def fill_tensor(value: ir.Value, init: ir.Value) -> ir.Value:
    """`mlir.fill_tensor(value, init)`, built as the op itself: opdsl's
    `linalg.fill` derives the op from its Python definition at every call
    (~0.1 ms; 4% of the scan RNN gradient's first call)."""
    op = linalg.FillOp([init.type], [value], [init])
    linalg.fill_builtin_region(op.operation)
    return op.result


def clone_op(op, mapping: dict):
    """Clone `op` at the insertion point, replacing every operand found in
    `mapping` (including values its regions capture from outside), and record
    old result -> new result in `mapping`. Returns the clone."""
    new = op.operation.clone()

    def remap(inner):
        for i, v in enumerate(inner.operands):
            if v in mapping:
                inner.operands[i] = mapping[v]
        return ir.WalkResult.ADVANCE

    new.walk(remap)
    mapping.update(zip(op.operation.results, new.results))
    return new


def ops_where(root, predicate) -> list:
    """The ops nested in `root` (an Operation, itself included) for which
    `predicate(op)` holds, in walk order: collected first, so the caller may
    rewrite them."""
    found = []
    root.walk(lambda op: (found.append(op) if predicate(op) else None) or ir.WalkResult.ADVANCE)
    return found


def replace_ops(mlir_text: str, name: str, predicate, replacement) -> str:
    """`mlir_text` with each `name` op where `predicate(op)` holds replaced
    by `replacement(op)`, a value built at the op; the text as it is,
    unparsed, where no such op is named (a prepare step's common case)."""
    if name not in mlir_text:
        return mlir_text
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(mlir_text)
        for op in ops_where(module.operation, lambda op: op.name == name and predicate(op)):
            with ir.InsertionPoint(op):
                value = replacement(op)
            op.result.replace_all_uses_with(value)
            op.erase()
        return str(module)


def nested_in(op, ancestor) -> bool:
    """Whether the operation `op` is `ancestor` or inside its regions (at any depth)."""
    op, ancestor = op.operation, ancestor.operation
    while op is not None:
        if op == ancestor:
            return True
        op = op.parent and op.parent.operation
    return False


def made_by(value: ir.Value, name: str) -> bool:
    """Whether `value` is the result of an op named `name` (not a block argument)."""
    return isinstance(value, ir.OpResult) and value.owner.operation.name == name


def enclosing_module(op):
    """The `builtin.module` operation `op` is in."""
    module = op.operation.parent
    while module.name != "builtin.module":
        module = module.parent
    return module


def find_function(module, name: str):
    """The top-level op of `module` named @name, or None (a SymbolTable is
    built once and does not see functions added since)."""
    return next((o for o in module.regions[0].blocks[0].operations
                 if "sym_name" in o.attributes and ir.StringAttr(o.attributes["sym_name"]).value == name), None)


def inline_function(func_op, operands) -> list:
    """Clone the body of a single-block `func_op` at the insertion point with
    its arguments bound to `operands`; return the values it would return."""
    return inline_block(func_op.regions[0].blocks[0], operands)


def inline_block(block, operands) -> list:
    """Clone the ops of `block` but its terminator at the insertion point, its
    arguments bound to `operands`; return the values the terminator yields."""
    mapping = dict(zip(block.arguments, operands))
    ops = list(block.operations)
    for op in ops[:-1]:
        clone_op(op, mapping)
    return [mapping.get(v, v) for v in ops[-1].operands]


def row(x: ir.Value, k: ir.Value) -> ir.Value:
    """`x[k]` for an `index` Value k: a rank-reducing tensor.extract_slice."""
    typ = ir.RankedTensorType(x.type)
    shape = list(typ.shape)
    result = ir.RankedTensorType.get(shape[1:], typ.element_type)
    offsets, sizes, strides = _row_attrs(shape)
    return tensor.ExtractSliceOp(result, x, [k], [], [], offsets, sizes, strides).result


def set_row(stack: ir.Value, x: ir.Value, k: ir.Value) -> ir.Value:
    """`stack` with `stack[k] = x` (k an `index` Value): a tensor.insert_slice."""
    offsets, sizes, strides = _row_attrs(ir.RankedTensorType(stack.type).shape)
    return tensor.InsertSliceOp(x, stack, [k], [], [], offsets, sizes, strides).result


def _row_attrs(shape):
    """static offsets, sizes and strides of row k (dynamic) of a tensor of `shape`."""
    rest = list(shape[1:])
    return (ir.DenseI64ArrayAttr.get([DYNAMIC()] + [0] * len(rest)), ir.DenseI64ArrayAttr.get([1] + rest),
            ir.DenseI64ArrayAttr.get([1] * len(shape)))


def captured(op) -> list:
    """The values `op`'s regions use but do not define, in first-use order."""
    defined, used = set(), []

    def visit(inner):
        defined.update(inner.results)
        for region in inner.regions:
            for block in region.blocks:
                defined.update(block.arguments)
        used.extend(inner.operands)
        return ir.WalkResult.ADVANCE

    for region in op.operation.regions:
        for block in region.blocks:
            defined.update(block.arguments)
            for inner in block.operations:
                inner.operation.walk(visit)
    seen = set()
    return [v for v in used if v not in defined and not (v in seen or seen.add(v))]


def argument_dependencies(func_op) -> list[frozenset]:
    """For each value the single-block `func_op` returns, the positions of
    the arguments it is computed from, through any op (and the values an
    op's regions capture). A result can share an argument's buffer only if
    it is one of these (executable.py's views); any op may be one: IREE
    folds `x * 1.0`, `where(True, x, y)` or a reshape of x to x itself."""
    block = func_op.regions[0].blocks[0]
    ops = list(block.operations)
    return _dependencies(block, ops[:-1], ops[-1].operands)


def differentiable_dependencies(block, values, sources) -> list[bool]:
    """For each of `values` (of `block`, a function's being built), whether
    a derivative flows to it from one of the block arguments `sources`:
    whether it is computed from one, except through lax.stop_gradient."""
    positions = {arg: i for i, arg in enumerate(block.arguments)}
    wanted = {positions[s] for s in sources}
    ops = [op for op in block.operations if STOP_GRADIENT not in op.attributes]
    return [bool(deps & wanted) for deps in _dependencies(block, ops, values)]


def _dependencies(block, ops, values) -> list[frozenset]:
    """The positions of the arguments of `block` each of `values` is computed
    from through `ops` (a value of another op depends on none)."""
    deps = {arg: frozenset([i]) for i, arg in enumerate(block.arguments)}
    none = frozenset()
    for op in ops:
        used = list(op.operands) + (captured(op) if len(op.regions) else [])
        found = none.union(*(deps.get(v, none) for v in used))
        deps.update((r, found) for r in op.results)
    return [deps.get(v, none) for v in values]
