"""``python -m flopgrid``: the same as the ``flopgrid`` command."""

from flopgrid.cli import main

main()
