"""Persistence: every line of SQL lives here; the layers above see typed models."""
