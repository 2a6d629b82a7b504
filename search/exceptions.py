from etsy.exceptions import DomainError


class InvalidSearch(DomainError):
    """The search parameters are malformed (unknown sort, page out of range)."""

    code = "invalid_search"
    status_code = 400
    default_message = "The search parameters are not valid."
