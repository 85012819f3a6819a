#!/usr/bin/env python3
"""Every migration of ours must leave a schema the previous release can run on (expand/contract).

During a rolling deploy, and after a code rollback, the previous release's code runs on the schema
the new release migrated to. Its INSERTs do not name a column it does not know, so:

- `AddField` of a NOT NULL column to an existing table needs a database default (`db_default=`)
  or `null=True`. A Python-side `default=` is not enough: Django adds the column with a temporary
  DEFAULT and drops it in the same migration (`manage.py sqlmigrate events 0012`).
- `AlterField` must not turn a nullable column NOT NULL (the previous release may write NULL)
  nor take away the database default of a NOT NULL column.
- Dropping or renaming a column or table (`RemoveField`, `RenameField`, `DeleteModel`,
  `RenameModel`, `AlterModelTable`) breaks the previous release if it still reads it: that is the
  contract step, allowed only by an entry in ALLOWED naming the release that stopped using it.
  A `SeparateDatabaseAndState` whose database part is empty changes nothing in the schema.

A column added together with its table (`CreateModel` in the same migration, then `AddField`, as
makemigrations writes foreign keys) is fine: the previous release does not know the table.
The whole history is scanned, so a rule broken in an old migration that has not been repaired
since is found too. docs/operations.md, "Deploy and migrate", says how to split a change.

    .venv/bin/python .ci/check_migrations.py      # exit 1 and one line per finding
"""

import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Columns released in v1.0.0 with only a Python default. events 0013_db_defaults and accounts
# 0005_db_defaults give each a database default; the check holds them to it: each must still
# have one (or be nullable) in the schema the migrations build today.
DB_DEFAULT_ADDED_LATER = {
    ("accounts", "0003_content_check", "user", "nickname_unchecked"),
    ("events", "0002_event_revision", "event", "revision"),
    ("events", "0005_moderation", "event", "moderation"),
    ("events", "0005_moderation", "event", "text_unchecked"),
    ("events", "0005_moderation", "event", "visibility"),
    ("events", "0007_event_fairness_v2", "event", "fairness_algorithm"),
    ("events", "0007_event_fairness_v2", "event", "prizes_digest"),
    ("events", "0007_event_fairness_v2", "event", "beacon_missing_reason"),
    ("events", "0008_claims", "event", "claim_days"),
    ("events", "0008_claims", "event", "contact_note"),
    ("events", "0008_claims", "event", "delivery"),
    ("events", "0012_entry_seq", "event", "entry_seq"),
}

# Exceptions decided by a person, each with its reason: (app, migration, model, field or "")
# -> why the previous release is not hurt, e.g. "v1.3.0 writes it always and backfilled it"
# for a column made NOT NULL, or "v1.4.0 no longer reads it" for a dropped column.
ALLOWED: dict[tuple[str, str, str, str], str] = {}


@dataclass(frozen=True)
class Finding:
    app: str
    migration: str
    model: str
    field: str
    problem: str

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.app, self.migration, self.model, self.field)

    def __str__(self) -> str:
        where = f"{self.model}.{self.field}" if self.field else self.model
        return f"{self.app}/migrations/{self.migration}.py: {where}: {self.problem}"


def our_apps() -> set[str]:
    """The apps whose migrations live in this repository (not Django's, not a library's)."""
    from django.apps import apps

    return {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(ROOT)
        and ".venv" not in Path(config.path).resolve().relative_to(ROOT).parts
    }


def migration_plan() -> list:
    """Every migration on disk, in an order that applies each after its dependencies."""
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    plan, seen = [], set()
    for leaf in sorted(loader.graph.leaf_nodes()):
        for key in loader.graph.forwards_plan(leaf):
            if key not in seen:
                seen.add(key)
                plan.append(loader.graph.nodes[key])
    return plan


def has_db_default(field) -> bool:
    from django.db.models.fields import NOT_PROVIDED

    return field.db_default is not NOT_PROVIDED


def insertable_without_it(field) -> bool:
    """Code that does not name this column can still insert a row."""
    return field.null or has_db_default(field) or field.many_to_many


def check_operation(app: str, operation, state, created: set[str]) -> list[tuple[str, str, str]]:
    """What is wrong with one database operation, given the state before it: (model, field, why)."""
    from django.db import migrations

    if isinstance(operation, migrations.AddField):
        model = operation.model_name_lower
        if model in created or insertable_without_it(operation.field):
            return []
        why = (
            "adds a NOT NULL column without a database default: give it db_default= "
            "(keep default= for Python) or null=True"
        )
        return [(model, operation.name, why)]
    if isinstance(operation, migrations.AlterField):
        model = operation.model_name_lower
        old, new = state.models[app, model].fields[operation.name], operation.field
        if old.null and not new.null:
            why = (
                "makes a nullable column NOT NULL, which the previous release may leave empty: "
                "only in a release after one that always writes it (then list it in ALLOWED)"
            )
            return [(model, operation.name, why)]
        if insertable_without_it(old) and not insertable_without_it(new):
            return [(model, operation.name, "takes away the column's database default")]
        return []
    dropped = dropped_or_renamed(operation)
    if dropped is None:
        return []
    model, field = dropped
    if model in created or is_proxy_or_unmanaged(state, app, model):
        return []
    why = (
        f"{type(operation).__name__} drops or renames what the previous release may still read: "
        "only after a release that no longer uses it (then list it in ALLOWED with that release)"
    )
    return [(model, field, why)]


def dropped_or_renamed(operation) -> tuple[str, str] | None:
    """(model, field or "") that the operation drops or renames in the database, if any."""
    from django.db import migrations

    if isinstance(operation, migrations.RemoveField):
        return operation.model_name_lower, operation.name
    if isinstance(operation, migrations.RenameField):
        return operation.model_name_lower, operation.old_name
    if isinstance(operation, (migrations.DeleteModel, migrations.AlterModelTable)):
        return operation.name_lower, ""
    if isinstance(operation, migrations.RenameModel):
        return operation.old_name_lower, ""
    return None


def is_proxy_or_unmanaged(state, app: str, model: str) -> bool:
    """Such a model has no table of its own to drop or rename."""
    model_state = state.models.get((app, model))
    if model_state is None:
        return False
    return bool(model_state.options.get("proxy")) or model_state.options.get("managed") is False


def scan(plan: list) -> list[Finding]:
    """Apply the plan to an empty project state, checking each of our operations on the way."""
    from django.db import migrations
    from django.db.migrations.state import ProjectState

    ours = our_apps()
    state = ProjectState(real_apps=set())
    findings: list[Finding] = []
    for migration in plan:
        app = migration.app_label
        created: set[str] = set()
        for operation in migration.operations:
            database_ops = [operation]
            if isinstance(operation, migrations.SeparateDatabaseAndState):
                database_ops = operation.database_operations
            if isinstance(operation, migrations.CreateModel):
                created.add(operation.name_lower)
            if app in ours:
                for database_op in database_ops:
                    for model, field, problem in check_operation(app, database_op, state, created):
                        findings.append(Finding(app, migration.name, model, field, problem))
            operation.state_forwards(app, state)
    # Those released without a database default are judged by the schema as it is now.
    findings = [f for f in findings if f.key not in DB_DEFAULT_ADDED_LATER]
    for app, name, model, field in sorted(DB_DEFAULT_ADDED_LATER):
        final = state.models.get((app, model))
        still_there = final is not None and field in final.fields
        if still_there and not insertable_without_it(final.fields[field]):
            why = (
                "was released with only a Python default, and the schema still has no database "
                "default for it: add db_default= to the field and make its AlterField migration"
            )
            findings.append(Finding(app, name, model, field, why))
    return [finding for finding in findings if finding.key not in ALLOWED]


def setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lottery_site.settings")
    # As manage.py does: nothing configured is a developer's checkout (development settings).
    if not os.environ.get("DJANGO_SECRET_KEY") and not os.environ.get("DJANGO_DEBUG"):
        os.environ["DJANGO_DEBUG"] = "1"
    import django

    django.setup()


def main() -> int:
    setup_django()
    plan = migration_plan()
    findings = scan(plan)
    for finding in findings:
        print(f"FAIL {finding}")
    ours = sum(1 for migration in plan if migration.app_label in our_apps())
    if findings:
        print(
            f"{len(findings)} operation(s) would break the previous release on the new schema "
            "(docs/operations.md, 'Deploy and migrate').",
            file=sys.stderr,
        )
        return 1
    print(f"OK: {ours} migrations of ours leave a schema the previous release can run on.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
