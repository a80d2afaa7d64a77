"""Settings for benchmark servers: the product's own, plus the baseline endpoint (bench.urls)."""

from sharing_registry.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
