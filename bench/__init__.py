"""Benchmarks and quality harnesses: ``python -m bench [module ...]`` prints figures, never asserts."""
