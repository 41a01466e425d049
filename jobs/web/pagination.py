"""The one pagination style of every list endpoint: ``?limit=&offset=``.

Answers ``{"count", "next", "previous", "results"}`` (DRF's LimitOffsetPagination), so a
client pages the waitlist, the tickets and the job lists the same way.

Stricter than DRF's, and documented as it validates: DRF reads ``?limit=abc``, ``?limit=0``
or ``?offset=-1`` as "no value" and ``?limit=100000`` as ``max_limit``, all silently. Here
``limit`` is a whole number 1..``max_limit`` and ``offset`` one of 0 or more (an offset past
the end is an empty page), each given at most once and never blank; anything else is a 400
naming the parameter, and the OpenAPI schema says so (``minimum``/``maximum``).
"""

from typing import Any

from rest_framework import serializers
from rest_framework.pagination import LimitOffsetPagination

from jobs.web.query import QuerySerializer


class Pagination(LimitOffsetPagination):
    default_limit = 50
    max_limit = 500

    def page_query(self, request) -> dict[str, Any]:
        class PageQuery(QuerySerializer):
            limit = serializers.IntegerField(
                required=False, default=self.default_limit, min_value=1, max_value=self.max_limit
            )
            offset = serializers.IntegerField(required=False, default=0, min_value=0)

        query = PageQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        return query.validated_data

    def get_limit(self, request) -> int:
        return self.page_query(request)["limit"]

    def get_offset(self, request) -> int:
        return self.page_query(request)["offset"]

    def get_schema_operation_parameters(self, view) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        bounds = {
            self.limit_query_param: {"minimum": 1, "maximum": self.max_limit},
            self.offset_query_param: {"minimum": 0},
        }
        for parameter in parameters:
            parameter["schema"].update(bounds.get(parameter["name"], {}))
        return parameters
