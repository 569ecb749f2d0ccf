"""Ember: a private AI assistant that runs on the machine you already have."""

__version__ = "0.1.0"
