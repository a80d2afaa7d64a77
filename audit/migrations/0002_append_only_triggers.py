from django.db import migrations

from audit import triggers


def install(apps, schema_editor):
    triggers.install(schema_editor.connection, ["audit_auditevent"])


def uninstall(apps, schema_editor):
    triggers.uninstall(schema_editor.connection, ["audit_auditevent"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [migrations.RunPython(install, uninstall)]
