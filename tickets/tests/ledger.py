"""The platform's ledger rows, as the tickets tests read them.

Looked up by app label rather than imported from a module of ``jobs``: the platform's public
surface has no models, and where it keeps them is its own business. The statuses the tests
compare with are the values stored in ``Job.status``.
"""

from django.apps import apps

Job = apps.get_model("jobs", "Job")
