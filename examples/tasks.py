"""Registers the examples' tasks with Celery (``autodiscover_tasks`` finds this module)."""

from examples.ecommerce import tasks as ecommerce_tasks
from examples.eve_nomad import tasks as eve_nomad_tasks
from examples.job_service import tasks as job_service_tasks

__all__ = ["ecommerce_tasks", "eve_nomad_tasks", "job_service_tasks"]
