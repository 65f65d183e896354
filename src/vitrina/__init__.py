"""vitrina: recommendations + product search with the MLOps loop built in."""

__version__ = "0.1.0"
