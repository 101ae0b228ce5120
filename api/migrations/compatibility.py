"""Which releases can still run against the schema: the expand/contract contract of migrations.

Every migration keeps the previous release working (expand: add a nullable column, a table, an
index), so an image rolled back one or more releases runs against the newer schema. A migration
that removes or narrows something an older release relies on (contract: drop a column, add NOT
NULL to one older code does not write) ships in a later release than the expand that made it
possible, and is recorded here: from then on, no release older than the one that first applied
it can run against the database, and ``cars-stack rollback`` refuses such a target with the
reason. ``tests/api/test_migrations.py`` runs the previous release's SQL against the migrated
schema to hold the first half of the contract.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_RELEASE = re.compile(r"^v(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.]+))?$")


@dataclass(frozen=True)
class Contraction:
    """A contracting migration and the first release whose image applies it."""

    migration: str
    release: str
    reason: str


# None yet: every migration so far only expands the schema.
CONTRACTIONS: tuple[Contraction, ...] = ()


def release_key(tag: str) -> tuple:
    """Sort key of a ``vX.Y.Z[-pre]`` tag; a pre-release sorts before its release (SemVer)."""
    match = _RELEASE.match(tag)
    if match is None:
        raise ValueError(f"not a release tag (vX.Y.Z[-pre]): {tag!r}")
    major, minor, patch, pre = match.groups()
    return (int(major), int(minor), int(patch), pre is None, pre or "")


def rollback_blocker(
    target: str,
    deployed: Iterable[str],
    contractions: Iterable[Contraction] = CONTRACTIONS,
) -> str | None:
    """Why an image at ``target`` cannot run against the schema, or None when it can.

    The schema is as the newest release ever deployed (``deployed``: the tags the stack has run,
    in any order) left it: rolling back the image does not roll back its migrations.
    """
    tags = [tag for tag in deployed if _RELEASE.match(tag)]
    if not tags:
        return None
    newest = max(tags, key=release_key)
    target_key = release_key(target)
    for contraction in contractions:
        first = release_key(contraction.release)
        if first <= release_key(newest) and target_key < first:
            return (
                f"{target} predates migration {contraction.migration}, which {contraction.release} "
                f"applied ({contraction.reason}); restore a snapshot from before it instead "
                "(docs/architecture.md, 'Restoring data')"
            )
    return None
