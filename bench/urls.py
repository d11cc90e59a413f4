"""URLs under the benchmark settings only: the real ones plus a bare baseline view."""

from django.http import HttpResponse
from django.urls import path

from apikeys.models import ApiKey
from config.urls import urlpatterns as site_urlpatterns

# The first key the benchmark creates; any row would do.
BASELINE_PK = 1


def bench_select(request):
    """One indexed SELECT and a tiny response: the floor under every API view."""
    ApiKey.objects.filter(pk=BASELINE_PK).values_list("pk", flat=True).first()
    return HttpResponse(b"ok\n", content_type="text/plain")


urlpatterns = [*site_urlpatterns, path("bench/select", bench_select)]
