"""A pass that gives each carry of an `scf.while` that its body never reads a
read IREE keeps: the value the body yields for that carry goes through a
`util.optimization_barrier` together with the carry's old value,

    } do { ^bb0(%i, %a, %b):              } do { ^bb0(%i, %a, %b):
      scf.yield %i1, %a1, %a         ->      %new, %_ = util.optimization_barrier %a, %b
                                             scf.yield %i1, %a1, %new

The same values: the barrier is an identity that IREE drops when it
generates code. `lax.while_loop(c, lambda c: (c[0] + 1, c[1] + 1, c[1]), x)`
is such a loop (its body never reads c[2]).

Why: IREE 3.13 cannot compile such a loop; it crashes ("LLVM ERROR: out of
memory" or SIGSEGV), taking the Python process with it, or fails with "failed
to legalize unresolved source materialization". Three of its steps meet:

1. GlobalLoopInvariantCodeMotion rotates every `scf.while` with a
   `tensor.empty` at the top of a region (all of irax's: each
   `linalg.generic` writes into one) into
   `scf.if cond(x) { scf.while (x) { y = body(x); scf.condition(cond(y)) y } }`
   (upstream `scf::wrapWhileLoopInZeroTripCheck`), so the body moves into
   the before region and its arguments become the before region's.
2. Canonicalization (upstream `WhileRemoveUnusedArgs`, scf/IR/SCF.cpp) drops
   a before-region argument that nothing reads, with its init: the carry the
   body never read. The loop is still valid: fewer inits than results.
3. Stream conversion (`ScfWhileOpConversion`,
   https://github.com/iree-org/iree/blob/main/compiler/src/iree/compiler/Dialect/Stream/Conversion/StandardToStream/Patterns.cpp)
   converts the block arguments of both regions with one signature built
   from the inits, so the after region's extra argument is read past the
   end of it.

With the barrier, step 2 finds every argument read. The barrier must carry
the yielded value too: a barrier on the old value alone keeps the argument,
but when the body yields a value defined outside the loop (a constant),
IREE then forwards that value out of the loop and is left with more inits
than results, which it cannot convert either (measured).

The pass runs after the pipeline's last canonicalize, which can remove the
reads that made a carry read, and sees every loop: while_loop's, fori_loop's
with traced bounds, and those that jvp and vmap write.
"""
from iree.compiler import ir

from irax.ir import iree


def _uses(value) -> bool:
    return any(True for _ in value.uses)


def keep_unread_carries(module_op):
    ops = []
    module_op.walk(lambda op: ops.append(op) or ir.WalkResult.ADVANCE)
    for loop in (op for op in ops if op.name == "scf.while"):
        body = loop.regions[1].blocks[0]
        yield_ = body.operations[len(body.operations) - 1]
        for k, (old, new) in enumerate(zip(body.arguments, list(yield_.operands))):
            if not _uses(old):
                with ir.InsertionPoint(yield_), ir.Location.unknown():
                    yield_.operands[k] = iree.opaque(new, old)[0]
