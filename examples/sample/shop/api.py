"""HTTP endpoints.

@layer:api
"""
from fastapi import FastAPI

from .models import Order
from .services.pricing import PriceList
from .services.storage import OrderStore

app = FastAPI()
prices = PriceList()
store = OrderStore("postgresql://localhost/shop")


@app.get("/orders/{customer}/total")
async def order_total(customer: str) -> dict:
    order = Order(customer)
    order.reprice(prices)
    return {"customer": customer, "total": str(order.total())}


@app.post("/orders")
async def create_order(order: dict) -> dict:
    await store.save_all([Order(**order)])
    return {"ok": True}
