from django.urls import path

from trustedpublishing import views

urlpatterns = [
    path("account/trustedpublishing", views.policies, name="trustedpublishing"),
    path("account/trustedpublishing/<int:pk>/edit", views.edit, name="policy_edit"),
    path("account/trustedpublishing/<int:pk>/disable", views.disable, name="policy_disable"),
    path("account/trustedpublishing/<int:pk>/enable", views.enable, name="policy_enable"),
    path("account/trustedpublishing/<int:pk>/renew", views.renew, name="policy_renew"),
    path("account/trustedpublishing/<int:pk>/delete", views.delete, name="policy_delete"),
    path("api/v2/token", views.token, name="trustedpublishing_token"),
]
