from rest_framework.pagination import PageNumberPagination


class StandardPagination(PageNumberPagination):
    """Page-number pagination. Callers page querysets ordered with an id tie-breaker."""

    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100
