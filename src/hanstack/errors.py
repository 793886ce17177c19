"""One exception tree for the whole stack.

Every error says what was wrong, with which input, and what to do about it (``hint``). Library
errors (OSError, sqlite3, llama.cpp, httpx ...) are translated into these at the module boundary,
so the CLI and the HTTP server can map any failure to a message, an exit code and a status code
without knowing where it came from.
"""

from __future__ import annotations


class HanstackError(Exception):
    """Base of every error hanstack raises on purpose.

    ``exit_code`` is what the CLI exits with; ``http_status`` what the server answers with.
    """

    exit_code: int = 1
    http_status: int = 500
    code: str = "hanstack_error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message

    def to_dict(self) -> dict[str, str | None]:
        return {"type": self.code, "message": self.message, "hint": self.hint}


# --- configuration and input -------------------------------------------------------------------
class ConfigError(HanstackError):
    exit_code = 2
    http_status = 500
    code = "config_error"


class InvalidInputError(HanstackError):
    """The caller passed something unusable (bad argument, malformed request)."""

    exit_code = 2
    http_status = 400
    code = "invalid_request_error"


class NotFoundError(HanstackError):
    exit_code = 3
    http_status = 404
    code = "not_found"


class MissingDependencyError(HanstackError):
    """An optional extra is not installed."""

    exit_code = 2
    http_status = 501
    code = "missing_dependency"

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the Python package '{package}', which is not installed",
            hint=f"pip install 'hanstack[{extra}]'",
        )


# --- Korean text ------------------------------------------------------------------------------
class KoreanTextError(HanstackError):
    code = "korean_text_error"


class DecodeError(KoreanTextError):
    exit_code = 4
    http_status = 422
    code = "decode_error"


class AnalyzerError(KoreanTextError):
    code = "analyzer_error"


# --- ingestion ----------------------------------------------------------------------------------
class IngestError(HanstackError):
    exit_code = 4
    http_status = 422
    code = "ingest_error"


class UnsupportedFormatError(IngestError):
    code = "unsupported_format"
    http_status = 415


class FileTooLargeError(IngestError):
    code = "file_too_large"
    http_status = 413


class CorruptFileError(IngestError):
    code = "corrupt_file"


class EncryptedFileError(IngestError):
    code = "encrypted_file"


class ArchiveBombError(IngestError):
    code = "archive_bomb"
    http_status = 413


# --- storage and retrieval ------------------------------------------------------------------------
class StoreError(HanstackError):
    code = "store_error"


class RetrievalError(HanstackError):
    code = "retrieval_error"


class EmbedderError(HanstackError):
    code = "embedder_error"
    http_status = 502


# --- models -----------------------------------------------------------------------------------
class ModelError(HanstackError):
    code = "model_error"
    http_status = 502


class ModelNotFoundError(ModelError, NotFoundError):
    exit_code = 3
    http_status = 404
    code = "model_not_found"


class ModelUnavailableError(ModelError):
    """The model is known but cannot be used now (file not pulled, server down)."""

    http_status = 503
    code = "model_unavailable"


class HashMismatchError(ModelError):
    http_status = 500
    code = "hash_mismatch"


class StructuredOutputError(ModelError):
    http_status = 502
    code = "structured_output_error"


class TokenizerError(HanstackError):
    code = "tokenizer_error"


# --- guards, auth, audit ----------------------------------------------------------------------
class GuardError(HanstackError):
    code = "guard_error"
    http_status = 400


class GuardBlockedError(GuardError):
    """A guard decided to block the request (PII policy, injection)."""

    exit_code = 5
    http_status = 400
    code = "blocked_by_guard"


class PolicyDeniedError(GuardError):
    exit_code = 5
    http_status = 403
    code = "tool_denied"


class AuthError(HanstackError):
    exit_code = 6
    http_status = 401
    code = "authentication_error"


class PermissionDeniedError(AuthError):
    http_status = 403
    code = "permission_denied"


class RateLimitError(HanstackError):
    http_status = 429
    code = "rate_limit_exceeded"

    def __init__(self, message: str, *, retry_after_s: float, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.retry_after_s = retry_after_s


class EgressDeniedError(HanstackError):
    exit_code = 2
    http_status = 500
    code = "egress_denied"


class AuditError(HanstackError):
    code = "audit_error"


class AuditIntegrityError(AuditError):
    exit_code = 7
    code = "audit_integrity_error"
