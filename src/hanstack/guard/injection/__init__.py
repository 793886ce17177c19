"""Prompt-injection defence: direct attacks, indirect injection in documents/tool results, canaries."""

from hanstack.guard.injection.detector import (
    InjectionConfig,
    InjectionDetector,
    InjectionVerdict,
    NeutralisedDocument,
    lower_trust,
    neutralise_document,
)
from hanstack.guard.injection.normalize import compose_jamo, normalize

__all__ = [
    "InjectionConfig",
    "InjectionDetector",
    "InjectionVerdict",
    "NeutralisedDocument",
    "compose_jamo",
    "lower_trust",
    "neutralise_document",
    "normalize",
]
