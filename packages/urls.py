from django.urls import path

from packages import views

urlpatterns = [
    path("v3/index.json", views.service_index, name="service_index"),
    path("api/v2/package", views.push_package, name="push_package"),
    path("api/v2/package/", views.push_package),
    path(
        "api/v2/package/<str:package_id>/<str:version>",
        views.package_version,
        name="package_version",
    ),
    path("account/Packages", views.manage_packages, name="packages"),
]
