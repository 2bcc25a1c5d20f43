"""Real servers on loopback for integration tests and benchmarks."""
