"""Native CPU kernels of eigh's tridiagonal path
(frontend/lax_eigh_tridiagonal.py), in cpu_kernels.py's table: each
computes what its portable loop computes, step for step.

    symmetric_tridiagonal
                      a (..., n, n) -> (packed (..., n, n), taus (..., n - 1)),
                      lax_eigh_tridiagonal._tridiagonal_loop (sytd2, lower):
                      at step j, row j's max and scaled norm beyond j + 1
                      (vector lanes), v into a scratch row, p = tau S v a
                      chunk of 16 f32 columns at a time down the rows k > j,
                      w = p - (tau/2)(pᵀv) v into another, then S[i, :] -=
                      v_i w + w_i v row by row; the reflector goes into row j,
                      and at the end the upper triangle is moved below.
    tridiagonal_q     (packed (..., n, n), taus (..., n - 1)) -> Qᵀ,
                      lax_eigh_tridiagonal._orgtr_loop (org2r's order): Q =
                      I, then for j = n - 2 down to 0, v from packed's
                      column j into a scratch row, w = vᵀ Q a chunk of
                      columns at a time down the rows, Q[i, :] -= (tau v_i) w
                      row by row; transposed in place at the end.
    tridiagonal_ql    (d (..., n), e (..., n - 1), y (..., n, n)) -> (d, y),
                      lax_eigh_tridiagonal._ql_loop (steqr's QL sweeps, at
                      most params["max_sweeps"]): an scf.while of sweeps per
                      matrix, each finding its block [l, m] by scalar scans
                      (l only grows), then chasing the bulge from m - 1 to l
                      in scalars, each rotation applied to y's rows i, i + 1
                      at once (16 f32 lanes a chunk), where the out-of-order
                      core overlaps it with the next step's scalar chain;
                      lartg's scaled hypot only behind a branch.

Their scratch rows live on the dispatch's stack, which IREE limits to 32
KiB: a larger n stays portable.
"""
from __future__ import annotations

import numpy as np

from irax.backends.cpu_kernel_builder import (ELEMENT_BYTES, columns_from, each_chunk, fill_rows, for_each_matrix,
                                             parse_tensor, transposed_in_place, while_loop)

_SCRATCH_BYTES = 32768  # IREE's stack limit for a dispatch's allocations
_V, _W = range(2)  # symmetric_tridiagonal's and tridiagonal_q's scratch rows
_E = 0  # tridiagonal_ql's and bidiagonal_qr's scratch row: e, an n-th entry 0 (_Deflation)
_DTYPES = {"f32": np.float32, "f64": np.float64}


_REDUCTIONS = {"addf": "add", "maximumf": "maximumf"}  # arith op -> vector.reduction's kind


def _row_reduce(b, kind, lo, n, chunk):
    """The lanes of `chunk(base, size)` over the chunks of a row that meet
    [lo, n) combined by `kind` (addf or maximumf; chunk masks the lanes left
    of lo to 0 itself)."""
    full, rest = divmod(n, b.lanes)
    parts = []
    if full:
        zero = b.splat(b.scalar(0), b.lanes)
        with b.loop(b.index_op("arith.divui", lo, b.lanes), full, acc=zero) as c:
            c.v["acc"] = b.arith(f"arith.{kind}", c.v["acc"], chunk(b.index_op("arith.muli", c.iv, b.lanes), b.lanes))
        parts.append(b.reduce(_REDUCTIONS[kind], c.v["acc"]))
    if rest:
        parts.append(b.reduce(_REDUCTIONS[kind], chunk(full * b.lanes, rest)))
    return parts[0] if len(parts) == 1 else b.arith(f"arith.{kind}", *parts)


def _masked(b, lo, base, size, value):
    return b.select(columns_from(b, lo, base, size), value, b.splat(b.scalar(0), size))


def _larfg(b, alpha, below, squares_of, zero, one):
    """(tau, divisor of x, what goes at alpha's place) of LAPACK's larfg, from
    alpha, the largest |x| below it and `squares_of(safe)`, the sum of
    (|x_i| / safe)² over alpha and x."""
    scale = b.arith("arith.maximumf", b.unary("math.absf", alpha), below)
    safe = b.select(b.compare("cmpf", "oeq", scale, zero), one, scale)
    norm = b.arith("arith.mulf", safe, b.unary("math.sqrt", squares_of(safe)))
    unit = b.compare("cmpf", "oeq", below, zero)
    beta = b.unary("arith.negf", b.arith("math.copysign", norm, alpha))  # (-0.0 negative, as LAPACK's)
    tau = b.select(unit, zero, b.arith("arith.divf", b.arith("arith.subf", beta, alpha), beta))
    return tau, b.select(unit, one, b.arith("arith.subf", alpha, beta)), b.select(unit, alpha, beta)


def _row_reflector(b, s, row, j1, scratch, start, n, zero, one):
    """larfg of `row`'s entries from j1 on (alpha at j1, x beyond): (tau,
    what goes at alpha's place, scratch with v in its row _V from column
    `start` on: 0 up to j1, 1 at j1, x / divisor beyond)."""
    j2 = b.index_op("arith.addi", j1, 1)
    alpha = b.extract(s, row + [j1])
    below = _row_reduce(b, "maximumf", j2, n, lambda base, size: _masked(
        b, j2, base, size, b.unary("math.absf", b.read(s, row + [base], size))))

    def squares_of(safe):
        return _row_reduce(b, "addf", j1, n, lambda base, size: _masked(b, j1, base, size, _square(
            b, b.arith("arith.divf", b.unary("math.absf", b.read(s, row + [base], size)), b.splat(safe, size)))))

    tau, divisor, top = _larfg(b, alpha, below, squares_of, zero, one)

    def reflector(t, base, size):
        x = b.read(s, row + [base], size)
        v = b.select(columns_from(b, j1, base, size, "eq"), b.splat(one, size),
                     _masked(b, j2, base, size, b.arith("arith.divf", x, b.splat(divisor, size))))
        return b.write(v, t, [_V, base])

    return tau, top, each_chunk(b, scratch, start, n, reflector)


def _stored_reflector(b, s, row, j1, top, scratch, n):
    """s with `row`'s entries from j1 on replaced: `top` at j1 (beta, or
    alpha where H = I), then v (scratch row _V), as LAPACK packs it."""
    def store(t, base, size):
        chunk = b.read(t, row + [base], size)
        new = b.select(columns_from(b, j1, base, size, "eq"), b.splat(top, size), b.read(scratch, [_V, base], size))
        return b.write(b.select(columns_from(b, j1, base, size), new, chunk), t, row + [base])

    return each_chunk(b, s, j1, n, store)


def symmetric_tridiagonal(b, args, arg_types, result_types, params):
    (a,), ((shape, element),) = args, arg_types
    *batch, n, n2 = shape
    expected = [(tuple(shape), element), ((*batch, n - 1), element)]
    if n != n2 or n < 2 or [parse_tensor(t) for t in result_types] != expected:
        raise ValueError(f"symmetric_tridiagonal takes a (..., n, n), n >= 2 -> (packed, taus (..., n - 1)) of its "
                         f"type, got {arg_types} -> {result_types}")
    if 2 * n * ELEMENT_BYTES[element] > _SCRATCH_BYTES:
        return None
    zero, one, half = b.scalar(0), b.scalar(1), b.scalar(0.5)

    def step(prefix, j, s, taus, scratch):
        j1 = b.index_op("arith.addi", j, 1)
        row = prefix + [j]
        tau, top, scratch = _row_reflector(b, s, row, j1, scratch, 0, n, zero, one)

        def product(t, base, size):  # p = tau S v over rows k > j, a chunk of columns at a time
            with b.loop(j1, n, acc=b.splat(zero, size)) as k:
                v_k = b.splat(b.extract(t, [_V, k.iv]), size)
                k.v["acc"] = b.arith("arith.addf", k.v["acc"], b.arith("arith.mulf", v_k, b.read(
                    s, prefix + [k.iv, base], size)))
            p = _masked(b, j1, base, size, b.arith("arith.mulf", b.splat(tau, size), k.v["acc"]))
            return b.write(p, t, [_W, base])

        scratch = each_chunk(b, scratch, j1, n, product)
        dot = _row_reduce(b, "addf", j1, n, lambda base, size: b.arith(
            "arith.mulf", b.read(scratch, [_W, base], size), b.read(scratch, [_V, base], size)))
        k = b.arith("arith.mulf", b.arith("arith.mulf", tau, half), dot)

        def correction(t, base, size):  # w = p - (tau/2)(pᵀv) v
            w = b.arith("arith.subf", b.read(t, [_W, base], size), b.arith(
                "arith.mulf", b.splat(k, size), b.read(t, [_V, base], size)))
            return b.write(w, t, [_W, base])

        scratch = each_chunk(b, scratch, j1, n, correction)
        with b.loop(j1, n, s=s) as i:
            v_i, w_i = (b.extract(scratch, [r, i.iv]) for r in (_V, _W))

            def update(t, base, size):  # S[i, c] -= v_i w_c + w_i v_c for c > j
                chunk = b.read(t, prefix + [i.iv, base], size)
                new = b.arith("arith.subf", b.arith("arith.subf", chunk, b.arith(
                    "arith.mulf", b.splat(v_i, size), b.read(scratch, [_W, base], size))), b.arith(
                    "arith.mulf", b.splat(w_i, size), b.read(scratch, [_V, base], size)))
                return b.write(b.select(columns_from(b, j1, base, size), new, chunk), t, prefix + [i.iv, base])

            i.v["s"] = each_chunk(b, i.v["s"], j1, n, update)
        s = i.v["s"]

        return _stored_reflector(b, s, row, j1, top, scratch, n), b.insert(tau, taus, prefix + [j]), scratch

    def reduce(prefix, state):
        s = fill_rows(b, state["packed"], prefix, n, n, lambda r, base, size: b.read(a, prefix + [r, base], size))
        with b.loop(0, n - 1, s=s, taus=state["taus"], scratch=state["scratch"]) as j:
            j.v["s"], j.v["taus"], j.v["scratch"] = step(prefix, j.iv, j.v["s"], j.v["taus"], j.v["scratch"])
        return {"packed": transposed_in_place(b, prefix, n, j.v["s"], zero_above=True), "taus": j.v["taus"],
                "scratch": j.v["scratch"]}

    state = for_each_matrix(b, batch, {"packed": b.empty(result_types[0]), "taus": b.empty(result_types[1]),
                                        "scratch": b.empty(f"tensor<2x{n}x{element}>")}, reduce)
    return [state["packed"], state["taus"]]


def _reflected(b, a, scratch, prefix, rows, columns, tau, zero, each_row=None):
    """(a, scratch): a's rows rows[0] <= i < rows[1], in its columns
    columns[0] <= c < columns[1], times (I - tau v vᵀ) from the left, v the
    scratch row _V: w = vᵀ a into the row _W a chunk of columns at a time,
    then a_ic -= (tau v_i) w_c. `each_row(i, v_i, a)`, if given, writes
    more into row i once it is updated (tridiagonal_q's and the
    bidiagonal reduction's left reflectors)."""
    (first, end), (first_column, end_column) = rows, columns

    def product(t, base, size):
        with b.loop(first, end, acc=b.splat(zero, size)) as i:
            v_i = b.splat(b.extract(t, [_V, i.iv]), size)
            i.v["acc"] = b.arith("arith.addf", i.v["acc"], b.arith("arith.mulf", v_i, b.read(
                a, prefix + [i.iv, base], size)))
        return b.write(i.v["acc"], t, [_W, base])

    scratch = each_chunk(b, scratch, first_column, end_column, product)
    with b.loop(first, end, a=a) as i:
        v_i = b.extract(scratch, [_V, i.iv])
        scaled = b.arith("arith.mulf", tau, v_i)

        def update(t, base, size):
            chunk = b.read(t, prefix + [i.iv, base], size)
            new = b.arith("arith.subf", chunk, b.arith("arith.mulf", b.splat(scaled, size), b.read(
                scratch, [_W, base], size)))
            return b.write(b.select(columns_from(b, first_column, base, size), new, chunk), t, prefix + [i.iv, base])

        i.v["a"] = each_chunk(b, i.v["a"], first_column, end_column, update)
        if each_row is not None:
            i.v["a"] = each_row(i.iv, v_i, i.v["a"])
    return i.v["a"], scratch


def tridiagonal_q(b, args, arg_types, result_types, params):
    (packed, taus), ((shape, element), taus_type) = args, arg_types
    *batch, n, n2 = shape
    if (n != n2 or n < 2 or taus_type != ((*batch, n - 1), element)
            or [parse_tensor(t) for t in result_types] != [arg_types[0]]):
        raise ValueError(f"tridiagonal_q takes (packed (..., n, n), taus (..., n - 1)), n >= 2 -> Qᵀ of packed's "
                         f"type, got {arg_types} -> {result_types}")
    if 2 * n * ELEMENT_BYTES[element] > _SCRATCH_BYTES:
        return None
    zero, one = b.scalar(0), b.scalar(1)

    def step(prefix, j, q, scratch):
        j1 = b.index_op("arith.addi", j, 1)
        tau = b.extract(taus, prefix + [j])
        with b.loop(j1, n, scratch=scratch) as i:  # v from row j + 1 on: 1, then packed's column j
            below = b.extract(packed, prefix + [i.iv, j])
            i.v["scratch"] = b.insert(b.select(b.compare("cmpi", "eq", i.iv, j1), one, below), i.v["scratch"],
                                      [_V, i.iv])
        return _reflected(b, q, i.v["scratch"], prefix, (j1, n), (j1, n), tau, zero)  # rows and columns past j

    def build_q(prefix, state):
        q = fill_rows(b, state["q"], prefix, n, n, lambda r, base, size: b.select(
            columns_from(b, r, base, size, "eq"), b.splat(one, size), b.splat(zero, size)))
        with b.loop(0, n - 1, q=q, scratch=state["scratch"]) as t:
            j = b.index_op("arith.subi", b.index(n - 2), t.iv)
            t.v["q"], t.v["scratch"] = step(prefix, j, t.v["q"], t.v["scratch"])
        return {"q": transposed_in_place(b, prefix, n, t.v["q"]), "scratch": t.v["scratch"]}

    state = for_each_matrix(b, batch, {"q": b.empty(result_types[0]), "scratch": b.empty(f"tensor<2x{n}x{element}>")},
                            build_q)
    return [state["q"]]


def _square(b, x):
    return b.arith("arith.mulf", x, x)


def _if(b, condition, then, otherwise):
    """The value of `then()` or of `otherwise()` (an scf.if: a branch, so
    the one not taken costs nothing, where a select waits for both)."""
    result = b.name("f")
    b.emit(f"{result} = scf.if {condition} -> ({b.element}) {{")
    for make, end in [(then, "} else {"), (otherwise, "}")]:
        b.depth += 1
        b.emit(f"scf.yield {make()} : {b.element}")
        b.depth -= 1
        b.emit(end)
    b.types[result] = b.element
    return result


def _hypot(b, x, y):
    """√(x² + y²) as lax_eigh_tridiagonal._hypot: the scaled formula only
    outside the safe range, behind a branch (it was most of a QL step's
    chain of dependent operations: a division and a square root more)."""
    ax, ay = b.unary("math.absf", x), b.unary("math.absf", y)
    big = b.arith("arith.maximumf", ax, ay)
    info = np.finfo(_DTYPES[b.element])  # (lartg's rtmin and rtmax, as lax_eigh_tridiagonal._safe_range's)
    low, high = b.scalar(np.sqrt(info.tiny / info.eps)), b.scalar(np.sqrt(info.max / 2))
    safe = b.arith("arith.andi", b.compare("cmpf", "oge", big, low), b.compare("cmpf", "ole", big, high))

    def scaled():
        zero, one = b.scalar(0), b.scalar(1)
        ratio = b.arith("arith.divf", b.arith("arith.minimumf", ax, ay),
                        b.select(b.compare("cmpf", "oeq", big, zero), one, big))
        return b.arith("arith.mulf", big, b.unary("math.sqrt", b.arith("arith.addf", one, _square(b, ratio))))

    return _if(b, safe, lambda: b.unary("math.sqrt", b.arith("arith.addf", _square(b, x), _square(b, y))), scaled)


def _rotation(b, f, g):
    """(c, s, r) of lartg, as lax_eigh_tridiagonal._rotation."""
    zero, one = b.scalar(0), b.scalar(1)
    r = b.arith("math.copysign", _hypot(b, f, g), f)
    vanishes = b.compare("cmpf", "oeq", r, zero)
    safe = b.select(vanishes, one, r)
    return (b.select(vanishes, one, b.arith("arith.divf", f, safe)),
            b.select(vanishes, zero, b.arith("arith.divf", g, safe)), r)


class _Deflation:
    """What tridiagonal_ql's implicit QL sweeps and bidiagonal_qr's QR sweeps
    (cpu_kernels_bidiagonal.py) share: d and e, the matrix's diagonal and
    off-diagonal, e held in a scratch row (_E, an n-th entry 0), and the
    test that splits it, e_k negligible where |e_k| <= max(eps (|d_k| +
    |d_k+1|), tiny). Made at a kernel's top (its constants there); `at(k)`
    is element k of the matrix being solved."""

    def __init__(self, b, n, element):
        info = np.finfo(_DTYPES[element])
        self.b, self.n = b, n
        self.zero, self.eps, self.tiny = b.scalar(0), b.scalar(float(info.eps)), b.scalar(float(info.tiny))
        self.last = b.index(n - 1)

    def below(self, x, y):
        return self.b.compare("cmpi", "ult", x, y)

    def both(self, x, y):
        return self.b.arith("arith.andi", x, y)

    def load(self, at, d_in, e_in, d, scratch):
        """(d, scratch) holding d_in's and e_in's entries of the matrix."""
        b = self.b
        with b.loop(0, self.n, d=d, scratch=scratch) as k:
            k.v["d"] = b.insert(b.extract(d_in, at(k.iv)), k.v["d"], at(k.iv))
            e_k = b.extract(e_in, at(b.index_op("arith.minui", k.iv, self.n - 2)))
            k.v["scratch"] = b.insert(b.select(self.below(k.iv, self.last), e_k, self.zero), k.v["scratch"],
                                      [_E, k.iv])
        return k.v["d"], k.v["scratch"]

    def coupled(self, at, d, scratch, k):
        """|e_k| > max(eps (|d_k| + |d_k+1|), tiny): e_k not negligible."""
        b = self.b
        size = b.arith("arith.addf", b.unary("math.absf", b.extract(d, at(k))), b.unary(
            "math.absf", b.extract(d, at(b.index_op("arith.minui", b.index_op("arith.addi", k, 1), self.n - 1)))))
        bound = b.arith("arith.maximumf", b.arith("arith.mulf", self.eps, size), self.tiny)
        return b.compare("cmpf", "ogt", b.unary("math.absf", b.extract(scratch, [_E, k])), bound)

    def first_coupled(self, at, d, scratch, l):
        """The first k >= l with e_k not negligible (n - 1: none)."""
        b = self.b
        return while_loop(b, lambda v: self.both(self.below(v["k"], self.last), b.arith(
            "arith.xori", self.coupled(at, d, scratch, v["k"]), b.constant(1, "i1"))),
            lambda v: {"k": b.index_op("arith.addi", v["k"], 1)}, k=l)["k"]

    def sweeps(self, at, sweep, max_sweeps, d, scratch, **carried):
        """`sweep` (carried values -> carried values, "l" the first coupled
        e) while an e is coupled, at most `max_sweeps` times: the values."""
        b = self.b
        most = b.index(int(max_sweeps))
        return while_loop(b, lambda v: self.both(self.below(v["l"], self.last), self.below(v["sweeps"], most)), sweep,
                      d=d, scratch=scratch, **carried, l=self.first_coupled(at, d, scratch, b.index(0)),
                      sweeps=b.index(0))


def tridiagonal_ql(b, args, arg_types, result_types, params):
    (d_in, e_in, y_in), ((shape, element), e_type, y_type) = args, arg_types
    *batch, n = shape
    if (n < 2 or e_type != ((*batch, n - 1), element) or y_type != ((*batch, n, n), element)
            or [parse_tensor(t) for t in result_types] != [arg_types[0], y_type]):
        raise ValueError(f"tridiagonal_ql takes (d (..., n), e (..., n - 1), y (..., n, n)), n >= 2 -> (d, y) of "
                         f"one element type, got {arg_types} -> {result_types}")
    if n * ELEMENT_BYTES[element] > _SCRATCH_BYTES:
        return None
    split = _Deflation(b, n, element)
    zero, one, two, below, both, last = split.zero, b.scalar(1), b.scalar(2), split.below, split.both, split.last

    def solve(prefix, state):
        def at(k):
            return prefix + [k]

        d, scratch = split.load(at, d_in, e_in, state["d"], state["scratch"])
        y = fill_rows(b, state["y"], prefix, n, n, lambda r, base, size: b.read(y_in, prefix + [r, base], size))

        def chase(d, scratch, y, l, m):
            """The bulge chased from m - 1 up to l in scalars (d and e
            updated), each rotation applied to y's rows i, i + 1 at once (the
            vector work overlaps the next rotation's scalar chain); p and g at
            the end."""
            d_l, e_l = b.extract(d, at(l)), b.extract(scratch, [_E, l])
            theta = b.arith("arith.divf", b.arith("arith.subf", b.extract(d, at(b.index_op("arith.addi", l, 1))), d_l),
                            b.arith("arith.mulf", two, e_l))
            root = b.arith("math.copysign", _hypot(b, theta, one), theta)
            g = b.arith("arith.addf", b.arith("arith.subf", b.extract(d, at(m)), d_l),
                        b.arith("arith.divf", e_l, b.arith("arith.addf", theta, root)))
            m1 = b.index_op("arith.subi", m, 1)
            with b.loop(0, b.index_op("arith.subi", m, l), d=d, scratch=scratch, y=y, g=g, p=zero, c=one,
                        s=one) as t:
                i = b.index_op("arith.subi", m1, t.iv)
                i1 = b.index_op("arith.addi", i, 1)
                d, scratch, g, p, c, s = (t.v[name] for name in ("d", "scratch", "g", "p", "c", "s"))
                e_i, e_next = b.extract(scratch, [_E, i]), b.extract(scratch, [_E, i1])
                d_i, d_next = b.extract(d, at(i)), b.extract(d, at(i1))
                f, bb = b.arith("arith.mulf", s, e_i), b.arith("arith.mulf", c, e_i)
                c, s, length = _rotation(b, g, f)
                g = b.arith("arith.subf", d_next, p)
                r = b.arith("arith.addf", b.arith("arith.mulf", b.arith("arith.subf", d_i, g), s),
                            b.arith("arith.mulf", b.arith("arith.mulf", two, c), bb))
                p = b.arith("arith.mulf", s, r)
                t.v["d"] = b.insert(b.arith("arith.addf", g, p), d, at(i1))
                t.v["scratch"] = b.insert(b.select(below(i, m1), length, e_next), scratch, [_E, i1])
                splats = {}

                def rotate(y, base, size):  # (top, bottom) <- (c top - s bottom, c bottom + s top)
                    if size not in splats:  # (each_chunk's sizes differ: a splat stays in the region it is made in)
                        splats[size] = b.splat(c, size), b.splat(s, size)
                    cs, ss = splats[size]
                    top, bottom = b.read(y, prefix + [i, base], size), b.read(y, prefix + [i1, base], size)
                    new_top = b.arith("arith.subf", b.arith("arith.mulf", cs, top), b.arith("arith.mulf", ss, bottom))
                    new_bottom = b.arith("arith.addf", b.arith("arith.mulf", cs, bottom), b.arith("arith.mulf", ss,
                                                                                                 top))
                    return b.write(new_bottom, b.write(new_top, y, prefix + [i, base]), prefix + [i1, base])

                t.v["y"] = each_chunk(b, t.v["y"], 0, n, rotate)
                t.v.update(g=b.arith("arith.subf", b.arith("arith.mulf", c, r), bb), p=p, c=c, s=s)
            return t.v["d"], t.v["scratch"], t.v["y"], t.v["p"], t.v["g"]

        def sweep(v):
            d, scratch, l = v["d"], v["scratch"], v["l"]
            m = while_loop(b, lambda u: both(below(u["m"], last), split.coupled(at, d, scratch, u["m"])),
                       lambda u: {"m": b.index_op("arith.addi", u["m"], 1)}, m=b.index_op("arith.addi", l, 1))["m"]
            d, scratch, y, p, g = chase(d, b.insert(zero, scratch, [_E, m]), v["y"], l, m)
            d = b.insert(b.arith("arith.subf", b.extract(d, at(l)), p), d, at(l))
            scratch = b.insert(g, scratch, [_E, l])
            return {"d": d, "scratch": scratch, "y": y,
                    "l": split.first_coupled(at, d, scratch, l), "sweeps": b.index_op("arith.addi", v["sweeps"], 1)}

        result = split.sweeps(at, sweep, params["max_sweeps"], d, scratch, y=y)
        return {"d": result["d"], "scratch": result["scratch"], "y": result["y"]}

    state = for_each_matrix(b, batch, {"d": b.empty(result_types[0]), "scratch": b.empty(f"tensor<1x{n}x{element}>"),
                                        "y": b.empty(result_types[1])}, solve)
    return [state["d"], state["y"]]


__all__ = ["symmetric_tridiagonal", "tridiagonal_q", "tridiagonal_ql"]
