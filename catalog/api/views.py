from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from catalog import personalization, selectors
from catalog.api.serializers import (
    CategoryNodeSerializer,
    FavoriteRequestSerializer,
    FavoriteSerializer,
    FeedParamsSerializer,
    ProductCardSerializer,
    ProductDetailSerializer,
    ProductFilterSerializer,
)
from catalog.services import favorites
from etsy.api.schema import error_response
from etsy.api.views import ApiListView, ApiView
from shops import selectors as shop_selectors


def _session_key(request) -> str | None:
    session = getattr(request, "session", None)
    return session.session_key if session is not None else None


class CategoryListApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["catalog"],
        summary="The category tree",
        responses={200: CategoryNodeSerializer(many=True)},
    )
    def get(self, request):
        return Response(CategoryNodeSerializer(selectors.list_categories_tree(), many=True).data)


class ProductListApi(ApiListView):
    permission_classes = [AllowAny]
    serializer_class = ProductCardSerializer

    def get_queryset(self):
        params = ProductFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.list_products(**params.listing_filters())

    @extend_schema(
        tags=["catalog"],
        summary="Listings, filtered and ordered",
        description="An unknown category slug answers 404 `category_not_found`.",
        parameters=[ProductFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ProductDetailApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["catalog"],
        summary="One listing",
        responses={200: ProductDetailSerializer, 404: error_response("No such listing (`product_not_found`).")},
    )
    def get(self, request, product_id: int):
        product = selectors.get_product_detail(product_id=product_id)
        user_id = request.user.pk if request.user.is_authenticated else None
        personalization.record_product_view(
            product_id=product.pk, category_id=product.category_id, user_id=user_id, session_key=_session_key(request)
        )
        inventory = selectors.get_inventory(product_id=product.pk)
        context = {
            "request": request,
            "inventory": inventory,
            "choices": selectors.get_listing_choices(product=product).with_live_stock(inventory),
            "favorite_ids": selectors.get_favorite_ids(user_id=user_id) if user_id else None,
        }
        return Response(ProductDetailSerializer(product, context=context).data)


class FeedApi(ApiView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["catalog"],
        summary="Home feed: personalized after a few views, otherwise trending",
        parameters=[FeedParamsSerializer],
        responses={200: ProductCardSerializer(many=True)},
    )
    def get(self, request):
        limit = FeedParamsSerializer(data=request.query_params)
        limit.is_valid(raise_exception=True)
        products = selectors.get_home_feed(
            user=request.user, session_key=_session_key(request), limit=limit.validated_data["limit"]
        )
        return Response(ProductCardSerializer(products, many=True, context={"request": request}).data)


class FavoriteListApi(ApiListView):
    permission_classes = [IsAuthenticated]
    serializer_class = FavoriteSerializer

    def get_queryset(self):
        return selectors.list_favorites(user=self.request.user).order_by("-created_at", "-id")

    @extend_schema(tags=["favorites"], summary="Your favorite listings and shops")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["favorites"],
        summary="Favorite a listing or a shop",
        request=FavoriteRequestSerializer,
        responses={
            201: FavoriteSerializer,
            404: error_response("No such listing or shop (`product_not_found`, `shop_not_found`)."),
            409: error_response("Already a favorite (`already_favorited`)."),
        },
    )
    def post(self, request):
        serializer = FavoriteRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        target = "product_id" if serializer.validated_data["kind"] == "product" else "shop_id"
        favorite = favorites.add_favorite(user=request.user, **{target: serializer.validated_data["id"]})
        favorite = selectors.list_favorites(user=request.user).get(pk=favorite.pk)
        return Response(FavoriteSerializer(favorite, context={"request": request}).data, status=status.HTTP_201_CREATED)


class FavoriteDeleteApi(ApiView):
    permission_classes = [IsAuthenticated]
    kind = "product"

    @extend_schema(
        tags=["favorites"],
        summary="Remove a favorite",
        responses={204: None, 404: error_response("Not among your favorites.")},
    )
    def delete(self, request, target_id: int):
        key = "product_id" if self.kind == "product" else "shop_id"
        if not favorites.remove_favorite(user=request.user, **{key: target_id}):
            raise NotFound("Not among your favorites.")
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShopProductFilterSerializer(ProductFilterSerializer):
    shop = None  # the shop is in the path


class ShopProductListApi(ApiListView):
    permission_classes = [AllowAny]
    serializer_class = ProductCardSerializer

    def get_queryset(self):
        shop = shop_selectors.get_shop_card(shop_id=self.kwargs["shop_id"])
        params = ShopProductFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        return selectors.list_products(**{**params.listing_filters(), "shop_id": shop.pk})

    @extend_schema(
        tags=["shops"],
        summary="A shop's listings",
        description="404 `shop_not_found` for an unknown or closed shop.",
        parameters=[ShopProductFilterSerializer],
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
