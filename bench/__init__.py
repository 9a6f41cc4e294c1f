"""Benchmarks. A package so the test suite can reuse their machinery (`import bench.synthetic`)."""
