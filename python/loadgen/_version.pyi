# Generated into the wheel at build time (see [[tool.scikit-build.generate]] in pyproject.toml).
__version__: str
