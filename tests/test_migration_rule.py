"""The previous release runs on the schema this one migrates to (expand/contract, issue 20).

The rule is checked by .ci/check_migrations.py over every migration; these tests hold it to the
history we have and show what it refuses. On MariaDB, the columns once added with only a Python
default have a database default, so an INSERT that does not name them (the previous release's)
succeeds.
"""

import importlib.util
import secrets
from pathlib import Path

import pytest
from django.db import connection, migrations, models

from accounts.models import User
from events.models import Event
from tests.factories import EventFactory

CHECKER_PATH = Path(__file__).resolve().parent.parent / ".ci" / "check_migrations.py"
_spec = importlib.util.spec_from_file_location("check_migrations", CHECKER_PATH)
checker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(checker)

ADDED_LATER = {(app, model, field) for app, _, model, field in checker.DB_DEFAULT_ADDED_LATER}


def plan_with(*operations, app="events", name="0099_under_test") -> list:
    """Today's migrations, then one more made of ``operations``."""
    migration = migrations.Migration(name, app)
    migration.operations = list(operations)
    return [*checker.migration_plan(), migration]


def problems(plan: list) -> dict[tuple[str, str, str, str], str]:
    return {finding.key: finding.problem for finding in checker.scan(plan)}


def problem_with(operation, model: str, field: str) -> str:
    """What the checker says about ``model.field`` in a new migration made of ``operation``."""
    return problems(plan_with(operation)).get(("events", "0099_under_test", model, field), "")


def test_every_migration_leaves_a_schema_the_previous_release_can_run_on():
    assert [str(finding) for finding in checker.scan(checker.migration_plan())] == []


def test_entry_seq_is_flagged_without_the_migration_that_gives_it_a_database_default():
    plan = [
        migration
        for migration in checker.migration_plan()
        if (migration.app_label, migration.name) != ("events", "0013_db_defaults")
    ]
    found = problems(plan)
    assert ("events", "0012_entry_seq", "event", "entry_seq") in found
    assert ("events", "0005_moderation", "event", "visibility") in found
    # accounts 0005 still gives its one column a default.
    assert ("accounts", "0003_content_check", "user", "nickname_unchecked") not in found


def test_a_new_column_with_only_a_python_default_is_flagged():
    added = migrations.AddField("event", "likes", models.PositiveIntegerField(default=0))
    assert "without a database default" in problem_with(added, "event", "likes")


@pytest.mark.parametrize(
    "field",
    [
        models.PositiveIntegerField(default=0, db_default=0),
        models.PositiveIntegerField(null=True),
        models.ManyToManyField("accounts.User"),
    ],
    ids=["db_default", "nullable", "many_to_many"],
)
def test_a_new_column_with_a_database_default_or_nullable_passes(field):
    assert problems(plan_with(migrations.AddField("event", "likes", field))) == {}


def test_a_column_added_together_with_its_table_passes():
    created = migrations.CreateModel(
        "Like", [("id", models.BigAutoField(auto_created=True, primary_key=True))]
    )
    added = migrations.AddField(
        "like", "event", models.ForeignKey("events.Event", on_delete=models.CASCADE)
    )
    assert problems(plan_with(created, added)) == {}


def test_making_a_nullable_column_not_null_is_flagged():
    tightened = migrations.AlterField(
        "event", "target_participants", models.PositiveIntegerField(default=0, db_default=0)
    )
    assert "NOT NULL" in problem_with(tightened, "event", "target_participants")


def test_taking_away_a_database_default_is_flagged():
    dropped = migrations.AlterField(
        "event", "entry_seq", models.PositiveBigIntegerField(default=0, editable=False)
    )
    assert "database default" in problem_with(dropped, "event", "entry_seq")


def test_dropping_a_column_is_flagged_unless_only_the_state_forgets_it():
    removed = migrations.RemoveField("event", "contact_note")
    assert "drops or renames" in problem_with(removed, "event", "contact_note")

    forgotten = migrations.SeparateDatabaseAndState(state_operations=[removed])
    assert problems(plan_with(forgotten)) == {}


def test_a_change_with_a_reason_in_the_allow_list_passes(monkeypatch):
    removed = migrations.RemoveField("event", "contact_note")
    key = ("events", "0099_under_test", "event", "contact_note")
    monkeypatch.setitem(checker.ALLOWED, key, "v9.0.0 no longer reads it")
    assert problems(plan_with(removed)) == {}


@pytest.mark.mysql
@pytest.mark.django_db
def test_the_schema_gives_each_column_once_added_without_one_a_database_default():
    tables = {"events": Event._meta.db_table, "accounts": User._meta.db_table}
    with connection.cursor() as cursor:
        for app, model, field in sorted(ADDED_LATER):
            cursor.execute(
                "SELECT IS_NULLABLE, COLUMN_DEFAULT FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND COLUMN_NAME = %s",
                [tables[app], field],
            )
            nullable, default = cursor.fetchone()
            assert nullable == "YES" or default is not None, f"{model}.{field}"


def copy_row_without(model, pk: int, omitted: set[str], fresh: dict[str, str]) -> int:
    """INSERT a copy of a row naming only the columns the previous release knew (raw SQL)."""
    table = connection.ops.quote_name(model._meta.db_table)
    columns = [
        field.column
        for field in model._meta.concrete_fields
        if not field.primary_key and field.column not in omitted and field.column not in fresh
    ]
    names = ", ".join(connection.ops.quote_name(c) for c in [*fresh, *columns])
    values = ", ".join(["%s"] * len(fresh) + [connection.ops.quote_name(c) for c in columns])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {values} FROM {table} WHERE id = %s",  # noqa: S608
            [*fresh.values(), pk],
        )
        return cursor.lastrowid


@pytest.mark.mysql
@pytest.mark.django_db
def test_code_that_does_not_know_the_added_columns_can_still_insert():
    event = EventFactory()
    omitted = {field for app, _, field in ADDED_LATER if app == "events"}
    copy = copy_row_without(Event, event.pk, omitted, {"public_id": f"e{secrets.token_hex(8)}"})
    copied = Event.objects.get(pk=copy)
    assert (copied.entry_seq, copied.revision, copied.claim_days) == (0, 0, 7)
    assert (copied.visibility, copied.moderation, copied.delivery) == ("unlisted", "ok", "none")
    # A row from code older than the v2 scheme is drawn under v1 (events.Event).
    assert copied.fairness_algorithm == "sha256-fisher-yates-v1"

    user = event.creator
    fresh = {"public_id": f"u{secrets.token_hex(8)}", "openid": f"o{secrets.token_hex(8)}"}
    copy = copy_row_without(User, user.pk, {"nickname_unchecked"}, fresh)
    assert User.objects.get(pk=copy).nickname_unchecked is False
