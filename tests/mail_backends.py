"""A mail backend for tests of the queue: fails like an SMTP server that is down, until told
otherwise; then it keeps mails as Django's test backend does (mailoutbox)."""

from smtplib import SMTPException

from django.core.mail.backends.locmem import EmailBackend


class FailingBackend(EmailBackend):
    failing = True
    attempts = 0

    def send_messages(self, messages):
        FailingBackend.attempts += 1
        if FailingBackend.failing:
            raise SMTPException("421 the mail server is not answering")
        return super().send_messages(messages)
