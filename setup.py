"""The optional C extensions (schemas/native/scan.c, streams/native/batches.c); the rest of the
build is pyproject.toml.

`optional=True`: without a C compiler or the Python headers the install goes on without them,
and the replay reads every record in Python (schemas/native/__init__.py,
streams/native/__init__.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("schemas.native._scan", ["schemas/native/scan.c"], optional=True),
        Extension("streams.native._batches", ["streams/native/batches.c"], optional=True),
    ]
)
