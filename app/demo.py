"""Until the CLI imports `demo` itself: the demo moved to the top-level package `demo`."""

from demo import DemoExists, build_demo, run_feed  # noqa: F401
