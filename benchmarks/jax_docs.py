"""JAX's own tutorials run on irax with only the import changed: each doc's
code cells run in order, once under JAX and once under irax, and the cells
whose output differs are printed side by side.

    .venv/bin/python benchmarks/jax_docs.py /path/to/jax/docs/automatic-vectorization.md [more.md ...]

The docs are JAX's MyST markdown (`{code-cell}` blocks; check out JAX's
repository for them). Under irax, every `import jax...` gets `irax...`
instead (a finder on sys.meta_path), so a doc runs as written. A cell's
output is what it prints and the repr of its last expression, as a notebook
shows it; a raising cell gives its exception's type and message. Outputs
agree when they are equal up to spacing and up to numbers within a relative
1e-4 (float32 results of different but correct rounding); two raising cells
agree when their exception types do. Differences that are not irax's (a
jaxpr printed, unseeded np.random, object addresses) are listed too: read
them, do not count them.

Prints each differing cell, then per doc: cells, and how many differ.
"""
import ast
import contextlib
import importlib
import importlib.abc
import importlib.util
import io
import json
import re
import subprocess
import sys
import traceback

CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)
NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]?\d+)?|nan|inf")


class _JaxIsIrax(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`import jax.x` gives irax.x."""

    def find_spec(self, name, path, target=None):
        if name == "jax" or name.startswith("jax."):
            return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        return importlib.import_module("irax" + spec.name[len("jax"):])

    def exec_module(self, module):
        pass


def cells(path: str) -> list[str]:
    """The code of each code cell (its `:option:` lines and shell/magic lines dropped)."""
    return ["\n".join(line for line in body.split("\n") if not line.startswith(":")
                      and not line.lstrip().startswith(("%", "!")))
            for body in CELL.findall(open(path).read())]


def run_cells(path: str) -> list[dict]:
    """Each cell's output, run in order in one namespace."""
    namespace, outputs = {"__name__": "__main__"}, []
    for code in cells(path):
        out, record = io.StringIO(), {"code": code}
        try:
            tree = ast.parse(code)
            last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
            with contextlib.redirect_stdout(out):
                exec(compile(tree, "<cell>", "exec"), namespace)
                if last is not None and (value := eval(compile(ast.Expression(last.value), "<cell>", "eval"),
                                                       namespace)) is not None:
                    print(repr(value))
        except BaseException as e:  # noqa: BLE001 (a cell's error is its output)
            record["error"] = f"{type(e).__name__}: {str(e)[:300]}"
            record["traceback"] = traceback.format_exc()[-1500:]
        record["output"] = out.getvalue()[-3000:]
        outputs.append(record)
    return outputs


def _normal(text: str) -> str:
    """The text with NumPy's column padding taken out (a number of another
    width pads its neighbours differently)."""
    return (re.sub(r"\s+", " ", text.replace("-0.j", "+0.j")).replace("[ ", "[").replace("( ", "(").replace(" ,", ",")
            .replace(" ]", "]"))


def agree(a: dict, b: dict) -> bool:
    if "error" in a or "error" in b:
        return "error" in a and "error" in b and a["error"].split(":")[0] == b["error"].split(":")[0]
    x, y = _normal(a["output"]), _normal(b["output"])
    if x == y:
        return True
    xs, ys = NUMBER.findall(x), NUMBER.findall(y)
    if len(xs) != len(ys) or NUMBER.sub("#", x) != NUMBER.sub("#", y):
        return False
    return all(float(p) == float(q) or abs(float(p) - float(q)) <= 1e-4 * max(1, abs(float(p)), abs(float(q)))
               for p, q in zip(xs, ys))


def compare(path: str) -> int:
    """Run the doc under both, print the differing cells; how many differ."""
    runs = {}
    for library in ("jax", "irax"):
        child = subprocess.run([sys.executable, __file__, "--run", library, path], capture_output=True, text=True,
                               timeout=1800)
        if child.returncode:
            print(f"{path}: the {library} run failed\n{child.stderr[-2000:]}")
            return -1
        runs[library] = json.loads(child.stdout)
    differ = 0
    for k, (theirs, ours) in enumerate(zip(runs["jax"], runs["irax"])):
        if agree(theirs, ours):
            continue
        differ += 1
        print(f"--- {path} cell {k}\n{theirs['code'][:300]}\n  JAX : {theirs.get('error') or theirs['output'][:600]}"
              f"\n  irax: {ours.get('error') or ours['output'][:600]}")
    return differ


def main(argv: list[str]) -> None:
    if argv[:1] == ["--run"]:  # a child: one doc under one library
        if argv[1] == "irax":
            sys.meta_path.insert(0, _JaxIsIrax())
        json.dump(run_cells(argv[2]), sys.stdout)
        return
    counts = {path: (len(cells(path)), compare(path)) for path in argv}
    print()
    for path, (n, differ) in counts.items():
        print(f"{path}: {n} cells, {differ} differ")


if __name__ == "__main__":
    main(sys.argv[1:])
