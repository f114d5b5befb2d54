"""plateread: read the text on vehicle licence plates."""

__version__ = "0.1.0"
