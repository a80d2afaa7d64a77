from django.db import migrations

from audit import triggers

TABLES = ["audit_auditseal", "audit_auditcheckpoint", "audit_auditverification"]


def install(apps, schema_editor):
    triggers.install(schema_editor.connection, TABLES)


def uninstall(apps, schema_editor):
    triggers.uninstall(schema_editor.connection, TABLES)


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_seal_checkpoint_verification")]
    operations = [migrations.RunPython(install, uninstall)]
