"""A toy web shop: the sample codebase of pyatlas's Quick start."""

from .models import Order, OrderLine

__all__ = ["Order", "OrderLine"]
