"""Native CPU kernels of the Jacobi sweeps (lax_svd.py, lax_eigh.py), in
cpu_kernels.py's table: each computes what its portable sweep computes,
NaN and inf included, with the pairs of columns in the vector lanes.

    svd_sweep         w (..., r, n), n = 2k -> (w, off (..., 1)),
                      lax_svd._sweep: n - 1 rounds, each rotating the
                      pairs (column i, column k + i) so that their first
                      `rows` rows are orthogonal (α, β, γ summed down the
                      rows with the k pairs in the lanes), then moving the
                      columns one seat round the table as each row is
                      written back; off the largest |γ| / sqrt(αβ) seen.
    eigh_sweep        (a, v) (..., m, m), m = 2h -> (a, v), lax_eigh._sweep:
                      m - 1 rounds, each computing pair i's rotation
                      (indices i, h + i) as scalars into a scratch tensor,
                      rotating A's and V's columns row by row with the h
                      pairs in the lanes (moved as svd_sweep's), then A's
                      rows a chunk of columns at a time, pair by pair, each
                      pair's two rows written to their new seats; the
                      diagonal is its start plus the corrections at the end.
"""
from __future__ import annotations

import functools

from irax.backends.cpu_kernel_builder import ELEMENT_BYTES, each_chunk, fill_rows, for_each_matrix, parse_tensor


def _rotated(b, top, bottom, sine, tau):
    """A Jacobi rotation of two rows (or columns) in Rutishauser's form, as
    the portable code's: (top - s (bottom + τ top), bottom + s (top - τ bottom))."""
    return (b.arith("arith.subf", top, b.arith("arith.mulf", sine, b.arith(
                "arith.addf", bottom, b.arith("arith.mulf", tau, top)))),
            b.arith("arith.addf", bottom, b.arith("arith.mulf", sine, b.arith(
                "arith.subf", top, b.arith("arith.mulf", tau, bottom)))))


def svd_sweep(b, args, arg_types, result_types, params):
    (w,), ((shape, element),) = args, arg_types
    *batch, height, n = shape
    m, k = params["rows"], n // 2
    if n % 2 or not 0 < m <= height or [parse_tensor(t) for t in result_types] != [arg_types[0],
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
        x = fill_rows(b, state["w"], prefix, height, n, lambda r, base, size: b.read(w, prefix + [r, base], size))
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

    state = for_each_matrix(b, batch, {"w": b.empty(result_types[0]), "off": b.empty(result_types[1])}, sweep)
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


def eigh_sweep(b, args, arg_types, result_types, params):
    (a, v), ((shape, element), _) = args, arg_types
    *batch, m, m2 = shape
    h = m // 2
    if m != m2 or m % 2 or [parse_tensor(t) for t in result_types] != arg_types or arg_types[1] != arg_types[0]:
        raise ValueError(f"eigh_sweep takes (a, v) (..., m, m), m even -> (a, v), got {arg_types} -> "
                         f"{result_types}")
    if 6 * m * ELEMENT_BYTES[element] > _SCRATCH_BYTES:
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

        return each_chunk(b, a, 0, m, update)

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
        copy = {name: fill_rows(b, state[name], prefix, m, m, lambda r, base, size, x=x: b.read(
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

    state = for_each_matrix(b, batch, {"a": b.empty(result_types[0]), "v": b.empty(result_types[1]),
                                        "scratch": b.empty(f"tensor<6x{m}x{element}>")}, sweep)
    return [state["a"], state["v"]]


__all__ = ["eigh_sweep", "svd_sweep"]
