"""The version of flopgrid, in a module of its own so that any layer can stamp it on what it writes
without importing the package's top level (which imports the engines)."""

__version__ = "0.1.0"
