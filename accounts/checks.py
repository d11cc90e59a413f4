"""Start-up checks (`manage.py check`, `migrate`, `make serve`) for the shared cache.

The cache holds sign-in limits and used two-factor codes, all with an expiry.
Redis's volatile-* policies evict exactly such keys first when memory runs
short, and the allkeys-* ones any key: whoever can fill the memory would then
clear the limits. Only `noeviction` keeps them (a full Redis refuses writes,
and sign-in fails closed rather than open).
"""

import logging

from django.conf import settings
from django.core.checks import Tags, register
from django.core.checks import Warning as CheckWarning

log = logging.getLogger("galley.checks")

REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"


@register(Tags.caches)
def redis_eviction_policy(app_configs, **kwargs):
    default = settings.CACHES["default"]
    if default["BACKEND"] != REDIS_BACKEND:
        return []
    import redis

    client = redis.Redis.from_url(default["LOCATION"], socket_connect_timeout=2, socket_timeout=2)
    try:
        policy = client.config_get("maxmemory-policy").get("maxmemory-policy")
    except redis.exceptions.ResponseError:  # CONFIG refused (managed services often do)
        log.info("Redis does not say its maxmemory-policy; it should be noeviction")
        return []
    except redis.exceptions.RedisError:  # unreachable: /healthz and the requests say so
        return []
    finally:
        client.close()
    if policy in (None, "noeviction"):
        return []
    return [
        CheckWarning(
            f"Redis evicts keys (maxmemory-policy {policy}): sign-in limits and used "
            "two-factor codes could be pushed out of the cache.",
            hint="Set maxmemory-policy noeviction in redis.conf (docs/deploy.md).",
            id="galley.W001",
        )
    ]
