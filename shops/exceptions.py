from etsy.exceptions import DomainError, NotFound


class ShopNotFound(NotFound):
    code = "shop_not_found"
    default_message = "That shop does not exist."


class AlreadyHasShop(DomainError):
    code = "already_has_shop"
    default_message = "You already own a shop."
