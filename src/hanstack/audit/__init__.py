"""Tamper-evident audit log: hash-chained JSONL, verification, export, retention and erasure."""

from hanstack.audit.erasure import ErasureReport, erase_subject
from hanstack.audit.export import export_jsonl, iter_export
from hanstack.audit.log import Appended, AuditLog, load_or_create_key
from hanstack.audit.retention import RetentionReport, apply_retention
from hanstack.audit.verify import VerifyReport, verify_log

__all__ = [
    "Appended",
    "AuditLog",
    "ErasureReport",
    "RetentionReport",
    "VerifyReport",
    "apply_retention",
    "erase_subject",
    "export_jsonl",
    "iter_export",
    "load_or_create_key",
    "verify_log",
]
