"""api.migrations.compatibility: which releases may run against the schema, and why not."""

from __future__ import annotations

import pytest

from api.migrations import migration_ids
from api.migrations.compatibility import CONTRACTIONS, Contraction, release_key, rollback_blocker

DROP_COLOR = Contraction("0007_drop_color", "v1.4.0", "drops cars.color, which v1.3 writes")


def test_releases_sort_by_number_not_by_text():
    tags = ["v1.10.0", "v1.2.0", "v1.9.3", "v2.0.0", "v1.2.10"]
    assert sorted(tags, key=release_key) == ["v1.2.0", "v1.2.10", "v1.9.3", "v1.10.0", "v2.0.0"]


def test_a_pre_release_sorts_before_its_release():
    assert release_key("v1.4.0-rc.1") < release_key("v1.4.0") < release_key("v1.4.1-rc.1")


@pytest.mark.parametrize("tag", ["1.2.3", "v1.2", "latest", "v1.2.3+build", ""])
def test_anything_but_a_release_tag_is_refused(tag):
    with pytest.raises(ValueError, match="not a release tag"):
        release_key(tag)


def test_without_contractions_any_target_may_run():
    assert rollback_blocker("v1.0.0", ["v1.0.0", "v1.5.0"], contractions=()) is None


def test_a_target_older_than_a_deployed_contraction_is_refused_with_the_reason():
    reason = rollback_blocker("v1.3.2", ["v1.3.2", "v1.4.0"], contractions=[DROP_COLOR])
    assert reason == (
        "v1.3.2 predates migration 0007_drop_color, which v1.4.0 applied (drops cars.color, "
        "which v1.3 writes); restore a snapshot from before it instead "
        "(docs/architecture.md, 'Restoring data')"
    )


def test_the_release_that_contracted_and_later_ones_may_run():
    deployed = ["v1.3.2", "v1.4.0", "v1.5.0"]
    assert rollback_blocker("v1.4.0", deployed, contractions=[DROP_COLOR]) is None
    assert rollback_blocker("v1.4.1", deployed, contractions=[DROP_COLOR]) is None


def test_a_contraction_never_deployed_blocks_nothing():
    # The schema is as the newest release ever deployed left it: v1.3.9 never applied 0007.
    assert rollback_blocker("v1.3.0", ["v1.3.0", "v1.3.9"], contractions=[DROP_COLOR]) is None


def test_a_pre_release_of_the_contracting_release_counts_as_older():
    reason = rollback_blocker("v1.4.0-rc.1", ["v1.4.0"], contractions=[DROP_COLOR])
    assert reason is not None and reason.startswith("v1.4.0-rc.1 predates")


def test_tags_that_are_not_releases_are_ignored_in_the_history():
    assert rollback_blocker("v1.3.0", ["latest", "main-abc123"], contractions=[DROP_COLOR]) is None
    reason = rollback_blocker("v1.3.0", ["latest", "v1.4.0"], contractions=[DROP_COLOR])
    assert reason is not None


def test_every_recorded_contraction_names_a_migration_that_exists_and_a_release():
    known = {m.rsplit(".", 1)[0] for m in migration_ids("postgresql")}
    assert "0001_create_cars" in known
    for contraction in CONTRACTIONS:
        assert contraction.migration in known, contraction
        release_key(contraction.release)
        assert contraction.reason
