"""Inline widgets: browse and compare runs."""
