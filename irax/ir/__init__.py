"""The floor of irax: what every layer above needs to read and write MLIR.

    types.py    the thirteen dtypes as NumPy, MLIR and irax name them
    mlir.py     building helpers: one context per thread, tensor types,
                constants, `linalg.generic`, cloning and inlining
    scalar.py   scalar conversions and comparisons inside op bodies
    linalg.py   reading linalg ops: iterator types, indexing maps
    iree.py     IREE-specific ops and workarounds, each with its reason

It imports nothing of irax: the frontend, the passes in irax/transforms and
the backends all build on it, and a layering test (tests/test_layering.py)
keeps it that way.
"""
