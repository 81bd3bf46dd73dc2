"""A pass that merges the 0-d elementwise `linalg.generic`s of a block into
one multi-result generic whose body runs them all in order:

    %a = linalg.generic ins(%x, %c) { mulf }          %a, %b = linalg.generic ins(%x) {
    %t = tensor.empty()                                  ^bb0(%x_: f32, %_: f32, %_: f32):
    %b = linalg.generic ins(%a, %x) { addf }   ->         %a_ = arith.mulf %x_, (arith.constant c)
    return %a, %b                                         %b_ = arith.addf %a_, %x_
                                                          linalg.yield %a_, %b_
                                                        }

Why: a scalar function and its derivative (value_and_grad(ndtri) at 0.3)
are hundreds of 0-d generics. IREE 3.13's dispatch formation cut them into
two dispatches, the first handing 62 tensor<f32> values to the second: 63
bindings, over the HAL's 32 per dispatch, and the program failed when it
ran ("binding count 63 > 32"; Vulkan refused the executable).
`linalg-fuse-elementwise-ops` left the same cut. One generic is one
dispatch, whose bindings are only what the block gives it and takes from it.

What merges: generics with no loops (empty `iterator_types`), every operand
0-d, no attribute beyond linalg's own, and a body that reads no tensor from
outside. The inputs of the merged op are the 0-d tensors the members read
that no member makes; 0-d constants among them become scalar constants of
the body (IREE would clone them into the dispatch anyway). Its results are
the members' results that anything else reads; the rest stay scalars of the
body. Its outputs are new `tensor.empty`s (a member's output read by its
body is an input like any other), so this pass runs before buffer reuse.

Where: the merged op takes the place of the last member, so every value a
member reads still dominates it. That is wrong only for an op between
members that reads a member's result (a `tensor.extract` feeding an
`scf.if`, a broadcast of it): such an op closes the group, which merges
then, and the members after it start the next group. Ops between members
that read no member (a `tensor.empty`, work on other tensors) stay where
they are; a later member may read them, as they still come first.

A group whose merged op would have more than MAX_BINDINGS inputs and
results is cut greedily, in block order, into parts of at most that many,
counting as a part's results all the values it hands to anything else (the
parts that use them included). That is the best this pass can do: IREE may
still put two parts in one dispatch, as it put the members together.
Each block is done apart, nested ones (loop bodies) included, and only one
with more than LEFT_TO_IREE 0-d generics: with fewer, no cut can hand a
dispatch too many, and IREE fuses each into the dispatch of its users,
where a merged group of them would be a dispatch of its own: so the
programs that never met the limit compile as they did.
"""
from iree.compiler import ir
from iree.compiler.dialects import arith, tensor

from irax.ir import mlir
from irax.ir.linalg import iterator_names

# The HAL's bindings per dispatch (iree/hal/command_buffer: 32), less room
# for what IREE adds when it fuses a neighbour into the dispatch.
MAX_BINDINGS = 24
# A block with at most this many 0-d generics is left as it is: no cut of
# them can hand a dispatch too many values, and IREE fuses each into its users.
LEFT_TO_IREE = MAX_BINDINGS
# Attributes of a plain generic: any other is a marker some pass reads.
LINALG_ATTRIBUTES = {"indexing_maps", "iterator_types", "operandSegmentSizes", "operand_segment_sizes"}


def _is_0d(value) -> bool:
    return isinstance(value.type, ir.RankedTensorType) and ir.RankedTensorType(value.type).rank == 0


def _is_scalar_generic(op) -> bool:
    if op.name != "linalg.generic" or iterator_names(op.opview):
        return False
    if {op.attributes[i].name for i in range(len(op.attributes))} - LINALG_ATTRIBUTES:
        return False
    if not all(_is_0d(v) for v in list(op.operands) + list(op.results)):
        return False
    return not any(isinstance(v.type, ir.RankedTensorType) for v in mlir.captured(op))


def _splat(value):
    """The scalar attribute of a 0-d integer or float `arith.constant`, or None."""
    owner = value.owner
    if not isinstance(owner, ir.OpView) or owner.operation.name != "arith.constant":
        return None
    element = ir.RankedTensorType(value.type).element_type
    if not isinstance(element, (ir.FloatType, ir.IntegerType, ir.IndexType)):
        return None  # complex constants: no scalar arith.constant for them
    try:
        return ir.DenseElementsAttr(owner.attributes["value"]).get_splat_value()
    except (ValueError, TypeError):  # a dense_resource: leave it an input
        return None


def _read(op) -> list:
    """The operands a member's body reads (inputs or outputs: its block
    argument is used)."""
    args = op.regions[0].blocks[0].arguments
    return [v for i, v in enumerate(op.operands) if any(True for _ in args[i].uses)]


def _interface(members) -> tuple:
    """(inputs, results) a merged op of `members` would have: the 0-d tensors
    they read that none of them makes (constants aside), and their results
    that anything else reads."""
    ops = set(members)
    made = {r for m in members for r in m.results}
    inputs = []
    for m in members:
        inputs += [v for v in _read(m) if v not in made and v not in inputs and _splat(v) is None]
    results = [r for m in members for r in m.results
               if any(use.owner.operation not in ops for use in r.uses)]
    return inputs, results


def _merge(members):
    """Replace the 0-d generics `members` (in block order) by one generic
    placed where the last of them is."""
    inputs, results = _interface(members)
    last = members[-1]
    with ir.InsertionPoint(last), last.location:
        outputs = [tensor.EmptyOp([], ir.RankedTensorType(r.type).element_type).result for r in results]

        def body(*args):
            scalars = dict(zip(inputs, args))  # a 0-d tensor -> its scalar in the merged body
            for m in members:
                block = m.regions[0].blocks[0]
                mapping = {}
                for i, v in enumerate(m.operands):
                    if v in scalars:
                        mapping[block.arguments[i]] = scalars[v]
                    elif any(True for _ in block.arguments[i].uses):  # a constant: a scalar one
                        scalars[v] = mapping[block.arguments[i]] = arith.ConstantOp(
                            block.arguments[i].type, _splat(v)).result
                ops = list(block.operations)
                for inner in ops[:-1]:
                    mlir.clone_op(inner, mapping)
                scalars.update(zip(m.results, [mapping.get(v, v) for v in ops[-1].operands]))
            return [scalars[r] for r in results]

        merged = mlir.generic(inputs, outputs, [[]] * (len(inputs) + len(outputs)), [], body)
    for old, new in zip(results, merged):
        old.replace_all_uses_with(new)
    for m in reversed(members):  # users first
        m.erase()


class _Part:
    """A part of a group as it grows, and the bindings of its merged op
    (_interface's, kept up to date member by member)."""

    def __init__(self):
        self.members, self.inputs = [], set()
        self.outside = {}  # each member's result -> how many uses by ops not (yet) members
        self.escaping = 0  # results with such uses

    def _step(self, op):
        """(inputs `op` adds, results it makes internal, results it adds)."""
        inputs = {v for v in _read(op) if v not in self.outside and v not in self.inputs and _splat(v) is None}
        operands = list(op.operands)
        internal = [v for v in set(operands) if self.outside.get(v) and self.outside[v] == operands.count(v)]
        return inputs, internal, [r for r in op.results if any(True for _ in r.uses)]

    def bindings_with(self, op) -> int:
        inputs, internal, escaping = self._step(op)
        return len(self.inputs) + len(inputs) + self.escaping - len(internal) + len(escaping)

    def add(self, op):
        inputs, internal, escaping = self._step(op)
        self.members.append(op)
        self.inputs |= inputs
        for v in op.operands:
            if v in self.outside:
                self.outside[v] -= 1
        self.outside.update((r, sum(1 for _ in r.uses)) for r in op.results)
        self.escaping += len(escaping) - len(internal)


def _parts(group) -> list:
    """`group` whole if its merged op binds at most MAX_BINDINGS values, else
    cut in block order into parts that bind at most that many each. (Not cut
    when it fits: the values a scalar function hands its derivative are many
    more than the function's inputs and results.)"""
    if sum(map(len, _interface(group))) <= MAX_BINDINGS:
        return [group]
    parts, part = [], _Part()
    for op in group:
        if part.members and part.bindings_with(op) > MAX_BINDINGS:
            parts.append(part.members)
            part = _Part()
        part.add(op)
    return parts + [part.members]


def _groups(block) -> list:
    """The maximal runs of 0-d generics of `block` that can merge (module docstring)."""
    groups, group, made = [], [], set()
    for op in block.operations:
        op = op.operation
        if _is_scalar_generic(op):
            group.append(op)
            made.update(op.results)
        elif group and any(v in made for v in list(op.operands) + mlir.captured(op)):
            groups.append(group)
            group, made = [], set()
    return groups + [group]


def fuse_scalar_work(module_op):
    blocks = []  # those holding a generic without loops: _groups checks the rest

    def visit(op):
        if op.name != "linalg.generic":
            return ir.WalkResult.ADVANCE
        if not iterator_names(op.opview) and op.block not in blocks:
            blocks.append(op.block)
        return ir.WalkResult.SKIP  # a generic's body holds no tensor work

    module_op.walk(visit, ir.WalkOrder.PRE_ORDER)
    for block in blocks:
        groups = _groups(block)
        if sum(map(len, groups)) <= LEFT_TO_IREE:
            continue
        for group in groups:
            for part in _parts(group):
                if len(part) > 1:
                    _merge(part)
