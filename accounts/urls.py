from django.urls import path

from accounts import views

urlpatterns = [
    path("users/account/LogOn", views.log_on, name="log_on"),
    path("users/account/LogOff", views.log_off, name="log_off"),
    path("account/invitation/<str:token>", views.accept_invitation, name="accept_invitation"),
    path("account", views.account_settings, name="account_settings"),
    path("account/two-factor/staff", views.staff_two_factor_page, name="staff_two_factor"),
    path(
        "account/two-factor/staff/<str:token>",
        views.staff_two_factor_link,
        name="staff_two_factor_confirm",
    ),
    path("account/delete", views.delete_account, name="delete_account"),
    path("account/notifications", views.notifications, name="account_notifications"),
    path("account/confirmation/resend", views.resend_confirmation, name="resend_confirmation"),
    path("account/security-log", views.security_log, name="security_log"),
    path("account/Organizations", views.organizations, name="organizations"),
    path("account/Organizations/<str:name>", views.organization, name="organization"),
    path(
        "account/Organizations/<str:name>/members/add",
        views.add_member,
        name="organization_add_member",
    ),
    path(
        "account/Organizations/<str:name>/members/<str:username>/role",
        views.change_role,
        name="organization_change_role",
    ),
    path(
        "account/Organizations/<str:name>/members/<str:username>/remove",
        views.remove_member,
        name="organization_remove_member",
    ),
    path(
        "account/Organizations/<str:name>/invitation",
        views.organization_invitation,
        name="organization_invitation",
    ),
    path(
        "account/Organizations/<str:name>/leave",
        views.leave_organization,
        name="organization_leave",
    ),
    path(
        "account/Organizations/<str:name>/email",
        views.organization_email,
        name="organization_email",
    ),
    path(
        "account/Organizations/<str:name>/contact",
        views.organization_allow_contact,
        name="organization_allow_contact",
    ),
    path(
        "account/Organizations/<str:name>/email/confirm/<str:token>",
        views.organization_confirm_email,
        name="organization_confirm_email",
    ),
]
