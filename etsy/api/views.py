from rest_framework.generics import ListAPIView
from rest_framework.views import APIView


class NoStoreMixin:
    # API answers depend on who asks: never let a shared cache keep them.
    # (A comment, not a docstring: the schema would show it on every operation.)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Cache-Control"] = "private, no-store"
        return response


class ApiView(NoStoreMixin, APIView):
    pass


class ApiListView(NoStoreMixin, ListAPIView):
    """A paginated list whose rows come from a selector (``get_queryset`` calls it)."""

    filter_backends: list = []  # filtering is the selector's job
