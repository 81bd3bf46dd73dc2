"""`irax.example_libraries`, as `jax.example_libraries`: `stax`, a neural
network library of (init_fun, apply_fun) pairs, and `optimizers`, gradient
descent and its adaptive variants over pytrees of parameters. Small by
design (JAX's own examples use them); for real work use a full library."""
