"""Evaluating an MLIR function with NumPy, op by op: tiered jit's first tier.

    run = evaluate.prepare(module)        # Unsupported if an op is not known here
    outputs = run([np.ndarray, ...])      # @main's results as NumPy arrays
    outputs = run(arrays, give_up)        # Abandoned once give_up() is true (asked every CHECK_EVERY loop steps)

`prepare` reads `@main` once into a plan: one Python closure per op, values
in numbered slots of a list, so a loop body is read once and run many
times. The ops are those irax's tracer and pass pipeline leave (linalg,
tensor, arith, math, scf, func), each by its MLIR meaning:

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
  scf.for / while / if   Python loops and branches over the region plans.

Integers are signless in MLIR: they are held as signed NumPy integers, and
an unsigned op (divui, shrui, cmpi ult, uitofp ...) views them unsigned.
What each scalar op means in NumPy is the tables of numpy_ops.py.
Floats are computed in their own precision by NumPy, so a result may differ
from IREE's in the last bits (another summation order, other polynomial
approximations of exp or tanh), as two compilers' may; but `a * b + c` is
fused where LLVM fuses it for IREE (_Function.exact_product), so that JAX's
random numbers come out bit for bit. Subnormal float32 and float64
numbers are read and written as IREE's CPU programs (and XLA's) do, with
the processor's flush-to-zero modes on: an arithmetic op or compare reads
one as ±0 and writes one as ±0; a move, abs, negation or `x * 1` (folded
away by the compilers) keeps it (numpy_ops.flush, _Function.flushing).
A linalg.generic's body runs on whole arrays, so an scf.if there runs both
branches and selects per element; an scf.while there is Unsupported. An
op, type or attribute outside these rules raises Unsupported at
`prepare`, never a wrong value later.
"""
import functools
import itertools
import math

import numpy as np
from iree.compiler import ir

from irax.ir.numpy_ops import (COMBINE, CONTRACTED, CONVERSIONS, ELEMENTWISE, FLOAT_PREDICATES, FLUSHED,
                               INT_PREDICATES, flush)

DYNAMIC = -2 ** 63  # MLIR's ShapedType::kDynamic in static offsets, sizes and strides


class Unsupported(NotImplementedError):
    """The function holds something the evaluator does not know."""


class Abandoned(Exception):
    """The caller gave the evaluation up (its `give_up` said so, in a loop)."""


CHECK_EVERY = 64  # loop steps between two calls of `give_up`: a long loop in Python may take far longer than a compile


class TooBig(MemoryError):
    """A linalg.generic whose iteration space, made whole by NumPy broadcasting,
    would be far bigger than its operands and results (a reduction over a
    broadcast product, as a compiled loop computes without storing it)."""


# A generic's iteration space may hold this many elements, and this many times
# its biggest operand or result, before TooBig.
SPACE_ELEMENTS = 1 << 24
SPACE_RATIO = 4


DTYPES = {"f16": np.float16, "f32": np.float32, "f64": np.float64, "i1": np.bool_, "i8": np.int8,
          "i16": np.int16, "i32": np.int32, "i64": np.int64, "index": np.int64}


def dtype_of(typ) -> np.dtype:
    """The NumPy dtype of an MLIR element (or tensor's element) type."""
    if isinstance(typ, ir.ShapedType):
        typ = typ.element_type
    name = str(typ)
    if name not in DTYPES:
        raise Unsupported(f"element type {name}")
    return np.dtype(DTYPES[name])


LETTERS = "abcdefghijklmnopqrstuvwxyz"  # einsum's names of loop dims
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


def _give_up_at(n, env):
    """Abandoned at every CHECK_EVERY-th loop step `n` where the run's
    `give_up` (the last slot of `env`) says so."""
    if n % CHECK_EVERY == CHECK_EVERY - 1 and env[-1]():
        raise Abandoned


def _run_block(env, args, values, steps):
    """Bind a block's arguments to `values` in `env` and run its steps."""
    for a, v in zip(args, values):
        env[a] = v
    for step in steps:
        step(env)


class _Function:
    """A func.func as a plan: steps (closures on the slot list), reading
    its arguments from the first slots and returning its terminator's."""

    def __init__(self, func_op, functions, prepared):
        self.functions, self.prepared = functions, prepared
        prepared[func_op.attributes["sym_name"].value] = self
        self.slots = {}
        self.owned = {}  # a loop-carried tensor's values that updates may write into: value -> its _Carry
        self.sliced = {}  # value -> how many extract_slice ops (copies) read it so far
        self.exact = set()  # float products held unrounded in float64 for the add they feed (exact_product)
        self.flushed = set()  # float values known to hold no subnormal (flushing)
        self.in_body = 0  # how deep in linalg.generic bodies the op being read is
        self.splats = {}  # value -> c, for float constants all c (scalars, splats, a body's elements of them)
        block = func_op.regions[0].blocks[0]
        self.arguments = [self.slot(a) for a in block.arguments]
        self.steps, self.results = self.block(block)

    def slot(self, value) -> int:
        return self.slots.setdefault(value, len(self.slots))

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

    def block(self, block):
        """(steps, slots of the terminator's operands) of a block, its arguments given slots."""
        for a in block.arguments:
            self.slot(a)
        ops = list(block.operations)
        steps = [self.op(op) for op in ops[:-1]]
        return steps, [self.slot(v) for v in ops[-1].operands]

    def op(self, op):
        name = op.operation.name
        ins = [self.slot(v) for v in op.operands]
        outs = [self.slot(v) for v in op.results]
        fused = (self.contracted(op) if name in CONTRACTED else
                 self.exact_product(op) if name == "arith.mulf" else None)
        if fused is not None:
            return fused
        if name in ELEMENTWISE:
            return _apply(self.flushing(op, ELEMENTWISE[name]), ins, outs[0])
        if name in ("arith.cmpf", "arith.cmpi"):
            table = FLOAT_PREDICATES if name == "arith.cmpf" else INT_PREDICATES
            return _apply(self.flushing(op, table[ir.IntegerAttr(op.attributes["predicate"]).value]), ins, outs[0])
        if name in CONVERSIONS:
            fn, dtype = CONVERSIONS[name], dtype_of(op.results[0].type)
            return _apply(self.flushing(op, lambda x: fn(x, dtype)), ins, outs[0])
        if name not in UNFLUSHED_RESULTS and all(v in self.flushed for v in op.operands if _flushable(v)):
            self.flushed.update(op.results)  # (a move of values with no subnormal)
        if name in IDENTITY_OPS:
            for x, y in zip(op.operands, op.results):
                self.own(y, x)
            return _apply(lambda *xs: xs, ins, outs, many=True)
        rule = getattr(self, "_" + name.replace(".", "_"), None)
        if rule is None:
            raise Unsupported(name)
        return rule(op, ins, outs)

    def flushing(self, op, fn, operands=None):
        """`fn` on the operands of `op` as the CPU computes it (numpy_ops.flush):
        where `op` is in FLUSHED, its float operands not known to hold no
        subnormal (self.flushed) read with theirs as zeros, and its float
        result flushed where FLUSHED says so. Else `fn` itself, its results
        free of subnormals where its float operands are."""
        operands = list(op.operands) if operands is None else operands
        if op.operation.name not in FLUSHED or self.folded_away(op):
            if op.operation.name not in UNFLUSHED_RESULTS and all(v in self.flushed for v in operands if _flushable(v)):
                self.flushed.update(op.results)
            return fn
        read = [k for k, v in enumerate(operands) if _flushable(v) and v not in self.flushed]
        write = FLUSHED[op.operation.name] and _flushable(op.results[0])
        self.flushed.update(op.results)
        if not read and not write:
            return fn

        def flushed(*xs):
            y = fn(*[flush(x) if k in read else x for k, x in enumerate(xs)])
            return flush(y) if write else y
        return flushed

    def folded_away(self, op) -> bool:
        """Whether `op` is x * 1, x / 1, x + -0 or x - +0 of a constant, which
        MLIR's folders (and LLVM's) replace by x itself: a move, flushing nothing."""
        identity, operands = IDENTITY_OPERANDS.get(op.operation.name, (None, ()))
        splats = [self.splats.get(op.operands[k]) for k in operands]
        return any(c is not None and c == identity and np.signbit(c) == np.signbit(identity) for c in splats)

    def contracted(self, op):
        """The step of `a * b ± c` as one fused multiply-add, where `op`
        adds or subtracts a product held exact (`self.exact`: see
        `exact_product`), rounding once; else None."""
        dtype, sign = dtype_of(op.results[0].type), CONTRACTED[op.operation.name]
        for k, product in enumerate(op.operands):
            if product in self.exact:
                signs = (1.0, sign) if k == 0 else (sign, 1.0)  # (of the product, of the other operand)
                fused = self.flushing(op, lambda x, z: (signs[0] * x + signs[1] * np.asarray(z).astype(dtype)
                                                        .astype(np.float64)).astype(dtype),
                                      [product, op.operands[1 - k]])
                return _apply(fused, (self.slot(product), self.slot(op.operands[1 - k])), self.slot(op.results[0]))
        return None

    def exact_product(self, op):
        """The step of an arith.mulf whose product only an add or subtract
        reads (in its generic, or in the next one through a tensor that
        only it reads), held exact in float64 for `contracted`: IREE fuses
        such elementwise generics into one loop, where LLVM contracts the two
        into a fused multiply-add that rounds once (as XLA does for JAX), and
        random numbers, bit for bit JAX's, depend on it. A float32 or
        float16 product is exact in float64, and the sum rounded to float64,
        then to the type, is the fused result but where two roundings meet
        (~2^-29 of cases); float64 products have no wider type here: None."""
        if dtype_of(op.results[0].type).itemsize > 4:
            return None
        chain = _to_an_add(op.results[0])
        if chain is None:
            return None
        self.exact.update(chain)
        read = [k for k, v in enumerate(op.operands) if v not in self.flushed]
        self.flushed.add(op.results[0])  # (exact: a float64 product of float32 or float16 numbers is no subnormal)
        return _apply(lambda *xs: np.multiply(*[flush(x) if k in read else x for k, x in enumerate(xs)],
                                              dtype=np.float64),
                      [self.slot(v) for v in op.operands], self.slot(op.results[0]))

    # --- constants, shapes -------------------------------------------------
    def _arith_constant(self, op, ins, outs):
        value = _constant(op.attributes["value"], op.results[0].type)
        if flush(value) is value:
            self.flushed.add(op.results[0])
        if np.size(value) and np.issubdtype(np.asarray(value).dtype, np.floating) and (value == value.flat[0]).all():
            self.splats[op.results[0]] = np.asarray(value).flat[0]
        return _apply(lambda: value, (), outs[0])

    def _tensor_empty(self, op, ins, outs):
        typ = op.results[0].type
        dtype, shape = dtype_of(typ), list(typ.shape)

        def step(env):
            sizes = iter(env[i] for i in ins)
            env[outs[0]] = np.empty([int(next(sizes)) if d == DYNAMIC else d for d in shape], dtype)
        return step

    _flow_tensor_alloca = _tensor_empty  # (uninitialized as well; IREE's, for a loop's own stack)

    def _linalg_fill(self, op, ins, outs):
        return _apply(lambda value, out: np.full(out.shape, value, out.dtype), ins, outs[0])

    def _tensor_expand_shape(self, op, ins, outs):
        """The result's static sizes, its dynamic ones from the operands after the source."""
        shape = list(op.attributes["static_output_shape"])

        def expand(x, *sizes):
            sizes = iter(sizes)
            return np.reshape(x, [int(next(sizes)) if d == DYNAMIC else d for d in shape])
        return _apply(expand, ins, outs[0])

    def _tensor_collapse_shape(self, op, ins, outs):
        """Each result dim the product of its group of source dims (the reassociation)."""
        groups = [[ir.IntegerAttr(d).value for d in group] for group in op.attributes["reassociation"]]
        return _apply(lambda x: np.reshape(x, [int(np.prod([x.shape[d] for d in group])) for group in groups]),
                      ins, outs[0])

    def _flow_tensor_bitcast(self, op, ins, outs):
        shape, dtype = _static_shape(op.results[0].type), dtype_of(op.results[0].type)
        return _apply(lambda x: np.ascontiguousarray(x).view(dtype).reshape(shape), ins[:1], outs[0])

    def _flow_tensor_clone(self, op, ins, outs):
        return _apply(np.array, ins[:1], outs[0])  # (a copy, which the program may then update in place)

    def _tensor_extract(self, op, ins, outs):
        return _apply(lambda x, *index: x[tuple(index) if all(np.ndim(i) == 0 for i in index) else _clipped(x, index)],
                      ins, outs[0])

    def _tensor_insert(self, op, ins, outs):
        def insert(value, dest, *index):
            dest = np.array(dest)
            dest[tuple(index)] = value
            return dest
        return _apply(insert, ins, outs[0])

    def _tensor_from_elements(self, op, ins, outs):
        shape, dtype = _static_shape(op.results[0].type), dtype_of(op.results[0].type)
        return _apply(lambda *xs: np.array(xs, dtype).reshape(shape), ins, outs[0])

    def _tensor_splat(self, op, ins, outs):
        shape, dtype = _static_shape(op.results[0].type), dtype_of(op.results[0].type)
        return _apply(lambda x: np.full(shape, x, dtype), ins, outs[0])

    def _tensor_dim(self, op, ins, outs):
        return _apply(lambda x, i: x.shape[i], ins, outs[0])

    def _tensor_concat(self, op, ins, outs):
        axis = ir.IntegerAttr(op.attributes["dim"]).value
        return _apply(lambda *xs: np.concatenate(xs, axis), ins, outs[0])

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

        def extract(env):
            y = np.array(env[ins[0]][where(env)])
            if shape is not None:
                return y.reshape(shape)
            return y if kept is None else y.reshape([y.shape[k] for k in kept])
        return _apply_env(extract, outs[0])

    def _tensor_insert_slice(self, op, ins, outs):
        where = _slicer(op, ins[2:])
        carry = self.own(op.results[0], op.operands[1])

        def step(env):
            dest = env[ins[1]] if carry is not None and carry.in_place else np.array(env[ins[1]])
            index = where(env)
            dest[index] = np.reshape(env[ins[0]], dest[index].shape)
            env[outs[0]] = dest
        return step

    # --- linalg ------------------------------------------------------------
    def _linalg_matmul(self, op, ins, outs):
        """`out + a·b`, the operands converted to the result's type first; by
        the op's indexing maps where it has them (a transposed operand's)."""
        if "indexing_maps" not in op.attributes:
            product = np.matmul
        else:
            a, b, out = ["".join(LETTERS[d] for d in _dims(m)) for m in op.attributes["indexing_maps"]]
            product = _product(f"{a},{b}->{out}")

        def fn(a, b, out):
            return out + product(a.astype(out.dtype, copy=False), b.astype(out.dtype, copy=False))
        if _flushable(op.results[0]):  # (read and written as arith.mulf and addf are: flushing)
            reads = [v not in self.flushed for v in op.operands]
            self.flushed.update(op.results)
            return _apply(lambda *xs: flush(fn(*[flush(x) if r else x for r, x in zip(reads, xs)])), ins, outs[0])
        return _apply(fn, ins, outs[0])

    _linalg_batch_matmul = _linalg_matmul
    _linalg_matvec = _linalg_matmul
    _linalg_vecmat = _linalg_matmul
    _linalg_batch_matvec = _linalg_matmul
    _linalg_dot = _linalg_matmul

    def _linalg_transpose(self, op, ins, outs):
        permutation = list(op.attributes["permutation"])
        return _apply(lambda x, out: np.transpose(x, permutation), ins, outs[0])

    def _linalg_broadcast(self, op, ins, outs):
        added = list(op.attributes["dimensions"])
        return _apply(lambda x, out: np.broadcast_to(np.expand_dims(x, added), out.shape), ins, outs[0])

    def _linalg_generic(self, op, ins, outs):
        maps = [_dims(m) for m in op.attributes["indexing_maps"]]
        n_loops = ir.AffineMapAttr(op.attributes["indexing_maps"][0]).value.n_dims
        reduction = [i for i, it in enumerate(op.attributes["iterator_types"]) if "reduction" in str(it)]
        n_in = len(ins) - len(outs)
        body = op.regions[0].blocks[0]
        arguments = [self.slot(a) for a in body.arguments]
        self.flushed.update(a for a, v in zip(body.arguments, op.operands) if v in self.flushed)
        self.splats.update((a, self.splats[v]) for a, v in zip(body.arguments, op.operands) if v in self.splats)
        body_ops = list(body.operations)
        yielded = list(body_ops[-1].operands)
        indices = {self.slot(o.results[0]): ir.IntegerAttr(o.attributes["dim"]).value
                   for o in body_ops if o.operation.name == "linalg.index"}
        combiners = [_combiner(v, body.arguments[n_in + k]) if reduction else None for k, v in enumerate(yielded)]
        if None in combiners and reduction:  # (argmax's: a value and its index, chosen together)
            self.in_body += 1
            steps = [self.op(o) for o in body_ops[:-1] if o.operation.name != "linalg.index"]
            self.in_body -= 1
            return _SteppedReduction(maps, n_loops, reduction, ins, outs, arguments, indices, steps,
                                     [self.slot(v) for v in yielded], [dtype_of(v.type) for v in op.results])
        combined = set(yielded) if reduction else set()  # made by the combining ops, which reduce applies instead
        body_ops = [o for o in body_ops[:-1] if not (len(o.results) == 1 and o.results[0] in combined)]
        accumulators = set(list(body.arguments)[n_in:]) if reduction else set()
        if any(v in accumulators for o in body_ops for v in o.operands):
            raise Unsupported("a reduction reading its accumulator outside the combining op")
        self.in_body += 1
        steps = [self.op(o) for o in body_ops if o.operation.name != "linalg.index"]
        self.in_body -= 1
        results = [self.slot(c[1] if c is not None else v) for c, v in zip(combiners, yielded)]
        contraction = [_contraction(c, body, n_in, maps) if c is not None else None for c in combiners]
        # the results' dtypes (an `outs` operand only lends storage, perhaps an exact product's),
        # None for those left in float64 for the add reading them
        dtypes = [None if v in self.exact else dtype_of(v.type) for v in op.results]
        flushes = [self.combining_flushes(op, k, c, body, n_in) for k, c in enumerate(combiners)]
        self.flushed.update(r for r, v in zip(op.results, yielded) if v in self.flushed)
        return _Generic(maps, n_loops, reduction, ins, outs, arguments, indices, steps, results,
                        [c and c[0] for c in combiners], contraction, dtypes, flushes)

    def combining_flushes(self, op, k, combiner, body, n_in):
        """(whether to flush the folded values, the initial value, the result)
        of the k-th result of a reduction, whose combining op `reduce`
        applies, as `flushing` would for that op (the folded values: the
        two inputs of a contraction's product); None if not a reduction."""
        if combiner is None:
            return None
        name = body.operations[len(body.operations) - 1].operands[k].owner.operation.name  # (the combining op)
        init = op.operands[n_in + k]
        if name not in FLUSHED or not _flushable(init):
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
        carries = [_Carry() for _ in body.arguments[1:]]
        self.owned.update(zip(body.arguments[1:], carries))
        steps, results = self.block(body)
        body_args = [self.slot(a) for a in body.arguments]
        for carry, value in zip(carries, body.operations[len(body.operations) - 1].operands):
            carry.in_place = self.owned.get(value) is carry and _one_use(value)
        copied = [k for k, carry in enumerate(carries) if carry.in_place]

        def step(env):
            lower, upper, stride, *carried = [env[i] for i in ins]
            for k in copied:  # the loop's own copy of the initial value, which its updates write into
                carried[k] = np.array(carried[k])
            for n, i in enumerate(range(int(lower), int(upper), int(stride))):
                _give_up_at(n, env)
                _run_block(env, body_args, [i, *carried], steps)
                carried = [env[r] for r in results]
            for o, v in zip(outs, carried):
                env[o] = v
        return step

    def _scf_while(self, op, ins, outs):
        if self.in_body:
            raise Unsupported("scf.while in a linalg.generic's body (one condition per element)")
        before_steps, (condition, *passed) = self.block(op.regions[0].blocks[0])
        after_steps, results = self.block(op.regions[1].blocks[0])
        before_args = [self.slot(a) for a in op.regions[0].blocks[0].arguments]
        after_args = [self.slot(a) for a in op.regions[1].blocks[0].arguments]

        def step(env):
            carried = [env[i] for i in ins]
            for n in itertools.count():
                _give_up_at(n, env)
                _run_block(env, before_args, carried, before_steps)
                values = [env[p] for p in passed]
                if not bool(env[condition]):
                    break
                _run_block(env, after_args, values, after_steps)
                carried = [env[r] for r in results]
            for o, v in zip(outs, values):
                env[o] = v
        return step

    def _scf_if(self, op, ins, outs):
        branches = [self.block(region.blocks[0]) if len(region.blocks) else ([], []) for region in op.regions]

        def step(env):
            condition = env[ins[0]]
            if np.ndim(condition) == 0:
                steps, results = branches[0 if bool(condition) else 1]
                for s in steps:
                    s(env)
                for o, r in zip(outs, results):
                    env[o] = env[r]
                return
            taken = []  # in a linalg.generic's body, one condition per element: both branches, then select
            for steps, results in branches:
                for s in steps:
                    s(env)
                taken.append([env[r] for r in results])
            for o, a, b in zip(outs, *taken):
                env[o] = np.where(condition, a, b)
        return step

    def _func_call(self, op, ins, outs):
        callee = ir.FlatSymbolRefAttr(op.attributes["callee"]).value
        if callee not in self.functions:
            raise Unsupported(f"a call of the external function @{callee}")
        function = self.prepared.get(callee) or _Function(self.functions[callee], self.functions, self.prepared)

        def step(env):
            for o, v in zip(outs, function.run([env[i] for i in ins], env[-1])):
                env[o] = v
        return step


class _Carry:
    """A tensor a loop carries. Its updates (tensor.insert_slice) write into
    it in place, rather than into a copy, when `in_place`: when the loop
    reads each of its values once, the chain of updates from the block
    argument to the value yielded (each value the only operand of the next
    update, the yielded one read by the yield alone), so that no other
    reader could see a write (in a loop filling a stack of results, the
    copies cost most of the evaluation)."""
    in_place = False


@functools.lru_cache(maxsize=None)
def _product(subscripts: str):
    """The contraction einsum(subscripts, a, b) as a function of (a, b):
    np.matmul (BLAS) where it is a (batched) matrix product, "...ik,...kj->...ij"."""
    (a, b), out = subscripts.split("->")[0].split(","), subscripts.split("->")[1]
    batch = out[:-2]
    if (len(a) == len(b) == len(out) >= 2 and a[:-2] == b[:-2] == batch and a[-2] == out[-2]
            and b[-1] == out[-1] and a[-1] == b[-2] and a[-1] not in out):
        return np.matmul
    return functools.partial(np.einsum, subscripts, optimize=True)  # (BLAS through tensordot where it can)


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
    if user.name != "linalg.yield" or generic.name != "linalg.generic" or any(
            "reduction" in str(it) for it in generic.attributes["iterator_types"]):
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


def _clipped(x, index) -> tuple:
    """The indices, one array per element of a linalg.generic (its body run
    on whole arrays), of a tensor.extract from `x`, clipped into its shape:
    the body's branches are both run (_scf_if), and an element's index in
    the branch it does not take may be out of bounds (its value is not used)."""
    return tuple(np.clip(i, 0, n - 1) for i, n in zip(index, x.shape))


def _flushable(value) -> bool:
    """Whether an MLIR value is a float32 or float64 (or a tensor of them),
    whose subnormals the CPU flushes (numpy_ops.flush)."""
    typ = value.type
    return str(typ.element_type if isinstance(typ, ir.ShapedType) else typ) in ("f32", "f64")


def _one_use(value) -> bool:
    return len(list(value.uses)) == 1


def _apply(fn, ins, out, many=False):
    """A step: env[out] = fn(env[ins...]) (with `many`, outs from the sequence fn returns)."""
    ins = tuple(ins)
    if many:
        def step(env):
            for o, v in zip(out, fn(*[env[i] for i in ins])):
                env[o] = v
    elif len(ins) == 1:
        (a,) = ins

        def step(env):
            env[out] = fn(env[a])
    elif len(ins) == 2:
        a, b = ins

        def step(env):
            env[out] = fn(env[a], env[b])
    else:
        def step(env):
            env[out] = fn(*[env[i] for i in ins])
    return step


def _apply_env(fn, out):
    def step(env):
        env[out] = fn(env)
    return step


def _static_shape(typ) -> tuple:
    shape = tuple(ir.ShapedType(typ).shape)
    if DYNAMIC in shape:
        raise Unsupported(f"a dynamic result shape {typ}")
    return shape


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
        return int(value) if str(typ) == "index" else np.array(value).astype(dtype)[()]
    if isinstance(attr, ir.BoolAttr):
        return np.bool_(attr.value)
    raise Unsupported(f"the constant {attr}")


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
    """env -> the tuple of slices an extract_slice / insert_slice reads or writes."""
    parts = [list(op.attributes[name]) for name in ("static_offsets", "static_sizes", "static_strides")]
    dynamic = iter(dynamic)
    fields = [[next(dynamic) if v == DYNAMIC else None for v in part] for part in parts]  # slots, in operand order

    def where(env):
        offsets, sizes, strides = [[int(env[s]) if s is not None else v for v, s in zip(part, slots)]
                                   for part, slots in zip(parts, fields)]
        return tuple(slice(o, o + (n - 1) * s + 1 if n else o, s) for o, n, s in zip(offsets, sizes, strides))
    return where


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


class _Generic:
    """The step of one linalg.generic (see the module docstring)."""

    def __init__(self, maps, n_loops, reduction, ins, outs, arguments, indices, steps, results, combine, contraction,
                 dtypes, flushes):
        self.maps, self.n_loops, self.reduction = maps, n_loops, tuple(reduction)
        self.ins, self.outs, self.arguments, self.indices = ins, outs, arguments, indices
        self.steps, self.results, self.combine, self.contraction = steps, results, combine, contraction
        self.n_in = len(ins) - len(outs)
        self.dtypes, self.flushes = dtypes, flushes
        self.as_is = [dims == list(range(n_loops)) for dims in maps]  # (identity maps: no view to make)
        self.products = [c and _product(f"{c[2]}->{''.join(LETTERS[d] for d in maps[self.n_in + k])}")
                         for k, c in enumerate(contraction)]

    def __call__(self, env):
        operands = [env[i] for i in self.ins]
        sizes = _loop_sizes(operands, self.maps, self.n_loops)
        if self.reduction and all(c is not None for c in self.contraction):
            for k, (i, j, _) in enumerate(self.contraction):
                read, read_init, write = self.flushes[k] or (False, False, False)
                a, b, init = operands[i], operands[j], operands[self.n_in + k]
                product = self.products[k](flush(a), flush(b)) if read else self.products[k](a, b)
                out = ((flush(init) if read_init else init) + product).astype(self.dtypes[k], copy=False)
                env[self.outs[k]] = flush(out) if write else out
            return
        space = int(np.prod(sizes))
        if space > SPACE_ELEMENTS and space > SPACE_RATIO * max(np.size(x) for x in operands):
            raise TooBig(f"an iteration space of {space} elements")
        for slot, x, dims, as_is in zip(self.arguments, operands, self.maps, self.as_is):
            env[slot] = x if as_is else _over_loops(x, dims, self.n_loops)
        for slot, d in self.indices.items():
            env[slot] = _loop_index(d, sizes)
        for step in self.steps:
            step(env)
        for k, (slot, out) in enumerate(zip(self.results, self.outs)):
            init = operands[self.n_in + k]
            value = env[slot]
            if np.shape(value) != tuple(sizes):
                value = np.broadcast_to(value, sizes)
            dims = self.maps[self.n_in + k]
            if self.combine[k] is None:
                value = np.asarray(value if self.as_is[self.n_in + k] else np.transpose(value, dims))
                env[out] = value if self.dtypes[k] is None else value.astype(self.dtypes[k], copy=False)
            else:
                read, read_init, write = self.flushes[k] or (False, False, False)
                kept = [d for d in range(self.n_loops) if d not in self.reduction]
                folded = self.combine[k].reduce(flush(value) if read else value, axis=self.reduction)
                combined = self.combine[k](flush(init) if read_init else init,
                                           np.transpose(folded, [kept.index(d) for d in dims]))
                combined = combined.astype(self.dtypes[k], copy=False)
                env[out] = flush(combined) if write else combined


class _SteppedReduction:
    """The step of a linalg.generic reduction whose body is no single
    combining op (argmax's pairs of a value and its index): the body runs
    once per point of the reduction dims, in order, on whole arrays over the
    parallel dims (the reduction dims size 1), its results the next
    accumulators, as the compiled loop runs it. More than MAX_STEPS points
    is TooBig: the call waits for the compiled program."""

    MAX_STEPS = 1 << 12

    def __init__(self, maps, n_loops, reduction, ins, outs, arguments, indices, steps, results, dtypes):
        self.maps, self.n_loops, self.reduction = maps, n_loops, reduction
        self.ins, self.outs, self.arguments, self.indices = ins, outs, arguments, indices
        self.steps, self.results, self.dtypes = steps, results, dtypes
        self.n_in = len(ins) - len(outs)

    def __call__(self, env):
        operands = [env[i] for i in self.ins]
        sizes = _loop_sizes(operands, self.maps, self.n_loops)
        points = [range(sizes[d]) for d in self.reduction]
        steps = math.prod(len(r) for r in points)
        if steps > self.MAX_STEPS:
            raise TooBig(f"a reduction of {steps} steps")
        parallel = [1 if d in self.reduction else n for d, n in enumerate(sizes)]
        views = [_over_loops(x, dims, self.n_loops) for x, dims in zip(operands, self.maps)]
        carried = [np.broadcast_to(v, parallel).copy() for v in views[self.n_in:]]
        for slot, d in self.indices.items():
            if d not in self.reduction:
                env[slot] = _loop_index(d, sizes)
        for n, point in enumerate(itertools.product(*points)):
            _give_up_at(n, env)
            at = [slice(None)] * self.n_loops
            for d, i in zip(self.reduction, point):
                at[d] = slice(i, i + 1)
            for slot, view in zip(self.arguments, views[:self.n_in]):
                env[slot] = view[tuple(slice(None) if view.shape[d] == 1 else at[d] for d in range(self.n_loops))]
            for slot, value in zip(self.arguments[self.n_in:], carried):
                env[slot] = value
            for slot, d in self.indices.items():
                if d in self.reduction:
                    env[slot] = point[self.reduction.index(d)]
            for step in self.steps:
                step(env)
            carried = [np.broadcast_to(env[r], parallel) for r in self.results]
        kept = [d for d in range(self.n_loops) if d not in self.reduction]
        for k, (out, value) in enumerate(zip(self.outs, carried)):
            value = np.reshape(value, [sizes[d] for d in kept])
            dims = self.maps[self.n_in + k]
            env[out] = np.transpose(value, [kept.index(d) for d in dims]).astype(self.dtypes[k])


def _loop_sizes(operands, maps, n_loops) -> list:
    """The size of each loop dim of a generic, read from its operands' shapes (1 where none has it)."""
    sizes = [1] * n_loops
    for x, dims in zip(operands, maps):
        for axis, d in enumerate(dims):
            sizes[d] = x.shape[axis]
    return sizes


def _loop_index(d, sizes) -> np.ndarray:
    """linalg.index d over the iteration space: arange along loop dim d, size 1 along the others."""
    shape = [1] * len(sizes)
    shape[d] = sizes[d]
    return np.arange(sizes[d]).reshape(shape)


def _over_loops(x, dims, n_loops):
    """`x`, whose axes are the loop dims `dims`, viewed with one axis per loop
    dim (size 1 where it has none), for NumPy broadcasting."""
    x = np.asarray(x)
    order = sorted(range(len(dims)), key=dims.__getitem__)
    x = np.transpose(x, order) if order != list(range(len(dims))) else x
    shape = [1] * n_loops
    for axis in order:
        shape[dims[axis]] = x.shape[order.index(axis)]
    return x.reshape(shape)
