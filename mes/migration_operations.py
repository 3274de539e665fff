"""Migration operations of our own.

`Relabel` changes what people read of models and fields (verbose names, help texts, choice
labels) in one step. Django's `AlterField` re-renders every model related to the one it changes,
once per field, even when nothing but a label changed: a migration that marks a few hundred
labels for translation took a fresh `migrate` from seconds to minutes. Labels change no column
and no relation, so `Relabel` writes no SQL and reloads the models it touches once, delayed, as
`AlterModelOptions` does.
"""

from __future__ import annotations

from django.db.migrations.operations.base import Operation
from django.db.migrations.operations.fields import AlterField
from django.db.migrations.operations.models import AlterModelOptions
from django.db.models.fields import NOT_PROVIDED


class Relabel(Operation):
    """The state changes of many `AlterModelOptions` and `AlterField` operations that only relabel,
    applied at once. Written by hand around what `makemigrations` generated."""

    reduces_to_sql = False
    reversible = True

    def __init__(self, operations: list[AlterModelOptions | AlterField]):
        for operation in operations:
            if not isinstance(operation, AlterModelOptions | AlterField):
                raise TypeError(f"Relabel takes AlterModelOptions and AlterField, not {operation!r}")
        self.operations = list(operations)

    def deconstruct(self):
        return (self.__class__.__name__, [self.operations], {})

    def state_forwards(self, app_label, state):
        touched = set()
        for operation in self.operations:
            key = (
                app_label,
                operation.name_lower
                if isinstance(operation, AlterModelOptions)
                else operation.model_name_lower,
            )
            if isinstance(operation, AlterModelOptions):
                _set_options(state.models[key], operation)
            else:
                _set_field(state, key, operation)
            touched.add(key)
        state.reload_models(sorted(touched), delay=True)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        pass  # labels live in Python only

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return f"Relabel {len(self.operations)} models and fields"

    @property
    def migration_name_fragment(self):
        return "relabel"


def _set_options(model_state, operation: AlterModelOptions) -> None:
    # What ProjectState.alter_model_options does, without its reload.
    model_state.options = {**model_state.options, **operation.options}
    for option in operation.ALTER_OPTION_KEYS:
        if option not in operation.options:
            model_state.options.pop(option, False)


def _set_field(state, key, operation: AlterField) -> None:
    # What ProjectState.alter_field does, without its reload (which re-renders related models).
    field = operation.field
    if not operation.preserve_default:
        field = field.clone()
        field.default = NOT_PROVIDED
    fields = state.models[key].fields
    if state._relations is not None:  # the relation registry, once built, names field objects
        old = fields.pop(operation.name)
        if old.is_relation:
            state.resolve_model_field_relations(key, operation.name, old)
        fields[operation.name] = field
        if field.is_relation:
            state.resolve_model_field_relations(key, operation.name, field)
    else:
        fields[operation.name] = field
