"""The pure core: no I/O, no frameworks. Standard library only."""
