"""Private documents: extract text from files, chunk it by structure, embed the chunks
with a local model, and retrieve them by hybrid (BM25 + vector) search."""
