"""The one pagination style of every list endpoint: ``?limit=&offset=``.

Answers ``{"count", "next", "previous", "results"}`` (DRF's LimitOffsetPagination), so a
client pages the waitlist, the tickets and the job lists the same way.
"""

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500
