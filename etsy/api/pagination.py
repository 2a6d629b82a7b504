from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

MAX_PAGE_NUMBER = 10**9


def _whole_number(request, name: str, *, maximum: int) -> int | None:
    given = request.query_params.getlist(name)
    if not given:
        return None
    value = given[0]
    if len(given) > 1 or not value.isascii() or not value.isdigit() or not 1 <= int(value) <= maximum:
        raise ValidationError({name: [f"Use one whole number from 1 to {maximum}."]})
    return int(value)


class StandardPagination(PageNumberPagination):
    """Page-number pagination. Callers page querysets ordered with an id tie-breaker.

    A malformed ``page`` or ``page_size`` is a 400; a page past the last is a 404.
    """

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100

    def get_page_size(self, request):
        return _whole_number(request, self.page_size_query_param, maximum=self.max_page_size) or self.page_size

    def get_page_number(self, request, paginator):
        return _whole_number(request, self.page_query_param, maximum=MAX_PAGE_NUMBER) or 1

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            parameter["schema"]["maximum"] = MAX_PAGE_NUMBER
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
                parameter["schema"]["default"] = self.page_size
        return parameters
