"""Native CPU kernels of the SVD's bidiagonal path
(frontend/lax_svd_bidiagonal.py), in cpu_kernels.py's table: each computes
what its portable loop computes, step for step.

    bidiagonal_reduction
                      a (..., m, n), m >= n >= 2 -> (packed (..., m, n),
                      taus_q (..., n), taus_p (..., n - 1)),
                      lax_svd_bidiagonal._bidiagonal_loop (gebd2) on A's
                      rows: at step j the column A[j:, j] as scalars (its
                      max, scaled norm and v into a scratch row), w = vᵀ A a
                      chunk of 16 f32 columns at a time down the rows, then
                      A[i, :] -= (tau v_i) w row by row, v stored in column
                      j on the way; then the row A[j, j+1:] in vector lanes
                      (as cpu_kernels_tridiagonal's symmetric_tridiagonal
                      reads its row), and for each row i > j its dot with v
                      and A[i, :] -= (tau (A v)_i) v, one pass a row.
    bidiagonal_qr     (d (..., k), e (..., k - 1), ut (..., r, c), vt
                      (..., r', c'), r, r' >= k) -> (d, ut, vt),
                      lax_svd_bidiagonal._bidiagonal_qr_loop (bdsqr's
                      sweeps, at most params["max_sweeps"]): an scf.while
                      of sweeps per matrix as tridiagonal_ql's, the block
                      [l, m] and its smallest |d| and largest entry by
                      scalar scans, the shift, then the chase from l to m in
                      scalars with its two rotations applied to the rows i,
                      i + 1 of vt and of ut in vector chunks.

Their scratch rows live on the dispatch's stack (IREE: 32 KiB); a larger
matrix stays portable.
"""
from __future__ import annotations

from irax.backends.cpu_kernel_builder import (ELEMENT_BYTES, columns_from, each_chunk, fill_rows, for_each_matrix,
                                             parse_tensor, while_loop)
from irax.backends.cpu_kernels_tridiagonal import (_E, _SCRATCH_BYTES, _Deflation, _larfg, _reflected, _rotation,
                                                   _row_reduce, _row_reflector, _square, _stored_reflector)

_V, _W = range(2)  # bidiagonal_reduction's scratch rows: a reflector, and w = vᵀ A


def bidiagonal_reduction(b, args, arg_types, result_types, params):
    (a,), ((shape, element),) = args, arg_types
    *batch, m, n = shape
    expected = [(tuple(shape), element), ((*batch, n), element), ((*batch, n - 1), element)]
    if m < n or n < 2 or [parse_tensor(t) for t in result_types] != expected:
        raise ValueError(f"bidiagonal_reduction takes a (..., m, n), m >= n >= 2 -> (packed, taus_q (..., n), "
                         f"taus_p (..., n - 1)) of its type, got {arg_types} -> {result_types}")
    if 2 * m * ELEMENT_BYTES[element] > _SCRATCH_BYTES:
        return None
    zero, one = b.scalar(0), b.scalar(1)

    def column_step(prefix, j, s, taus, scratch):
        """The column's reflector and its update of A[j:, j+1:]."""
        j1 = b.index_op("arith.addi", j, 1)
        alpha = b.extract(s, prefix + [j, j])
        with b.loop(j1, m, acc=zero) as i:
            i.v["acc"] = b.arith("arith.maximumf", i.v["acc"], b.unary("math.absf", b.extract(s, prefix + [i.iv, j])))

        def squares_of(safe):
            with b.loop(j, m, acc=zero) as i:
                scaled = b.arith("arith.divf", b.unary("math.absf", b.extract(s, prefix + [i.iv, j])), safe)
                i.v["acc"] = b.arith("arith.addf", i.v["acc"], _square(b, scaled))
            return i.v["acc"]

        tau, divisor, top = _larfg(b, alpha, i.v["acc"], squares_of, zero, one)
        with b.loop(j, m, scratch=scratch) as i:  # v: 1 at j, x / divisor below
            x = b.arith("arith.divf", b.extract(s, prefix + [i.iv, j]), divisor)
            i.v["scratch"] = b.insert(b.select(b.compare("cmpi", "eq", i.iv, j), one, x), i.v["scratch"], [_V, i.iv])
        s, scratch = _reflected(b, s, i.v["scratch"], prefix, (j, m), (j1, n), tau, zero, lambda i, v_i, a: b.insert(
            b.select(b.compare("cmpi", "eq", i, j), top, v_i), a, prefix + [i, j]))  # column j: beta, then v
        return s, b.insert(tau, taus, prefix + [j]), scratch

    def row_step(prefix, j, s, taus, scratch):
        """The row's reflector and its update of A[j+1:, j+1:]."""
        j1 = b.index_op("arith.addi", j, 1)
        row = prefix + [j]
        tau, top, scratch = _row_reflector(b, s, row, j1, scratch, j1, n, zero, one)
        with b.loop(j1, m, s=s) as i:
            dot = _row_reduce(b, "addf", j1, n, lambda base, size: b.arith(
                "arith.mulf", b.read(i.v["s"], prefix + [i.iv, base], size), b.read(scratch, [_V, base], size)))
            scaled = b.arith("arith.mulf", tau, dot)

            def update(t, base, size):  # A[i, c] -= (tau (A v)_i) v_c for c > j
                chunk = b.read(t, prefix + [i.iv, base], size)
                new = b.arith("arith.subf", chunk, b.arith("arith.mulf", b.splat(scaled, size), b.read(
                    scratch, [_V, base], size)))
                return b.write(b.select(columns_from(b, j1, base, size), new, chunk), t, prefix + [i.iv, base])

            i.v["s"] = each_chunk(b, i.v["s"], j1, n, update)

        return _stored_reflector(b, i.v["s"], row, j1, top, scratch, n), b.insert(tau, taus, prefix + [j]), scratch

    def reduce(prefix, state):
        s = fill_rows(b, state["packed"], prefix, m, n, lambda r, base, size: b.read(a, prefix + [r, base], size))
        with b.loop(0, n - 1, s=s, taus_q=state["taus_q"], taus_p=state["taus_p"], scratch=state["scratch"]) as j:
            s, taus_q, scratch = column_step(prefix, j.iv, j.v["s"], j.v["taus_q"], j.v["scratch"])
            j.v["s"], j.v["taus_p"], j.v["scratch"] = row_step(prefix, j.iv, s, j.v["taus_p"], scratch)
            j.v["taus_q"] = taus_q
        s, taus_q, scratch = column_step(prefix, b.index(n - 1), j.v["s"], j.v["taus_q"], j.v["scratch"])
        return {"packed": s, "taus_q": taus_q, "taus_p": j.v["taus_p"], "scratch": scratch}

    state = for_each_matrix(b, batch, {"packed": b.empty(result_types[0]), "taus_q": b.empty(result_types[1]),
                                        "taus_p": b.empty(result_types[2]),
                                        "scratch": b.empty(f"tensor<2x{m}x{element}>")}, reduce)
    return [state["packed"], state["taus_q"], state["taus_p"]]


def _smaller_singular_value(b, f, g, h):
    """lax_svd_bidiagonal._smaller_singular_value of scalars."""
    zero, one, half = b.scalar(0), b.scalar(1), b.scalar(0.5)
    fa, ga, ha = (b.unary("math.absf", x) for x in (f, g, h))
    top = b.arith("arith.maximumf", b.arith("arith.maximumf", fa, ga), ha)
    top = b.select(b.compare("cmpf", "oeq", top, zero), one, top)
    fa, ga, ha = (b.arith("arith.divf", x, top) for x in (fa, ga, ha))
    g2 = _square(b, ga)
    larger = b.arith("arith.mulf", half, b.arith(
        "arith.addf", b.unary("math.sqrt", b.arith("arith.addf", _square(b, b.arith("arith.addf", fa, ha)), g2)),
        b.unary("math.sqrt", b.arith("arith.addf", _square(b, b.arith("arith.subf", fa, ha)), g2))))
    vanishes = b.compare("cmpf", "oeq", larger, zero)
    ratio = b.arith("arith.divf", b.arith("arith.mulf", fa, ha), b.select(vanishes, one, larger))
    return b.arith("arith.mulf", b.select(vanishes, zero, ratio), top)


def _rotate_rows(b, y, prefix, i, c, s, width):
    """y with its rows (i, i + 1) <- (c y_i + s y_i+1, c y_i+1 - s y_i)."""
    i1 = b.index_op("arith.addi", i, 1)
    splats = {}

    def rotate(y, base, size):
        if size not in splats:  # (each_chunk's sizes differ: a splat stays in the region it is made in)
            splats[size] = b.splat(c, size), b.splat(s, size)
        cs, ss = splats[size]
        top, bottom = b.read(y, prefix + [i, base], size), b.read(y, prefix + [i1, base], size)
        new_top = b.arith("arith.addf", b.arith("arith.mulf", cs, top), b.arith("arith.mulf", ss, bottom))
        new_bottom = b.arith("arith.subf", b.arith("arith.mulf", cs, bottom), b.arith("arith.mulf", ss, top))
        return b.write(new_bottom, b.write(new_top, y, prefix + [i, base]), prefix + [i1, base])

    return each_chunk(b, y, 0, width, rotate)


def bidiagonal_qr(b, args, arg_types, result_types, params):
    (d_in, e_in, ut_in, vt_in), ((shape, element), e_type, ut_type, vt_type) = args, arg_types
    *batch, k = shape
    if (k < 2 or e_type != ((*batch, k - 1), element) or any(
            len(t[0]) != len(batch) + 2 or tuple(t[0][:-2]) != tuple(batch) or t[0][-2] < k or t[1] != element
            for t in (ut_type, vt_type))
            or [parse_tensor(t) for t in result_types] != [arg_types[0], ut_type, vt_type]):
        raise ValueError(f"bidiagonal_qr takes (d (..., k), e (..., k - 1), ut (..., r, c), vt (..., r', c')), "
                         f"r, r' >= k -> (d, ut, vt) of one element type, got {arg_types} -> {result_types}")
    if k * ELEMENT_BYTES[element] > _SCRATCH_BYTES:
        return None
    (*_, rows_u, width_u), (*_, rows_v, width_v) = ut_type[0], vt_type[0]
    split = _Deflation(b, k, element)
    zero, one, eps, below, both, last = split.zero, b.scalar(1), split.eps, split.below, split.both, split.last

    def solve(prefix, state):
        def at(i):
            return prefix + [i]

        def size(d, i):
            return b.unary("math.absf", b.extract(d, at(i)))

        d, scratch = split.load(at, d_in, e_in, state["d"], state["scratch"])
        ut = fill_rows(b, state["ut"], prefix, rows_u, width_u,
                       lambda r, base, size_: b.read(ut_in, prefix + [r, base], size_))
        vt = fill_rows(b, state["vt"], prefix, rows_v, width_v,
                       lambda r, base, size_: b.read(vt_in, prefix + [r, base], size_))

        def chase(d, scratch, ut, vt, l, m, f):
            """The bulge chased from l down to m in scalars, each step's right
            rotation applied to vt's rows i, i + 1 and its left one to ut's;
            f at the end."""
            with b.loop(l, m, d=d, scratch=scratch, ut=ut, vt=vt, f=f, g=b.extract(scratch, [_E, l])) as t:
                i = t.iv
                i1 = b.index_op("arith.addi", i, 1)
                d, scratch, f, g = (t.v[name] for name in ("d", "scratch", "f", "g"))
                e_i, e_next = b.extract(scratch, [_E, i]), b.extract(scratch, [_E, i1])
                d_i, d_next = b.extract(d, at(i)), b.extract(d, at(i1))
                cr, sr, r = _rotation(b, f, g)
                before = b.index_op("arith.subi", b.index_op("arith.maxui", i, 1), 1)  # e_i-1 (e_0 when i = 0 = l)
                scratch = b.insert(b.select(b.compare("cmpi", "ugt", i, l), r, b.extract(scratch, [_E, before])),
                                   scratch, [_E, before])
                top = b.arith("arith.addf", b.arith("arith.mulf", cr, d_i), b.arith("arith.mulf", sr, e_i))
                bulge = b.arith("arith.mulf", sr, d_next)
                e_i = b.arith("arith.subf", b.arith("arith.mulf", cr, e_i), b.arith("arith.mulf", sr, d_i))
                d_next = b.arith("arith.mulf", cr, d_next)
                t.v["vt"] = _rotate_rows(b, t.v["vt"], prefix, i, cr, sr, width_v)
                cl, sl, r = _rotation(b, top, bulge)
                t.v["f"] = b.arith("arith.addf", b.arith("arith.mulf", cl, e_i), b.arith("arith.mulf", sl, d_next))
                d_next = b.arith("arith.subf", b.arith("arith.mulf", cl, d_next), b.arith("arith.mulf", sl, e_i))
                t.v["g"] = b.arith("arith.mulf", sl, e_next)  # (e_m is 0: the last step makes no new bulge)
                t.v["d"] = b.insert(d_next, b.insert(r, d, at(i)), at(i1))
                scratch = b.insert(e_i, scratch, [_E, i])
                t.v["scratch"] = b.insert(b.arith("arith.mulf", cl, e_next), scratch, [_E, i1])
                t.v["ut"] = _rotate_rows(b, t.v["ut"], prefix, i, cl, sl, width_u)
            return t.v["d"], t.v["scratch"], t.v["ut"], t.v["vt"], t.v["f"]

        def sweep(v):
            d, scratch, l = v["d"], v["scratch"], v["l"]
            l1 = b.index_op("arith.addi", l, 1)
            first = {"m": l1, "small": b.arith("arith.minimumf", size(d, l), size(d, l1)),
                     "large": b.arith("arith.maximumf", b.arith("arith.maximumf", size(d, l), size(d, l1)),
                                      b.unary("math.absf", b.extract(scratch, [_E, l])))}

            def extend(u):  # the block one row longer: its smallest |d| and largest entry
                m = b.index_op("arith.addi", u["m"], 1)
                grown = b.arith("arith.maximumf", size(d, m), b.unary("math.absf", b.extract(scratch, [_E, u["m"]])))
                return {"m": m, "small": b.arith("arith.minimumf", u["small"], size(d, m)),
                        "large": b.arith("arith.maximumf", u["large"], grown)}

            block = while_loop(b, lambda u: both(below(u["m"], last), split.coupled(at, d, scratch, u["m"])), extend,
                           **first)
            m = block["m"]
            m1 = b.index_op("arith.subi", m, 1)
            scratch = b.insert(zero, scratch, [_E, m])
            d_l = b.extract(d, at(l))
            shift = _smaller_singular_value(b, b.extract(d, at(m1)), b.extract(scratch, [_E, m1]), b.extract(d, at(m)))
            ratio = b.arith("arith.divf", shift, d_l)
            unshifted = b.arith("arith.ori", b.compare("cmpf", "ole", block["small"], b.arith(
                "arith.mulf", eps, block["large"])), b.compare("cmpf", "olt", _square(b, ratio), eps))
            shifted = b.arith("arith.mulf", b.arith("arith.subf", b.unary("math.absf", d_l), shift), b.arith(
                "arith.addf", b.arith("math.copysign", one, d_l), ratio))
            d, scratch, ut, vt, f = chase(d, scratch, v["ut"], v["vt"], l, m, b.select(unshifted, d_l, shifted))
            scratch = b.insert(f, scratch, [_E, m1])
            return {"d": d, "scratch": scratch, "ut": ut, "vt": vt,
                    "l": split.first_coupled(at, d, scratch, l), "sweeps": b.index_op("arith.addi", v["sweeps"], 1)}

        result = split.sweeps(at, sweep, params["max_sweeps"], d, scratch, ut=ut, vt=vt)
        return {"d": result["d"], "scratch": result["scratch"], "ut": result["ut"], "vt": result["vt"]}

    state = for_each_matrix(b, batch, {"d": b.empty(result_types[0]), "scratch": b.empty(f"tensor<1x{k}x{element}>"),
                                        "ut": b.empty(result_types[1]), "vt": b.empty(result_types[2])}, solve)
    return [state["d"], state["ut"], state["vt"]]


__all__ = ["bidiagonal_qr", "bidiagonal_reduction"]
