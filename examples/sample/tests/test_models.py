from decimal import Decimal

import pytest

from shop.models import Order, OrderLine


@pytest.fixture
def order():
    return Order("ada", [OrderLine("apple", 3, Decimal("0.5"))])


def test_total(order):
    assert order.total() == Decimal("1.5")
