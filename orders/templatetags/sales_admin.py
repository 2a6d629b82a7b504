from django import template

from orders import stats
from shops.selectors_seller import get_shop_for_request

register = template.Library()


@register.inclusion_tag("admin/orders/_sales.html", takes_context=True)
def seller_sales(context):
    """The requesting seller's sales figures and charts (nothing for users without a shop)."""
    request = context.get("request")
    shop = get_shop_for_request(request) if request is not None else None
    if shop is None:
        return {"shop": None}
    figures = stats.get_shop_stats(shop=shop)
    return {"shop": shop, "stats": figures, "charts": stats.render_shop_charts(figures)}
