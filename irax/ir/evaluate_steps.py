"""The steps of the NumPy evaluator's plans (evaluate.py) as they run: NumPy
only, no MLIR.

evaluate.prepare reads a function once into a plan: a list of steps, each a
callable on `env`, the list of the run's values (numbered slots; its last
item the run's `give_up`). This module holds what those steps are made of
at run time: `apply` (a step of a NumPy function of some slots), a
linalg.generic's step (`Generic`: its operands viewed over the iteration
space and its body's steps run once on whole arrays; `SteppedReduction`
for the reductions that are not one combining op), the slices of
extract_slice and insert_slice (`slicer`), the steps of scf.for, scf.while
and scf.if over their regions' steps, and the loops' give-up check
(`give_up_at`), with the errors a run may end in: Abandoned and TooBig.
What depends on static shapes alone is worked out once, when a step is
made: a loop's body runs its steps thousands of times.
"""
import functools
import itertools
import math

import numpy as np

from irax.ir.numpy_ops import flush

CHECK_EVERY = 64  # loop steps between two calls of `give_up`: a long loop in Python may take far longer than a compile
# A generic over this many elements or more asks `give_up` after each step of
# its body: a body of hundreds of ops on 1e7 elements (a random sampler's)
# took NumPy 27 s, the compile 0.5 s. (Each such step takes tens of us: the
# question, ~0.2 us, is lost in it.)
CHECK_SPACE = 1 << 16

# A generic's iteration space may hold this many elements, and this many times
# its biggest operand or result, before TooBig.
SPACE_ELEMENTS = 1 << 24
SPACE_RATIO = 4


class Abandoned(Exception):
    """The caller gave the evaluation up (its `give_up` said so, in a loop
    or in a big generic's body)."""


class TooBig(MemoryError):
    """A linalg.generic whose iteration space, made whole by NumPy broadcasting,
    would be far bigger than its operands and results (a reduction over a
    broadcast product, as a compiled loop computes without storing it)."""


def give_up_at(n, env):
    """Abandoned at every CHECK_EVERY-th loop step `n` where the run's
    `give_up` (the last slot of `env`) says so."""
    if n % CHECK_EVERY == CHECK_EVERY - 1 and env[-1]():
        raise Abandoned


def run_block(env, args, values, steps):
    """Bind a block's arguments to `values` in `env` and run its steps."""
    for a, v in zip(args, values):
        env[a] = v
    for step in steps:
        step(env)


def apply(fn, ins, out, many=False):
    """A step: env[out] = fn(env[ins...]) (with `many`, outs from the sequence fn returns)."""
    ins = tuple(ins)
    if many:
        def step(env):
            for o, v in zip(out, fn(*[env[i] for i in ins])):
                env[o] = v
    elif not ins:
        def step(env):
            env[out] = fn()
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


def apply_env(fn, out):
    """A step: env[out] = fn(env)."""
    def step(env):
        env[out] = fn(env)
    return step


def with_flushes(fn, read, write):
    """`fn` reading its operands at the positions `read` with their
    subnormals as zeros, and its result's too where `write` (numpy_ops.flush),
    where there is one or the other. (The common forms build no list: a loop
    runs them thousands of times.)"""
    if read == [0] and write:
        return lambda x, *rest: flush(fn(flush(x), *rest))
    if not read:
        return lambda *xs: flush(fn(*xs))

    def flushed(*xs):
        y = fn(*[flush(x) if k in read else x for k, x in enumerate(xs)])
        return flush(y) if write else y
    return flushed


def slicer(offsets, sizes, strides, slots):
    """env -> the tuple of slices an extract_slice / insert_slice reads or
    writes: `offsets`, `sizes` and `strides` per dim, each None where it is
    dynamic, read from env at its slot in `slots` (in that order)."""
    slots = iter(slots)
    fields = [[next(slots) if v is None else None for v in part] for part in (offsets, sizes, strides)]
    if any(s is not None for part in fields[1:] for s in part):  # (dynamic sizes or strides: all read at each call)
        def where(env):
            o, n, s = [[int(env[k]) if k is not None else v for v, k in zip(part, ks)]
                       for part, ks in zip((offsets, sizes, strides), fields)]
            return tuple(_slice(*dim) for dim in zip(o, n, s))
        return where
    fixed = [_slice(o, n, s) if k is None else None for o, n, s, k in zip(offsets, sizes, strides, fields[0])]
    moving = [(d, _span(n, s), s, k) for d, (n, s, k) in enumerate(zip(sizes, strides, fields[0]))
              if k is not None]  # (a dim whose offset alone is dynamic: the span is known)

    def where(env):
        index = list(fixed)
        for d, span, stride, k in moving:
            o = int(env[k])
            index[d] = slice(o, o + span, stride)
        return tuple(index)
    return where


def _slice(offset, size, stride):
    return slice(offset, offset + _span(size, stride), stride)


def _span(size, stride) -> int:
    """How far a slice of `size` elements `stride` apart reaches from its offset."""
    return (size - 1) * stride + 1 if size else 0


def clipped(x, index) -> tuple:
    """The indices, one array per element of a linalg.generic (its body run
    on whole arrays), of a tensor.extract from `x`, clipped into its shape:
    the body's branches are both run (scf.if), and an element's index in
    the branch it does not take may be out of bounds (its value is not used)."""
    return tuple(np.clip(i, 0, n - 1) for i, n in zip(index, x.shape))


def for_loop(ins, outs, arguments, steps, results, hoisted, copied):
    """The step of an scf.for: `ins` its bounds, stride and initial values,
    `arguments` its body's (the index first), `steps` and `results` its
    body's (the yielded slots). `hoisted` runs before the first step, and
    the carried values at the positions `copied`, which the body updates in
    place (Carry), are first copied."""
    def step(env):
        lower, upper, stride, *carried = [env[i] for i in ins]
        for k in copied:  # the loop's own copy of the initial value, which its updates write into
            carried[k] = np.array(carried[k])
        indices = range(int(lower), int(upper), int(stride))
        for hoisted_step in hoisted if indices else ():
            hoisted_step(env)
        for n, i in enumerate(indices):
            give_up_at(n, env)
            run_block(env, arguments, [i, *carried], steps)
            carried = [env[r] for r in results]
        for o, v in zip(outs, carried):
            env[o] = v
    return step


def while_loop(ins, outs, before, after, hoisted):
    """The step of an scf.while: `before` is its condition's block
    (arguments, steps, the condition's slot, the slots it passes on),
    `after` its body's (arguments, steps, the yielded slots). `hoisted`
    runs first (the condition is computed at least once)."""
    (before_args, before_steps, condition, passed), (after_args, after_steps, results) = before, after

    def step(env):
        carried = [env[i] for i in ins]
        for hoisted_step in hoisted:
            hoisted_step(env)
        for n in itertools.count():
            give_up_at(n, env)
            run_block(env, before_args, carried, before_steps)
            values = [env[p] for p in passed]
            if not bool(env[condition]):
                break
            run_block(env, after_args, values, after_steps)
            carried = [env[r] for r in results]
        for o, v in zip(outs, values):
            env[o] = v
    return step


def if_branches(condition, outs, branches):
    """The step of an scf.if: `branches` (steps, yielded slots) each."""
    def step(env):
        taken = env[condition]
        if np.ndim(taken) == 0:
            steps, results = branches[0 if bool(taken) else 1]
            for s in steps:
                s(env)
            for o, r in zip(outs, results):
                env[o] = env[r]
            return
        values = []  # in a linalg.generic's body, one condition per element: both branches, then select
        for steps, results in branches:
            for s in steps:
                s(env)
            values.append([env[r] for r in results])
        for o, a, b in zip(outs, *values):
            env[o] = np.where(taken, a, b)
    return step


class Carry:
    """A tensor a loop carries. Its updates (tensor.insert_slice) write into
    it in place, rather than into a copy, when `in_place`: when the loop
    reads each of its values once, the chain of updates from the block
    argument to the value yielded (each value the only operand of the next
    update, the yielded one read by the yield alone), so that no other
    reader could see a write (in a loop filling a stack of results, the
    copies cost most of the evaluation)."""
    in_place = False


@functools.lru_cache(maxsize=None)
def product_of(subscripts: str):
    """The contraction einsum(subscripts, a, b) as a function of (a, b):
    np.matmul (BLAS) where it is a (batched) matrix product, "...ik,...kj->...ij"."""
    (a, b), out = subscripts.split("->")[0].split(","), subscripts.split("->")[1]
    batch = out[:-2]
    if (len(a) == len(b) == len(out) >= 2 and a[:-2] == b[:-2] == batch and a[-2] == out[-2]
            and b[-1] == out[-1] and a[-1] == b[-2] and a[-1] not in out):
        return np.matmul
    return functools.partial(np.einsum, subscripts, optimize=True)  # (BLAS through tensordot where it can)


class Generic:
    """The step of one linalg.generic (see evaluate's docstring). `sizes`:
    its loop sizes where its operands' shapes are static (else read from
    them at each call), so that what depends on them alone is done once."""

    def __init__(self, maps, n_loops, reduction, ins, outs, arguments, indices, steps, results, combine, contraction,
                 dtypes, flushes, used, sizes):
        self.maps, self.n_loops, self.reduction = maps, n_loops, tuple(reduction)
        self.ins, self.outs, self.indices, self.steps = ins, outs, indices, steps
        self.n_in = len(ins) - len(outs)
        self.sizes = None if sizes is None else tuple(sizes)
        self.too_big = sizes is not None and _too_big(sizes, maps)
        self.contraction = contraction if reduction and all(c is not None for c in contraction) else None
        self.products = [c and product_of(f"{c[2]}->{''.join(LETTERS[d] for d in maps[self.n_in + k])}")
                         for k, c in enumerate(contraction)]
        self.bound = [(slot, k, None if dims == list(range(n_loops)) else dims)  # (identity maps: no view to make)
                      for k, (slot, dims) in enumerate(zip(arguments, maps)) if used[k]]
        kept = [d for d in range(n_loops) if d not in self.reduction]
        self.results = []  # (body slot, out slot, k, the result's order of the loop dims or None, combine, dtype, flushes)
        for k, (slot, out, c, dtype, flushes_k) in enumerate(zip(results, outs, combine, dtypes, flushes)):
            dims = maps[self.n_in + k]
            order = ([kept.index(d) for d in dims] if c is not None else
                     None if dims == list(range(n_loops)) else dims)
            self.results.append((slot, out, k, order, c, dtype, flushes_k or (False, False, False)))
        # (body slot, operand slot) where the body reads its operands as they are: no view, no size to read
        self.as_they_are = ([(slot, ins[k]) for slot, k, _ in self.bound]
                            if not (reduction or indices or self.too_big or sizes is None) and
                            all(dims == list(range(n_loops)) for dims in maps) else None)
        self.checked = sizes is not None and math.prod(sizes) >= CHECK_SPACE

    def __call__(self, env):
        if self.as_they_are is not None:
            return self.elementwise(env)
        operands = [env[i] for i in self.ins]
        sizes = self.sizes if self.sizes is not None else tuple(_loop_sizes(operands, self.maps, self.n_loops))
        if self.contraction is not None:
            for k, (i, j, _) in enumerate(self.contraction):
                read, read_init, write = self.results[k][-1]
                a, b, init = operands[i], operands[j], operands[self.n_in + k]
                product = self.products[k](flush(a), flush(b)) if read else self.products[k](a, b)
                out = ((flush(init) if read_init else init) + product).astype(self.results[k][5], copy=False)
                env[self.outs[k]] = flush(out) if write else out
            return
        if self.too_big if self.sizes is not None else _too_big(sizes, self.maps):
            raise TooBig(f"an iteration space of {math.prod(sizes)} elements")
        for slot, k, dims in self.bound:
            env[slot] = operands[k] if dims is None else _over_loops(operands[k], dims, self.n_loops)
        for slot, d in self.indices.items():
            env[slot] = _loop_index(d, sizes)
        run_body(env, self.steps, self.checked if self.sizes is not None else math.prod(sizes) >= CHECK_SPACE)
        for slot, out, k, order, combine, dtype, (read, read_init, write) in self.results:
            value = env[slot]
            if getattr(value, "shape", ()) != sizes:  # (a Python number's shape is (), as np.shape says)
                value = np.broadcast_to(value, sizes)
            if combine is None:
                value = np.asarray(value if order is None else np.transpose(value, order))
                env[out] = value if dtype is None else value.astype(dtype, copy=False)
            else:
                init = operands[self.n_in + k]
                folded = combine.reduce(flush(value) if read else value, axis=self.reduction)
                combined = combine(flush(init) if read_init else init, np.transpose(folded, order))
                combined = combined.astype(dtype, copy=False)
                env[out] = flush(combined) if write else combined


    def elementwise(self, env):
        """__call__ where every map is the identity and the shapes are
        static, as in most generics of a loop's body: the same, less the work."""
        for slot, operand in self.as_they_are:
            env[slot] = env[operand]
        run_body(env, self.steps, self.checked)
        for slot, out, _, _, _, dtype, _ in self.results:
            value = env[slot]
            if getattr(value, "shape", ()) != self.sizes:
                value = np.broadcast_to(value, self.sizes)
            value = np.asarray(value)
            env[out] = value if dtype is None else value.astype(dtype, copy=False)


def run_body(env, steps, checked):
    """A generic body's `steps` on whole arrays; Abandoned after a step
    where `checked` (a big iteration space) and the run's `give_up` says so."""
    if not checked:
        for step in steps:
            step(env)
        return
    give_up = env[-1]
    for step in steps:
        step(env)
        if give_up():
            raise Abandoned


LETTERS = "abcdefghijklmnopqrstuvwxyz"  # einsum's names of loop dims


def _too_big(sizes, maps) -> bool:
    """Whether an iteration space of `sizes` is TooBig for operands of those `maps`."""
    space = math.prod(sizes)
    return space > SPACE_ELEMENTS and space > SPACE_RATIO * max(math.prod(sizes[d] for d in dims) for dims in maps)


class SteppedReduction:
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
            give_up_at(n, env)
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
