"""Orders in PostgreSQL.

@layer:services
"""
import asyncio

import asyncpg

from shop.models import Order


class OrderStore:
    def __init__(self, dsn: str):
        self.dsn = dsn

    async def save_all(self, orders: list[Order]) -> None:
        pool = await asyncpg.create_pool(self.dsn)
        async with pool.acquire() as conn:
            await asyncio.gather(*(self._save(conn, order) for order in orders))

    async def _save(self, conn, order: Order) -> None:
        await conn.execute("INSERT INTO orders (customer, total) VALUES ($1, $2)", order.customer, order.total())
