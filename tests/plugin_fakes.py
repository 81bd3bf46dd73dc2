"""Plugin objects that test_plugins.py registers through fake entry points
(real `importlib.metadata.EntryPoint`s, loaded the way installed ones are)."""
from types import SimpleNamespace

from irax.backends import cpu
from irax.backends.iree_backend import IreeBackend
from irax.ir.mlir import ops_where
from irax.transforms.passes import PythonPass

# A second CPU backend, so tests have two devices on any machine. Same
# target and flags as cpu, so it shares cpu's compiled programs.
sync = IreeBackend("sync", target_backend="llvm-cpu", driver="local-sync", compile_flags=cpu.backend.compile_flags,
                   priority=5)

ran = []  # the pass names below, each time one ran
record = PythonPass("record", lambda module_op: ran.append("record"))
after_cse = PythonPass("after-cse", lambda module_op: ran.append("after-cse"))
after_cse.after = "cse"
boom = PythonPass("boom", lambda module_op: 1 / 0)

old_protocol = SimpleNamespace(api_version=0, name="old-protocol", pipeline="cse")
misnamed = PythonPass("not-its-entry-point-name", print)
no_body = SimpleNamespace(api_version=1, name="no-body")


def _drop_returns(module_op):
    for op in ops_where(module_op, lambda op: op.name == "func.return"):
        op.erase()


breaks_ir = PythonPass("breaks-ir", _drop_returns)  # leaves blocks without their terminator: invalid IR
