"""Hooks: how a lower layer asks an upper one for something without importing it.

A lower app declares a hook with a default that is right when the upper app is absent; the upper app
supplies the real function from its ``AppConfig.ready()``. The layers contract (pyproject.toml) then holds:
catalog shows a shop's reviews, the cart badge and held stock, yet never imports orders or cart.

    # catalog/extensions.py (lower)
    cart_count = Hook("cart_count", default=lambda **kw: 0)
    # cart/apps.py (upper), in ready()
    extensions.cart_count.supply(selectors.count_cart_items)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class HookAlreadySupplied(RuntimeError):
    pass


class Hook:
    """One named function a lower layer calls and exactly one upper layer supplies."""

    def __init__(self, name: str, *, default: Callable[..., Any]) -> None:
        self.name = name
        self._default = default
        self._supplied: Callable[..., Any] | None = None

    def supply(self, function: Callable[..., Any]) -> None:
        """Make ``function`` answer this hook. Raises HookAlreadySupplied for a second, different supplier."""
        if self._supplied is not None and self._supplied is not function:
            raise HookAlreadySupplied(f"hook {self.name!r} is supplied by {self._supplied!r} already")
        self._supplied = function

    @property
    def is_supplied(self) -> bool:
        return self._supplied is not None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return (self._supplied or self._default)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<Hook {self.name} supplied={self.is_supplied}>"
