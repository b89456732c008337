"""Test tooling: which cuDF / cuML / dask-cudf / dask-cuda names the GPU path uses, and whether the pinned release
has them and accepts what is passed (tests/test_rapids_api.py).

`units` parses modules and notebooks into scan units, `finder` follows RAPIDS values through them with `ast` (never
importing RAPIDS) and records each `Use`, and `checking` looks every use up in the release sources
(`helpers.rapids.release.Release`), with `calls` reading a callable's body for where its `**kwargs` go and which
argument values make it raise; `checking.conformance` does it all for the project.
"""
