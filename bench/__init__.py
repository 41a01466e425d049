"""`make bench`: the platform against raw Celery (and optional peers), side by side."""
