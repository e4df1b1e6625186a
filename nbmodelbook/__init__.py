"""nbmodelbook: turn notebook model exploration into review evidence."""
__version__ = "0.1.0"
