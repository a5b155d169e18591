"""Claims ledgers that ship with flopgrid (``flopgrid claims NAME``)."""
