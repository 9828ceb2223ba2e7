"""smot: Semantic Multi-Object Tracking."""
__version__ = "0.1.0"
