"""The llama.cpp engine, on llama-cpp-python's low-level API."""

from ember.engine.llamacpp.engine import LlamaCppEngine
from ember.engine.options import LoadOptions

__all__ = ["LlamaCppEngine", "LoadOptions"]
