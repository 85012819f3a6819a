"""The join's plain SQL (events/join_sql.py) against the model it bypasses."""

from django.db import models

from events import join_sql
from events.models import Entry


def required_columns(fields) -> set[str]:
    """Columns an INSERT must name: NOT NULL, no database default, not the auto id."""
    return {
        field.column
        for field in fields
        if not (field.null or field.primary_key or field.has_db_default())
    }


def test_the_joins_insert_names_every_column_an_entry_cannot_do_without():
    # A Python-side default (created_at's) does not reach a plain INSERT: it must be named too.
    assert required_columns(Entry._meta.concrete_fields) <= set(join_sql.INSERT_COLUMNS)
    for vendor in ("mysql", "sqlite"):
        _admit, insert = join_sql._join_sql(vendor)  # noqa: SLF001
        assert f"({', '.join(join_sql.INSERT_COLUMNS)}) SELECT %s, %s, %s, %s, %s, %s " in insert


def test_the_check_sees_a_column_added_without_a_database_default():
    fields = {
        "id": models.BigAutoField(primary_key=True),
        "note": models.CharField(max_length=10, default="python-side only"),
        "later": models.CharField(max_length=10, db_default=""),
        "maybe": models.CharField(max_length=10, null=True),
    }
    for name, field in fields.items():
        field.set_attributes_from_name(name)

    assert required_columns(fields.values()) == {"note"}
