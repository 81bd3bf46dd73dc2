"""Native CPU kernel of `lax.top_k` (frontend/lax_sorting.py), in
cpu_kernels.py's table.

    top_k     x (..., n) -> (values (..., k), indices (..., k) i32), per
              row in one pass: the k largest keys seen so far are kept in a
              scratch row, largest first, equal keys in index order; an
              element enters only if its key is above the k-th's, by
              insertion (the smaller ones move down a slot, the k-th out).
              The row is read a vector chunk at a time, and a chunk whose
              keys are none above the k-th's is passed over at once: past
              the first few hundred elements of a random row, nearly all
              are (an element of a random row enters with odds k / i).
              An ascending row is the worst case, k moves an element.

A key is XLA's TopK order as a signed integer of the element's width: a
float's bits with the magnitude bits flipped where the sign is set (-NaN <
-inf < ... < -0.0 < 0.0 < ... < inf < NaN, the bitonic network's order in
primitives/sorting.py), an unsigned integer's bits with the top one flipped
(params["unsigned"]), a signed integer as it is. So a key above another is
an element that comes first, and an element equal to the k-th's stays out:
it came later.
"""
from __future__ import annotations

from irax.backends.cpu_kernel_builder import ELEMENT_BYTES, for_each_matrix, if_then, while_loop
from irax.backends.cpu_kernels_tridiagonal import _SCRATCH_BYTES
_INTEGER = {"f32": "i32", "f64": "i64", "i32": "i32", "i64": "i64"}  # an element's key type


def _constant(b, value, type_):
    """`value` as a constant of `type_`, a scalar or a vector type."""
    return b.constant(f"dense<{value}>" if type_.startswith("vector") else value, type_)


def _key(b, x, unsigned):
    """The key of x (a scalar or a vector of the row's elements)."""
    element = b.element
    type_ = b.types[x].replace(element, _INTEGER[element])
    width = ELEMENT_BYTES[element] * 8
    if element.startswith("f"):
        bits = b.bitcast(x, type_)
        sign = b.arith("arith.shrsi", bits, _constant(b, width - 1, type_))  # all ones where negative
        magnitude = b.arith("arith.andi", sign, _constant(b, 2 ** (width - 1) - 1, type_))
        return b.arith("arith.xori", bits, magnitude)
    return b.arith("arith.xori", x, _constant(b, -2 ** (width - 1), type_)) if unsigned else x


def top_k(b, args, arg_types, result_types, params):
    (x,), ((shape, element),) = args, arg_types
    *batch, n = shape
    k = params["k"]
    if not 0 < k <= n or k * ELEMENT_BYTES[element] > _SCRATCH_BYTES:
        return None
    key_type = _INTEGER[element]
    lanes = b.lanes

    def row(prefix, state):
        def insert(v, key, i, slot):
            """v's keys and indices with element i (key `key`) inserted at
            `slot` or above it, past the keys at least its own."""
            def moves(u):
                positive = b.compare("cmpi", "ugt", u["j"], b.index(0))
                before = b.select(positive, b.index_op("arith.subi", u["j"], 1), b.index(0))
                smaller = b.compare("cmpi", "slt", b.extract(u["keys"], [before]), key)
                return b.arith("arith.andi", positive, smaller)

            def move(u):
                j, before = u["j"], b.index_op("arith.subi", u["j"], 1)
                moved_key, moved_index = b.extract(u["keys"], [before]), b.extract(u["idx"], prefix + [before])
                return {"keys": b.insert(moved_key, u["keys"], [j]),
                        "idx": b.insert(moved_index, u["idx"], prefix + [j]), "j": before}

            u = while_loop(b, moves, move, keys=v["keys"], idx=v["idx"], j=b.index(slot))
            return {**v, "keys": b.insert(key, u["keys"], [u["j"]]),
                    "idx": b.insert(b.cast(i, "i32"), u["idx"], prefix + [u["j"]])}

        def consider(v, i):
            key = _key(b, b.extract(x, prefix + [i]), params["unsigned"])

            def enter(u):
                u = insert(u, key, i, k - 1)
                return {**u, "kth": b.extract(u["keys"], [k - 1])}

            return if_then(b, b.compare("cmpi", "sgt", key, v["kth"]), enter, **v)

        def scan(v, lo, hi):
            if lo >= hi:
                return v
            with b.loop(lo, hi, **v) as element_loop:
                element_loop.v.update(consider(element_loop.v, element_loop.iv))
            return element_loop.v

        with b.loop(0, k, keys=state["keys"], idx=state["idx"]) as first:
            key = _key(b, b.extract(x, prefix + [first.iv]), params["unsigned"])
            first.v.update(insert(first.v, key, first.iv, first.iv))
        v = {**first.v, "kth": b.extract(first.v["keys"], [k - 1])}
        start, full = -(-k // lanes), n // lanes
        v = scan(v, k, min(start * lanes, n))
        if start < full:
            with b.loop(start, full, **v) as chunk:
                base = b.index_op("arith.muli", chunk.iv, lanes)
                keys = _key(b, b.read(x, prefix + [base], lanes), params["unsigned"])
                above = b.compare("cmpi", "sgt", keys, b.splat(chunk.v["kth"], lanes))
                any_above = b.op(f"vector.reduction <or>, {above} : vector<{lanes}xi1> into i1", "i1")

                def look(u):
                    with b.loop(0, lanes, **u) as lane:
                        lane.v.update(consider(lane.v, b.index_op("arith.addi", base, lane.iv)))
                    return lane.v

                chunk.v.update(if_then(b, any_above, look, **chunk.v))
            v = chunk.v
        v = scan(v, max(start, full) * lanes, n)
        with b.loop(0, k, values=state["values"]) as out:
            i = b.cast(b.extract(v["idx"], prefix + [out.iv]), "index")
            out.v["values"] = b.insert(b.extract(x, prefix + [i]), out.v["values"], prefix + [out.iv])
        return {"keys": v["keys"], "idx": v["idx"], "values": out.v["values"]}

    state = {"keys": b.empty(f"tensor<{k}x{key_type}>"), "idx": b.empty(result_types[1]),
             "values": b.empty(result_types[0])}
    state = for_each_matrix(b, batch, state, row)
    return [state["values"], state["idx"]]


__all__ = ["top_k"]
