"""`Relabel` leaves the same migration state as the AlterModelOptions and AlterField it batches."""

from __future__ import annotations

import pytest
from django.db.migrations.loader import MigrationLoader

from mes.migration_operations import Relabel

BATCHES = [
    ("mes", "0013_translatable_names"),
    ("workorders", "0011_translatable_names"),
    ("quality", "0011_translatable_names"),
    ("traceability", "0009_translatable_names"),
    ("integration", "0005_translatable_names"),
]


def _picture(state, keys) -> dict:
    return {
        key: (
            {name: field.deconstruct()[1:] for name, field in state.models[key].fields.items()},
            dict(state.models[key].options),
        )
        for key in keys
    }


@pytest.mark.parametrize("app_label,name", BATCHES)
@pytest.mark.parametrize("with_relations", [False, True])
def test_relabel_leaves_the_state_the_operations_one_by_one_leave(app_label, name, with_relations):
    loader = MigrationLoader(None, ignore_no_migrations=True)  # the files alone, no database
    migration = loader.get_migration(app_label, name)
    (relabel,) = migration.operations
    assert isinstance(relabel, Relabel)
    before = loader.project_state(
        [(app_label, dep) for dep_app, dep in migration.dependencies if dep_app == app_label]
    )
    batched, single = before.clone(), before.clone()
    if with_relations:
        batched.relations, single.relations  # noqa: B018 - builds the registry the operations must keep right
    batched.apps  # noqa: B018 - rendered, as during migrate (the one-by-one side stays unrendered: cheap)

    relabel.state_forwards(app_label, batched)
    for operation in relabel.operations:
        operation.state_forwards(app_label, single)

    keys = {(app_label, getattr(op, "model_name_lower", None) or op.name_lower) for op in relabel.operations}
    assert _picture(batched, keys) == _picture(single, keys)
    for key in keys:  # the rendered models carry the new labels too
        model = batched.apps.get_model(*key)
        assert str(model._meta.verbose_name) == str(single.apps.get_model(*key)._meta.verbose_name)
    if with_relations:
        assert batched.relations == single.relations


def test_relabel_refuses_an_operation_that_is_more_than_a_label():
    from django.db import migrations, models

    with pytest.raises(TypeError):
        Relabel([migrations.AddField("workstation", "x", models.IntegerField(default=0))])
