from django.urls import path

from apikeys import views

urlpatterns = [
    path("account/apikeys", views.api_keys, name="apikeys"),
    path("account/apikeys/<int:pk>/edit", views.edit, name="apikey_edit"),
    path("account/apikeys/<int:pk>/regenerate", views.regenerate, name="apikey_regenerate"),
    path("account/apikeys/<int:pk>/revoke", views.revoke, name="apikey_revoke"),
    path("account/apikeys/<int:pk>/delete", views.delete, name="apikey_delete"),
    path("api/secret-scanning/github", views.github_secret_scanning, name="github_secret_scanning"),
]
