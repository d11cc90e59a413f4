from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """allauth's behaviour, with Galley's safe-redirect rule spelled out.

    allauth already refuses redirects to other hosts; this keeps the rule in
    one place that Galley's own nuget.org-style URLs (returnUrl) share.
    """

    def is_safe_url(self, url):
        from accounts.redirects import is_local_path

        return is_local_path(url)
