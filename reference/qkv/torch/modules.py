"""Stub: filled in by its owner (PyTorch-only nn.Module wrappers)."""

__all__: list[str] = []
