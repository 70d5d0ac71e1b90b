"""One module per CLI verb: ``configure(parser)`` and ``run(**arguments) -> int``."""
