"""Errors of the documents layer: each says what is wrong with which file."""

from __future__ import annotations

from ember.errors import EmberError


class DocumentError(EmberError):
    status = 400
    code = "document_error"


class UnsupportedFileError(DocumentError):
    status = 415
    code = "unsupported_file_type"


class FileTooLargeError(DocumentError):
    status = 413
    code = "file_too_large"


class DocumentReadError(DocumentError):
    """The file has a supported type but could not be read (a broken PDF, a bad docx)."""

    status = 422
    code = "unreadable_document"


class NoEmbeddingModelError(DocumentError):
    status = 409
    code = "no_embedding_model"


class NoRerankerModelError(DocumentError):
    status = 409
    code = "no_reranker_model"
