from django.urls import path

from accounts import views

urlpatterns = [
    path("users/account/LogOn", views.log_on, name="log_on"),
    path("users/account/LogOff", views.log_off, name="log_off"),
    path("account", views.account_settings, name="account_settings"),
    path("account/delete", views.delete_account, name="delete_account"),
    path("account/notifications", views.notifications, name="account_notifications"),
    path("account/security-log", views.security_log, name="security_log"),
]
