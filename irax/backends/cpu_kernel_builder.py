"""The text of a native CPU kernel: one dispatch region of scalar and vector
loops, as backends/cpu_kernels.py writes its kernels.

A kernel is a private function whose body is ONE `flow.dispatch.region`
holding `scf.for` loops of scalar and vector reads and writes
(`vector.transfer_read`/`transfer_write`) of its tensors, which IREE's
llvm-cpu pipeline compiles as it stands. A kernel's builder gets a `Body`,
emits ops through its methods (each returns the SSA name of its result and
records its type), and returns the values the region yields;
`Body.function` wraps the lines into the function's text:

    b = Body("f32")
    b.types["%arg0"] = "tensor<8x8xf32>"
    with b.loop(0, 8, t=b.empty("tensor<8x8xf32>")) as row:   # scf.for
        row.v["t"] = ...          # the updated iteration argument
    b.function("name", ["%arg0"], ["tensor<8x8xf32>"], [row.v["t"]])

IREE's LLVM pipeline runs neither loop nor SLP vectorization by default, so
the row loops are written with `vector` ops: `each_chunk` cuts a row into
chunks of LANE_BYTES (one AVX-512 register: 16 f32, 8 f64) and one narrower
chunk for the rest of the row; a chunk that straddles the start of a row's
range is updated under a select on its column indices (`columns_from`).
Leading dimensions are batch dimensions: `for_each_matrix` nests a loop per
batch dim inside the dispatch. Loop-carried tensors are always updated in
place (each loop yields its iteration argument as updated by
insert/transfer_write, and every read of a tensor precedes the writes of its
iteration), as bufferization inside a dispatch requires.
"""
from __future__ import annotations

import re

LANE_BYTES = 64  # one chunk: an AVX-512 register (two AVX2 ones)
ELEMENT_BYTES = {"f32": 4, "f64": 8, "i32": 4, "i64": 8}


def parse_tensor(type_):
    """(shape, element type) of a static tensor type, None otherwise."""
    m = re.fullmatch(r"tensor<((?:\d+x)*)(\w+)>", type_.replace(" ", ""))
    if not m:
        return None
    return tuple(int(d) for d in m[1].split("x")[:-1]), m[2]


# ---------------------------------------------------------------------------
# The text of a region body: SSA names, constants, loops.

class Loop:
    """An scf.for carrying the values of `v` (a dict); the body updates `v`,
    and after the `with` block `v` holds the loop's results."""

    def __init__(self, body, lo, hi, carried):
        self.body, self.lo, self.hi, self.v = body, lo, hi, dict(carried)

    def __enter__(self):
        b = self.body
        self.iv = b.name("i")
        b.types[self.iv] = "index"
        self.keys = list(self.v)
        self.types = [b.types[self.v[k]] for k in self.keys]
        self.result = b.name("r")
        args = {k: b.name("a") for k in self.keys}
        head = f"scf.for {self.iv} = {b.index(self.lo)} to {b.index(self.hi)} step {b.index(1)}"
        if self.keys:
            inits = ", ".join(f"{args[k]} = {self.v[k]}" for k in self.keys)
            count = f":{len(self.keys)}" if len(self.keys) > 1 else ""
            head = f"{self.result}{count} = {head} iter_args({inits}) -> ({', '.join(self.types)})"
        b.emit(head + " {")
        b.depth += 1
        for k, t in zip(self.keys, self.types):
            b.types[args[k]] = t
            self.v[k] = args[k]
        return self

    def __exit__(self, *exc):
        if exc[0]:
            return False
        b = self.body
        if self.keys:
            b.emit(f"scf.yield {', '.join(self.v[k] for k in self.keys)} : {', '.join(self.types)}")
        b.depth -= 1
        b.emit("}")
        for n, (k, t) in enumerate(zip(self.keys, self.types)):
            self.v[k] = f"{self.result}#{n}" if len(self.keys) > 1 else self.result
            b.types[self.v[k]] = t
        return False


class Body:
    """The lines of one dispatch region's body. Values are SSA names whose
    types `types` records; an int where a value is expected is an index
    constant (constants are emitted once, at the top of the region)."""

    def __init__(self, element):
        self.element = element
        self.lanes = LANE_BYTES // ELEMENT_BYTES[element]
        self.head, self.lines, self.types, self.constants = [], [], {}, {}
        self.depth, self.count = 2, 0

    def name(self, hint):
        self.count += 1
        return f"%{hint}{self.count}"

    def emit(self, line):
        self.lines.append("  " * self.depth + line)

    def op(self, text, type_, hint="v"):
        result = self.name(hint)
        self.emit(f"{result} = {text}")
        self.types[result] = type_
        return result

    def constant(self, value, type_):
        key = (value, type_)
        if key not in self.constants:
            result = self.name("c")
            self.head.append(f"    {result} = arith.constant {value} : {type_}")
            self.types[result] = type_
            self.constants[key] = result
        return self.constants[key]

    def index(self, value):
        return self.constant(value, "index") if isinstance(value, int) else value

    def scalar(self, value):
        """An element-type constant. (MLIR reads no float without a point,
        as Python writes 1e-06; 17 digits give the double back, and MLIR
        rounds that to the element type.)"""
        text = repr(float(value))
        return self.constant(text if "." in text else f"{float(value):.17e}", self.element)

    def vector_type(self, size, element=None):
        return f"vector<{size}x{element or self.element}>"

    def loop(self, lo, hi, **carried):
        return Loop(self, lo, hi, carried)

    # --- ops; the result type follows the first operand's unless given.

    def arith(self, op, *operands):
        t = self.types.get(operands[0], "index")
        return self.op(f"{op} {', '.join(operands)} : {t}", t)

    def index_op(self, op, a, b):
        return self.arith(op, self.index(a), self.index(b))

    def unary(self, op, x):
        t = self.types[x]
        return self.op(f"{op} {x} : {t}", t)

    def compare(self, kind, predicate, a, b):
        t = self.types[a]
        result = re.sub(r"x\w+>$", "xi1>", t) if t.startswith("vector") else "i1"
        return self.op(f"arith.{kind} {predicate}, {a}, {b} : {t}", result)

    def select(self, condition, a, b):
        t, c = self.types[a], self.types[condition]
        types = f"{c}, {t}" if c != "i1" else t
        return self.op(f"arith.select {condition}, {a}, {b} : {types}", t)

    def splat(self, x, size):
        t = self.vector_type(size, self.types[x])
        return self.op(f"vector.broadcast {x} : {self.types[x]} to {t}", t)

    def cast(self, x, to):
        return self.op(f"arith.index_cast {x} : {self.types[x]} to {to}", to)

    def bitcast(self, x, to):
        return self.op(f"arith.bitcast {x} : {self.types[x]} to {to}", to)

    def iota(self, size):
        """The lane numbers 0..size-1 as i32."""
        return self.constant(f"dense<[{', '.join(map(str, range(size)))}]>", self.vector_type(size, "i32"))

    def lane(self, v, i):
        """Lane i of vector v."""
        return self.op(f"vector.extract {v}[{i}] : {self.element} from {self.types[v]}", self.element, "s")

    def reduce(self, kind, v):
        """The lanes of vector v combined by `kind` (e.g. maximumf)."""
        return self.op(f"vector.reduction <{kind}>, {v} : {self.types[v]} into {self.element}", self.element, "s")

    def empty(self, type_):
        return self.op(f"tensor.empty() : {type_}", type_, "t")

    # Scalars are read and written as one-element vectors: IREE 3.13's
    # unit-dimension folding rewrites a tensor.extract from a loop-carried
    # tensor with a unit dimension (e.g. 3x1) into one from a collapse_shape
    # hoisted out of its loop ("operand #0 does not dominate this use").

    def extract(self, t, indices):
        element = parse_tensor(self.types[t])[1]
        return self.op(f"vector.extract {self.read(t, indices, 1)}[0] : {element} from "
                       f"{self.vector_type(1, element)}", element, "s")

    def insert(self, x, t, indices):
        return self.write(self.splat(x, 1), t, indices)

    def read(self, t, indices, size):
        """A chunk of `size` elements of a row, from indices on (in bounds)."""
        tt = self.types[t]
        element = parse_tensor(tt)[1]
        vt = self.vector_type(size, element)
        pad = self.constant(0 if element.startswith("i") else 0.0, element)
        return self.op(f"vector.transfer_read {t}[{', '.join(map(self.index, indices))}], {pad} "
                       f"{{in_bounds = [true]}} : {tt}, {vt}", vt)

    def write(self, x, t, indices):
        tt = self.types[t]
        return self.op(f"vector.transfer_write {x}, {t}[{', '.join(map(self.index, indices))}] "
                       f"{{in_bounds = [true]}} : {self.types[x]}, {tt}", tt, "t")

    # --- the whole function.

    def function(self, name, args, result_types, results):
        """The text of `func.func private @name(args) -> result_types
        attributes {no_inline}` whose body is one dispatch region of these
        lines, yielding `results` (args: the argument names, typed in
        `types`)."""
        signature = ", ".join(f"{a}: {self.types[a]}" for a in args)
        types = ", ".join(result_types)
        count = f":{len(results)}" if len(results) > 1 else ""
        returned = ", ".join(f"%r{'#' + str(n) if len(results) > 1 else ''}" for n in range(len(results)))
        return "\n".join([
            f"func.func private @{name}({signature}) -> ({types}) attributes {{no_inline}} {{",
            f"  %r{count} = flow.dispatch.region -> ({types}) {{",
            *self.head,
            *self.lines,
            f"    flow.return {', '.join(results)} : {types}",
            "  }",
            f"  return {returned} : {types}",
            "}",
        ])


# ---------------------------------------------------------------------------
# Loop nests shared by the kernels.

def while_loop(b, cond, step, **carried):
    """The values of `carried` (a dict) after `while cond(v): v = step(v)`,
    an scf.while. The before region passes the values on unchanged: tensors
    are updated by `step` alone, in place, as bufferization wants."""
    keys = list(carried)
    types = ", ".join(b.types[carried[k]] for k in keys)
    result = b.name("w")
    count = f":{len(keys)}" if len(keys) > 1 else ""

    def arguments():
        names = {k: b.name("a") for k in keys}
        b.types.update((names[k], b.types[carried[k]]) for k in keys)
        return names

    first = arguments()
    b.emit(f"{result}{count} = scf.while ({', '.join(f'{first[k]} = {carried[k]}' for k in keys)}) : ({types}) -> "
           f"({types}) {{")
    b.depth += 1
    b.emit(f"scf.condition({cond(dict(first))}) {', '.join(first.values())} : {types}")
    b.depth -= 1
    b.emit("} do {")
    b.depth += 1
    second = arguments()
    b.emit(f"^bb0({', '.join(f'{second[k]}: {b.types[second[k]]}' for k in keys)}):")
    after = step(dict(second))
    b.emit(f"scf.yield {', '.join(after[k] for k in keys)} : {types}")
    b.depth -= 1
    b.emit("}")
    return _results(b, result, keys, carried)


def if_then(b, condition, then, **carried):
    """The values of `carried` (a dict) after `if condition: v = then(v)`,
    an scf.if whose else branch passes them on: the branch not taken costs
    nothing, where a select computes both."""
    keys = list(carried)
    types = ", ".join(b.types[carried[k]] for k in keys)
    result = b.name("f")
    count = f":{len(keys)}" if len(keys) > 1 else ""
    b.emit(f"{result}{count} = scf.if {condition} -> ({types}) {{")
    b.depth += 1
    after = then(dict(carried))
    b.emit(f"scf.yield {', '.join(after[k] for k in keys)} : {types}")
    b.depth -= 1
    b.emit("} else {")
    b.depth += 1
    b.emit(f"scf.yield {', '.join(carried[k] for k in keys)} : {types}")
    b.depth -= 1
    b.emit("}")
    return _results(b, result, keys, carried)


def _results(b, result, keys, carried):
    """The values named `keys` of the op `result` (typed as `carried`'s)."""
    out = {k: f"{result}#{n}" if len(keys) > 1 else result for n, k in enumerate(keys)}
    b.types.update((out[k], b.types[carried[k]]) for k in keys)
    return out


def each_chunk(b, t, lo, n, update):
    """t after `update(t, base, size) -> t` on every chunk of columns that
    meets [lo, n): the chunks of b.lanes columns from the one holding column
    lo (an scf.for, lo may be a value), then the narrower rest of the row.
    The first chunk may start left of lo: `update` masks that part itself."""
    full, rest = divmod(n, b.lanes)
    if full:
        start = lo // b.lanes if isinstance(lo, int) else b.index_op("arith.divui", lo, b.lanes)
        with b.loop(start, full, t=t) as chunk:
            base = b.index_op("arith.muli", chunk.iv, b.lanes)
            chunk.v["t"] = update(chunk.v["t"], base, b.lanes)
        t = chunk.v["t"]
    if rest:
        t = update(t, full * b.lanes, rest)
    return t


def columns_from(b, lo, base, size, predicate="sge"):
    """The lanes of the chunk at column `base` whose column compares to lo."""
    offset = b.cast(b.index_op("arith.subi", lo, base), "i32")
    return b.compare("cmpi", predicate, b.iota(size), b.splat(offset, size))


def for_each_matrix(b, batch, state, body):
    """state after `body(prefix, state) -> state` for each matrix of the
    batch (prefix: its batch indices), in nested loops over the batch dims."""
    def level(prefix, state, dims):
        if not dims:
            return body(prefix, state)
        with b.loop(0, dims[0], **state) as matrix:
            matrix.v.update(level(prefix + [matrix.iv], matrix.v, dims[1:]))
        return matrix.v

    return level([], state, list(batch))


def fill_rows(b, t, prefix, rows, n, row_value):
    """t with each row r < rows set to `row_value(r, base, size)` chunk by chunk."""
    with b.loop(0, rows, t=t) as row:
        row.v["t"] = each_chunk(b, row.v["t"], 0, n, lambda t, base, size: b.write(
            row_value(row.iv, base, size), t, prefix + [row.iv, base]))
    return row.v["t"]


def transposed_in_place(b, prefix, n, t, zero_above=False):
    """t's n x n matrix at prefix transposed in place (or, `zero_above`, its
    upper triangle moved below and zeros left above)."""
    with b.loop(0, n, t=t) as row:
        with b.loop(b.index_op("arith.addi", row.iv, 1), n, t=row.v["t"]) as col:
            t = col.v["t"]
            upper, lower = b.extract(t, prefix + [row.iv, col.iv]), b.extract(t, prefix + [col.iv, row.iv])
            col.v["t"] = b.insert(b.scalar(0) if zero_above else lower, b.insert(upper, t, prefix + [col.iv, row.iv]),
                                  prefix + [row.iv, col.iv])
        row.v["t"] = col.v["t"]
    return row.v["t"]


__all__ = ["ELEMENT_BYTES", "LANE_BYTES", "Body", "Loop", "columns_from", "each_chunk", "fill_rows",
           "for_each_matrix", "if_then", "parse_tensor", "transposed_in_place", "while_loop"]
