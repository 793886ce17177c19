"""Evaluation on labelled sets: retrieval (:mod:`.retrieval`), answers, guards; shared metrics in
:mod:`.metrics`."""
