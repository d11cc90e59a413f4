from django.urls import path

from apikeys import organization_views, views

urlpatterns = [
    path("account/apikeys", views.api_keys, name="apikeys"),
    path("account/apikeys/<int:pk>/edit", views.edit, name="apikey_edit"),
    path("account/apikeys/<int:pk>/regenerate", views.regenerate, name="apikey_regenerate"),
    path("account/apikeys/<int:pk>/revoke", views.revoke, name="apikey_revoke"),
    path("account/apikeys/<int:pk>/delete", views.delete, name="apikey_delete"),
    path(
        "account/Organizations/<str:name>/keys",
        organization_views.organization_keys,
        name="organization_keys",
    ),
    path(
        "account/Organizations/<str:name>/keys/<int:pk>/revoke",
        organization_views.revoke_organization_key,
        name="organization_revoke_key",
    ),
    path("api/secret-scanning/github", views.github_secret_scanning, name="github_secret_scanning"),
]
