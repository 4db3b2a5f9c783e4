"""The access log only grows on PostgreSQL too: 0002 guarded it with SQLite triggers only, so on a province's
PostgreSQL catalog an UPDATE or DELETE went through (found when the whole suite first ran on PostgreSQL).
Row triggers refuse UPDATE and DELETE, a statement trigger refuses TRUNCATE (which skips row triggers), with
the same messages as on SQLite."""
from django.db import migrations

GUARDS = (("accounts_accessevent_no_update", "UPDATE", "访问日志只能追加，不能修改", "ROW"),
          ("accounts_accessevent_no_delete", "DELETE", "访问日志只能追加，不能删除", "ROW"),
          ("accounts_accessevent_no_truncate", "TRUNCATE", "访问日志只能追加，不能删除", "STATEMENT"))


def guard_log(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, verb, message, each in GUARDS:
        schema_editor.execute(f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
                              f"BEGIN RAISE EXCEPTION '{message}'; END $$")
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON accounts_accessevent")
        schema_editor.execute(f"CREATE TRIGGER {name} BEFORE {verb} ON accounts_accessevent "
                              f"FOR EACH {each} EXECUTE FUNCTION {name}()")


def unguard_log(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _, _ in GUARDS:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {name} ON accounts_accessevent")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {name}()")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_access_kinds_for_arrangement")]
    operations = [migrations.RunPython(guard_log, unguard_log)]
