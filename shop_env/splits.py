"""Deterministic, session-level split assignment.

A split is decided per session id by a seeded hash, so it does not depend on row order,
corpus size or which other sessions are present: adding sessions never moves old ones.
"""

from __future__ import annotations

import hashlib

__all__ = ["SPLITS", "hash_fraction", "carve_valid", "assign_split"]

SPLITS: tuple[str, ...] = ("train", "valid", "test")


def hash_fraction(session_id: str, seed: int = 0) -> float:
    """A stable pseudo-random number in [0, 1) for a session id and seed."""
    digest = hashlib.blake2b(f"{seed}:{session_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def carve_valid(session_id: str, *, fraction: float = 0.1, seed: int = 0) -> bool:
    """True when a session of a source's train split belongs to the carved validation split."""
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"valid fraction must be in [0, 1), got {fraction}")
    return hash_fraction(session_id, seed) < fraction


def assign_split(
    session_id: str, *, valid_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0
) -> str:
    """Split of a session for sources that have no splits of their own (train/valid/test)."""
    if valid_fraction < 0 or test_fraction < 0 or valid_fraction + test_fraction >= 1.0:
        raise ValueError("valid_fraction and test_fraction must be >= 0 and sum below 1")
    u = hash_fraction(session_id, seed)
    if u < test_fraction:
        return "test"
    if u < test_fraction + valid_fraction:
        return "valid"
    return "train"
