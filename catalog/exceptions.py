from etsy.exceptions import DomainError, NotFound


class ProductNotFound(NotFound):
    code = "product_not_found"
    default_message = "That listing does not exist or is no longer available."


class CategoryNotFound(NotFound):
    code = "category_not_found"
    default_message = "That category does not exist."


class AlreadyFavorited(DomainError):
    code = "already_favorited"
    default_message = "Already in your favorites."
