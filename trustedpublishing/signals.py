from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete
from django.dispatch import receiver

from accounts.models import Membership


@receiver(post_delete, sender=Membership, dispatch_uid="trustedpublishing_creator_left")
def disable_policies_of_former_member(sender, instance, origin=None, **kwargs):
    """A member who leaves (or is removed from) an organization can no longer
    publish for it through a policy they created: it is disabled, its keys revoked.

    When the member's or the organization's account is deleted, the policies go
    with it (a cascade), and nothing is written about an account on its way out.
    """
    if isinstance(origin, get_user_model()):
        return
    from trustedpublishing import flows

    flows.creator_left(instance.member_id, instance.organization_id)
