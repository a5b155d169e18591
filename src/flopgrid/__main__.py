"""``python -m flopgrid``: the same as the ``flopgrid`` command."""

from flopgrid.cli import main

# Guarded so that importing the module (pytest's --doctest-modules does) does not run the command line.
if __name__ == "__main__":
    main()
