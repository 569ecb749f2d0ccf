"""Benchmarks that measure Ember honestly on the user's own machine (`ember bench`)."""
