"""The database refuses to change or delete an audit event (ASVS 16.4.2).

A trigger raises on every UPDATE and DELETE of the table, whatever the client:
the ORM, raw SQL, the admin, a shell. TRUNCATE fires no row trigger, so the test
runner's flush (TRUNCATE on PostgreSQL) still works.

A deployment should also revoke UPDATE, DELETE and TRUNCATE on audit_auditevent
from the application's database role (the table owner can still drop the trigger):
the trigger is what the test suite can prove here, the grants are the operator's."""

from django.db import migrations

TABLE = "audit_auditevent"

POSTGRES_UP = [
    """CREATE OR REPLACE FUNCTION audit_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;""",
    f"""CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION audit_auditevent_append_only();""",
]
POSTGRES_DOWN = [
    f"DROP TRIGGER IF EXISTS audit_auditevent_append_only ON {TABLE};",
    "DROP FUNCTION IF EXISTS audit_auditevent_append_only();",
]
SQLITE_UP = [
    f"""CREATE TRIGGER audit_auditevent_no_update BEFORE UPDATE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only: UPDATE refused'); END;""",
    f"""CREATE TRIGGER audit_auditevent_no_delete BEFORE DELETE ON {TABLE}
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only: DELETE refused'); END;""",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS audit_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete;",
]


def _run(schema_editor, statements: dict[str, list[str]]) -> None:
    # Other databases (none in use) get no trigger: the model's own refusal remains.
    for statement in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, None)  # no parameters: the SQL's % stays as it is


def install(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP})


def remove(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN})


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_audit_event")]

    operations = [migrations.RunPython(install, remove, elidable=False)]
