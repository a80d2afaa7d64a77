"""Settings for benchmark servers: the product's own, plus the baseline endpoint (bench.urls)."""

from sharing_registry.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# Benchmarks render pages without running collectstatic first; the manifest lookup they skip is one dict lookup.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405

# The load comes from a few tokens on one address, far past any real caller's rate: keep the throttles running (their
# cost is part of every request in production) but with limits the benchmark cannot reach.
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {scope: "10000000/minute" for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]},  # noqa: F405
}
