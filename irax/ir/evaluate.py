"""Evaluating an MLIR function with NumPy, op by op: tiered jit's first tier.

    run = evaluate.prepare(module)        # Unsupported if an op is not known here
    outputs = run([np.ndarray, ...])      # @main's results as NumPy arrays
    outputs = run(arrays, give_up)        # Abandoned once give_up() is true (asked every CHECK_EVERY loop
                                          # steps, and after each body step of a generic of CHECK_SPACE elements)

`prepare` reads `@main` once into a plan: one Python closure per op, values
in numbered slots of a list, so a loop body is read once and run many
times. This module reads MLIR into plans; what the plans' steps are made
of as they run (NumPy only) is evaluate_steps.py. The ops are those irax's
tracer and pass pipeline leave (linalg, tensor, arith, math, scf, func),
each by its MLIR meaning:

  linalg.generic   the operands are viewed over the iteration space (each
                   indexing map a projected permutation: axes transposed,
                   missing loop dims added as broadcast axes) and the scalar
                   body runs once on those whole arrays (NumPy broadcasting).
                   A reduction's body must be `out = combine(out, e)`, with
                   `combine` one of COMBINE's ops: e is computed over the
                   iteration space and combine.reduce folds the reduction
                   axes into the initial value. `out += a * b` of two inputs
                   (a contraction: matmuls, einsums) is np.einsum instead,
                   which does not materialise the iteration space.
  named linalg ops matmul as `out + a @ b`, fill, transpose, copy, ...
  scf.for / while / if   Python loops and branches over the region plans;
                   a loop body's ops that read nothing the body makes (a
                   gradient loop's transposes of its weights) run once,
                   before its first step (_Function.loop_step).

Integers are signless in MLIR: they are held as signed NumPy integers, and
an unsigned op (divui, shrui, cmpi ult, uitofp ...) views them unsigned.
What each scalar op means in NumPy is the tables of numpy_ops.py.
Floats are computed in their own precision by NumPy, so a result may differ
from IREE's in the last bits (another summation order, other polynomial
approximations of exp or tanh), as two compilers' may; but `a * b + c` of
float32 is fused where LLVM fuses it for IREE (_Function.exact_product), so that JAX's
random numbers come out bit for bit. Subnormal float32 and float64
numbers are read and written as IREE's CPU programs (and XLA's) do, with
the processor's flush-to-zero modes on: an arithmetic op or compare reads
one as ±0 and writes one as ±0; a move, abs, negation or `x * 1` (folded
away by the compilers) keeps it (numpy_ops.flush, _Function.flushing).
A value known to hold none is not tested again, nor the result of an op
that makes none of operands holding none (tanh, x + 1.0), and a loop reads
the values it does not change from copies flushed once (flushed_copy).
A linalg.generic's body runs on whole arrays, so an scf.if there runs both
branches and selects per element; an scf.while there is Unsupported. An
op, type or attribute outside these rules raises Unsupported at
`prepare`, never a wrong value later.
"""
import functools

import numpy as np
from iree.compiler import ir

from irax.ir.evaluate_steps import (CHECK_EVERY, LETTERS, Abandoned, Carry, Generic, SteppedReduction, TooBig, apply,
                                    apply_env, clipped, for_loop, if_branches, product_of, slicer, while_loop,
                                    with_flushes)
from irax.ir.numpy_ops import (COMBINE, CONTRACTED, CONVERSIONS, ELEMENTWISE, FLOAT_PREDICATES, FLUSHED,
                               INT_PREDICATES, NORMAL_WITH_CONSTANT, READ_AS_THEY_ARE, exact_product,
                               flush, rounded_once)

__all__ = ["prepare", "dtype_of", "Unsupported", "Abandoned", "TooBig", "CHECK_EVERY"]

DYNAMIC = -2 ** 63  # MLIR's ShapedType::kDynamic in static offsets, sizes and strides


class Unsupported(NotImplementedError):
    """The function holds something the evaluator does not know."""


DTYPES = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "i1": np.bool_, "i8": np.int8,
          "i16": np.int16, "i32": np.int32, "i64": np.int64, "index": np.int64}
# The float types by their Python classes, read without MLIR's printer (str(type) takes ~5 us, a plan many).
FLOAT_CLASSES = {ir.F16Type: "f16", ir.F32Type: "f32", ir.F64Type: "f64"}


# Facts read from an MLIR type or attribute are cached by it (dtype_of, _reduced, _indexing_maps,
# _static): MLIR uniques both in its context, equal ones being one object there, which the Python
# objects hash and compare by address; so the cache is cheap and exact, and a plan's ops share a
# few (7 indexing maps and 4 iterator types for the 106 generics of an RNN's gradient) where each
# read through the bindings takes microseconds. (The cached ones keep irax's context alive.)
@functools.lru_cache(maxsize=1024)
def dtype_of(typ) -> np.dtype:
    """The NumPy dtype of an MLIR element (or tensor's element) type."""
    if isinstance(typ, ir.ShapedType):
        typ = typ.element_type
    name = FLOAT_CLASSES.get(type(typ)) or (f"i{typ.width}" if isinstance(typ, ir.IntegerType) and typ.is_signless
                                            else str(typ))
    if name not in DTYPES:
        raise Unsupported(f"element type {typ}")
    return np.dtype(DTYPES[name])


IDENTITY_OPS = ("tensor.cast", "util.optimization_barrier", "linalg.copy", "flow.tensor.tie_shape")
# name -> (c, the operands that may be c) where `op(x, c)` folds to x (_folded_away).
IDENTITY_OPERANDS = {"arith.mulf": (1.0, (0, 1)), "arith.divf": (1.0, (1,)), "arith.addf": (-0.0, (0, 1)),
                     "arith.subf": (0.0, (1,))}
# Ops whose float results may hold subnormals whatever their operands (see _Function.flushing).
UNFLUSHED_RESULTS = ("arith.bitcast", "flow.tensor.bitcast", "func.call",
                     "scf.for", "scf.while", "scf.if", "linalg.generic", "arith.constant")


def prepare(module):
    """`@main` of `module` as a function of a list of NumPy arrays (its
    arguments) returning the list of its results."""
    functions = {op.attributes["sym_name"].value: op for op in module.body.operations
                 if op.operation.name == "func.func"}
    if "main" not in functions:
        raise Unsupported("no @main")
    return _Function(functions["main"], functions, {}).run


class _Op:
    """An op's name, operands and results, read once: each read through
    MLIR's Python bindings makes new objects (~0.1-1 us), and reading a plan
    asks for them many times (an RNN's gradient loop has ~1000 ops)."""
    __slots__ = ("operation", "name", "operands", "results")

    def __init__(self, op):
        self.operation = op.operation
        self.name = self.operation.name
        self.operands, self.results = list(self.operation.operands), list(self.operation.results)

    @property
    def attributes(self):
        return self.operation.attributes

    @property
    def regions(self):
        return self.operation.regions


class _LoopBody:
    """What reading a loop's body knows of its values, by slot: those
    numbered before it began (`start`) are of values made outside the loop,
    and so are those `invariant`, the results of the steps `hoisted` (steps
    that read none of the body's values); `variant` holds the body's block
    arguments and the results of the steps that read one. The hoisted steps
    run once, before the loop's first step, with the flushed copies of
    invariant values (`copies`: slot -> its flushed copy's slot)."""

    def __init__(self, start):
        self.start, self.variant, self.invariant = start, set(), set()
        self.hoisted, self.copies = [], {}
        self.yielded = None  # the values the body's terminator passes on


class _Function:
    """A func.func as a plan: steps (closures on the slot list), reading
    its arguments from the first slots and returning its terminator's."""

    def __init__(self, func_op, functions, prepared):
        self.functions, self.prepared = functions, prepared
        prepared[func_op.attributes["sym_name"].value] = self
        self.slots = {}
        self.owned = {}  # a loop-carried tensor's values that updates may write into: value -> its Carry
        self.sliced = {}  # value -> how many extract_slice ops (copies) read it so far
        self.exact = set()  # float products held exact for the add they feed (exact_product)
        self.flushed = set()  # float values known to hold no subnormal (flushing)
        self.floats = {}  # value -> whether it is a float the CPU flushes (flushable)
        self.in_body = 0  # how deep in linalg.generic bodies the op being read is
        self.splats = {}  # value -> c, for float constants all c (scalars, splats, a body's elements of them)
        self.loop = None  # the _LoopBody of the innermost loop being read
        self.reads = None  # in a loop's body, the slots the op being read and the ops in its regions use (slot)
        block = func_op.regions[0].blocks[0]
        self.arguments = [self.slot(a) for a in block.arguments]
        self.steps, self.results = self.block(block)

    def slot(self, value) -> int:
        slot = self.slots.setdefault(value, len(self.slots))
        if self.reads is not None:
            self.reads.add(slot)
        return slot

    def flushable(self, value) -> bool:
        """_flushable(value), read once per value (reading a value's type
        makes a new MLIR object; an op's operands are asked several times)."""
        known = self.floats.get(value)
        if known is None:
            known = self.floats[value] = _flushable(value)
        return known

    def own(self, value, source):
        """`value` is `source` updated (or passed on): it is its carry's too
        if `source` was, and this is the only use of `source` but for the
        slices copied out of it before (a gradient loop reads a row, then
        zeroes it)."""
        carry = self.owned.get(source)
        if carry is not None and len(list(source.uses)) == 1 + self.sliced.get(source, 0):
            self.owned[value] = carry
        return self.owned.get(value)

    def run(self, arrays, give_up=lambda: False):
        env = [None] * len(self.slots) + [give_up]  # (the loops read give_up at the end)
        for i, x in zip(self.arguments, arrays):
            env[i] = x
        with np.errstate(all="ignore"):  # IREE's arithmetic wraps and overflows silently too
            for step in self.steps:
                step(env)
        return [env[i] for i in self.results]

    def block(self, block, loop=None):
        """(steps, slots of the terminator's operands) of a block, its
        arguments given slots. With `loop`, the block is that loop's body:
        its steps that read nothing the body makes go to `loop.hoisted`."""
        arguments = {self.slot(a) for a in block.arguments}
        ops = [_Op(op) for op in block.operations]
        if loop is None:
            steps = [self.op(op) for op in ops[:-1]]
        else:
            outer, self.loop = self.loop, loop
            loop.variant |= arguments
            steps = [step for step in map(self.loop_step, ops[:-1]) if step is not None]
            self.loop = outer
            loop.yielded = ops[-1].operands
        return steps, [self.slot(v) for v in ops[-1].operands]

    def loop_step(self, op):
        """The step of an op of a loop's body, or None where it reads only
        values made outside the loop (or by hoisted steps): then it is
        hoisted, run once before the loop's first step (the transposes of a
        weight matrix in a gradient loop)."""
        outer, self.reads, first = self.reads, set(), len(self.slots)
        step = self.op(op)
        reads, self.reads = self.reads, outer
        if outer is not None:
            outer |= reads
        results = range(first, first + len(op.results))  # (op gives them the next slots: its operands have theirs)
        if self.loop.variant.isdisjoint(reads):
            self.loop.hoisted.append(step)
            self.loop.invariant.update(results)
            return None
        self.loop.variant.update(results)
        return step

    def flushed_reads(self, operands):
        """(the slots an op reading `operands` as the CPU does reads, the
        positions of those it must flush at each read): one known to hold no
        subnormal is read as it is, one a loop does not change from its
        flushed copy, made once before the loop's first step."""
        ins, read = [self.slot(v) for v in operands], []
        for k, v in enumerate(operands):
            if self.flushable(v) and v not in self.flushed:
                copy = self.flushed_copy(v)
                if copy is None:
                    read.append(k)
                else:
                    ins[k] = copy
        return ins, read

    def flushed_copy(self, value):
        """The slot of `value` flushed, made by a step hoisted out of the
        innermost loop being read, where `value` is invariant there; else None."""
        loop, slot = self.loop, self.slots[value]
        if loop is None or not (slot < loop.start or slot in loop.invariant):
            return None
        if slot not in loop.copies:
            loop.copies[slot] = self.slot(("flushed", value))
            loop.hoisted.append(apply(flush, [slot], loop.copies[slot]))
        return loop.copies[slot]

    def op(self, op):
        """The step of an _Op."""
        name = op.name
        ins = [self.slot(v) for v in op.operands]
        outs = [self.slot(v) for v in op.results]
        fused = (self.contracted(op) if name in CONTRACTED else
                 self.exact_product(op) if name == "arith.mulf" else None)
        if fused is not None:
            return fused
        if name in ELEMENTWISE:
            return self.flushing(op, ELEMENTWISE[name])
        if name in ("arith.cmpf", "arith.cmpi"):
            table = FLOAT_PREDICATES if name == "arith.cmpf" else INT_PREDICATES
            return self.flushing(op, table[ir.IntegerAttr(op.attributes["predicate"]).value])
        if name in CONVERSIONS:
            fn, dtype = CONVERSIONS[name], dtype_of(op.results[0].type)
            return self.flushing(op, lambda x: fn(x, dtype))
        self.keep_flushed(op, op.operands)  # (a move of values with no subnormal)
        if name in IDENTITY_OPS:
            for x, y in zip(op.operands, op.results):
                self.own(y, x)
            return apply(lambda *xs: xs, ins, outs, many=True)
        rule = getattr(self, "_" + name.replace(".", "_"), None)
        if rule is None:
            raise Unsupported(name)
        return rule(op, ins, outs)

    def flushing(self, op, fn, operands=None):
        """The step of `fn` on the operands of `op` as the CPU computes it
        (numpy_ops.flush): where `op` is in FLUSHED (or a select the CPU
        computes as a min or max: an_extremum), its float operands not known
        to hold no subnormal (self.flushed) read with theirs as zeros (but
        for READ_AS_THEY_ARE's), and its float result flushed where FLUSHED
        says so and it could make a subnormal (stays_normal). Else `fn`
        itself, its results free of subnormals where its float operands are."""
        operands = op.operands if operands is None else operands
        out = self.slot(op.results[0])
        if (op.name not in FLUSHED and not self.an_extremum(op)) or self.folded_away(op):
            self.keep_flushed(op, operands)
            return apply(fn, [self.slot(v) for v in operands], out)
        write = FLUSHED.get(op.name, False) and self.flushable(op.results[0]) and not self.stays_normal(op, operands)
        if op.name not in READ_AS_THEY_ARE:
            ins, read = self.flushed_reads(operands)
            self.flushed.update(op.results)
        else:
            ins, read = [self.slot(v) for v in operands], []
            if write:
                self.flushed.update(op.results)
            else:  # (expm1 of a subnormal is that subnormal)
                self.keep_flushed(op, operands)
        return apply(with_flushes(fn, read, write) if read or write else fn, ins, out)

    def an_extremum(self, select) -> bool:
        """Whether `select` is an arith.select of the two floats its
        condition compares strictly (`a < b ? a : b`, `a > b ? a : b`, either
        order), the compare in its generic's body or in the elementwise one
        before, which IREE fuses with it: LLVM makes it x86's min or max
        instruction, which reads subnormals as zeros as arithmetic does
        (arith.maximumf's too), where a select moves bits. (Not so
        `a <= b ? a : b`, which differs from min at ±0.)"""
        if select.name != "arith.select":
            return False
        condition, *picked = select.operands
        compare = _computed_by(condition)
        if compare is None or compare.name != "arith.cmpf" or (
                ir.IntegerAttr(compare.attributes["predicate"]).value not in STRICTLY_ORDERED):
            return False
        elements = {self.element(v) for v in picked}
        return len(elements) == 2 and elements == {self.element(v) for v in compare.operands}

    def element(self, value):
        """What a scalar of a body is an element of: its constant, the tensor
        (and how) an input of a parallel generic reads it from, or itself."""
        if value in self.splats:
            return "constant", float(self.splats[value])
        read = _parallel_input(value)
        return ("tensor", *read) if read is not None else ("value", value)

    def keep_flushed(self, op, operands):
        """Note `op`'s results as holding no subnormal where its float
        `operands` hold none and it is not in UNFLUSHED_RESULTS."""
        if op.name not in UNFLUSHED_RESULTS and all(v in self.flushed for v in operands if self.flushable(v)):
            self.flushed.update(op.results)

    def stays_normal(self, op, operands) -> bool:
        """Whether `op`, reading `operands` free of subnormals, makes none
        by a constant operand (numpy_ops.NORMAL_WITH_CONSTANT: x + 1.0,
        x * 2.0): its result needs no flush."""
        rule = NORMAL_WITH_CONSTANT.get(op.name)
        if rule is None or any(v in self.exact for v in operands):  # (an exact product is no float of the type)
            return False
        positions, holds = rule
        dtype = dtype_of(op.results[0].type)
        return any(operands[k] in self.splats and holds(self.splats[operands[k]], dtype) for k in positions)

    def folded_away(self, op) -> bool:
        """Whether `op` is x * 1, x / 1, x + -0 or x - +0 of a constant, which
        MLIR's folders (and LLVM's) replace by x itself: a move, flushing nothing."""
        identity, operands = IDENTITY_OPERANDS.get(op.name, (None, ()))
        splats = [self.splats.get(op.operands[k]) for k in operands]
        return any(c is not None and c == identity and np.signbit(c) == np.signbit(identity) for c in splats)

    def contracted(self, op):
        """The step of `a * b ± c` as one fused multiply-add, where `op`
        adds or subtracts a product held exact (`self.exact`: see
        `exact_product`), rounding once; else None."""
        dtype, sign = dtype_of(op.results[0].type), CONTRACTED[op.name]
        for k, product in enumerate(op.operands):
            if product in self.exact:
                negated = (False, sign < 0) if k == 0 else (sign < 0, False)  # (the product, the other operand)
                def fused(x, z):
                    z = np.real(z).astype(dtype).astype(np.float64)  # (an exact product, rounded)
                    return rounded_once(-x if negated[0] else x, -z if negated[1] else z, dtype)
                return self.flushing(op, fused, [product, op.operands[1 - k]])
        return None

    def exact_product(self, op):
        """The step of an arith.mulf whose product only an add or subtract
        reads (in its generic, or in the next one through a tensor that
        only it reads), held exact for `contracted`: IREE fuses
        such elementwise generics into one loop, where LLVM contracts the two
        into a fused multiply-add that rounds once (as XLA does for JAX), and
        random numbers, bit for bit JAX's, depend on it. A float32
        product is exact in float64; a float64 one is held as the rounded
        product and its error (numpy_ops.exact_product: unfused, x * 3 + 1
        of float64 was up to 4 ulp from the compiled program's). Not
        float16: LLVM computes float16 in float32 op by op, rounding each
        result to float16 (as XLA does), so nothing is fused there (`x * 8.5
        - 3` of float16, fused here, was one ulp from the compiled program's
        in 28% of the elements)."""
        dtype = dtype_of(op.results[0].type)
        if dtype not in (np.float32, np.float64):
            return None
        chain = _to_an_add(op.results[0])
        if chain is None:
            return None
        body = next(iter(chain[-1].uses)).owner.parent  # (the add's)
        if dtype == np.float64 and body.name == "linalg.generic" and _reduction_dims(body):
            return None  # (a reduction's add is no step: reduce adds the products, which must be numbers)
        self.exact.update(chain)
        ins, read = self.flushed_reads(op.operands)
        self.flushed.add(op.results[0])  # (exact, read by the add alone: flushing it is the add's)
        return apply(lambda *xs: exact_product(*[flush(x) if k in read else x for k, x in enumerate(xs)]),
                     ins, self.slot(op.results[0]))

    # --- constants, shapes -------------------------------------------------
    def _arith_constant(self, op, ins, outs):
        value = _constant(op.attributes["value"], op.results[0].type)
        if flush(value) is value:
            self.flushed.add(op.results[0])
        if np.size(value) and np.issubdtype(np.asarray(value).dtype, np.floating) and (value == value.flat[0]).all():
            self.splats[op.results[0]] = np.asarray(value).flat[0]
        return apply(lambda: value, (), outs[0])

    def _tensor_empty(self, op, ins, outs):
        typ = op.results[0].type
        dtype, shape = dtype_of(typ), list(typ.shape)
        if DYNAMIC not in shape:
            return apply(lambda: np.empty(shape, dtype), (), outs[0])

        def step(env):
            sizes = iter(env[i] for i in ins)
            env[outs[0]] = np.empty([int(next(sizes)) if d == DYNAMIC else d for d in shape], dtype)
        return step

    _flow_tensor_alloca = _tensor_empty  # (uninitialized as well; IREE's, for a loop's own stack)

    def _linalg_fill(self, op, ins, outs):
        return apply(lambda value, out: np.full(out.shape, value, out.dtype), ins, outs[0])

    def _tensor_expand_shape(self, op, ins, outs):
        """The result's static sizes, its dynamic ones from the operands after the source."""
        shape = list(op.attributes["static_output_shape"])

        def expand(x, *sizes):
            sizes = iter(sizes)
            return np.reshape(x, [int(next(sizes)) if d == DYNAMIC else d for d in shape])
        return apply(expand, ins, outs[0])

    def _tensor_collapse_shape(self, op, ins, outs):
        """Each result dim the product of its group of source dims (the reassociation)."""
        groups = [[ir.IntegerAttr(d).value for d in group] for group in op.attributes["reassociation"]]
        return apply(lambda x: np.reshape(x, [int(np.prod([x.shape[d] for d in group])) for group in groups]),
                     ins, outs[0])

    def _flow_tensor_bitcast(self, op, ins, outs):
        shape, dtype = _static_shape(op.results[0].type), dtype_of(op.results[0].type)
        return apply(lambda x: np.ascontiguousarray(x).view(dtype).reshape(shape), ins[:1], outs[0])

    def _flow_tensor_clone(self, op, ins, outs):
        return apply(np.array, ins[:1], outs[0])  # (a copy, which the program may then update in place)

    def _tensor_extract(self, op, ins, outs):
        return apply(lambda x, *index: x[tuple(index) if all(np.ndim(i) == 0 for i in index) else clipped(x, index)],
                     ins, outs[0])

    def _tensor_insert(self, op, ins, outs):
        def insert(value, dest, *index):
            dest = np.array(dest)
            dest[tuple(index)] = value
            return dest
        return apply(insert, ins, outs[0])

    def _tensor_from_elements(self, op, ins, outs):
        shape, dtype = _static_shape(op.results[0].type), dtype_of(op.results[0].type)
        return apply(lambda *xs: np.array(xs, dtype).reshape(shape), ins, outs[0])

    def _tensor_splat(self, op, ins, outs):
        shape, dtype = _static_shape(op.results[0].type), dtype_of(op.results[0].type)
        return apply(lambda x: np.full(shape, x, dtype), ins, outs[0])

    def _tensor_dim(self, op, ins, outs):
        return apply(lambda x, i: x.shape[i], ins, outs[0])

    def _tensor_concat(self, op, ins, outs):
        axis = ir.IntegerAttr(op.attributes["dim"]).value
        return apply(lambda *xs: np.concatenate(xs, axis), ins, outs[0])

    def _tensor_extract_slice(self, op, ins, outs):
        """The slice, its unit dims dropped where the result's rank is lower
        (a dynamic result drops exactly the sizes statically 1)."""
        result = ir.ShapedType(op.results[0].type)
        shape = tuple(result.shape) if result.has_static_shape else None
        kept = None  # which of the slice's dims a dynamic result keeps, if not all
        sizes = list(op.attributes["static_sizes"])
        if shape is None and len(sizes) != result.rank:
            kept = [k for k, n in enumerate(sizes) if n != 1]
            if len(kept) != result.rank:
                raise Unsupported(f"a rank-reducing slice to {result}")
        where = _slicer(op, ins[1:])
        self.sliced[op.operands[0]] = self.sliced.get(op.operands[0], 0) + 1
        source = ins[0]

        def extract(env):
            y = np.array(env[source][where(env)])
            if shape is not None:
                return y.reshape(shape)
            return y if kept is None else y.reshape([y.shape[k] for k in kept])
        return apply_env(extract, outs[0])

    def _tensor_insert_slice(self, op, ins, outs):
        where = _slicer(op, ins[2:])
        carry = self.own(op.results[0], op.operands[1])
        sizes = list(op.attributes["static_sizes"])
        sizes = None if DYNAMIC in sizes else sizes  # (the shape of what is written, where static)
        source, dest_slot, out = ins[0], ins[1], outs[0]

        def step(env):
            dest = env[dest_slot] if carry is not None and carry.in_place else np.array(env[dest_slot])
            index = where(env)
            dest[index] = np.reshape(env[source], dest[index].shape if sizes is None else sizes)
            env[out] = dest
        return step

    # --- linalg ------------------------------------------------------------
    def _linalg_matmul(self, op, ins, outs):
        """`out + a·b`, the operands converted to the result's type first; by
        the op's indexing maps where it has them (a transposed operand's)."""
        if "indexing_maps" not in op.attributes:
            product = np.matmul
        else:
            maps, _ = _indexing_maps(op.attributes["indexing_maps"])
            a, b, out = ["".join(LETTERS[d] for d in dims) for dims in maps]
            product = product_of(f"{a},{b}->{out}")

        def fn(a, b, out):
            return out + product(a.astype(out.dtype, copy=False), b.astype(out.dtype, copy=False))
        if self.flushable(op.results[0]):  # (read and written as arith.mulf and addf are: flushing)
            ins, read = self.flushed_reads(op.operands)
            self.flushed.update(op.results)
            return apply(with_flushes(fn, read, True), ins, outs[0])
        return apply(fn, ins, outs[0])

    _linalg_batch_matmul = _linalg_matmul
    _linalg_matvec = _linalg_matmul
    _linalg_vecmat = _linalg_matmul
    _linalg_batch_matvec = _linalg_matmul
    _linalg_dot = _linalg_matmul

    def _linalg_transpose(self, op, ins, outs):
        permutation = list(op.attributes["permutation"])
        return apply(lambda x, out: np.transpose(x, permutation), ins, outs[0])

    def _linalg_broadcast(self, op, ins, outs):
        added = list(op.attributes["dimensions"])
        return apply(lambda x, out: np.broadcast_to(np.expand_dims(x, added), out.shape), ins, outs[0])

    def _linalg_generic(self, op, ins, outs):
        maps, n_loops = _indexing_maps(op.attributes["indexing_maps"])
        reduction = _reduction_dims(op)
        n_in = len(ins) - len(outs)
        body, operands = op.regions[0].blocks[0], op.operands
        elements = list(body.arguments)
        arguments = [self.slot(a) for a in elements]
        self.flushed.update(a for a, v in zip(elements, operands) if v in self.flushed)
        self.splats.update((a, self.splats[v]) for a, v in zip(elements, operands) if v in self.splats)
        *body_ops, terminator = [_Op(o) for o in body.operations]
        yielded = terminator.operands
        indices = {self.slot(o.results[0]): ir.IntegerAttr(o.attributes["dim"]).value
                   for o in body_ops if o.name == "linalg.index"}
        body_ops = [o for o in body_ops if o.name != "linalg.index"]
        combiners = [_combiner(v, elements[n_in + k]) if reduction else None for k, v in enumerate(yielded)]
        if None in combiners and reduction:  # (argmax's: a value and its index, chosen together)
            self.in_body += 1
            steps = [self.op(o) for o in body_ops]
            self.in_body -= 1
            return SteppedReduction(maps, n_loops, reduction, ins, outs, arguments, indices, steps,
                                    [self.slot(v) for v in yielded], [dtype_of(v.type) for v in op.results])
        if reduction:  # the combining ops are not steps: reduce applies them
            combined, accumulators = set(yielded), set(elements[n_in:])
            body_ops = [o for o in body_ops if not (len(o.results) == 1 and o.results[0] in combined)]
            if any(v in accumulators for o in body_ops for v in o.operands):
                raise Unsupported("a reduction reading its accumulator outside the combining op")
        self.in_body += 1
        steps = [self.op(o) for o in body_ops]
        self.in_body -= 1
        results = [self.slot(c[1] if c is not None else v) for c, v in zip(combiners, yielded)]
        contraction = [_contraction(c, body, n_in, maps) if c is not None else None for c in combiners]
        # the results' dtypes (an `outs` operand only lends storage, perhaps an exact product's),
        # None for those left in float64 for the add reading them
        dtypes = [None if v in self.exact else dtype_of(v.type) for v in op.results]
        flushes = [self.combining_flushes(op, k, c, body, n_in) for k, c in enumerate(combiners)]
        self.flushed.update(r for r, v in zip(op.results, yielded) if v in self.flushed)
        used = [bool(list(a.uses)) for a in elements]
        return Generic(maps, n_loops, reduction, ins, outs, arguments, indices, steps, results,
                       [c and c[0] for c in combiners], contraction, dtypes, flushes, used,
                       _static_loop_sizes(operands, maps, n_loops))

    def combining_flushes(self, op, k, combiner, body, n_in):
        """(whether to flush the folded values, the initial value, the result)
        of the k-th result of a reduction, whose combining op `reduce`
        applies, as `flushing` would for that op (the folded values: the
        two inputs of a contraction's product); None if not a reduction."""
        if combiner is None:
            return None
        name = body.operations[len(body.operations) - 1].operands[k].owner.operation.name  # (the combining op)
        init = op.operands[n_in + k]
        if name not in FLUSHED or not self.flushable(init):
            return None
        folded = combiner[1]
        if isinstance(folded, ir.OpResult) and folded.owner.operation.name == "arith.mulf" and all(
                v in list(body.arguments)[:n_in] for v in folded.owner.operands):
            read = any(v not in self.flushed for v in folded.owner.operands)  # (a contraction's inputs)
        else:
            read = folded not in self.flushed
        self.flushed.add(op.results[k])
        return read, init not in self.flushed, FLUSHED[name]

    def _linalg_index(self, op, ins, outs):
        raise Unsupported("linalg.index outside a linalg.generic")

    # --- control flow ------------------------------------------------------
    def _scf_for(self, op, ins, outs):
        body = op.regions[0].blocks[0]
        carries = [Carry() for _ in body.arguments[1:]]
        self.owned.update(zip(body.arguments[1:], carries))
        loop = _LoopBody(len(self.slots))
        steps, results = self.block(body, loop)
        body_args = [self.slot(a) for a in body.arguments]
        for carry, value in zip(carries, loop.yielded):
            carry.in_place = self.owned.get(value) is carry and _one_use(value)
        copied = [k for k, carry in enumerate(carries) if carry.in_place]
        return for_loop(ins, outs, body_args, steps, results, loop.hoisted, copied)

    def _scf_while(self, op, ins, outs):
        if self.in_body:
            raise Unsupported("scf.while in a linalg.generic's body (one condition per element)")
        before, after = op.regions[0].blocks[0], op.regions[1].blocks[0]
        loop = _LoopBody(len(self.slots))
        before_steps, (condition, *passed) = self.block(before, loop)
        after_steps, results = self.block(after, loop)
        before_args = [self.slot(a) for a in before.arguments]
        after_args = [self.slot(a) for a in after.arguments]
        return while_loop(ins, outs, (before_args, before_steps, condition, passed), (after_args, after_steps, results),
                          loop.hoisted)

    def _scf_if(self, op, ins, outs):
        return if_branches(ins[0], outs, [self.block(region.blocks[0]) if len(region.blocks) else ([], [])
                                          for region in op.regions])

    def _func_call(self, op, ins, outs):
        callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
        if callee not in self.functions:
            raise Unsupported(f"a call of the external function @{callee}")
        function = self.prepared.get(callee) or _Function(self.functions[callee], self.functions, self.prepared)

        def step(env):
            for o, v in zip(outs, function.run([env[i] for i in ins], env[-1])):
                env[o] = v
        return step


def _to_an_add(product):
    """The values on the way from `product` to the one add or subtract that
    reads it, itself first (see exact_product), or None: read once, by an
    add, or by the yield of a parallel generic whose result only one other
    generic reads, as an input whose element only an add reads."""
    if not _one_use(product):
        return None
    user = next(iter(product.uses)).owner
    if user.name in CONTRACTED:
        return [product]
    generic = user.parent
    if user.name != "linalg.yield" or generic.name != "linalg.generic" or _reduction_dims(generic):
        return None
    result = generic.results[next(iter(product.uses)).operand_number]
    uses = list(result.uses)
    reader = uses[0].owner
    if reader.name != "linalg.generic" or any(u.owner != reader for u in uses):
        return None
    n_inputs = len(reader.operands) - len(reader.results)
    elements = reader.regions[0].blocks[0].arguments
    as_input = [u.operand_number for u in uses if u.operand_number < n_inputs]
    as_storage = [u.operand_number for u in uses if u.operand_number >= n_inputs]  # an `outs` it only lends
    if len(as_input) != 1 or any(list(elements[i].uses) for i in as_storage):
        return None
    element = elements[as_input[0]]
    if not _one_use(element) or next(iter(element.uses)).owner.name not in CONTRACTED:
        return None
    return [product, result, element]


STRICTLY_ORDERED = (2, 4)  # arith.cmpf's ogt and olt


def _parallel_input(value):
    """(the tensor, the loop dims of its axes) whose elements `value`, an
    input's block argument of a parallel linalg.generic, runs over; else None."""
    if not isinstance(value, ir.BlockArgument):
        return None
    generic = value.owner.owner
    if generic.name != "linalg.generic" or _reduction_dims(generic):
        return None
    maps, _ = _indexing_maps(generic.attributes["indexing_maps"])
    k = ir.BlockArgument(value).arg_number
    return (generic.operands[k], tuple(maps[k])) if k < len(generic.operands) - len(generic.results) else None


def _computed_by(value):
    """The op of a body that computes `value`: in the body itself, or, for an
    element of a parallel generic's result (an identity map on both sides:
    the same loop dims), in that generic's body."""
    if isinstance(value, ir.OpResult):
        return value.owner
    read = _parallel_input(value)
    if read is None or read[1] != tuple(range(len(value.owner.owner.attributes["iterator_types"]))):
        return None
    tensor = read[0]
    if not isinstance(tensor, ir.OpResult) or tensor.owner.name != "linalg.generic":
        return None
    generic, k = tensor.owner, ir.OpResult(tensor).result_number
    maps, n_loops = _indexing_maps(generic.attributes["indexing_maps"])
    if _reduction_dims(generic) or maps[len(generic.operands) - len(generic.results) + k] != list(range(n_loops)):
        return None
    body = generic.regions[0].blocks[0].operations
    yielded = body[len(body) - 1].operands[k]
    return yielded.owner if isinstance(yielded, ir.OpResult) else None


def _flushable(value) -> bool:
    """Whether an MLIR value is a float32 or float64 (or a tensor of them),
    whose subnormals the CPU flushes (numpy_ops.flush)."""
    typ = value.type
    return isinstance(typ.element_type if isinstance(typ, ir.ShapedType) else typ, (ir.F32Type, ir.F64Type))


def _one_use(value) -> bool:
    return len(list(value.uses)) == 1


def _static_shape(typ) -> tuple:
    shape = tuple(ir.ShapedType(typ).shape)
    if DYNAMIC in shape:
        raise Unsupported(f"a dynamic result shape {typ}")
    return shape


def _static_loop_sizes(operands, maps, n_loops):
    """A generic's loop sizes read from its operands' static shapes, as
    Generic reads them from the arrays; None where one is dynamic."""
    sizes = [1] * n_loops
    for value, dims in zip(operands, maps):
        shape = list(value.type.shape) if dims else []
        if DYNAMIC in shape:
            return None
        for axis, d in enumerate(dims):
            sizes[d] = shape[axis]
    return sizes


def _constant(attr, typ):
    if isinstance(attr, ir.DenseElementsAttr):
        dtype, shape = dtype_of(typ), _static_shape(typ)
        if attr.is_splat:
            return np.full(shape, _constant(attr.get_splat_value(), ir.ShapedType(typ).element_type), dtype)
        if dtype == np.bool_ or not isinstance(attr, (ir.DenseIntElementsAttr, ir.DenseFPElementsAttr)):
            raise Unsupported(f"the constant {typ}")
        return np.array(attr).astype(dtype, copy=False).reshape(shape)
    dtype = dtype_of(typ)
    if isinstance(attr, ir.FloatAttr):
        return dtype.type(attr.value)
    if isinstance(attr, ir.IntegerAttr):
        value = attr.value
        return int(value) if isinstance(typ, ir.IndexType) else np.array(value).astype(dtype)[()]
    if isinstance(attr, ir.BoolAttr):
        return np.bool_(attr.value)
    raise Unsupported(f"the constant {attr}")


def _reduction_dims(generic) -> tuple:
    """The loop dims a linalg.generic reduces."""
    return _reduced(generic.attributes["iterator_types"])


@functools.lru_cache(maxsize=1024)  # (by attribute: see above dtype_of)
def _reduced(kinds) -> tuple:
    """The positions of the reductions in an iterator_types attribute (read
    from one print of it where none is: MLIR's printer takes ~3 us a call)."""
    return tuple(i for i, kind in enumerate(kinds) if "reduction" in str(kind)) if "reduction" in str(kinds) else ()


@functools.lru_cache(maxsize=1024)  # (by attribute: see above dtype_of)
def _indexing_maps(maps_attr) -> tuple:
    """([the loop dims of each map's results], the number of loop dims) of
    an indexing_maps attribute (the lists are shared: never changed)."""
    return [_dims(m) for m in maps_attr], ir.AffineMapAttr(maps_attr[0]).value.n_dims


def _dims(map_attr) -> list:
    """The loop dims of a projected-permutation indexing map's results."""
    dims = []
    for expr in ir.AffineMapAttr(map_attr).value.results:
        if not isinstance(expr, ir.AffineDimExpr):
            raise Unsupported(f"the indexing map {map_attr}")
        dims.append(expr.position)
    if len(set(dims)) != len(dims):
        raise Unsupported(f"the indexing map {map_attr}")
    return dims


def _slicer(op, dynamic):
    """env -> the tuple of slices an extract_slice / insert_slice reads or
    writes (evaluate_steps.slicer), from its static offsets, sizes and
    strides and the slots of its dynamic ones (`dynamic`, in that order)."""
    offsets, sizes, strides = [_static(op.attributes[name])
                               for name in ("static_offsets", "static_sizes", "static_strides")]
    return slicer(offsets, sizes, strides, dynamic)


@functools.lru_cache(maxsize=1024)  # (by attribute: see above dtype_of)
def _static(attr) -> tuple:
    """The values of a static offsets, sizes or strides attribute, None where dynamic."""
    return tuple(None if v == DYNAMIC else v for v in attr)


def _combiner(value, accumulator):
    """(ufunc, the combined value, the op) where `value` is `combine(accumulator, e)`; else None."""
    if not isinstance(value, ir.OpResult):
        return None
    owner = value.owner.operation
    if owner.name not in COMBINE or len(owner.operands) != 2:
        return None
    a, b = owner.operands
    if a == accumulator and b != accumulator:
        return COMBINE[owner.name], b
    if b == accumulator and a != accumulator:
        return COMBINE[owner.name], a
    return None


def _contraction(combiner, body, n_in, maps):
    """The einsum subscripts of `out += a * b` with a, b two inputs of the body; else None."""
    ufunc, value = combiner
    if ufunc is not np.add or not isinstance(value, ir.OpResult):
        return None
    owner = value.owner.operation
    if owner.name not in ("arith.mulf", "arith.muli"):
        return None
    inputs = list(body.arguments)[:n_in]
    if not all(v in inputs for v in owner.operands):
        return None
    (i, j) = [inputs.index(v) for v in owner.operands]
    return i, j, ",".join("".join(LETTERS[d] for d in maps[k]) for k in (i, j))
