"""Settings for the benchmark (make bench): the real ones plus a baseline view.

Everything else comes from the environment exactly as in production; only the
URLs differ, adding /bench/select (see bench.urls).
"""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
