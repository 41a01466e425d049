"""State changes of the waitlist. Each one writes its audit rows in the same transaction and
enqueues follow-up jobs there too (the ledger publishes them after commit).

Row locks are always taken in the order slot -> entry -> hold, so two services never wait
on each other in a cycle. The expired-holds sweep locks holds only, with SKIP LOCKED, and
the cascade waits only for its slot's row; candidate entries are taken with SKIP LOCKED.

Services import ``waitlist.tasks`` to enqueue; the tasks import the services inside their
bodies, so the two never import each other while loading.

| module          | what it does                                                         |
|-----------------|----------------------------------------------------------------------|
| audit           | the actor of a change, audit rows, a status change with its row      |
| tenants         | create or update a tenant and its staff                              |
| slots           | open and withdraw slots                                              |
| entries         | customers join and leave the list                                    |
| cascade         | offer a slot to the next candidate (and enqueue that, or trigger it) |
| holds           | the candidate confirms or declines an offer                          |
| expired_holds   | the sweep that releases expired holds (and enqueue it)               |
| notifications   | queue, send and retry customer notifications                         |
| cleanup         | delete notifications and audit logs past the retention (and enqueue) |
"""

from waitlist.services.audit import CUSTOMER, SYSTEM, Actor, audit_record, status_change
from waitlist.services.cascade import cascade_enqueue, cascade_trigger, slot_offer_next
from waitlist.services.cleanup import (
    CLEANUP_BATCH,
    CLEANUP_MAX_BATCHES,
    cleanup_enqueue,
    retention_cleanup,
)
from waitlist.services.entries import entry_cancel, entry_join
from waitlist.services.expired_holds import (
    EXPIRED_HOLDS_BATCH,
    EXPIRED_HOLDS_MAX_BATCHES,
    expired_holds_enqueue,
    holds_release_expired,
)
from waitlist.services.holds import hold_confirm, hold_decline
from waitlist.services.notifications import (
    notification_create,
    notification_enqueue,
    notification_retry,
    notification_send,
)
from waitlist.services.slots import slot_cancel, slot_create
from waitlist.services.tenants import tenant_ensure

__all__ = [
    "CLEANUP_BATCH",
    "CLEANUP_MAX_BATCHES",
    "CUSTOMER",
    "EXPIRED_HOLDS_BATCH",
    "EXPIRED_HOLDS_MAX_BATCHES",
    "SYSTEM",
    "Actor",
    "audit_record",
    "cascade_enqueue",
    "cascade_trigger",
    "cleanup_enqueue",
    "entry_cancel",
    "entry_join",
    "expired_holds_enqueue",
    "hold_confirm",
    "hold_decline",
    "holds_release_expired",
    "notification_create",
    "notification_enqueue",
    "notification_retry",
    "notification_send",
    "retention_cleanup",
    "slot_cancel",
    "slot_create",
    "slot_offer_next",
    "status_change",
    "tenant_ensure",
]
