"""Benchmarks that print ratios and counts (`make bench`)."""
