import io

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalog import csv_io
from catalog.admin_offerings import OfferingsAdminMixin
from catalog.models import PERSONALIZATION_DEFAULT_MAX, Category, Favorite, Personalization, Product, ProductImage
from catalog.services import listings
from etsy import images
from etsy.admin_refusals import DomainRefusalAsMessage
from shops.admin_scoping import ShopScopedAdmin, ShopScopedMixin, is_marketplace_admin, seller_shop


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    """The shared category tree: marketplace admins edit it, sellers only pick from it."""

    list_display = ["name", "slug", "parent", "position"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]


class ProductImageForm(forms.ModelForm):
    class Meta:
        model = ProductImage
        fields = ["image", "alt_text", "position"]

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        self.processed = None
        if upload and hasattr(upload, "content_type"):  # a new upload, not the stored file
            try:
                self.processed = images.process_upload(upload)
            except images.InvalidImage as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from None
        return upload


def picture_html(field_file, *, alt: str = "", width: int = 120):
    """A <picture> offering the WebP twin first, for browsers that accept it."""
    if not field_file:
        return "—"
    sources = images.picture_sources(field_file)
    if sources["webp"]:
        return format_html(
            '<picture><source srcset="{}" type="image/webp">'
            '<img src="{}" alt="{}" width="{}" loading="lazy"></picture>',
            sources["webp"],
            sources["src"],
            alt,
            width,
        )
    return format_html('<img src="{}" alt="{}" width="{}" loading="lazy">', sources["src"], alt, width)


class ProductImageFormSet(forms.BaseInlineFormSet):
    """Name each photo row's inputs for assistive technology: a table header is not a label."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        row = "new photo" if index is None else f"photo {index + 1}"
        for name, field in form.fields.items():
            if not field.widget.is_hidden:
                field.widget.attrs.setdefault("aria-label", f"{field.label or name.capitalize()}, {row}")


class ProductImageInline(ShopScopedMixin, admin.TabularInline):
    model = ProductImage
    form = ProductImageForm
    formset = ProductImageFormSet
    shop_path = "product__shop"
    fields = ["preview", "image", "alt_text", "position"]
    readonly_fields = ["preview"]
    ordering = ["position", "id"]
    extra = 1
    max_num = listings.MAX_IMAGES

    @admin.display(description="Preview")
    def preview(self, obj):
        return picture_html(obj.thumbnail or obj.image, alt=obj.alt_text)


class ProductAdminForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = "__all__"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Optional in a POST (scripts and older forms leave them out): absent means "not asked", 256 characters.
        for name in ("personalization", "personalization_max_length"):
            if name in self.fields:
                self.fields[name].required = False

    def clean_personalization(self):
        return self.cleaned_data.get("personalization") or Personalization.NONE

    def clean_personalization_max_length(self):
        value = self.cleaned_data.get("personalization_max_length")
        return PERSONALIZATION_DEFAULT_MAX if value is None else value

    def clean_tags(self):
        try:
            return listings.normalize_tags(self.cleaned_data.get("tags") or [])
        except listings.InvalidListing as exc:
            raise forms.ValidationError(exc.message, code=exc.code) from None


class CategoryChoiceForm(forms.Form):
    category = forms.ModelChoiceField(queryset=Category.objects.all(), label="New category")


class CsvImportForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="Columns: " + ", ".join(csv_io.COLUMNS))


@admin.register(Product)
class ProductAdmin(OfferingsAdminMixin, DomainRefusalAsMessage, ShopScopedAdmin):
    form = ProductAdminForm
    list_display = ["cover", "title", "price", "quantity", "category", "is_active", "view_count", "favorite_count"]
    list_display_links = ["cover", "title"]
    list_filter = ["is_active", "is_vintage", ("category", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["category", "shop"]
    search_fields = ["title", "description"]
    autocomplete_fields = ["category"]
    readonly_fields = ["slug", "offerings_link", "view_count", "favorite_count", "created_at", "updated_at"]
    fields = [
        "shop",
        "title",
        "slug",
        "description",
        "price",
        "quantity",
        "offerings_link",
        "personalization",
        "personalization_prompt",
        "personalization_max_length",
        "category",
        "tags",
        "is_vintage",
        "is_active",
        "view_count",
        "favorite_count",
        "created_at",
        "updated_at",
    ]
    inlines = [ProductImageInline]
    actions = ["mark_sold_out", "bulk_edit_offerings", "change_category", "activate", "deactivate", "export_csv"]
    change_list_template = "admin/catalog/product/change_list.html"

    def get_list_display(self, request):
        if is_marketplace_admin(request):
            return [*self.list_display[:2], "shop", *self.list_display[2:]]
        return self.list_display

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("images")

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.pk and listings.has_variations(product=obj):
            readonly += ["price", "quantity"]  # totals of the offerings: edited on the offerings page
        return readonly

    @admin.display(description="Photo")
    def cover(self, obj):
        pictures = list(obj.images.all())  # prefetched, ordered by position
        if not pictures:
            return "—"
        return picture_html(pictures[0].thumbnail or pictures[0].image, alt=pictures[0].alt_text or obj.title, width=60)

    def get_changeform_initial_data(self, request):
        initial = super().get_changeform_initial_data(request)
        shop = seller_shop(request)
        if shop is not None and not is_marketplace_admin(request):
            initial["shop"] = shop.pk
        return initial

    def save_model(self, request, obj, form, change):
        if not is_marketplace_admin(request):
            shop = seller_shop(request)
            if shop is None or obj.shop_id != shop.pk:  # the form's choices already exclude other shops
                raise PermissionDenied
        # A refusal (InvalidListing) leaves the admin's transaction: DomainRefusalAsMessage says why.
        listings.save_product(product=obj)

    def save_formset(self, request, form, formset, change):
        if formset.model is not ProductImage:
            return super().save_formset(request, form, formset, change)
        # Only the rows Django's formset would save: an initial form naming an unknown id is skipped.
        to_save = {id(obj) for obj in formset.save(commit=False)}
        for obj in formset.deleted_objects:
            listings.delete_product_image(image=obj)
        for inline_form in formset.forms:
            instance = inline_form.instance
            if id(instance) not in to_save:
                continue
            instance.product = form.instance
            processed = getattr(inline_form, "processed", None)
            if processed is not None:
                listings.store_image_files(image=instance, processed=processed)
            else:
                instance.save()
        listings.send_products_changed_on_commit(product_ids=[form.instance.pk], reason="listing")

    def delete_model(self, request, obj):
        listings.delete_product(product=obj)

    def delete_queryset(self, request, queryset):
        for product in queryset:
            listings.delete_product(product=product)

    # --- bulk actions (the queryset is already scoped to the seller's shop) ---
    def _shop_arg(self, request):
        return None if is_marketplace_admin(request) else self.require_seller_shop(request)

    @admin.action(description="Mark selected listings sold out", permissions=["change"])
    def mark_sold_out(self, request, queryset):
        n = listings.mark_sold_out(shop=self._shop_arg(request), product_ids=queryset.values_list("pk", flat=True))
        self.message_user(request, f"{n} listing(s) marked sold out.", messages.SUCCESS)

    @admin.action(description="Activate selected listings", permissions=["change"])
    def activate(self, request, queryset):
        n = listings.set_active(
            shop=self._shop_arg(request), product_ids=queryset.values_list("pk", flat=True), is_active=True
        )
        self.message_user(request, f"{n} listing(s) activated.", messages.SUCCESS)

    @admin.action(description="Deactivate selected listings", permissions=["change"])
    def deactivate(self, request, queryset):
        n = listings.set_active(
            shop=self._shop_arg(request), product_ids=queryset.values_list("pk", flat=True), is_active=False
        )
        self.message_user(request, f"{n} listing(s) deactivated.", messages.SUCCESS)

    @admin.action(description="Change category of selected listings", permissions=["change"])
    def change_category(self, request, queryset):
        form = CategoryChoiceForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            n = listings.set_category(
                shop=self._shop_arg(request),
                product_ids=queryset.values_list("pk", flat=True),
                category=form.cleaned_data["category"],
            )
            self.message_user(request, f"{n} listing(s) moved to {form.cleaned_data['category']}.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Change category",
            "opts": self.model._meta,
            "form": form,
            "products": queryset,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/catalog/product/change_category.html", context)

    @admin.action(description="Export selected listings to CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        return self._csv_response(queryset)

    # --- CSV pages ---
    def get_urls(self):
        extra = [
            path("import-csv/", self.admin_site.admin_view(self.import_csv_view), name="catalog_product_import_csv"),
            path("export-csv/", self.admin_site.admin_view(self.export_csv_view), name="catalog_product_export_csv"),
        ]
        return extra + self.offerings_urls() + super().get_urls()

    def _csv_response(self, queryset):
        buffer = io.StringIO()
        csv_io.export_products_csv(products=queryset.select_related("category").order_by("pk"), out=buffer)
        response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="listings.csv"'
        return response

    def export_csv_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._csv_response(self.get_queryset(request))

    def import_csv_view(self, request):
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            raise PermissionDenied
        shop = self.require_seller_shop(request)
        form = CsvImportForm(request.POST, request.FILES) if request.method == "POST" else CsvImportForm()
        errors = []
        if request.method == "POST" and form.is_valid():
            try:
                report = csv_io.import_products_csv(shop=shop, data=form.cleaned_data["file"].read())
            except csv_io.CsvImportFailed as exc:
                errors = exc.errors
                self.message_user(request, "The file has errors; nothing was imported.", messages.ERROR)
            else:
                self.message_user(
                    request, f"Imported: {report.created} created, {report.updated} updated.", messages.SUCCESS
                )
                return HttpResponseRedirect(reverse("admin:catalog_product_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import listings from CSV",
            "opts": self.model._meta,
            "form": form,
            "errors": errors,
            "columns": csv_io.COLUMNS,
        }
        return TemplateResponse(
            request, "admin/catalog/product/import_csv.html", context, status=400 if errors else 200
        )


@admin.register(Favorite)
class FavoriteAdmin(admin.ModelAdmin):
    """Marketplace admins only: sellers see favorite counts on their listings and dashboard."""

    list_display = ["user", "kind", "product", "shop", "created_at"]
    list_filter = ["kind"]
    raw_id_fields = ["user", "product", "shop"]
