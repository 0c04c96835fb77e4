"""The submitted copy of a response can never change or go: the model refuses it
(ResponseSnapshot.save/delete), and on PostgreSQL the database refuses it too, so that
a queryset ``update()``/``delete()``, the admin's bulk delete or a hand-written
statement cannot bypass the model. SQLite (the embedded demo) keeps the model's check."""

from django.db import migrations

TABLE = "questionnaire_responsesnapshot"
CREATE = f"""
CREATE FUNCTION fp_refuse_submitted_copy_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a submitted copy (%% row %%) can never be changed or deleted', TG_TABLE_NAME, OLD.id
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE TRIGGER fp_submitted_copy_immutable BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION fp_refuse_submitted_copy_change();
"""
DROP = f"""
DROP TRIGGER IF EXISTS fp_submitted_copy_immutable ON {TABLE};
DROP FUNCTION IF EXISTS fp_refuse_submitted_copy_change();
"""


def _on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("questionnaire", "0005_working_group_recommendations")]

    operations = [migrations.RunPython(_on_postgresql(CREATE), _on_postgresql(DROP))]
