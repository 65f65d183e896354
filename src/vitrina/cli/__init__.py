"""The ``vitrina`` command line: one module per command group, wiring only."""
