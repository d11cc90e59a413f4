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
    path(
        "account/Packages/<str:package_id>/owners/add",
        views.add_package_owner,
        name="package_add_owner",
    ),
    path(
        "account/Packages/<str:package_id>/owners/<str:username>/remove",
        views.remove_package_owner,
        name="package_remove_owner",
    ),
]
