from rest_framework.permissions import IsAuthenticated

from shops.selectors_seller import get_shop_for_request


class IsShopOwner(IsAuthenticated):
    """Signed in and owning a shop; views then act on ``get_shop_for_request(request)`` only."""

    message = "Open a shop first: this endpoint is for sellers."
    code = "not_a_seller"

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and get_shop_for_request(request) is not None
