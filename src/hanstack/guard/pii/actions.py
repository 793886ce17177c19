"""What happens to a detected entity: mask, typed placeholder, consistent pseudonym, block, keep."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import get_args

from hanstack.errors import InvalidInputError
from hanstack.guard.pii import types as T
from hanstack.guard.pii.types import Action, PiiEntity, RedactionResult
from hanstack.guard.pii.vault import PseudonymVault

ACTIONS: tuple[str, ...] = get_args(Action)
MASK_CHAR = "*"


def mask_value(entity_type: str, value: str) -> str:
    """Type-aware partial masking that keeps the shape: ``010-****-5678``, ``900101-1******``."""
    if entity_type == T.PHONE:
        return _mask_groups(value, keep_first=True, keep_last_digits=4)
    if entity_type in (T.RRN, T.FRN):
        return _mask_digits_after(value, 7)
    if entity_type in (T.CARD, T.BANK_ACCOUNT):
        return _mask_all_digits_but_last(value, 4)
    if entity_type == T.EMAIL:
        local, _, domain = value.partition("@")
        return (local[:1] + MASK_CHAR * max(1, len(local) - 1)) + "@" + domain
    if entity_type == T.PERSON:
        name = value
        if len(name) <= 2:
            return name[:1] + MASK_CHAR * (len(name) - 1)
        return name[:1] + MASK_CHAR * (len(name) - 2) + name[-1:]
    if entity_type == T.IP_ADDRESS and "." in value:
        parts = value.split(".")
        return ".".join(parts[:2] + [MASK_CHAR * len(p) for p in parts[2:]])
    if entity_type == T.ADDRESS:
        words = value.split()
        head = [w for w in words[:3] if not any(ch.isdigit() for ch in w)][:2]
        return " ".join([*head, MASK_CHAR * 3])
    if entity_type in (T.API_KEY, T.PASSPORT, T.VEHICLE_PLATE):
        return value[:2] + MASK_CHAR * (len(value) - 2)
    return _mask_all_digits_but_last(value, 0) if any(c.isdigit() for c in value) else MASK_CHAR * len(value)


def _mask_groups(value: str, *, keep_first: bool, keep_last_digits: int) -> str:
    digits_total = sum(c.isdigit() for c in value)
    first_group_len = 0
    for ch in value:
        if not ch.isdigit():
            break
        first_group_len += 1
    if first_group_len >= digits_total - keep_last_digits:  # no separators: keep 3 leading digits
        first_group_len = 3
    out, seen = [], 0
    for ch in value:
        if ch.isdigit():
            seen += 1
            keep = (keep_first and seen <= first_group_len) or seen > digits_total - keep_last_digits
            out.append(ch if keep else MASK_CHAR)
        else:
            out.append(ch)
    return "".join(out)


def _mask_digits_after(value: str, keep: int) -> str:
    out, seen = [], 0
    for ch in value:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen <= keep else MASK_CHAR)
        else:
            out.append(ch)
    return "".join(out)


def _mask_all_digits_but_last(value: str, keep_last: int) -> str:
    total = sum(c.isdigit() for c in value)
    out, seen = [], 0
    for ch in value:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > total - keep_last else MASK_CHAR)
        else:
            out.append(ch)
    return "".join(out)


def placeholder(entity_type: str, *, korean: bool = False) -> str:
    return f"[{T.KOREAN_LABELS.get(entity_type, entity_type)}]" if korean else f"<{entity_type}>"


def resolve_actions(
    actions: Action | str | Mapping[str, str] | None, default: str = "pseudonymize"
) -> dict[str, str]:
    """A full type -> action table from one action or a partial mapping (``"*"`` sets the default)."""
    if actions is None:
        table = dict.fromkeys(T.ALL_TYPES, default)
    elif isinstance(actions, str):
        table = dict.fromkeys(T.ALL_TYPES, actions)
    else:
        fallback = actions.get("*", default)
        table = {t: actions.get(t, fallback) for t in T.ALL_TYPES}
        unknown = sorted(set(actions) - set(T.ALL_TYPES) - {"*"})
        if unknown:
            raise InvalidInputError(f"unknown PII type(s) in actions: {', '.join(unknown)}")
    bad = sorted({a for a in table.values() if a not in ACTIONS})
    if bad:
        raise InvalidInputError(
            f"unknown PII action(s): {', '.join(bad)}", hint=f"use one of: {', '.join(ACTIONS)}"
        )
    return table


def apply_actions(
    text: str,
    entities: Sequence[PiiEntity],
    actions: Action | str | Mapping[str, str] | None = None,
    vault: PseudonymVault | None = None,
    *,
    korean_labels: bool = False,
) -> RedactionResult:
    """Rewrite ``text`` replacing each entity per its type's action (entities must not overlap)."""
    table = resolve_actions(actions)
    if vault is None and "pseudonymize" in {table[e.type] for e in entities}:
        vault = PseudonymVault()
    pieces: list[str] = []
    mapping: dict[str, str] = {}
    blocked: list[str] = []
    cursor = 0
    for e in sorted(entities, key=lambda e: e.start):
        if e.start < cursor:
            raise InvalidInputError(f"overlapping entities at offset {e.start}; resolve overlaps first")
        action = table[e.type]
        pieces.append(text[cursor : e.start])
        if action == "keep":
            replacement = e.text
        elif action == "mask":
            replacement = mask_value(e.type, e.text)
        elif action == "pseudonymize":
            assert vault is not None
            replacement = vault.pseudonym(e.type, e.text)
            mapping[replacement] = e.text
        else:  # placeholder, block
            replacement = placeholder(e.type, korean=korean_labels)
            mapping.setdefault(replacement, e.text)
            if action == "block" and e.type not in blocked:
                blocked.append(e.type)
        pieces.append(replacement)
        cursor = e.end
    pieces.append(text[cursor:])
    return RedactionResult("".join(pieces), tuple(entities), mapping, bool(blocked), tuple(blocked))
