"""Model instances from one line of hand-written SQL, where the ORM's query
building costs more than the query (autosave, the answering pages, the user of
every request): built as a queryset builds them, with ``from_db`` and each field's
``from_db_value`` (JSON decoded, for one)."""

from __future__ import annotations

from django.db import connection as default_connection


def from_row(model, fields, values, *, connection=default_connection):
    """An instance of ``model`` from the ``values`` of its ``fields``, in that order
    (fields not read are deferred, as with ``.only()``)."""
    converted = []
    for field, value in zip(fields, values):
        convert = getattr(field, "from_db_value", None)
        converted.append(convert(value, None, connection) if convert and value is not None else value)
    return model.from_db(connection.alias, [field.attname for field in fields], converted)
