"""API keys mapped to tenants and roles."""

from hanstack.auth.keys import ROLES, KeyInfo, KeyStore, Principal, validate_tenant

__all__ = ["ROLES", "KeyInfo", "KeyStore", "Principal", "validate_tenant"]
