"""A pass that turns a loop whose work is elementwise into one `linalg.generic`
whose body runs the loop on scalars:

    %r = scf.for %i = lo to hi step s            %r = linalg.generic ins(%x0, %a) outs(%empty) {
           iter_args(%x = %x0) -> tensor<4xf32> {  ^bb0(%x0_: f32, %a_: f32, %_: f32):
      %y = linalg.generic (%x, %a) { mulf }  ->     %y_ = scf.for %i = lo to hi step s iter_args(%x_ = %x0_) {
      scf.yield %y                                    scf.yield (arith.mulf %x_, %a_)
    }                                               }
                                                    linalg.yield %y_
                                                  }

(`scf.while` alike.) The same values: when every op of the body maps element
e of its operands to element e of its results (elementwise generics over
the carries' shape S, broadcasts of 0-d values, 0-d scalars), step k of
element e reads only step k - 1 of element e, so the loop over steps and the
loop over elements commute, and each element runs its own loop.

Why: IREE runs an `scf.for` over tensors on the host, one VM iteration per
step, and each queues its work as a unit (two `queue.alloca`s, a
`queue.execute.indirect`, a `queue.dealloca`: ~3 us inline, ~15 us on the
thread pool; `irax ir ... --stage vm` shows them). Inside a dispatch the loop
is native code: `fori_loop(0, 10_000, lambda i, x: x * 0.999 + 0.001, x)`
took 29.6 ms before and ~0.04 ms, the call included, after
(benchmarks/bench_loops.py). The elements are the generic's parallel loop;
the body is not vectorized (a generic with a loop inside stays scalar code,
each element's steps one dependent chain), so the gain shrinks as S grows:
1000 steps of tanh(x * a + b) took 0.04 ms fused against 0.37 ms a step a
dispatch (8 steps a rolled iteration) for 1 element, 0.31 against 0.38 ms
for 16, 2.2 against 0.6 ms for 128 (x * a + b alone: 0.05 against 0.35 ms
for 16 elements, 3.7 against 0.4 ms for 1024). Hence MAX_ELEMENTS.

Eligible: every carry has one static shape S of at most MAX_ELEMENTS
elements; the tensors the loop reads from outside have shape S or are 0-d;
every op of its regions is an all-parallel `linalg.generic` whose operands
are read whole (identity maps) or broadcast from 0-d, a splat tensor
constant, `tensor.empty`, a 0-d `tensor.extract` / `tensor.from_elements`,
or an op on no tensors at all.
Anything else (a matmul, a row of a stacked tensor, a callback) leaves the
loop as it is. Loops inside loops are rewritten first, so a nest of such
loops becomes one generic. The autodiff passes run before this one and see
the plain `scf` loops.
"""
import math

from iree.compiler import ir
from iree.compiler.dialects import arith, linalg, scf, tensor

from irax.ir import mlir
from irax.ir.linalg import iterator_names, map_results

LOOPS = ("scf.for", "scf.while")
MAX_ELEMENTS = 16


class _NotElementwise(Exception):
    """A loop's body holds an op this pass cannot run on scalars."""


def _shape(value):
    """The static shape of a tensor Value, or None for any other Value."""
    return tuple(ir.RankedTensorType(value.type).shape) if isinstance(value.type, ir.RankedTensorType) else None


def _is_tensor(value) -> bool:
    return isinstance(value.type, ir.RankedTensorType)


class _Scalarizer:
    """Copies a loop's ops as scalar ops: `scalars` maps each tensor Value of
    the loop (shape S or 0-d) to the scalar Value of the current element;
    other Values map to their copies (or themselves, when from outside)."""

    def __init__(self, shape, indices):
        self.shape, self.indices, self.scalars = shape, indices, {}

    def get(self, value):
        if value in self.scalars:
            return self.scalars[value]
        if _is_tensor(value):
            raise _NotElementwise(value)  # a tensor.empty read as data, or a value of another shape
        return value

    def copy_block(self, block, arguments):
        """Bind `block`'s arguments to `arguments`, copy its ops up to its
        terminator, and return the Values that terminator passes on."""
        self.scalars.update(zip(block.arguments, arguments))
        ops = list(block.operations)
        for op in ops[:-1]:
            RULES.get(op.operation.name, _scalar_op)(self, op)
        return [self.get(v) for v in ops[-1].operands]

    def copy_generic(self, op):
        maps = [map_results(m) for m in op.attributes["indexing_maps"]]
        rank = len(iterator_names(op))
        if set(iterator_names(op)) - {mlir.PARALLEL} or rank not in (0, len(self.shape)):
            raise _NotElementwise(op)
        for value, read in zip(op.operands, maps):
            if not (read == [] and _shape(value) == ()) and not (read == list(range(rank)) and
                                                                 _shape(value) == self.shape):
                raise _NotElementwise(op)
        body = op.regions[0].blocks[0]
        n_in = len(op.operands) - len(op.results)
        used = [i for i, arg in enumerate(body.arguments) if i < n_in or any(True for _ in arg.uses)]
        self.scalars.update((body.arguments[i], self.get(op.operands[i])) for i in used)
        ops = list(body.operations)
        for inner in ops[:-1]:
            if inner.operation.name == "linalg.index":  # the enclosing generic's loops are the same ones
                self.scalars[inner.result] = self.indices[ir.IntegerAttr(inner.attributes["dim"]).value]
            else:
                _scalar_op(self, inner)
        self.scalars.update(zip(op.results, [self.get(v) for v in ops[-1].operands]))

    def copy_constant(self, op):
        if not _is_tensor(op.result):
            return _scalar_op(self, op)
        attr = ir.DenseElementsAttr(op.attributes["value"])
        if not attr.is_splat or _shape(op.result) not in ((), self.shape):
            raise _NotElementwise(op)
        splat = attr.get_splat_value()
        self.scalars[op.result] = arith.ConstantOp(splat.type, splat).result

    def copy_extract(self, op):
        if len(op.operands) != 1:
            raise _NotElementwise(op)
        self.scalars[op.result] = self.get(op.operands[0])

    def copy_from_elements(self, op):
        if _shape(op.result) != ():
            raise _NotElementwise(op)
        self.scalars[op.result] = self.get(op.operands[0])


def _no_tensors(op) -> bool:
    """Whether `op` and the ops in its regions touch no tensor (nor read a
    generic's loop index, which only a generic's own body may)."""
    found = []

    def visit(inner):
        if inner.name == "linalg.index" or any(_is_tensor(v) for v in list(inner.operands) + list(inner.results)):
            found.append(inner)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    op.operation.walk(visit)
    return not found


def _scalar_op(scalarizer, op):
    """An op on scalars (with scalar regions, if any): copied as it is."""
    if not _no_tensors(op) or op.operation.name == "func.call":
        raise _NotElementwise(op)
    mlir.clone_op(op, scalarizer.scalars)


RULES = {
    "linalg.generic": _Scalarizer.copy_generic,
    "arith.constant": _Scalarizer.copy_constant,
    "tensor.empty": lambda self, op: None,  # a destination only: reading it as data is refused in `get`
    "tensor.extract": _Scalarizer.copy_extract,
    "tensor.from_elements": _Scalarizer.copy_from_elements,
}


def _element_type(value):
    return ir.RankedTensorType(value.type).element_type


def _copy_for(s, loop, inits):
    body = loop.regions[0].blocks[0]
    new = scf.ForOp(loop.operands[0], loop.operands[1], loop.operands[2], inits)
    with ir.InsertionPoint(new.body):
        scf.YieldOp(s.copy_block(body, [new.induction_variable] + list(new.inner_iter_args)))
    return list(new.results)


def _copy_while(s, loop, inits):
    """(A while loop's results, which its test passes on, may be fewer than its
    carries: canonicalization drops the unused ones.)"""
    passed_types = [_element_type(r) if _is_tensor(r) else r.type for r in loop.results]
    new = scf.WhileOp(passed_types, inits)
    before, after = (region.blocks[0] for region in loop.regions)
    block = new.before.blocks.append(*[v.type for v in inits])
    with ir.InsertionPoint(block):
        test, *passed = s.copy_block(before, list(block.arguments))
        scf.ConditionOp(test, passed)
    block = new.after.blocks.append(*passed_types)
    with ir.InsertionPoint(block):
        scf.YieldOp(s.copy_block(after, list(block.arguments)))
    return list(new.results)


COPY_LOOP = {"scf.for": _copy_for, "scf.while": _copy_while}


def _loop_shape(loop):
    """The shape S all of `loop`'s carries have, or None (also when S is
    dynamic or has more than MAX_ELEMENTS elements)."""
    shapes = {_shape(r) for r in loop.results}
    if len(shapes) != 1 or None in shapes:
        return None
    shape = next(iter(shapes))
    return shape if all(d >= 0 for d in shape) and math.prod(shape) <= MAX_ELEMENTS else None


def fuse_loop(loop) -> bool:
    """Rewrite one loop as a generic (module docstring); False, and the loop
    left alone, if it is not elementwise."""
    shape = _loop_shape(loop)
    if shape is None:
        return False
    inits = list(loop.operands[3:] if loop.name == "scf.for" else loop.operands)
    outside = [v for v in mlir.captured(loop) if _is_tensor(v)]
    if any(_shape(v) not in ((), shape) for v in outside):
        return False
    inputs = inits + outside
    rank = len(shape)
    with ir.InsertionPoint(loop), loop.location:
        outputs = [tensor.EmptyOp(list(shape), _element_type(r)).result for r in loop.results]
        maps = [list(range(rank)) if _shape(v) == shape else [] for v in inputs] + [list(range(rank))] * len(outputs)
        op = linalg.GenericOp(
            [r.type for r in loop.results], inputs, outputs,
            ir.ArrayAttr.get([mlir.affine_map(rank, m) for m in maps]),
            ir.ArrayAttr.get([ir.Attribute.parse(f"#linalg.iterator_type<{mlir.PARALLEL}>")] * rank))
        block = op.regions[0].blocks.append(*[_element_type(v) for v in inputs + outputs])
        try:
            with ir.InsertionPoint(block):
                s = _Scalarizer(shape, [linalg.IndexOp(d).result for d in range(rank)])
                s.scalars.update(zip(outside, block.arguments[len(inits):len(inputs)]))
                linalg.YieldOp(COPY_LOOP[loop.name](s, loop, list(block.arguments[:len(inits)])))
        except _NotElementwise:
            op.erase()
            for v in outputs:
                v.owner.erase()
            return False
    for old, new in zip(loop.results, op.results):
        old.replace_all_uses_with(new)
    loop.erase()
    return True


def fuse_elementwise_loops(module_op):
    loops = []
    module_op.walk(lambda op: (loops.append(op) if op.name in LOOPS else None) or ir.WalkResult.ADVANCE,
                   ir.WalkOrder.POST_ORDER)
    for loop in loops:  # inner loops first: an outer loop then sees a generic
        fuse_loop(loop)
