"""Model files: the content-addressed store, its sources, names, GGUF metadata."""
