from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts import views as account_views
from config.views import healthz
from packages import public_views

# Django's own admin login would bypass allauth's rate limits and two-factor
# authentication; send staff through allauth's sign-in instead.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = admin.site.site_title = format_lazy(
    _("{site} administration"), site=settings.GALLEY_SITE_NAME
)

urlpatterns = [
    path("", public_views.home, name="home"),
    path("", include("accounts.urls")),
    path("", include("apikeys.urls")),
    path("", include("trustedpublishing.urls")),
    path("", include("packages.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", account_views.set_language, name="set_language"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]

handler500 = "config.views.server_error"
