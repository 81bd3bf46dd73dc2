"""Products of arrays: dot, vdot, matmul, inner, outer, tensordot, einsum,
and those built on them: kron, cross, vecdot, matvec, vecmat.

Each promotes its operands to one dtype (JAX's rules) and binds
`dot_general`, which contracts paired dims and keeps batch dims; the NumPy
conventions only decide which dims those are:

    dot(a, b)        a[..., k] with b[..., k, n] (or b[k]); a scalar operand scales
    inner(a, b)      a[..., k] with b[..., k]
    vdot, outer      the flattened operands, all dims contracted / none
    tensordot        the last `axes` dims of a with the first `axes` of b
    matmul(a, b)     a[..., m, k] with b[..., k, n]; the `...` dims broadcast
                     against each other and are batch dims
    einsum           dims named by letters, contracted pairwise in opt_einsum's order

matmul and einsum name every dim with a label and share one step,
`_contract`, as JAX's einsum does: a label on both operands is a batch dim
if the result keeps it, else contracted; a label on one operand only is
kept as a free dim, or summed out first when nothing needs it. A unit dim
that broadcasts against a longer one is squeezed away beforehand, and a
transpose puts the labels in the requested order where dot_general's
(batch, lhs free, rhs free) order is not already it.
"""
from __future__ import annotations

import functools
import numbers
from collections import Counter

import numpy as np
from collections.abc import Sequence
from typing import Any

from irax.frontend import dtypes
from irax.frontend.numpy import creation, shape, ufuncs, vectorize
from irax.frontend.numpy.util import asarray, canonicalize_axis, promote_args
from irax.frontend.primitives.elementwise import convert_element_type, unary
from irax.frontend.primitives.linalg import dot_general
from irax.frontend.primitives.reductions import reduce
from irax.typing import Array, ArrayLike, DTypeLike


def _dot_general(a, b, contracting=((), ()), batch=((), ()), preferred_element_type=None):
    """The dot_general primitive of the promoted `a` and `b`; with a
    `preferred_element_type`, lax.dot_general's (the dtype it accumulates
    and returns in, by XLA's rules). Every contraction accepts `precision`
    and ignores it: irax's are exact in the operand dtype."""
    dimension_numbers = (tuple(map(tuple, contracting)), tuple(map(tuple, batch)))
    if preferred_element_type is None:
        return dot_general.bind(a, b, dimension_numbers=dimension_numbers)
    from irax.frontend import lax_structural  # (it imports irax.frontend.numpy)

    return lax_structural.dot_general(a, b, dimension_numbers, preferred_element_type=preferred_element_type)


def dot(a: ArrayLike, b: ArrayLike, /, *, precision: object = None,
        preferred_element_type: DTypeLike | None = None) -> Array:
    """Sum over the last axis of `a` and the second-to-last of `b` (the only
    one when `b` is 1-D): out[i.., j.., n] = sum_k a[i.., k] b[j.., k, n].
    A 0-d operand multiplies the other elementwise."""
    a, b = promote_args("dot", a, b)
    if a.ndim == 0 or b.ndim == 0:
        return _dot_general(a, b, preferred_element_type=preferred_element_type)
    return _dot_general(a, b, ((a.ndim - 1,), (max(b.ndim - 2, 0),)), preferred_element_type=preferred_element_type)


def vdot(a: ArrayLike, b: ArrayLike, /, *, precision: object = None,
         preferred_element_type: DTypeLike | None = None) -> Array:
    """sum(conj(ravel(a)) * ravel(b)). Operands of one shape are contracted
    along every dim as they are, which saves the two reshapes."""
    a, b = promote_args("vdot", a, b)
    if dtypes.is_complex(a.dtype):
        a = unary["conj"].bind(a)
    if a.shape != b.shape:
        a, b = shape.ravel(a), shape.ravel(b)
    dims = range(a.ndim)
    return _dot_general(a, b, (dims, dims), preferred_element_type=preferred_element_type)


def inner(a: ArrayLike, b: ArrayLike, /, *, precision: object = None,
          preferred_element_type: DTypeLike | None = None) -> Array:
    """Sum over the last axes: out[i.., j..] = sum_k a[i.., k] b[j.., k].
    A 0-d operand multiplies the other elementwise."""
    a, b = promote_args("inner", a, b)
    if a.ndim == 0 or b.ndim == 0:
        return _dot_general(a, b, preferred_element_type=preferred_element_type)
    return _dot_general(a, b, ((a.ndim - 1,), (b.ndim - 1,)), preferred_element_type=preferred_element_type)


def outer(a: ArrayLike, b: ArrayLike, /) -> Array:
    """out[i, j] = ravel(a)[i] * ravel(b)[j]."""
    a, b = promote_args("outer", a, b)
    return _dot_general(shape.ravel(a), shape.ravel(b))


def tensordot(a: ArrayLike, b: ArrayLike, axes: int | Sequence[int] | Sequence[Sequence[int]] = 2, *,
              precision: object = None, preferred_element_type: DTypeLike | None = None) -> Array:
    """Contract the axes `axes` of `a` with those of `b`: an int N pairs the
    last N axes of `a` with the first N of `b`; a pair (axes_a, axes_b) of
    ints or of equally long sequences names them."""
    a, b = promote_args("tensordot", a, b)
    if isinstance(axes, numbers.Integral):
        if axes > min(a.ndim, b.ndim):
            raise TypeError(f"Number of tensordot axes (axes {axes}) exceeds input ranks ({a.shape} and {b.shape})")
        return _dot_general(a, b, (range(a.ndim - axes, a.ndim), range(axes)), preferred_element_type=preferred_element_type)
    if not (isinstance(axes, (tuple, list)) and len(axes) == 2):
        raise TypeError("tensordot axes argument must be an int, a pair of ints, or a pair of lists/tuples of ints.")
    axes_a, axes_b = axes
    if isinstance(axes_a, numbers.Integral) and isinstance(axes_b, numbers.Integral):
        axes_a, axes_b = (axes_a,), (axes_b,)
    elif not (isinstance(axes_a, (tuple, list)) and isinstance(axes_b, (tuple, list))):
        raise TypeError(f"tensordot requires both axes lists to be either ints, tuples or lists, got {axes_a} and {axes_b}")
    if len(axes_a) != len(axes_b):
        raise TypeError(f"tensordot requires axes lists to have equal length, got {axes_a} and {axes_b}.")
    contracting = (
        [canonicalize_axis("tensordot", i, a.ndim) for i in axes_a],
        [canonicalize_axis("tensordot", i, b.ndim) for i in axes_b],
    )
    return _dot_general(a, b, contracting, preferred_element_type=preferred_element_type)


# ---------------------------------------------------------------------------
# Products of labelled dims: matmul and einsum.

def _sum_labels(x, labels, summed):
    """Sum `x` over the dims labelled `summed`; returns it and its labels."""
    if not summed:
        return x, labels
    axes = tuple(i for i, label in enumerate(labels) if label in summed)
    return reduce["sum"].bind(x, axes=axes, keepdims=False, dtype=x.dtype), [label for label in labels if label not in summed]


def _squeeze_broadcast(x, labels, other_sizes):
    """Drop the unit dims of `x` whose label has another size in
    `other_sizes` (label -> size): they broadcast, and the other operand
    alone now carries that label."""
    drop = tuple(i for i, label in enumerate(labels) if x.shape[i] == 1 and other_sizes.get(label, 1) != 1)
    return shape.squeeze(x, drop), [label for i, label in enumerate(labels) if i not in drop]


def _contract(x, x_labels, y, y_labels, keep, preferred_element_type=None):
    """One dot_general of `x` and `y`, whose dims are named by labels; `keep`
    lists the labels the caller still needs, in the order it wants them.
    Returns the product and its labels."""
    x, x_labels = _sum_labels(x, x_labels, [l for l in x_labels if l not in y_labels and l not in keep])
    y, y_labels = _sum_labels(y, y_labels, [l for l in y_labels if l not in x_labels and l not in keep])
    batch = [l for l in keep if l in x_labels and l in y_labels]
    contracted = [l for l in x_labels if l in y_labels and l not in keep]
    x_free = [l for l in x_labels if l not in y_labels]
    y_free = [l for l in y_labels if l not in x_labels]
    if batch + y_free + x_free == [l for l in keep if l in x_labels or l in y_labels]:
        x, x_labels, x_free, y, y_labels, y_free = y, y_labels, y_free, x, x_labels, x_free  # saves a transpose

    def dims(labels, names):
        return [labels.index(n) for n in names]

    out = _dot_general(x, y, (dims(x_labels, contracted), dims(y_labels, contracted)),
                       (dims(x_labels, batch), dims(y_labels, batch)), preferred_element_type)
    return out, batch + x_free + y_free


def _in_order(x, labels, out_labels):
    return shape.transpose(x, [labels.index(l) for l in out_labels])


def matmul(a: ArrayLike, b: ArrayLike, /, *, precision: object = None,
           preferred_element_type: DTypeLike | None = None) -> Array:
    """Matrix product of the last two axes, out[..., m, n] = sum_k a[..., m, k] b[..., k, n],
    where the leading `...` axes broadcast; a 1-D `a` is a row (its k only),
    a 1-D `b` a column, and that axis is dropped from the result."""
    a, b = promote_args("matmul", a, b)
    for i, x in enumerate((a, b)):
        if x.ndim == 0:
            raise ValueError(f"matmul input operand {i} must have ndim at least 1, but it has ndim 0")
    # Most products take one dot_general without the labels' ~15 us of
    # Python: with a vector, dot's contraction (its leading axes are the
    # other's); matrices, or batches of them of one batch shape.
    if a.ndim == 1 or b.ndim == 1:
        return _dot_general(a, b, ([a.ndim - 1], [max(b.ndim - 2, 0)]), preferred_element_type=preferred_element_type)
    if a.shape[:-2] == b.shape[:-2]:
        batch = list(range(a.ndim - 2))
        return _dot_general(a, b, ([a.ndim - 1], [a.ndim - 2]), (batch, batch), preferred_element_type)
    # Labels: leading axes are numbered as they align, right to left.
    n_batch = max(a.ndim, b.ndim, 2) - 2
    a_labels = (list(range(n_batch - (a.ndim - 2), n_batch)) + ["m", "k"]) if a.ndim > 1 else ["k"]
    b_labels = (list(range(n_batch - (b.ndim - 2), n_batch)) + ["k", "n"]) if b.ndim > 1 else ["k"]
    out_labels = list(range(n_batch)) + ["m"] * (a.ndim > 1) + ["n"] * (b.ndim > 1)
    a_batch = {l: n for l, n in zip(a_labels, a.shape) if isinstance(l, int)}
    b_batch = {l: n for l, n in zip(b_labels, b.shape) if isinstance(l, int)}
    if any(a_batch[l] != n and 1 not in (a_batch[l], n) for l, n in b_batch.items() if l in a_batch):
        raise ValueError(f"Incompatible types for matmul arguments: {a.aval.str_short()} and {b.aval.str_short()}")
    a, a_labels = _squeeze_broadcast(a, a_labels, b_batch)
    b, b_labels = _squeeze_broadcast(b, b_labels, a_batch)
    out, labels = _contract(a, a_labels, b, b_labels, out_labels, preferred_element_type)
    return _in_order(out, labels, out_labels)


def _term_labels(term, width, n_ellipsis):
    """The labels of one subscript term: its letters, and for `...` the
    numbers of the `width` broadcast dims it covers, aligned on the right
    (the broadcast dims are numbered 0 .. n_ellipsis - 1)."""
    head, dots, tail = term.partition("...")
    if "." in head + tail:
        raise ValueError("Invalid Ellipses.")
    broadcast = list(range(n_ellipsis - width, n_ellipsis)) if dots else []
    return list(head) + broadcast + list(tail)


def _parse_subscripts(subscripts, ndims):
    """Labels of each operand and of the output, as lists. Without '->' the
    output is the broadcast dims, then the letters used once, sorted."""
    subscripts = subscripts.replace(" ", "")
    if subscripts.count("->") > 1:
        raise ValueError("Subscripts can only contain one '->'.")
    inputs, arrow, output = subscripts.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(ndims):
        raise ValueError(
            f"Number of einsum subscripts, {len(terms)}, must be equal to the number of operands, {len(ndims)}."
        )
    widths = [ndim - len(term.replace("...", "")) for term, ndim in zip(terms, ndims)]  # dims under '...'
    n_ellipsis = max([w for w, term in zip(widths, terms) if "..." in term], default=0)
    labels = []
    for i, (term, ndim, width) in enumerate(zip(terms, ndims, widths)):
        term_labels = _term_labels(term, width, n_ellipsis)
        if len(term_labels) != ndim:
            raise ValueError(f"Einstein sum subscript '{term}' does not contain the correct number of indices for operand {i}.")
        labels.append(term_labels)
    counts = Counter(l for term_labels in labels for l in term_labels)
    if not arrow:
        return labels, list(range(n_ellipsis)) + sorted(l for l, c in counts.items() if isinstance(l, str) and c == 1)
    out = _term_labels(output, n_ellipsis, n_ellipsis)
    for l, count in Counter(out).items():
        if l not in counts:
            raise ValueError(f"Output character '{l}' did not appear in the input")
        if count > 1:
            raise ValueError(f"Output character '{l}' appeared more than once in the output.")
    return labels, out


def _check_label_sizes(operands, labels):
    """Every label has one size across operands, or size 1 where it broadcasts."""
    sizes = {}
    for i, (x, term_labels) in enumerate(zip(operands, labels)):
        for label, n in zip(term_labels, x.shape):
            previous = sizes.setdefault(label, n)
            if 1 not in (n, previous) and n != previous:
                name = label if isinstance(label, str) else "..."
                raise ValueError(
                    f"Size of label '{name}' for operand {i} ({n}) does not match previous terms ({previous})."
                )
            if previous == 1:
                sizes[label] = n


def _sublist_subscripts(args):
    """(subscripts, operands) of einsum's interleaved form, einsum(x, [0, 1],
    y, [1, 2], [0, 2]): integers in [0, 52) name dims, Ellipsis the `...`."""
    def term(sublist):
        letters = []
        for s in sublist:
            if s is Ellipsis:
                letters.append("...")
            elif isinstance(s, numbers.Integral) and 0 <= s < len(_LETTERS):
                letters.append(_LETTERS[s])
            else:
                raise ValueError(f"einsum sublist entries must be Ellipsis or integers in [0, {len(_LETTERS)}), "
                                 f"got {s!r}")
        return "".join(letters)

    operands, sublists = args[0:-1:2] if len(args) % 2 else args[0::2], args[1::2]
    subscripts = ",".join(term(s) for s in sublists[:len(operands)])
    if len(args) % 2:
        subscripts += "->" + term(args[-1])
    return subscripts, operands


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _diagonals(x, term_labels):
    """x with each label its term repeats (einsum's 'ii': a diagonal, then a
    trace once summed) read once: the diagonal of those two axes, last (an
    n x n pair flattened, every (n + 1)-th element)."""
    while True:
        repeated = [label for label, count in Counter(term_labels).items() if count > 1]
        if not repeated:
            return x, term_labels
        i, j = [k for k, label in enumerate(term_labels) if label == repeated[0]][:2]
        n, rest = x.shape[i], [k for k in range(x.ndim) if k not in (i, j)]
        x = shape.transpose(x, rest + [i, j])
        x = shape.reshape(x, x.shape[:-2] + (n * n,))[..., :: n + 1]
        term_labels = [term_labels[k] for k in rest] + [repeated[0]]


def _contraction_path(labels, out_labels, shapes, optimize):
    """The order to contract the operands in, as opt_einsum (and JAX) give
    it: a list of steps, each the positions of the operands it takes out of
    the list (contracted together), whose result goes to the list's end.
    False: pairs from the front, (0, 1) every step, as JAX's unoptimized
    path; True: opt_einsum's 'optimal'; a list: that path (NumPy's form,
    led by 'einsum_path', too); a string: that opt_einsum optimizer."""
    if isinstance(optimize, (list, tuple)):
        return [tuple(step) for step in optimize if step != "einsum_path"]
    if optimize is False or len(labels) < 3:
        return [(0, 1)] * (len(labels) - 1) or [(0,)]
    optimize = "optimal" if optimize is True else optimize
    return _opt_einsum_path(tuple(map(tuple, labels)), tuple(out_labels), tuple(shapes), optimize)[0]


@functools.lru_cache(maxsize=256)  # a search of ~0.2 ms, met again at each eager call of an einsum
def _opt_einsum_path(labels, out_labels, shapes, optimize):
    """opt_einsum.contract_path of the labelled shapes (labels as symbols)."""
    import opt_einsum  # imported when first needed: ~60 ms, and most programs never ask

    symbol = {label: opt_einsum.get_symbol(k) for k, label in enumerate(dict.fromkeys(
        [l for term in labels for l in term] + list(out_labels)))}
    subscripts = ",".join("".join(symbol[l] for l in term) for term in labels)
    return opt_einsum.contract_path(subscripts + "->" + "".join(symbol[l] for l in out_labels), *shapes,
                                    shapes=True, optimize=optimize)


def einsum_path(subscripts: str | ArrayLike, /, *operands: ArrayLike | Sequence,
                optimize: str | bool | Sequence = "auto") -> tuple[list[tuple[int, ...]], Any]:
    """(path, description): the order `einsum` would contract the operands
    in with this `optimize`, and opt_einsum's printable account of its cost,
    without computing anything (JAX's, which calls opt_einsum too)."""
    if not isinstance(subscripts, str):
        subscripts, operands = _sublist_subscripts((subscripts,) + operands)
    import opt_einsum

    shapes = [np.shape(x) for x in operands]
    if isinstance(optimize, bool):
        optimize = "optimal" if optimize else [(0, 1)] * (len(shapes) - 1)
    return opt_einsum.contract_path(subscripts, *shapes, shapes=True, optimize=optimize)


def einsum(subscripts: str | ArrayLike, /, *operands: ArrayLike | Sequence, out: None = None,
           optimize: str | bool | Sequence = "auto", precision: object = None,
           preferred_element_type: DTypeLike | None = None) -> Array:
    """Einstein summation: `subscripts` names the dims of each operand with
    letters ('ij,jk->ik'); letters missing from the output are summed over,
    and a letter repeated in one operand reads its diagonal ('ii->i', 'ii'
    the trace). `...` stands for broadcast dims; without '->' the output is
    the `...` dims, then the letters used once, in alphabetical order. The
    interleaved form einsum(x, [0, 1], y, [1, 2], [0, 2]) names dims by
    integers. Operands are contracted one dot_general per pair, in the
    order `optimize` chooses (`_contraction_path`: opt_einsum's, as JAX's);
    `preferred_element_type` is the dtype they are computed and returned in."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.einsum is not supported.")
    if not isinstance(subscripts, str):
        subscripts, operands = _sublist_subscripts((subscripts,) + operands)
    operands = promote_args("einsum", *operands)
    labels, out_labels = _parse_subscripts(subscripts, [x.ndim for x in operands])
    _check_label_sizes(operands, labels)
    operands, labels = zip(*[_diagonals(x, term_labels) for x, term_labels in zip(operands, labels)])
    weak = all(op.weak_type for op in operands)
    terms = list(zip(operands, labels))
    for step in _contraction_path(labels, out_labels, [x.shape for x in operands], optimize):
        picked = [terms.pop(i) for i in sorted(step, reverse=True)][::-1]
        keep = list(dict.fromkeys(out_labels + [l for _, later in terms for l in later]))
        x, x_labels = picked[0]
        for y, y_labels in picked[1:]:
            x, x_labels = _squeeze_broadcast(x, x_labels, dict(zip(y_labels, y.shape)))
            y, y_labels = _squeeze_broadcast(y, y_labels, dict(zip(x_labels, x.shape)))
            x, x_labels = _contract(x, x_labels, y, y_labels, keep, preferred_element_type)
        terms.append(_sum_labels(x, x_labels, [l for l in x_labels if l not in keep]))
    [(x, x_labels)] = terms
    x = _in_order(x, x_labels, out_labels)
    if preferred_element_type is not None:  # (an operand contracted with none, only summed: its dtype so far)
        x = convert_element_type.bind(x, new_dtype=dtypes.canonicalize_dtype(preferred_element_type), weak_type=False)
    if x.weak_type != weak:  # sums are strongly typed; JAX's einsum keeps its operands' weakness
        x = convert_element_type.bind(x, new_dtype=x.dtype, weak_type=weak)
    return x


# ---------------------------------------------------------------------------
# Products

def kron(a: ArrayLike, b: ArrayLike) -> Array:
    """The Kronecker product: out[i * m + j] = a[i] b[j] along each axis."""
    a, b = promote_args("kron", a, b)
    a, b = asarray(a), asarray(b)
    ndim = max(a.ndim, b.ndim)
    a, b = a.reshape((1,) * (ndim - a.ndim) + a.shape), b.reshape((1,) * (ndim - b.ndim) + b.shape)
    wide_a = a.reshape(tuple(d for n in a.shape for d in (n, 1)))
    wide_b = b.reshape(tuple(d for n in b.shape for d in (1, n)))
    return ufuncs.multiply(wide_a, wide_b).reshape(tuple(m * n for m, n in zip(a.shape, b.shape)))


def cross(a: ArrayLike, b: ArrayLike, axisa: int = -1, axisb: int = -1, axisc: int = -1,
          axis: int | None = None) -> Array:
    """The cross product of vectors of 3 (or 2, with zero z) components."""
    a, b = promote_args("cross", a, b)
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = shape.moveaxis(a, axisa, -1), shape.moveaxis(b, axisb, -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError("Dimension must be either 2 or 3 for cross product")
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return ufuncs.subtract(a[..., 0] * b[..., 1], a[..., 1] * b[..., 0])
    a0, a1, a2 = a[..., 0], a[..., 1], a[..., 2] if a.shape[-1] == 3 else creation.zeros_like(a[..., 0])
    b0, b1, b2 = b[..., 0], b[..., 1], b[..., 2] if b.shape[-1] == 3 else creation.zeros_like(b[..., 0])
    c = shape.stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], -1)
    return shape.moveaxis(c, -1, axisc)


def vecdot(x1: ArrayLike, x2: ArrayLike, /, *, axis: int = -1, precision: None = None,
           preferred_element_type: DTypeLike | None = None) -> Array:
    """sum(conj(x1) * x2) along `axis`, the other axes broadcast."""
    x1, x2 = promote_args("vecdot", x1, x2)
    if x1.shape[axis] != x2.shape[axis]:
        raise ValueError(f"axes must match; got shapes {x1.shape} and {x2.shape} with axis={axis}")
    x1 = unary["conj"].bind(x1) if dtypes.is_complex(x1.dtype) else x1
    x1, x2 = shape.moveaxis(x1, axis, -1), shape.moveaxis(x2, axis, -1)
    return matmul(x1[..., None, :], x2[..., :, None], preferred_element_type=preferred_element_type)[..., 0, 0]


def matvec(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Matrix times vector, over broadcast stacks: out[..., i] = sum_j x1[..., i, j] x2[..., j]."""
    vectorize.check_core_dims("(n,m),(m)->(n)", x1, x2)
    return matmul(x1, asarray(x2)[..., None])[..., 0]


def vecmat(x1: ArrayLike, x2: ArrayLike, /) -> Array:
    """Vector times matrix, over broadcast stacks: out[..., j] = sum_i x1[..., i] x2[..., i, j]."""
    vectorize.check_core_dims("(n),(n,m)->(m)", x1, x2)
    return matmul(asarray(x1)[..., None, :], x2)[..., 0, :]


__all__ = ["dot", "vdot", "matmul", "inner", "outer", "tensordot", "einsum", "einsum_path", "kron", "cross",
           "vecdot", "matvec", "vecmat"]
