"""Inference engines: the `Engine` contract and its llama.cpp implementation."""
