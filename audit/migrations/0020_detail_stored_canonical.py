"""An event's detail is stored as its canonical JSON text: the bytes its hash covers, so verification hashes the
stored text as it is instead of decoding and re-encoding every detail (and a text changed to another that decodes to
the same value no longer verifies).

Every existing detail is rewritten once, as the canonical form of the value it holds: exactly the bytes its hash was
computed over, so every seal stays valid (verify_audit checks it after migrating). The append-only trigger is lifted
for that rewrite only, inside this migration's transaction, by the owner that runs migrations. On PostgreSQL the
column becomes text; on SQLite it already is.
"""

import json

from django.db import migrations

import audit.fields
from audit import triggers
from audit.canonical import canonical_json

BATCH = 20_000


def _rewrite(cursor, vendor: str) -> None:
    last = 0
    while True:
        cursor.execute("SELECT seq, detail FROM audit_auditevent WHERE seq > %s ORDER BY seq LIMIT %s", [last, BATCH])
        rows = cursor.fetchall()
        if not rows:
            return
        last = rows[-1][0]
        changed = [(seq, stored) for seq, text in rows
                   if text is not None and (stored := canonical_json(json.loads(text))) != text]
        if not changed:
            continue
        if vendor == "postgresql":
            cursor.execute("UPDATE audit_auditevent e SET detail = u.detail FROM unnest(%s::bigint[], %s::text[]) "
                           "AS u(seq, detail) WHERE e.seq = u.seq",
                           [[seq for seq, _ in changed], [text for _, text in changed]])
        else:
            cursor.executemany("UPDATE audit_auditevent SET detail = %s WHERE seq = %s",
                               [(text, seq) for seq, text in changed])


def forwards(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE audit_auditevent ALTER COLUMN detail TYPE text USING detail::text")
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_auditevent_append_only")
            _rewrite(cursor, connection.vendor)
            # The rewrite queued the deferred foreign-key checks of the rows it touched; ALTER TABLE waits for none.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("ALTER TABLE audit_auditevent ENABLE ALWAYS TRIGGER audit_auditevent_append_only")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS audit_auditevent_no_update")
            _rewrite(cursor, connection.vendor)
    if connection.vendor != "postgresql":
        triggers.install(connection, ["audit_auditevent"])


def backwards(apps, schema_editor):
    # The canonical text is JSON: as jsonb (PostgreSQL) or as it is (SQLite), each value is what it was.
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent ALTER COLUMN detail TYPE jsonb USING detail::jsonb")


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0019_action_labels'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.AlterField(
                    model_name='auditevent', name='detail',
                    field=audit.fields.CanonicalJSONField(blank=True, default=dict),
                ),
            ],
        ),
    ]
