"""Native CPU kernels for the sequential loops of irax's factorizations
(and top_k's selection).

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
    qr_panel            A (..., m, n), m >= n -> (A, taus (..., n)),
                        lax_qr._householder_loop: at step j, ‖A[j:, j]‖
                        (scaled by its largest entry) gives beta and tau, v
                        = A[j+1:, j] / (alpha - beta) is written in place,
                        w = vᵀ A is summed down all the rows, a row's chunks
                        at once (0 A[i, k] above row j, as the matmul), and
                        A[i, k] -= (tau v[i]) w[k] for i >= j, k > j;
                        A[j, j] = beta (alpha, tau 0 for a column already
                        zero below the diagonal).
    block_reflector     (gram (..., n, n), taus (..., n)) -> T,
                        lax_qr._larft_loop: Tᵀ row by row (T's column j
                        contiguous), T[:j, j] = -tau_j T[:j, :j] gram[:j, j]
                        summed over whole rows of zeros and all, T[j, j] =
                        tau_j; then transposed in place.
    svd_sweep, eigh_sweep
                        the Jacobi sweeps of lax_svd and lax_eigh
                        (cpu_kernels_jacobi.py; eigh's where the platform
                        is not "cpu", as the example plugin's sync-cpu).
    symmetric_tridiagonal, tridiagonal_q, tridiagonal_ql
                        eigh's tridiagonal path on the CPU: the Householder
                        reduction, Qᵀ from its reflectors, the implicit QL
                        sweeps (lax_eigh_tridiagonal.py,
                        cpu_kernels_tridiagonal.py).
    bidiagonal_reduction, bidiagonal_qr
                        the SVD's path on the CPU: the Householder
                        bidiagonalization and the implicit QR sweeps
                        (lax_svd_bidiagonal.py, cpu_kernels_bidiagonal.py;
                        its Qᵀ and Pᵀ are tridiagonal_q's).
    top_k               lax.top_k of a small k: one pass over each row
                        keeping the k largest so far (lax_sorting.py,
                        cpu_kernels_select.py; its portable code sorts).

Each kernel is written with backends/cpu_kernel_builder.py (its docstring
says how: the region's ops, the row loops as chunks of vector lanes, batch
dimensions as loops, tensors updated in place). The sums run in another
order than the portable code's matmuls, so values agree to rounding, and
NaN/inf patterns exactly (IEEE sums with infinities and NaNs do not depend
on order).
"""
from __future__ import annotations

from irax.backends.cpu_kernel_builder import (Body, columns_from, each_chunk, fill_rows, for_each_matrix, parse_tensor,
                                              transposed_in_place)
from irax.backends.cpu_kernels_bidiagonal import bidiagonal_qr, bidiagonal_reduction
from irax.backends.cpu_kernels_jacobi import eigh_sweep, svd_sweep
from irax.backends.cpu_kernels_select import top_k
from irax.backends.cpu_kernels_tridiagonal import symmetric_tridiagonal, tridiagonal_q, tridiagonal_ql

ACCUMULATORS = 4  # chunks a forward substitution keeps in registers at once
_FLOATS = ("f32", "f64")


# ---------------------------------------------------------------------------
# Forward substitution, the loop nest of cholesky_block, triangular_inverse
# and forward_substitution.

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
    return lambda i, base, size: b.select(columns_from(b, i, base, size, "eq"), b.splat(one, size),
                                          b.splat(zero, size))


# ---------------------------------------------------------------------------
# The kernels: each gets the region's body, its argument names and their
# (shape, element) types, the result types and the params, and returns the
# result values.

def _cholesky_block(b, args, arg_types, result_types, params):
    (a,), ((shape, _),) = args, arg_types
    *batch, n, n2 = shape
    if n != n2 or [parse_tensor(t) for t in result_types] != [arg_types[0]] * 2:
        raise ValueError(f"cholesky_block takes (..., n, n) -> (L, L⁻¹) of its type, got {arg_types} -> {result_types}")
    zero = b.scalar(0)

    def factorize(prefix, state):
        u, x = state["L"], state["X"]
        # U = the lower triangle of A, transposed (zeros below the diagonal).
        u = fill_rows(b, u, prefix, n, n, lambda r, base, size: b.splat(zero, size))
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
                return b.write(b.select(columns_from(b, j1, base, size), scaled, chunk), t, prefix + [j, base])

            u = b.insert(d, each_chunk(b, u, j1, n, scale), prefix + [j, j])
            with b.loop(j1, n, u=u) as below:
                i = below.iv
                s = b.extract(below.v["u"], prefix + [j, i])

                def update(t, base, size):  # U[i, k] -= U[j, i] U[j, k] for k >= i
                    chunk = b.read(t, prefix + [i, base], size)
                    new = b.arith("arith.subf", chunk, b.arith("arith.mulf", b.splat(s, size),
                                                              b.read(t, prefix + [j, base], size)))
                    return b.write(b.select(columns_from(b, i, base, size), new, chunk), t, prefix + [i, base])

                below.v["u"] = each_chunk(b, below.v["u"], i, n, update)
            step.v["u"] = below.v["u"]
        u = step.v["u"]
        # L⁻¹ from U (L[i, k] = U[k, i]), then U transposed in place into L.
        x = _substitute_rows(b, x, prefix, n, n, _identity_rows(b), lambda i, k: b.extract(u, prefix + [k, i]),
                             lambda i: b.extract(u, prefix + [i, i]))
        return {"L": transposed_in_place(b, prefix, n, u, zero_above=True), "X": x}

    state = for_each_matrix(b, batch, {"L": b.empty(result_types[0]), "X": b.empty(result_types[1])}, factorize)
    return [state["L"], state["X"]]


def _triangular_inverse(b, args, arg_types, result_types, params):
    (a,), ((shape, _),) = args, arg_types
    *batch, n, n2 = shape
    if n != n2 or [parse_tensor(t) for t in result_types] != [arg_types[0]]:
        raise ValueError(f"triangular_inverse takes (..., n, n) -> its type, got {arg_types} -> {result_types}")
    unit = bool(params.get("unit_diagonal", False))

    def invert(prefix, state):
        return {"X": _substitute_rows(b, state["X"], prefix, n, n, _identity_rows(b),
                                      lambda i, k: b.extract(a, prefix + [i, k]),
                                      lambda i: None if unit else b.extract(a, prefix + [i, i]))}

    return [for_each_matrix(b, batch, {"X": b.empty(result_types[0])}, invert)["X"]]


def _forward_substitution(b, args, arg_types, result_types, params):
    (l, rhs), ((l_shape, l_element), (shape, element)) = args, arg_types
    *batch, n, k = shape
    if l_shape != (*batch, n, n) or l_element != element or [parse_tensor(t) for t in result_types] != [arg_types[1]]:
        raise ValueError(f"forward_substitution takes L (..., n, n) and B (..., n, k) of one element type -> B's "
                         f"type, got {arg_types} -> {result_types}")
    unit = bool(params.get("unit_diagonal", False))

    def solve(prefix, state):
        return {"X": _substitute_rows(b, state["X"], prefix, n, k,
                                      lambda i, base, size: b.read(rhs, prefix + [i, base], size),
                                      lambda i, j: b.extract(l, prefix + [i, j]),
                                      lambda i: None if unit else b.extract(l, prefix + [i, i]))}

    return [for_each_matrix(b, batch, {"X": b.empty(result_types[0])}, solve)["X"]]


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
    if [parse_tensor(t) for t in result_types] != expected:
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
        x = fill_rows(b, state["lu"], prefix, m, n, lambda r, base, size: b.read(a, prefix + [r, base], size))
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

            x = each_chunk(b, x, 0, n, swap)
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
                    new = b.select(columns_from(b, j1, base, size), b.arith("arith.subf", chunk, product), chunk)
                    return b.write(new, t, prefix + [i, base])

                below.v["x"] = b.insert(multiplier, each_chunk(b, below.v["x"], j1, n, update), prefix + [i, j])
                argmax(below, i, key(new_next))
            step.v["lu"], step.v["p"] = below.v["x"], below.v["p"]
        return step.v

    init = {"lu": b.empty(result_types[0]), "pivots": b.empty(result_types[1]), "perm": b.empty(result_types[2])}
    state = for_each_matrix(b, batch, init, factorize)
    return [state["lu"], state["pivots"], state["perm"]]


def _pivots_to_permutation(b, args, arg_types, result_types, params):
    (pivots,), ((shape, _),) = args, arg_types
    *batch, k = shape
    m = params["permutation_size"]
    if k > m or [parse_tensor(t) for t in result_types] != [(tuple(batch) + (m,), "i32")]:
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

    return [for_each_matrix(b, batch, {"perm": b.empty(result_types[0])}, permute)["perm"]]


def _qr_panel(b, args, arg_types, result_types, params):
    (a,), ((shape, element),) = args, arg_types
    *batch, m, n = shape
    if [parse_tensor(t) for t in result_types] != [arg_types[0], ((*batch, n), element)]:
        raise ValueError(f"qr_panel takes (..., m, n) -> (a, taus (..., n)) of its element type, got {arg_types} "
                         f"-> {result_types}")
    if m < n:
        return None  # (geqrf's panels are never wider than tall)
    zero, one = b.scalar(0), b.scalar(1)
    chunks = [(base, min(b.lanes, n - base)) for base in range(0, n, b.lanes)]
    sizes = sorted({size for _, size in chunks})

    def column_max(x, prefix, j, lo):
        """max |A[i, j]| for i >= lo (0 with no rows; NaN where one is NaN)."""
        with b.loop(lo, m, most=zero) as row:
            row.v["most"] = b.arith("arith.maximumf", row.v["most"], b.unary("math.absf", b.extract(
                x, prefix + [row.iv, j])))
        return row.v["most"]

    def factorize(prefix, state):
        x = fill_rows(b, state["a"], prefix, m, n, lambda r, base, size: b.read(a, prefix + [r, base], size))
        with b.loop(0, n, a=x, taus=state["taus"]) as step:
            j, x = step.iv, step.v["a"]
            j1 = b.index_op("arith.addi", j, 1)
            # ‖A[j:, j]‖ scaled by its largest entry, as lax_qr._norm.
            alpha = b.extract(x, prefix + [j, j])
            below = column_max(x, prefix, j, j1)
            scale = b.arith("arith.maximumf", b.unary("math.absf", alpha), below)
            safe = b.select(b.compare("cmpf", "oeq", scale, zero), one, scale)
            with b.loop(j, m, sum=zero) as row:
                scaled = b.arith("arith.divf", b.unary("math.absf", b.extract(x, prefix + [row.iv, j])), safe)
                row.v["sum"] = b.arith("arith.addf", row.v["sum"], b.arith("arith.mulf", scaled, scaled))
            norm = b.arith("arith.mulf", safe, b.unary("math.sqrt", row.v["sum"]))
            # A column already zero below the diagonal is left (tau = 0, H = I).
            zero_below = b.compare("cmpf", "oeq", below, zero)
            beta = b.unary("arith.negf", b.arith("math.copysign", norm, alpha))  # (-0.0 negative, as LAPACK's)
            tau = b.select(zero_below, zero, b.arith("arith.divf", b.arith("arith.subf", beta, alpha), beta))
            divisor = b.select(zero_below, one, b.arith("arith.subf", alpha, beta))
            # v below the diagonal, in place of the column; v[j] = 1, v above it 0.
            with b.loop(j1, m, a=x) as row:
                v = b.arith("arith.divf", b.extract(row.v["a"], prefix + [row.iv, j]), divisor)
                row.v["a"] = b.insert(v, row.v["a"], prefix + [row.iv, j])
            x = row.v["a"]

            # Columns k > j of rows i >= j: A[i, k] -= (tau v[i]) w[k], w = vᵀ A
            # summed down all the rows as the portable matmul (0 A[i, k] above
            # row j: a NaN or inf there makes w NaN too), every chunk of the
            # row at once (independent sums, where a chunk at a time waits on one).
            sums = {f"w{q}": b.splat(zero, size) for q, (_, size) in enumerate(chunks)}
            with b.loop(0, m, **sums) as row:
                i = row.iv
                v = b.select(b.compare("cmpi", "ult", i, j), zero,
                             b.select(b.compare("cmpi", "eq", i, j), one, b.extract(x, prefix + [i, j])))
                splats = {size: b.splat(v, size) for size in sizes}
                for q, (base, size) in enumerate(chunks):
                    product = b.arith("arith.mulf", splats[size], b.read(x, prefix + [i, base], size))
                    row.v[f"w{q}"] = b.arith("arith.addf", row.v[f"w{q}"], product)
            w = [row.v[f"w{q}"] for q in range(len(chunks))]
            right = [columns_from(b, j1, base, size) for base, size in chunks]
            with b.loop(j, m, a=x) as row:
                i, t = row.iv, row.v["a"]
                v = b.select(b.compare("cmpi", "eq", i, j), one, b.extract(t, prefix + [i, j]))
                splats = {size: b.splat(b.arith("arith.mulf", tau, v), size) for size in sizes}
                for q, (base, size) in enumerate(chunks):
                    chunk = b.read(t, prefix + [i, base], size)
                    new = b.arith("arith.subf", chunk, b.arith("arith.mulf", splats[size], w[q]))
                    t = b.write(b.select(right[q], new, chunk), t, prefix + [i, base])
                row.v["a"] = t
            x = row.v["a"]
            step.v["a"] = b.insert(b.select(zero_below, alpha, beta), x, prefix + [j, j])
            step.v["taus"] = b.insert(tau, step.v["taus"], prefix + [j])
        return step.v

    state = for_each_matrix(b, batch, {"a": b.empty(result_types[0]), "taus": b.empty(result_types[1])}, factorize)
    return [state["a"], state["taus"]]


def _block_reflector(b, args, arg_types, result_types, params):
    (gram, taus), ((shape, element), taus_type) = args, arg_types
    *batch, n, n2 = shape
    if n != n2 or taus_type != ((*batch, n), element) or [parse_tensor(t) for t in result_types] != [arg_types[0]]:
        raise ValueError(f"block_reflector takes gram (..., n, n) and taus (..., n) of one element type -> gram's "
                         f"type, got {arg_types} -> {result_types}")
    zero = b.scalar(0)
    chunks = [(base, min(b.lanes, n - base)) for base in range(0, n, b.lanes)]

    def build_t(prefix, state):
        """U = Tᵀ row by row (T's column j contiguous), U[j, :j] = -tau_j
        sum_{l<j} gram[l, j] U[l, :j], summed over whole rows of U (zeros
        and all, as the portable matmul), U[j, j] = tau_j; then U is
        transposed in place into T."""
        with b.loop(0, n, t=state["t"]) as step:
            j, u = step.iv, step.v["t"]
            tau = b.extract(taus, prefix + [j])
            sums = {f"s{q}": b.splat(zero, size) for q, (_, size) in enumerate(chunks)}
            with b.loop(0, j, **sums) as term:
                g = b.extract(gram, prefix + [term.iv, j])
                splats = {size: b.splat(g, size) for size in sorted({size for _, size in chunks})}
                for q, (base, size) in enumerate(chunks):
                    product = b.arith("arith.mulf", b.read(u, prefix + [term.iv, base], size), splats[size])
                    term.v[f"s{q}"] = b.arith("arith.addf", term.v[f"s{q}"], product)
            minus_tau = b.unary("arith.negf", tau)
            for q, (base, size) in enumerate(chunks):
                above = b.arith("arith.mulf", b.splat(minus_tau, size), term.v[f"s{q}"])
                diagonal = b.select(columns_from(b, j, base, size, "eq"), b.splat(tau, size), b.splat(zero, size))
                u = b.write(b.select(columns_from(b, j, base, size, "slt"), above, diagonal), u, prefix + [j, base])
            step.v["t"] = u
        return {"t": transposed_in_place(b, prefix, n, step.v["t"])}

    return [for_each_matrix(b, batch, {"t": b.empty(result_types[0])}, build_t)["t"]]


# name: (builder, the element types its arguments may have)
KERNELS = {"cholesky_block": (_cholesky_block, _FLOATS), "triangular_inverse": (_triangular_inverse, _FLOATS),
           "forward_substitution": (_forward_substitution, _FLOATS), "lu_panel": (_lu_panel, _FLOATS),
           "pivots_to_permutation": (_pivots_to_permutation, ("i32",)), "svd_sweep": (svd_sweep, _FLOATS),
           "eigh_sweep": (eigh_sweep, _FLOATS), "qr_panel": (_qr_panel, _FLOATS),
           "block_reflector": (_block_reflector, _FLOATS), "symmetric_tridiagonal": (symmetric_tridiagonal, _FLOATS),
           "tridiagonal_q": (tridiagonal_q, _FLOATS), "tridiagonal_ql": (tridiagonal_ql, _FLOATS),
           "bidiagonal_reduction": (bidiagonal_reduction, _FLOATS), "bidiagonal_qr": (bidiagonal_qr, _FLOATS),
           "top_k": (top_k, ("f32", "f64", "i32", "i64"))}


def build(kernel: str, name: str, arg_types: list[str], result_types: list[str], params: dict) -> str | None:
    """The text of `func.func private @name(args) -> results attributes
    {no_inline}` computing `kernel` in one dispatch region on the CPU, or
    None where the kernel does not cover these types (element types other
    than its own: f32/f64, i32 for pivots; dynamic or empty dimensions)."""
    builder, elements = KERNELS[kernel]
    parsed = [parse_tensor(t) for t in arg_types]
    if any(p is None or p[1] not in elements or 0 in p[0] for p in parsed):
        return None
    if any(parse_tensor(t) is None for t in result_types):
        return None
    b = Body(parsed[0][1])
    args = [f"%arg{n}" for n in range(len(arg_types))]
    b.types.update(zip(args, arg_types))
    results = builder(b, args, parsed, list(result_types), params)
    if results is None:
        return None
    return b.function(name, args, result_types, results)


__all__ = ["KERNELS", "build"]
