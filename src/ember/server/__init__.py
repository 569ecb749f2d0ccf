"""Ember's HTTP server: OpenAI- and Ollama-compatible APIs over the one chat service."""
