"""A fixed-window counter in the cache (Redis when CACHE_URL is set, so every web process shares it)."""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def spend(scope: str, key: str, *, limit: int, seconds: int) -> bool:
    """Count one use of `key` in `scope`; False once more than `limit` uses fall in the current window."""
    digest = hashlib.sha256(key.casefold().encode("utf-8", "surrogatepass")).hexdigest()[:32]
    name = f"throttle:{scope}:{digest}"
    cache.add(name, 0, timeout=seconds)
    try:
        used = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=seconds)
        used = 1
    return used <= limit
