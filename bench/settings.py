"""Settings for benchmark servers: the product's own, plus the baseline endpoint (bench.urls)."""

from sharing_registry.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"

# Benchmarks render pages without running collectstatic first; the manifest lookup they skip is one dict lookup.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
