from django.urls import path

from packages import feed_views, page_views, public_views, publish_views, views

urlpatterns = [
    # The NuGet V3 read protocol (packages/feed_views.py).
    path("v3/index.json", feed_views.service_index, name="service_index"),
    path(
        "v3-flatcontainer/<str:package_id>/index.json",
        feed_views.versions_index,
        name="feed_versions",
    ),
    path(
        "v3-flatcontainer/<str:package_id>/<str:version>/<str:filename>",
        feed_views.package_content,
        name="feed_package_content",
    ),
    path(
        "v3/registration/<str:package_id>/index.json",
        feed_views.registration_index,
        name="feed_registration_index",
    ),
    path(
        "v3/registration/<str:package_id>/page/<str:lower>/<str:upper>.json",
        feed_views.registration_page,
        name="feed_registration_page",
    ),
    path(
        "v3/registration/<str:package_id>/<str:version>.json",
        feed_views.registration_leaf,
        name="feed_registration_leaf",
    ),
    path(
        "v3/vulnerabilities/index.json",
        feed_views.vulnerability_index,
        name="feed_vulnerability_index",
    ),
    path(
        "v3/vulnerabilities/<str:name>.json",
        feed_views.vulnerability_page,
        name="feed_vulnerability_page",
    ),
    path("query", feed_views.search, name="feed_search"),
    # The symbol server (SSQP), at nuget.org's address.
    path(
        "download/symbols/<str:name>/<str:key>/<str:file_name>",
        feed_views.symbol_file,
        name="symbol_file",
    ),
    path("autocomplete", feed_views.autocomplete, name="feed_autocomplete"),
    path("api/v2/package", publish_views.push_package, name="push_package"),
    path("api/v2/package/", publish_views.push_package),
    path(
        "api/v2/package/<str:package_id>/<str:version>",
        publish_views.package_version,
        name="package_version",
    ),
    path("api/v2/symbolpackage", publish_views.push_symbol_package, name="push_symbol_package"),
    path("api/v2/symbolpackage/", publish_views.push_symbol_package),
    path(
        "api/v2/symbolpackage/<str:package_id>/<str:version>",
        feed_views.symbol_package,
        name="symbol_package",
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
    path(
        "account/Packages/<str:package_id>/owners/<str:username>/request",
        views.ownership_request,
        name="package_ownership_request",
    ),
    path(
        "account/Packages/<str:package_id>/owners/<str:username>/cancel",
        views.cancel_ownership_request,
        name="package_cancel_ownership_request",
    ),
    path("packages", public_views.package_search, name="package_search"),
    path("profiles/<str:username>", public_views.profile, name="profile"),
    path("packages/<str:package_id>", page_views.package_detail, name="package_detail"),
    # Before the version route: "Manage" is not a version.
    path("packages/<str:package_id>/Manage", page_views.manage_listing, name="package_manage"),
    path(
        "packages/<str:package_id>/Manage/Deprecation",
        page_views.manage_deprecation,
        name="package_manage_deprecation",
    ),
    path(
        "packages/<str:package_id>/<str:version>",
        page_views.package_detail,
        name="package_version_detail",
    ),
    path(
        "packages/<str:package_id>/<str:version>/License",
        page_views.license_file,
        name="package_license",
    ),
    # ReportAbuseUriTemplate/3.0.0 (the service index), as nuget.org's address.
    path(
        "packages/<str:package_id>/<str:version>/ReportAbuse",
        page_views.report_abuse,
        name="package_report_abuse",
    ),
    # nuget.org's address of its Contact Owners page.
    path(
        "packages/<str:package_id>/<str:version>/ContactOwners",
        page_views.contact_owners,
        name="package_contact_owners",
    ),
]
