"""The seller pages of the site: open a shop, then manage it in the admin."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from etsy.exceptions import DomainError
from shops import services
from shops.forms import OpenShopForm
from shops.selectors_seller import get_shop_for_user


@login_required
def start(request):
    """Where "Sell" leads: the admin for shop owners, the opening form for everyone else."""
    shop = get_shop_for_user(user=request.user)
    return render(request, "sell/start.html", {"shop": shop, "admin_url": reverse("admin:index")})


@login_required
@require_http_methods(["GET", "POST"])
def open_shop(request):
    if get_shop_for_user(user=request.user) is not None:
        messages.info(request, "You already have a shop: manage it here.")
        return redirect("admin:index")
    form = OpenShopForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        fields = {
            k: v for k, v in form.cleaned_data.items() if k not in ("name", "description") and v not in (None, "")
        }
        try:
            shop = services.open_shop(
                owner=request.user,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                **fields,
            )
        except services.ShopNameTaken as exc:
            form.add_error("name", exc.message)
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"{shop.name} is open. Add your first listing.")
            return redirect("admin:index")
    status = 400 if form.errors else 200
    return render(request, "sell/open_shop.html", {"form": form}, status=status)
