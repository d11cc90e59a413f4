from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string


def send(user, template: str, context: dict) -> bool:
    """One e-mail with plain-text and HTML parts from templates/<template>_{subject,message}."""
    if not user.email or not user.is_active:
        return False
    context = {"user": user, "site_name": settings.GALLEY_SITE_NAME, **context}
    subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
    message = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body=render_to_string(f"{template}.txt", context),
        to=[user.email],
    )
    message.attach_alternative(render_to_string(f"{template}.html", context), "text/html")
    message.send()
    return True


def send_removed_from_organization(user, organization) -> bool:
    return send(user, "accounts/email/removed_from_organization", {"organization": organization})
