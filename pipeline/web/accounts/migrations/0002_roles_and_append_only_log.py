"""One Django group per core role (membership is the role), and an access log that can only grow."""
from django.db import migrations

# The role names as they were when this migration was written; later roles get their own migration.
ROLES = ("sysadmin", "secadmin", "auditor", "archivist", "reader", "approver", "inspector")


def create_role_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLES:
        Group.objects.get_or_create(name=name)


APPEND_ONLY = [
    "CREATE TRIGGER IF NOT EXISTS accounts_accessevent_no_update BEFORE UPDATE ON accounts_accessevent "
    "BEGIN SELECT RAISE(ABORT, '访问日志只能追加，不能修改'); END",
    "CREATE TRIGGER IF NOT EXISTS accounts_accessevent_no_delete BEFORE DELETE ON accounts_accessevent "
    "BEGIN SELECT RAISE(ABORT, '访问日志只能追加，不能删除'); END",
]
DROP = ["DROP TRIGGER IF EXISTS accounts_accessevent_no_update",
        "DROP TRIGGER IF EXISTS accounts_accessevent_no_delete"]


def guard_log(apps, schema_editor):
    """SQLite triggers today; the PostgreSQL move (issue 14) adds its own equivalent."""
    if schema_editor.connection.vendor == "sqlite":
        for statement in APPEND_ONLY:
            schema_editor.execute(statement)


def unguard_log(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]
    operations = [
        migrations.RunPython(create_role_groups, migrations.RunPython.noop),
        migrations.RunPython(guard_log, unguard_log),
    ]
