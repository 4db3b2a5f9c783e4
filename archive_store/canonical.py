"""Canonical JSON: the one byte form that the manifest, the ledger and every stored hash are computed over.

UTF-8, keys sorted, no insignificant white space; anyone can recompute a hash with
``json.dumps(v, ensure_ascii=False, sort_keys=True, separators=(",", ":"))``.
"""
from __future__ import annotations

import json


def canonical_json(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")
