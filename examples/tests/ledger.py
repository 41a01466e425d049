"""The platform's ledger rows, as the examples' tests read them: looked up by app label (the
public surface has no models; where the platform keeps them is its own business)."""

from django.apps import apps

Job = apps.get_model("jobs", "Job")
QueueState = apps.get_model("jobs", "QueueState")
