"""Print the Results variable list as Markdown (the glossary of docs/variables.md)."""

from flopgrid.schema import glossary

print(glossary(), end="")
