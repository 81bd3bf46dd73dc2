"""A pass: count the operations of each program by name.

It runs only where asked for by name (it has no `after`):

    IRAX_PASSES=default,count-ops python my_script.py
    irax.jit(f, passes=["default", "count-ops"])

and leaves the counts in two places: `CountOps.counts` (totals over every
program since the process started) and an `irax_example.op_count` attribute
on the module, which `irax.jit(f).lower(x).as_text("optimized")` shows.
"""
import collections

from iree.compiler import ir


class CountOps:
    api_version = 1
    name = "count-ops"
    counts = collections.Counter()

    @classmethod
    def run(cls, module_op):
        names = []
        module_op.walk(lambda op: names.append(op.name) or ir.WalkResult.ADVANCE)
        names = [n for n in names if n != "builtin.module"]
        cls.counts.update(names)
        module_op.attributes["irax_example.op_count"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), len(names))
