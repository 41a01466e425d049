"""The operators' dashboard in the Django admin: overview, live and schedules pages."""
