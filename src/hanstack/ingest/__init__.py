"""Ingestion: loaders per format, structure-aware chunking, provenance, incremental sync."""
