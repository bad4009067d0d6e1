"""Prices, fetched from a remote price service.

@layer:services
"""
import concurrent.futures as cf

import requests

from ..models import Order

PRICE_URL = "https://prices.example.com/v1/sku/{sku}"


class PriceList:
    def __init__(self, session: requests.Session | None = None):
        self.session = session or requests.Session()
        self._cache: dict[str, float] = {}

    def price_of(self, sku: str) -> float:
        if sku not in self._cache:
            response = self.session.get(PRICE_URL.format(sku=sku), timeout=5)
            response.raise_for_status()
            self._cache[sku] = response.json()["price"]
        return self._cache[sku]

    # @intent:parallel @parallel:data -- one request per SKU, at most 8 at a time
    def warm(self, skus: list[str]) -> None:
        with cf.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(self.price_of, skus))


def reprice_all(orders: list[Order], prices: PriceList) -> int:
    for order in orders:
        order.reprice(prices)
    return len(orders)
