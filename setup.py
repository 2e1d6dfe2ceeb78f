"""The optional C extension (schemas/native/scan.c); the rest of the build is pyproject.toml.

`optional=True`: without a C compiler or the Python headers the install goes on without it,
and the replay reads every record in Python (schemas/native/__init__.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("schemas.native._scan", ["schemas/native/scan.c"], optional=True),
    ]
)
