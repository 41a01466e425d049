"""The worker's receiving strategy for ledger tasks: the ledger's own messages and messages
due now pass straight to Celery's handler, with no database statement (the tests here run
without database access, so any statement would fail them). Future-eta messages recorded
on arrival: ``test_adoption.py``, with a real worker."""

from datetime import timedelta
from types import SimpleNamespace

from django.utils import timezone

from config.celery import app
from jobs.ledger.broker import LEDGER_HEADER
from jobs.runtime import strategy
from jobs.runtime.registry import registered_tasks


def _handler(monkeypatch, task_name: str):
    handled: list = []

    def celerys_default(task, app, consumer, **kwargs):
        return lambda message, *args, **options: handled.append(message)

    monkeypatch.setattr(strategy, "default", celerys_default)
    consumer = SimpleNamespace(connection_errors=())
    return strategy.ledger_strategy(registered_tasks()[task_name], app, consumer), handled


def _message(**headers) -> SimpleNamespace:
    return SimpleNamespace(headers={"id": "5f0c6c8e-0000-4000-8000-000000000001", **headers})


def _never(*args):
    raise AssertionError("the message must not be acknowledged here")


def test_the_ledgers_own_message_passes_through_without_a_database_statement(monkeypatch):
    handle, handled = _handler(monkeypatch, "jobs.sleep")
    later = (timezone.now() + timedelta(hours=1)).isoformat()
    ledger_message, due_now = _message(**{LEDGER_HEADER: 1, "eta": later}), _message(eta=None)
    handle(ledger_message, None, _never, _never, [])
    handle(due_now, None, _never, _never, [])
    assert handled == [ledger_message, due_now]


def test_a_plain_celery_task_keeps_celerys_own_strategy(monkeypatch):
    handle, handled = _handler(monkeypatch, "jobs.echo")
    message = _message(eta=(timezone.now() + timedelta(hours=1)).isoformat())
    handle(message, None, _never, _never, [])
    assert handled == [message]
