"""A seller's own listings. Every lookup is scoped to the requesting seller's shop."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from catalog import selectors, selectors_seller
from catalog.api.serializers import (
    ProductImageSerializer,
    ProductImageUploadSerializer,
    ProductWriteSerializer,
    SellerOfferingPatchSerializer,
    SellerOfferingSerializer,
    SellerOfferingsSerializer,
    SellerOfferingsWriteSerializer,
    SellerPersonalizationSerializer,
    SellerProductSerializer,
)
from catalog.exceptions import CategoryNotFound
from catalog.models import Product
from catalog.selectors import get_product_for_seller, list_products_for_seller
from catalog.services import listings, offerings
from etsy.api.schema import error_response
from etsy.api.views import ApiListView, ApiView
from shops.api.permissions import IsShopOwner
from shops.selectors_seller import get_shop_for_request

_PRODUCT_404 = error_response("No such listing in your shop (`product_not_found`).")
_INVALID = error_response("Invalid input (`invalid`) or refused by the listing rules (`invalid_listing`).")


def _get_seller_product(request, product_id: int) -> Product:
    return get_product_for_seller(shop=get_shop_for_request(request), product_id=product_id)


def _write_fields(data: dict) -> dict:
    fields = dict(data)
    if "category" in fields:
        try:
            fields["category"] = selectors.get_category(slug=fields["category"])
        except CategoryNotFound as exc:
            raise ValidationError({"category": [exc.message]}) from exc
    return fields


class SellerProductListApi(ApiListView):
    permission_classes = [IsShopOwner]
    serializer_class = SellerProductSerializer

    def get_queryset(self):
        return list_products_for_seller(shop=get_shop_for_request(self.request))

    @extend_schema(tags=["seller"], summary="Your listings, active or not")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["seller"],
        summary="Create a listing",
        request=ProductWriteSerializer,
        responses={201: SellerProductSerializer, 400: _INVALID},
    )
    def post(self, request):
        serializer = ProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        shop = get_shop_for_request(request)
        product = listings.create_product(shop=shop, **_write_fields(serializer.validated_data))
        product = _get_seller_product(request, product.pk)
        body = SellerProductSerializer(product, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


class SellerProductApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"], summary="One of your listings", responses={200: SellerProductSerializer, 404: _PRODUCT_404}
    )
    def get(self, request, product_id: int):
        product = _get_seller_product(request, product_id)
        return Response(SellerProductSerializer(product, context={"request": request}).data)

    @extend_schema(
        tags=["seller"],
        summary="Edit one of your listings",
        request=ProductWriteSerializer(partial=True),
        responses={200: SellerProductSerializer, 400: _INVALID, 404: _PRODUCT_404},
    )
    def patch(self, request, product_id: int):
        product = _get_seller_product(request, product_id)
        serializer = ProductWriteSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        listings.update_product(product=product, **_write_fields(serializer.validated_data))
        product = _get_seller_product(request, product_id)
        return Response(SellerProductSerializer(product, context={"request": request}).data)

    @extend_schema(tags=["seller"], summary="Delete one of your listings", responses={204: None, 404: _PRODUCT_404})
    def delete(self, request, product_id: int):
        listings.delete_product(product=_get_seller_product(request, product_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SellerProductImageApi(ApiView):
    permission_classes = [IsShopOwner]
    parser_classes = [MultiPartParser]

    @extend_schema(
        tags=["seller"],
        summary="Upload a picture to one of your listings",
        request={"multipart/form-data": ProductImageUploadSerializer},
        responses={
            201: ProductImageSerializer,
            400: error_response("Not a valid picture (`invalid_image`) or too many (`too_many_images`)."),
            404: _PRODUCT_404,
        },
    )
    def post(self, request, product_id: int):
        product = _get_seller_product(request, product_id)
        serializer = ProductImageUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        added = listings.add_product_image(
            product=product, upload=serializer.validated_data["image"], alt_text=serializer.validated_data["alt_text"]
        )
        # Re-read: the stored dimensions are filled in by the database row, not the instance returned.
        image = next(i for i in _get_seller_product(request, product_id).images.all() if i.pk == added.pk)
        body = ProductImageSerializer(image, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)


_OFFERINGS_400 = error_response(
    "Invalid input (`invalid`) or refused by the offering rules (`invalid_offerings`): `error.fields` names them "
    "(e.g. `offerings.2.price`)."
)
_OFFERING_404 = error_response(
    "No such listing in your shop (`product_not_found`) or offering on it (`offering_not_found`)."
)


def _grid_body(product: Product) -> dict:
    grid = {
        "variations": selectors_seller.list_variations(product=product),
        "offerings": selectors_seller.list_offerings_grid(product=product),
    }
    return SellerOfferingsSerializer(grid).data


class SellerOfferingsApi(ApiView):
    """A listing's variation properties and its grid of offerings, read and replaced whole."""

    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="The properties and offerings of one of your listings",
        responses={200: SellerOfferingsSerializer, 404: _PRODUCT_404},
    )
    def get(self, request, product_id: int):
        return Response(_grid_body(_get_seller_product(request, product_id)))

    @extend_schema(
        tags=["seller"],
        summary="Replace the properties and the whole grid of offerings of one of your listings",
        description=(
            "At most 2 properties with unique names and non-empty unique options; `offerings` gives every "
            "combination exactly once (one row with `options: []` for a listing without variations). "
            "Combinations that disappear are deleted (cart lines with them leave the carts; order lines keep "
            "their frozen options). All or nothing."
        ),
        request=SellerOfferingsWriteSerializer,
        responses={200: SellerOfferingsSerializer, 400: _OFFERINGS_400, 404: _PRODUCT_404},
    )
    def put(self, request, product_id: int):
        product = _get_seller_product(request, product_id)
        serializer = SellerOfferingsWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        product = offerings.replace_offerings(
            product=product,
            variations=[offerings.VariationSpec(name=v["name"], options=v["options"]) for v in data["variations"]],
            offerings=[offerings.OfferingSpec(**row) for row in data["offerings"]],
        )
        return Response(_grid_body(product))


class SellerOfferingApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="Change one offering of one of your listings (price, quantity, SKU, switched on or off)",
        request=SellerOfferingPatchSerializer,
        responses={200: SellerOfferingSerializer, 400: _OFFERINGS_400, 404: _OFFERING_404},
    )
    def patch(self, request, product_id: int, offering_id: int):
        offering = selectors_seller.get_offering_for_seller(
            shop=get_shop_for_request(request), product_id=product_id, offering_id=offering_id
        )
        serializer = SellerOfferingPatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        offering = offerings.update_offering(offering=offering, **serializer.validated_data)
        return Response(SellerOfferingSerializer(offering).data)


class SellerPersonalizationApi(ApiView):
    permission_classes = [IsShopOwner]

    @extend_schema(
        tags=["seller"],
        summary="Ask buyers of one of your listings for text (optional or required, a prompt, a limit)",
        request=SellerPersonalizationSerializer,
        responses={200: SellerPersonalizationSerializer, 400: _INVALID, 404: _PRODUCT_404},
    )
    def put(self, request, product_id: int):
        product = _get_seller_product(request, product_id)
        serializer = SellerPersonalizationSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        product = listings.set_personalization(
            product=product,
            mode=data["personalization"],
            prompt=data["personalization_prompt"],
            max_length=data["personalization_max_length"],
        )
        return Response(SellerPersonalizationSerializer(product).data)
