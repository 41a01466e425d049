"""The examples' tables, one module per source system (each model's app label is
``examples``)."""

from examples.ecommerce.models import Order, OrderStatus, PaymentEvent, StockSync
from examples.eve_nomad.models import (
    CacheEntry,
    CharacterToken,
    HistoricalCollection,
    HistoricalDataType,
)
from examples.job_service.models import Report

__all__ = [
    "CacheEntry",
    "CharacterToken",
    "HistoricalCollection",
    "HistoricalDataType",
    "Order",
    "OrderStatus",
    "PaymentEvent",
    "Report",
    "StockSync",
]
