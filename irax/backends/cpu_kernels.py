"""Native CPU kernels for the sequential loops of irax's factorizations.

The portable factorizations (frontend/lax_linalg.py) are `scf.for` loops of
whole-array ops; IREE runs such a loop on the host, one dispatch or more per
step (~15-60 us each), so a 64-column panel costs milliseconds. On the CPU
(llvm-cpu) the same algorithm can run as native code inside ONE dispatch: a
`flow.dispatch.region` whose body is `scf.for` loops of scalar and vector
reads and writes (`vector.transfer_read`/`transfer_write`) of its tensors.
`build` writes such a kernel as the text of a private function, which the CPU
backend substitutes for the portable function it stands for.

The kernels compute what the portable loops compute, NaN, inf and zero
pivots included, in the order that keeps the inner loops vectorizable:

    cholesky_block      A -> (L, L⁻¹). Right-looking on U = Lᵀ (A's lower
                        triangle, transposed, so column j of L is the
                        contiguous row j of U): U[j, j] = sqrt(U[j, j])
                        (kept as it is where U[j, j] <= 0, as there),
                        U[j, k] /= U[j, j] (k > j), then U[i, k] -= U[j, i]
                        U[j, k] for k >= i > j. L⁻¹ as triangular_inverse,
                        reading L[i, k] from U[k, i]; then U is transposed in
                        place into L.
    triangular_inverse  L -> L⁻¹ by forward substitution on whole rows, as
                        `_forward_substitution_loop(L, eye)`:
                        X[i, :] = (e_i - sum_{k<i} L[i, k] X[k, :]) / L[i, i].
                        Whole rows (not their lower part alone) because the
                        portable loop's rows are whole: a zero or NaN on the
                        diagonal makes NaNs above it too, as there.
    forward_substitution
                        (L, B) -> X with L X = B, the same loop on B's rows,
                        `_forward_substitution_loop(L, B)`:
                        X[i, :] = (B[i, :] - sum_{k<i} L[i, k] X[k, :]) / L[i, i];
                        triangular_inverse is this with B = I.
    lu_panel            A -> (lu, pivots, perm), `_lu_loop`: at step j the
                        first row p >= j of largest |A[p, j]| (NaN largest,
                        as argmax) is swapped with row j, A[i, j] /= A[j, j]
                        (unscaled for a zero pivot) and A[i, k] -= A[i, j]
                        A[j, k] for i, k > j, row by row; the search for the
                        next step's pivot runs along, on the new A[i, j + 1].
    pivots_to_permutation
                        pivots (..., k) i32 -> perm (..., m) i32, m =
                        permutation_size >= k: perm = 0..m-1, then perm[j]
                        and perm[pivots[j]] swap for j = 0..k-1. A pivot
                        outside [0, m) matches no row in the portable loop's
                        masks, which then write 0 at row j; so here.
    svd_sweep           w (..., r, n), n = 2k -> (w, off (..., 1)),
                        lax_svd._sweep: n - 1 rounds, each rotating the
                        pairs (column i, column k + i) so that their first
                        `rows` rows are orthogonal (α, β, γ summed down the
                        rows with the k pairs in the lanes), then moving the
                        columns one seat round the table as each row is
                        written back; off the largest |γ| / sqrt(αβ) seen.
    eigh_sweep          (a, v) (..., m, m), m = 2h -> (a, v), lax_eigh._sweep:
                        m - 1 rounds, each computing pair i's rotation
                        (indices i, h + i) as scalars into a scratch tensor,
                        rotating A's and V's columns row by row with the h
                        pairs in the lanes (moved as svd_sweep's), then A's
                        rows a chunk of columns at a time, pair by pair, each
                        pair's two rows written to their new seats; the
                        diagonal is its start plus the corrections at the end.

IREE's LLVM pipeline runs neither loop nor SLP vectorization by default, so
the row loops are written with `vector` ops: a row is cut into chunks of
LANE_BYTES (one AVX-512 register: 16 f32, 8 f64) and one narrower chunk for
the rest of the row; a chunk that straddles the start of a row's range is
updated under a select on its column indices. The sums run in another order
than the portable code's matmuls, so values agree to rounding, and NaN/inf
patterns exactly (IEEE sums with infinities and NaNs do not depend on order).
Leading dimensions are batch dimensions: nested loops inside the dispatch.
Loop-carried tensors are always updated in place (each loop yields its
iteration argument as updated by insert/transfer_write, and every read of a
tensor precedes the writes of its iteration), as bufferization inside a
dispatch requires.
"""
from __future__ import annotations

import functools
import re

LANE_BYTES = 64  # one chunk: an AVX-512 register (two AVX2 ones)
ACCUMULATORS = 4  # chunks a forward substitution keeps in registers at once
_ELEMENT_BYTES = {"f32": 4, "f64": 8, "i32": 4}
_FLOATS = ("f32", "f64")


def _parse(type_):
    """(shape, element type) of a static tensor type, None otherwise."""
    m = re.fullmatch(r"tensor<((?:\d+x)*)(\w+)>", type_.replace(" ", ""))
    if not m:
        return None
    return tuple(int(d) for d in m[1].split("x")[:-1]), m[2]


# ---------------------------------------------------------------------------
# The text of a region body: SSA names, constants, loops.

class _Loop:
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


class _Body:
    """The lines of one dispatch region's body. Values are SSA names whose
    types `types` records; an int where a value is expected is an index
    constant (constants are emitted once, at the top of the region)."""

    def __init__(self, element):
        self.element = element
        self.lanes = LANE_BYTES // _ELEMENT_BYTES[element]
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
        return _Loop(self, lo, hi, carried)

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
        return self.op(f"vector.extract {self.read(t, indices, 1)}[0] : {_parse(self.types[t])[1]} from "
                       f"{self.vector_type(1, _parse(self.types[t])[1])}", _parse(self.types[t])[1], "s")

    def insert(self, x, t, indices):
        return self.write(self.splat(x, 1), t, indices)

    def read(self, t, indices, size):
        """A chunk of `size` elements of a row, from indices on (in bounds)."""
        tt = self.types[t]
        vt = self.vector_type(size, _parse(tt)[1])
        pad = self.constant(0 if _parse(tt)[1].startswith("i") else 0.0, _parse(tt)[1])
        return self.op(f"vector.transfer_read {t}[{', '.join(map(self.index, indices))}], {pad} "
                       f"{{in_bounds = [true]}} : {tt}, {vt}", vt)

    def write(self, x, t, indices):
        tt = self.types[t]
        return self.op(f"vector.transfer_write {x}, {t}[{', '.join(map(self.index, indices))}] "
                       f"{{in_bounds = [true]}} : {self.types[x]}, {tt}", tt, "t")


# ---------------------------------------------------------------------------
# Loop nests shared by the kernels.

def _chunks(b, t, lo, n, update):
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


def _columns_from(b, lo, base, size, predicate="sge"):
    """The lanes of the chunk at column `base` whose column compares to lo."""
    offset = b.cast(b.index_op("arith.subi", lo, base), "i32")
    return b.compare("cmpi", predicate, b.iota(size), b.splat(offset, size))


def _for_each_matrix(b, batch, state, body):
    """state after `body(prefix, state) -> state` for each matrix of the
    batch (prefix: its batch indices), in nested loops over the batch dims."""
    def level(prefix, state, dims):
        if not dims:
            return body(prefix, state)
        with b.loop(0, dims[0], **state) as matrix:
            matrix.v.update(level(prefix + [matrix.iv], matrix.v, dims[1:]))
        return matrix.v

    return level([], state, list(batch))


def _fill_rows(b, t, prefix, rows, n, row_value):
    """t with each row r < rows set to `row_value(r, base, size)` chunk by chunk."""
    with b.loop(0, rows, t=t) as row:
        row.v["t"] = _chunks(b, row.v["t"], 0, n, lambda t, base, size: b.write(
            row_value(row.iv, base, size), t, prefix + [row.iv, base]))
    return row.v["t"]


def _substitute_rows(b, x, prefix, n, width, rhs, coefficient, diagonal):
    """x (n x width) solving L x = B by rows, X[i, :] = (B[i, :] - sum_{k<i}
    L[i, k] X[k, :]) / L[i, i], on whole rows; `rhs(i, base, size)` is the
    chunk of B[i, :] at column base, `coefficient(i, k)` L[i, k],
    `diagonal(i)` L[i, i] (None: unit diagonal). Up to ACCUMULATORS chunks of
    a row stay in registers while k runs (independent chains, one load and
    one multiply-add per chunk and k); the column groups are independent, so
    each runs the whole i loop: the groups of full chunks in an scf.for (the
    code does not grow with the width), then the rest of the row."""
    def solve(x, group):
        with b.loop(0, n, x=x) as row:
            i = row.iv
            acc = {f"q{q}": rhs(i, base, size) for q, (base, size) in enumerate(group)}
            with b.loop(0, i, **acc) as term:
                c = coefficient(i, term.iv)
                splats = {size: b.splat(c, size) for size in sorted({size for _, size in group})}
                for q, (base, size) in enumerate(group):
                    xk = b.read(row.v["x"], prefix + [term.iv, base], size)
                    term.v[f"q{q}"] = b.arith("arith.subf", term.v[f"q{q}"], b.arith("arith.mulf", splats[size], xk))
            d = diagonal(i)
            for q, (base, size) in enumerate(group):
                xi = term.v[f"q{q}"] if d is None else b.arith("arith.divf", term.v[f"q{q}"], b.splat(d, size))
                row.v["x"] = b.write(xi, row.v["x"], prefix + [i, base])
        return row.v["x"]

    full, rest = divmod(width, b.lanes)
    groups, spare = divmod(full, ACCUMULATORS)
    if groups:
        with b.loop(0, groups, x=x) as g:
            first = b.index_op("arith.muli", g.iv, ACCUMULATORS * b.lanes)
            g.v["x"] = solve(g.v["x"], [(b.index_op("arith.addi", first, q * b.lanes), b.lanes)
                                        for q in range(ACCUMULATORS)])
        x = g.v["x"]
    tail = [((groups * ACCUMULATORS + q) * b.lanes, b.lanes) for q in range(spare)]
    tail += [(full * b.lanes, rest)] if rest else []
    return solve(x, tail) if tail else x


def _identity_rows(b):
    """rhs for _substitute_rows with B = I: the chunks of e_i."""
    one, zero = b.scalar(1), b.scalar(0)
    return lambda i, base, size: b.select(_columns_from(b, i, base, size, "eq"), b.splat(one, size),
                                          b.splat(zero, size))


# ---------------------------------------------------------------------------
# The kernels: each gets the region's body, its argument names and their
# (shape, element) types, the result types and the params, and returns the
# result values.

def _cholesky_block(b, args, arg_types, result_types, params):
    (a,), ((shape, _),) = args, arg_types
    *batch, n, n2 = shape
    if n != n2 or [_parse(t) for t in result_types] != [arg_types[0]] * 2:
        raise ValueError(f"cholesky_block takes (..., n, n) -> (L, L⁻¹) of its type, got {arg_types} -> {result_types}")
    zero = b.scalar(0)

    def factorize(prefix, state):
        u, x = state["L"], state["X"]
        # U = the lower triangle of A, transposed (zeros below the diagonal).
        u = _fill_rows(b, u, prefix, n, n, lambda r, base, size: b.splat(zero, size))
        with b.loop(0, n, u=u) as row:
            with b.loop(row.iv, n, u=row.v["u"]) as col:
                col.v["u"] = b.insert(b.extract(a, prefix + [col.iv, row.iv]), col.v["u"], prefix + [row.iv, col.iv])
            row.v["u"] = col.v["u"]
        u = row.v["u"]
        with b.loop(0, n, u=u) as step:
            j = step.iv
            u = step.v["u"]
            pivot = b.extract(u, prefix + [j, j])  # a pivot <= 0 stays, as in _cholesky_loop
            d = b.select(b.compare("cmpf", "ogt", pivot, zero), b.unary("math.sqrt", pivot), pivot)
            j1 = b.index_op("arith.addi", j, 1)

            def scale(t, base, size):  # U[j, k] /= d for k > j
                chunk = b.read(t, prefix + [j, base], size)
                scaled = b.arith("arith.divf", chunk, b.splat(d, size))
                return b.write(b.select(_columns_from(b, j1, base, size), scaled, chunk), t, prefix + [j, base])

            u = b.insert(d, _chunks(b, u, j1, n, scale), prefix + [j, j])
            with b.loop(j1, n, u=u) as below:
                i = below.iv
                s = b.extract(below.v["u"], prefix + [j, i])

                def update(t, base, size):  # U[i, k] -= U[j, i] U[j, k] for k >= i
                    chunk = b.read(t, prefix + [i, base], size)
                    new = b.arith("arith.subf", chunk, b.arith("arith.mulf", b.splat(s, size),
                                                              b.read(t, prefix + [j, base], size)))
                    return b.write(b.select(_columns_from(b, i, base, size), new, chunk), t, prefix + [i, base])

                below.v["u"] = _chunks(b, below.v["u"], i, n, update)
            step.v["u"] = below.v["u"]
        u = step.v["u"]
        # L⁻¹ from U (L[i, k] = U[k, i]), then U transposed in place into L.
        x = _substitute_rows(b, x, prefix, n, n, _identity_rows(b), lambda i, k: b.extract(u, prefix + [k, i]),
                             lambda i: b.extract(u, prefix + [i, i]))
        with b.loop(0, n, u=u) as row:
            with b.loop(b.index_op("arith.addi", row.iv, 1), n, u=row.v["u"]) as col:
                t = col.v["u"]
                upper = b.extract(t, prefix + [row.iv, col.iv])
                t = b.insert(upper, t, prefix + [col.iv, row.iv])
                col.v["u"] = b.insert(zero, t, prefix + [row.iv, col.iv])
            row.v["u"] = col.v["u"]
        return {"L": row.v["u"], "X": x}

    state = _for_each_matrix(b, batch, {"L": b.empty(result_types[0]), "X": b.empty(result_types[1])}, factorize)
    return [state["L"], state["X"]]


def _triangular_inverse(b, args, arg_types, result_types, params):
    (a,), ((shape, _),) = args, arg_types
    *batch, n, n2 = shape
    if n != n2 or [_parse(t) for t in result_types] != [arg_types[0]]:
        raise ValueError(f"triangular_inverse takes (..., n, n) -> its type, got {arg_types} -> {result_types}")
    unit = bool(params.get("unit_diagonal", False))

    def invert(prefix, state):
        return {"X": _substitute_rows(b, state["X"], prefix, n, n, _identity_rows(b),
                                      lambda i, k: b.extract(a, prefix + [i, k]),
                                      lambda i: None if unit else b.extract(a, prefix + [i, i]))}

    return [_for_each_matrix(b, batch, {"X": b.empty(result_types[0])}, invert)["X"]]


def _forward_substitution(b, args, arg_types, result_types, params):
    (l, rhs), ((l_shape, l_element), (shape, element)) = args, arg_types
    *batch, n, k = shape
    if l_shape != (*batch, n, n) or l_element != element or [_parse(t) for t in result_types] != [arg_types[1]]:
        raise ValueError(f"forward_substitution takes L (..., n, n) and B (..., n, k) of one element type -> B's "
                         f"type, got {arg_types} -> {result_types}")
    unit = bool(params.get("unit_diagonal", False))

    def solve(prefix, state):
        return {"X": _substitute_rows(b, state["X"], prefix, n, k,
                                      lambda i, base, size: b.read(rhs, prefix + [i, base], size),
                                      lambda i, j: b.extract(l, prefix + [i, j]),
                                      lambda i: None if unit else b.extract(l, prefix + [i, i]))}

    return [_for_each_matrix(b, batch, {"X": b.empty(result_types[0])}, solve)["X"]]


def _lu_panel(b, args, arg_types, result_types, params):
    (a,), ((shape, _),) = args, arg_types
    *batch, m, n = shape
    k = min(m, n)
    if m == 1:
        # IREE 3.13 gave a one-row panel's perm the bits of its lu (1.0 came
        # back as 1065353216); the portable loop is one step there anyway.
        return None
    bits = {"f32": "i32", "f64": "i64"}[b.element]
    nan_bits = {"f32": 0x7F800001, "f64": 0x7FF0000000000001}[b.element]  # the least NaN
    expected = [arg_types[0], (tuple(batch) + (k,), "i32"), (tuple(batch) + (m,), "i32")]
    if [_parse(t) for t in result_types] != expected:
        raise ValueError(f"lu_panel takes (..., m, n) -> (lu, pivots (..., min(m, n)) i32, perm (..., m) i32), "
                         f"got {arg_types} -> {result_types}")

    def key(value):
        """|value| as an integer that orders as |x| does: as integers, the
        bits of |x| do, and every NaN's bits exceed inf's; clamped to one NaN,
        a later NaN ties with the first and does not replace it. So the pivot
        search is an integer argmax, a short dependency chain."""
        magnitude = b.bitcast(b.unary("math.absf", value), bits)
        return b.arith("arith.minsi", magnitude, b.constant(nan_bits, bits))

    def argmax(search, row, value):
        """Fold row's value into the search (a loop carrying best and p)."""
        take = b.compare("cmpi", "sgt", value, search.v["best"])
        search.v["best"] = b.arith("arith.maxsi", value, search.v["best"])
        search.v["p"] = b.select(take, row, search.v["p"])

    def factorize(prefix, state):
        x = _fill_rows(b, state["lu"], prefix, m, n, lambda r, base, size: b.read(a, prefix + [r, base], size))
        with b.loop(0, m, perm=state["perm"]) as row:
            row.v["perm"] = b.insert(b.cast(row.iv, "i32"), row.v["perm"], prefix + [row.iv])
        none = b.constant(-1, bits)  # below every key
        # The pivot row of column 0. Each step finds the next column's while
        # it updates the rows below: a search down a column, 256 bytes a
        # step, uses a sixteenth of the L1 cache's sets, and cost more than
        # all the updates.
        with b.loop(0, m, best=none, p=b.index(0)) as search:
            argmax(search, search.iv, key(b.extract(x, prefix + [search.iv, 0])))
        with b.loop(0, k, lu=x, pivots=state["pivots"], perm=row.v["perm"], p=search.v["p"]) as step:
            j, x, perm, p = step.iv, step.v["lu"], step.v["perm"], step.v["p"]
            j1 = b.index_op("arith.addi", j, 1)

            def swap(t, base, size):  # rows j and p (the same row when p == j)
                row_j, row_p = b.read(t, prefix + [j, base], size), b.read(t, prefix + [p, base], size)
                return b.write(row_j, b.write(row_p, t, prefix + [j, base]), prefix + [p, base])

            x = _chunks(b, x, 0, n, swap)
            perm_j, perm_p = b.extract(perm, prefix + [j]), b.extract(perm, prefix + [p])
            step.v["perm"] = b.insert(perm_j, b.insert(perm_p, perm, prefix + [j]), prefix + [p])
            step.v["pivots"] = b.insert(b.cast(p, "i32"), step.v["pivots"], prefix + [j])
            # Multipliers A[i, j] / pivot; a zero pivot divides by 1 instead
            # (the column stays unscaled), as the portable loop does.
            pivot = b.extract(x, prefix + [j, j])
            divisor = b.select(b.compare("cmpf", "oeq", pivot, b.scalar(0)), b.scalar(1), pivot)
            next_column = b.index_op("arith.minui", j1, n - 1)  # (unused after the last column)
            pivot_next = b.extract(x, prefix + [j, next_column])
            with b.loop(j1, m, x=x, best=none, p=j1) as below:
                i = below.iv
                multiplier = b.arith("arith.divf", b.extract(below.v["x"], prefix + [i, j]), divisor)
                # The new A[i, j + 1], as the update below computes it (the
                # same ops, so LLVM contracts both alike), from registers: a
                # load of it after the row's masked vector store would wait
                # for that store (no store forwarding from a masked store).
                old_next = b.extract(below.v["x"], prefix + [i, next_column])
                new_next = b.arith("arith.subf", old_next, b.arith("arith.mulf", multiplier, pivot_next))

                def update(t, base, size):  # A[i, k] -= mult A[j, k] for k > j
                    chunk = b.read(t, prefix + [i, base], size)
                    product = b.arith("arith.mulf", b.splat(multiplier, size), b.read(t, prefix + [j, base], size))
                    new = b.select(_columns_from(b, j1, base, size), b.arith("arith.subf", chunk, product), chunk)
                    return b.write(new, t, prefix + [i, base])

                below.v["x"] = b.insert(multiplier, _chunks(b, below.v["x"], j1, n, update), prefix + [i, j])
                argmax(below, i, key(new_next))
            step.v["lu"], step.v["p"] = below.v["x"], below.v["p"]
        return step.v

    init = {"lu": b.empty(result_types[0]), "pivots": b.empty(result_types[1]), "perm": b.empty(result_types[2])}
    state = _for_each_matrix(b, batch, init, factorize)
    return [state["lu"], state["pivots"], state["perm"]]


def _pivots_to_permutation(b, args, arg_types, result_types, params):
    (pivots,), ((shape, _),) = args, arg_types
    *batch, k = shape
    m = params["permutation_size"]
    if k > m or [_parse(t) for t in result_types] != [(tuple(batch) + (m,), "i32")]:
        raise ValueError(f"pivots_to_permutation takes pivots (..., k) i32 -> (..., permutation_size) i32 with "
                         f"k <= permutation_size = {m}, got {arg_types} -> {result_types}")
    zero, size = b.constant(0, "i32"), b.constant(m, "i32")

    def permute(prefix, state):
        with b.loop(0, m, perm=state["perm"]) as row:
            row.v["perm"] = b.insert(b.cast(row.iv, "i32"), row.v["perm"], prefix + [row.iv])
        with b.loop(0, k, perm=row.v["perm"]) as step:
            j, perm = step.iv, step.v["perm"]
            p = b.extract(pivots, prefix + [j])
            inside = b.compare("cmpi", "ult", p, size)  # (a negative pivot is a large unsigned one)
            row_p = b.select(inside, b.cast(p, "index"), j)  # outside: the writes below both go to row j
            perm_j = b.extract(perm, prefix + [j])
            perm_p = b.select(inside, b.extract(perm, prefix + [row_p]), zero)
            step.v["perm"] = b.insert(perm_p, b.insert(perm_j, perm, prefix + [row_p]), prefix + [j])
        return step.v

    return [_for_each_matrix(b, batch, {"perm": b.empty(result_types[0])}, permute)["perm"]]


def _rotated(b, top, bottom, sine, tau):
    """A Jacobi rotation of two rows (or columns) in Rutishauser's form, as
    the portable code's: (top - s (bottom + τ top), bottom + s (top - τ bottom))."""
    return (b.arith("arith.subf", top, b.arith("arith.mulf", sine, b.arith(
                "arith.addf", bottom, b.arith("arith.mulf", tau, top)))),
            b.arith("arith.addf", bottom, b.arith("arith.mulf", sine, b.arith(
                "arith.subf", top, b.arith("arith.mulf", tau, bottom)))))


def _svd_sweep(b, args, arg_types, result_types, params):
    (w,), ((shape, element),) = args, arg_types
    *batch, height, n = shape
    m, k = params["rows"], n // 2
    if n % 2 or not 0 < m <= height or [_parse(t) for t in result_types] != [arg_types[0],
                                                                              ((*batch, 1), element)]:
        raise ValueError(f"svd_sweep takes w (..., r, n), n even, r >= rows = {m} -> (w, off (..., 1)) of its "
                         f"element type, got {arg_types} -> {result_types}")
    chunks = [(base, min(b.lanes, k - base)) for base in range(0, k, b.lanes)]  # of the k pairs
    sizes = sorted({size for _, size in chunks})
    zero, one, minus_one, two = ({size: b.splat(b.scalar(value), size) for size in sizes} for value in (0, 1, -1, 2))
    tolerance = {size: b.splat(b.scalar(params["tolerance"]), size) for size in sizes}

    def rotation(alpha, beta, gamma, size):
        """(s, τ, |γ| / sqrt(αβ) or 0) of k pairs' sums, as _rotate_pairs."""
        magnitude = b.unary("math.absf", gamma)
        norms = b.unary("math.sqrt", b.arith("arith.mulf", alpha, beta))
        rotate = b.compare("cmpf", "ogt", magnitude, b.arith("arith.mulf", tolerance[size], norms))
        zeta = b.arith("arith.divf", b.arith("arith.subf", beta, alpha),
                       b.arith("arith.mulf", two[size], b.select(rotate, gamma, one[size])))
        sign = b.select(b.compare("cmpf", "oge", zeta, zero[size]), one[size], minus_one[size])
        root = b.unary("math.sqrt", b.arith("arith.addf", one[size], b.arith("arith.mulf", zeta, zeta)))
        t = b.select(rotate, b.arith("arith.divf", sign, b.arith("arith.addf", b.unary("math.absf", zeta), root)),
                     zero[size])
        c = b.arith("arith.divf", one[size], b.unary("math.sqrt", b.arith("arith.addf", one[size],
                                                                          b.arith("arith.mulf", t, t))))
        sine = b.arith("arith.mulf", c, t)
        tau = b.arith("arith.divf", sine, b.arith("arith.addf", one[size], c))
        positive = b.compare("cmpf", "ogt", norms, zero[size])
        off = b.select(positive, b.arith("arith.divf", magnitude, b.select(positive, norms, one[size])), zero[size])
        return sine, tau, off

    def sweep(prefix, state):
        x = _fill_rows(b, state["w"], prefix, height, n, lambda r, base, size: b.read(w, prefix + [r, base], size))
        offs = {f"off{q}": zero[size] for q, (_, size) in enumerate(chunks)}
        with b.loop(0, n - 1, x=x, **offs) as round_:
            x = round_.v["x"]
            # α, β, γ of the pairs (top column i, bottom column k + i), a lane each, from the first m rows.
            sums = {f"{name}{q}": zero[size] for q, (_, size) in enumerate(chunks) for name in "abg"}
            with b.loop(0, m, **sums) as row:
                for q, (base, size) in enumerate(chunks):
                    top, bottom = b.read(x, prefix + [row.iv, base], size), b.read(x, prefix + [row.iv, k + base], size)
                    for name, (p, r) in zip("abg", [(top, top), (bottom, bottom), (top, bottom)]):
                        row.v[f"{name}{q}"] = b.arith("arith.addf", row.v[f"{name}{q}"], b.arith("arith.mulf", p, r))
            rotations = []
            for q, (_, size) in enumerate(chunks):
                sine, tau, off = rotation(row.v[f"a{q}"], row.v[f"b{q}"], row.v[f"g{q}"], size)
                round_.v[f"off{q}"] = b.arith("arith.maximumf", round_.v[f"off{q}"], off)
                rotations.append((sine, tau))
            with b.loop(0, height, x=x) as row:
                i, t, tops, bottoms = row.iv, row.v["x"], [], []  # (row i of t is as the round found it)
                for (base, size), (sine, tau) in zip(chunks, rotations):
                    top, bottom = _rotated(b, b.read(t, prefix + [i, base], size),
                                           b.read(t, prefix + [i, k + base], size), sine, tau)
                    tops.append(top)
                    bottoms.append(bottom)
                row.v["x"] = _round_robin(b, row.v["x"], prefix + [i], k, chunks, tops, bottoms)
            round_.v["x"] = row.v["x"]
        off = functools.reduce(lambda a, c: b.arith("arith.maximumf", a, c),
                               [b.reduce("maximumf", round_.v[name]) for name in offs])
        return {"w": round_.v["x"], "off": b.insert(off, state["off"], prefix + [0])}

    state = _for_each_matrix(b, batch, {"w": b.empty(result_types[0]), "off": b.empty(result_types[1])}, sweep)
    return [state["w"], state["off"]]


def _round_robin(b, t, row, k, chunks, tops, bottoms):
    """t with `row` (its indices but the column) set to the rotated top
    columns T (chunks `tops`) and bottom ones B, moved one seat round the
    table as _rotate_pairs moves them: [T0, B0, T1, ..., T(k-2) | B1, ...,
    B(k-1), T(k-1)]. B is written shifted left by k - 1 seats, then T right
    by one (T1..T(k-2) land in place), then the four columns these leave
    wrong or empty are set apart."""
    def at(column):
        return row + [column]

    if k == 1:  # two columns have nowhere to go
        return b.write(bottoms[0], b.write(tops[0], t, at(0)), at(1))
    for (base, _), bottom in zip(chunks, bottoms):
        t = b.write(bottom, t, at(k - 1 + base))
    for (base, _), top in zip(chunks, tops):
        t = b.write(top, t, at(1 + base))
    last = chunks[-1][1] - 1
    for column, value in [(0, b.lane(tops[0], 0)), (1, b.lane(bottoms[0], 0)), (k, b.lane(bottoms[0], 1)),
                          (2 * k - 1, b.lane(tops[-1], last))]:
        t = b.insert(value, t, at(column))
    return t


# The rows of eigh_sweep's scratch tensor (one row of m per quantity, shared by the batch).
_S, _R, _Z, _NEXT_Z, _DIAGONAL, _START = range(6)
_SCRATCH_BYTES = 32768  # IREE's stack limit for a dispatch's allocations; a larger m stays portable


def _eigh_sweep(b, args, arg_types, result_types, params):
    (a, v), ((shape, element), _) = args, arg_types
    *batch, m, m2 = shape
    h = m // 2
    if m != m2 or m % 2 or [_parse(t) for t in result_types] != arg_types or arg_types[1] != arg_types[0]:
        raise ValueError(f"eigh_sweep takes (a, v) (..., m, m), m even -> (a, v), got {arg_types} -> "
                         f"{result_types}")
    if 6 * m * _ELEMENT_BYTES[element] > _SCRATCH_BYTES:
        return None
    chunks = [(base, min(b.lanes, h - base)) for base in range(0, h, b.lanes)]  # of the h pairs
    zero, one, minus_one, two = (b.scalar(value) for value in (0, 1, -1, 2))
    last_pair = h - 1

    def seats(i):
        """The rows (and columns) that pair i's top index i and bottom index
        h + i move to at the end of a round (lax_eigh._tournament): 0 and 1
        for pair 0, else i + 1 (m - 1 for the last) and h + i - 1."""
        first = b.compare("cmpi", "eq", i, b.index(0))
        top = b.select(first, b.index(0), b.select(b.compare("cmpi", "eq", i, b.index(last_pair)), b.index(m - 1),
                                                   b.index_op("arith.addi", i, 1)))
        bottom = b.select(first, b.index(1), b.index_op("arith.addi", i, h - 1))
        return top, bottom

    def rotations(prefix, a, scratch):
        """Pair i's s and τ (r in lax_eigh), its new diagonal entries and z
        plus its corrections moved to their seats, into the scratch rows."""
        with b.loop(0, h, scratch=scratch) as pair:
            i, t = pair.iv, pair.v["scratch"]
            q = b.index_op("arith.addi", i, h)
            app, aqq, apq = (b.extract(a, prefix + [x, y]) for x, y in [(i, i), (q, q), (i, q)])
            rotate = b.compare("cmpf", "une", apq, zero)
            theta = b.arith("arith.divf", b.arith("arith.subf", aqq, app),
                            b.arith("arith.mulf", two, b.select(rotate, apq, one)))
            sign = b.select(b.compare("cmpf", "olt", theta, zero), minus_one, one)
            root = b.unary("math.sqrt", b.arith("arith.addf", one, b.arith("arith.mulf", theta, theta)))
            tangent = b.select(rotate, b.arith("arith.divf", sign, b.arith("arith.addf", b.unary("math.absf", theta),
                                                                          root)), zero)
            c = b.arith("arith.divf", one, b.unary("math.sqrt", b.arith("arith.addf", one, b.arith(
                "arith.mulf", tangent, tangent))))
            sine = b.arith("arith.mulf", tangent, c)
            ta = b.arith("arith.mulf", tangent, apq)
            top, bottom = seats(i)
            for row, index, value in [
                    (_S, i, sine), (_R, i, b.arith("arith.divf", sine, b.arith("arith.addf", one, c))),
                    (_DIAGONAL, i, b.arith("arith.subf", app, ta)), (_DIAGONAL, q, b.arith("arith.addf", aqq, ta)),
                    (_NEXT_Z, top, b.arith("arith.subf", b.extract(t, [_Z, i]), ta)),
                    (_NEXT_Z, bottom, b.arith("arith.addf", b.extract(t, [_Z, q]), ta))]:
                t = b.insert(value, t, [row, index])
            pair.v["scratch"] = t
        return pair.v["scratch"]

    def rotate_columns(prefix, a, v, scratch):
        """A J and V J, each row written back with its columns moved to their
        seats (the pairs in the lanes, as svd_sweep's)."""
        pairs = [(b.read(scratch, [_S, base], size), b.read(scratch, [_R, base], size)) for base, size in chunks]
        with b.loop(0, m, a=a, v=v) as row:
            for name in "av":
                t, tops, bottoms = row.v[name], [], []
                for (base, size), (sine, tau) in zip(chunks, pairs):
                    top, bottom = _rotated(b, b.read(t, prefix + [row.iv, base], size),
                                           b.read(t, prefix + [row.iv, h + base], size), sine, tau)
                    tops.append(top)
                    bottoms.append(bottom)
                row.v[name] = _round_robin(b, t, prefix + [row.iv], h, chunks, tops, bottoms)
        return row.v["a"], row.v["v"]

    def rotate_rows(prefix, a, scratch):
        """Jᵀ A, a chunk of columns at a time, pair by pair, each pair's rows
        written to their seats. A seat's row is read before it is written:
        the bottom seat h + i - 1 was pair i - 1's, the top seat i + 1 is
        pair i + 1's top row, which the loop carries."""
        def update(t, base, size):
            with b.loop(0, h, t=t, top=b.read(t, prefix + [0, base], size)) as pair:
                i, t = pair.iv, pair.v["t"]
                bottom = b.read(t, prefix + [b.index_op("arith.addi", i, h), base], size)
                following = b.read(t, prefix + [b.index_op("arith.addi", i, 1), base], size)  # unused after the last
                new_top, new_bottom = _rotated(b, pair.v["top"], bottom, b.splat(b.extract(scratch, [_S, i]), size),
                                               b.splat(b.extract(scratch, [_R, i]), size))
                top_seat, bottom_seat = seats(i)
                t = b.write(new_top, t, prefix + [top_seat, base])
                pair.v["t"], pair.v["top"] = b.write(new_bottom, t, prefix + [bottom_seat, base]), following
            return pair.v["t"]

        return _chunks(b, a, 0, m, update)

    def settle(prefix, a, scratch):
        """Each pair's new diagonal entries and zeros at its seats, as the
        portable round writes them before moving; z takes its moved values."""
        with b.loop(0, h, a=a, scratch=scratch) as pair:
            i, t, s = pair.iv, pair.v["a"], pair.v["scratch"]
            top, bottom = seats(i)
            top_value = b.extract(s, [_DIAGONAL, i])
            bottom_value = b.extract(s, [_DIAGONAL, b.index_op("arith.addi", i, h)])
            z_top, z_bottom = b.extract(s, [_NEXT_Z, top]), b.extract(s, [_NEXT_Z, bottom])
            for x, y, value in [(top, top, top_value), (bottom, bottom, bottom_value), (top, bottom, zero),
                                (bottom, top, zero)]:
                t = b.insert(value, t, prefix + [x, y])
            pair.v["a"] = t
            pair.v["scratch"] = b.insert(z_bottom, b.insert(z_top, s, [_Z, top]), [_Z, bottom])
        return pair.v["a"], pair.v["scratch"]

    def sweep(prefix, state):
        copy = {name: _fill_rows(b, state[name], prefix, m, m, lambda r, base, size, x=x: b.read(
            x, prefix + [r, base], size)) for name, x in [("a", a), ("v", v)]}
        with b.loop(0, m, scratch=state["scratch"]) as k:
            start = b.extract(a, prefix + [k.iv, k.iv])
            k.v["scratch"] = b.insert(zero, b.insert(start, k.v["scratch"], [_START, k.iv]), [_Z, k.iv])
        with b.loop(0, m - 1, scratch=k.v["scratch"], **copy) as round_:
            t, x, scratch = round_.v["a"], round_.v["v"], round_.v["scratch"]
            scratch = rotations(prefix, t, scratch)
            t, x = rotate_columns(prefix, t, x, scratch)
            t, scratch = settle(prefix, rotate_rows(prefix, t, scratch), scratch)
            round_.v.update(a=t, v=x, scratch=scratch)
        # The diagonal as it started plus the sweep's corrections (module docstring of lax_eigh).
        with b.loop(0, m, a=round_.v["a"]) as k:
            total = b.arith("arith.addf", b.extract(round_.v["scratch"], [_START, k.iv]),
                            b.extract(round_.v["scratch"], [_Z, k.iv]))
            k.v["a"] = b.insert(total, k.v["a"], prefix + [k.iv, k.iv])
        return {"a": k.v["a"], "v": round_.v["v"], "scratch": round_.v["scratch"]}

    state = _for_each_matrix(b, batch, {"a": b.empty(result_types[0]), "v": b.empty(result_types[1]),
                                        "scratch": b.empty(f"tensor<6x{m}x{element}>")}, sweep)
    return [state["a"], state["v"]]


# name: (builder, the element types its arguments may have)
KERNELS = {"cholesky_block": (_cholesky_block, _FLOATS), "triangular_inverse": (_triangular_inverse, _FLOATS),
           "forward_substitution": (_forward_substitution, _FLOATS), "lu_panel": (_lu_panel, _FLOATS),
           "pivots_to_permutation": (_pivots_to_permutation, ("i32",)), "svd_sweep": (_svd_sweep, _FLOATS),
           "eigh_sweep": (_eigh_sweep, _FLOATS)}


def build(kernel: str, name: str, arg_types: list[str], result_types: list[str], params: dict) -> str | None:
    """The text of `func.func private @name(args) -> results attributes
    {no_inline}` computing `kernel` in one dispatch region on the CPU, or
    None where the kernel does not cover these types (element types other
    than its own: f32/f64, i32 for pivots; dynamic or empty dimensions)."""
    builder, elements = KERNELS[kernel]
    parsed = [_parse(t) for t in arg_types]
    if any(p is None or p[1] not in elements or 0 in p[0] for p in parsed):
        return None
    if any(_parse(t) is None for t in result_types):
        return None
    b = _Body(parsed[0][1])
    args = [f"%arg{n}" for n in range(len(arg_types))]
    b.types.update(zip(args, arg_types))
    results = builder(b, args, parsed, list(result_types), params)
    if results is None:
        return None
    signature = ", ".join(f"{a}: {t}" for a, t in zip(args, arg_types))
    types = ", ".join(result_types)
    count = f":{len(results)}" if len(results) > 1 else ""
    returned = ", ".join(f"%r{'#' + str(n) if len(results) > 1 else ''}" for n in range(len(results)))
    return "\n".join([
        f"func.func private @{name}({signature}) -> ({types}) attributes {{no_inline}} {{",
        f"  %r{count} = flow.dispatch.region -> ({types}) {{",
        *b.head,
        *b.lines,
        f"    flow.return {', '.join(results)} : {types}",
        "  }",
        f"  return {returned} : {types}",
        "}",
    ])


__all__ = ["KERNELS", "build"]
