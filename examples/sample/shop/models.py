"""Domain objects.

@layer:domain
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .services.pricing import PriceList


@dataclass
class OrderLine:
    sku: str
    quantity: int
    unit_price: Decimal

    def total(self) -> Decimal:
        return self.unit_price * self.quantity


@dataclass
class Order:
    """An order: lines and a customer."""

    customer: str
    lines: list[OrderLine] = field(default_factory=list)

    # @intent:pure
    def total(self) -> Decimal:
        return sum((line.total() for line in self.lines), Decimal(0))

    def reprice(self, prices: PriceList) -> None:
        for line in self.lines:
            line.unit_price = prices.price_of(line.sku)
