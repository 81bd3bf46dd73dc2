"""A rewrite of IREE's VM module (the `vm` phase, just before bytecode) that
gives each ref a branch passes to one successor more than once a value of
its own:

    vm.cond_br %c, ^bb1(%buf, %buf, %f), ^bb2(...)
 ->
    %one = vm.const.i32 1
    %buf_1 = vm.select.ref %one, %buf, %buf : !vm.ref<!hal.buffer>
    vm.cond_br %c, ^bb1(%buf, %buf_1, %f), ^bb2(...)

The same refs: a select of one ref is that ref, retained once more.

Why: IREE 3.13's VM register allocator (RegisterAllocation's branch remaps,
the bug iree-org/iree#24753, fixed by the still open #24781) gets a branch
that passes one ref value to several block arguments of a successor wrong
when one of those arguments is given the value's own register (coalesced)
and the value dies at the branch: another of its remaps is then a MOVE,
which clears that register, and the successor reads a null ref. The run
fails far from the cause: "indirect buffer reference slot 0 is out range
... binding[3]" at hal.command_buffer.dispatch (a null buffer reads as an
indirect binding), or "ref is null" in hal.buffer.subspan. Such branches are
common: IREE packs the values a loop carries, or a loop returns, into one
allocation, so the branches of the loop's lowered control flow pass the
allocation (and its fence) once per value. Whether a MOVE meets a coalesced
argument depends on the allocator's choices, so a module hits it by chance
(`vmap` of `scipy.optimize.minimize(method="BFGS")` on the CPU did, with
nine results and not with eight). Distinct values never share a register, so
no MOVE can clear another argument's.

After the VM pipeline the serializer folds nothing but pseudo-ops, so the
select survives; at run time it is a register copy.

    python -m irax.backends.vm_branches module.vm.mlir   # the fix, in place
(the middle step of the commands `irax compile --print-flags` prints).
"""
import sys

from iree.compiler import ir


def _successor_ranges(branch) -> list:
    """The operand index ranges of the successors of a vm.br / vm.cond_br."""
    if branch.name == "vm.br":
        return [range(len(branch.operands))]
    segments = list(ir.DenseI32ArrayAttr(branch.attributes["operandSegmentSizes"]))  # condition, true, false
    start = segments[0]
    return [range(start, start + segments[1]), range(start + segments[1], start + segments[1] + segments[2])]


def _distinct_refs(branch) -> bool:
    i32 = ir.IntegerType.get_signless(32)
    one = None
    for operands in _successor_ranges(branch):
        seen = []
        for k in operands:
            value = branch.operands[k]
            if not str(value.type).startswith("!vm.ref"):
                continue
            if not any(value == other for other in seen):
                seen.append(value)
                continue
            with ir.InsertionPoint(branch), branch.location:
                if one is None:
                    one = ir.Operation.create("vm.const.i32", results=[i32],
                                              attributes={"value": ir.IntegerAttr.get(i32, 1)}).result
                copy = ir.Operation.create("vm.select.ref", results=[value.type], operands=[one, value, value])
            branch.operands[k] = copy.result
    return one is not None


def distinct_branch_refs(vm_text: str) -> str:
    """`vm_text` (a module at IREE's `vm` phase) with no ref passed twice by
    one branch to one successor (the module docstring says why)."""
    if "vm.br" not in vm_text:  # (vm.cond_br too)
        return vm_text
    with ir.Context():
        module = ir.Module.parse(vm_text)
        branches = []
        module.operation.walk(
            lambda op: (branches.append(op) if op.name in ("vm.br", "vm.cond_br") else None) or ir.WalkResult.ADVANCE)
        changed = [_distinct_refs(branch) for branch in branches]
        return str(module) if any(changed) else vm_text


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path) as f:
            fixed = distinct_branch_refs(f.read())
        with open(path, "w") as f:
            f.write(fixed)
