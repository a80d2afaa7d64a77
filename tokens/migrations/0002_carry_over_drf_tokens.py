"""Carry DRF's raw tokens (rest_framework.authtoken, no longer installed) over as hashed tokens, then drop the old
table, so that systems keep working and no raw key stays in the database. They get the usual expiry."""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

OLD_TABLE = "authtoken_token"


def carry_over(apps, schema_editor):
    from knox.crypto import hash_token

    connection = schema_editor.connection
    if OLD_TABLE not in connection.introspection.table_names():
        return
    ApiToken = apps.get_model("tokens", "ApiToken")
    expiry = timezone.now() + timedelta(days=settings.API_TOKEN_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {OLD_TABLE}")  # noqa: S608 - a constant table name
        rows = cursor.fetchall()
    ApiToken.objects.bulk_create([
        ApiToken(digest=hash_token(key), token_key=key[:15], user_id=user_id, created=created, expiry=expiry,
                 name="Carried over from the old token store")
        for key, user_id, created in rows
    ])
    schema_editor.execute(f"DROP TABLE {OLD_TABLE}")


class Migration(migrations.Migration):
    dependencies = [("tokens", "0001_initial")]
    operations = [migrations.RunPython(carry_over, migrations.RunPython.noop)]
