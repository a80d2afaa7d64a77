"""The audit app stops naming agencies.Agency: an event keeps the id of the agency it was filed under as a plain
number. Only Django's idea of the model changes. The table is left as it is: the same column, its index and the
foreign key constraint the first migration created, so no append-only table is rewritten and no trigger moves."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0015_actions_after_people'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveIndex(model_name='auditevent', name='audit_agency_at'),
                migrations.RemoveField(model_name='auditevent', name='agency'),
                migrations.AddField(
                    model_name='auditevent', name='agency_id',
                    field=models.BigIntegerField(blank=True, null=True),
                ),
                migrations.AddIndex(
                    model_name='auditevent',
                    index=models.Index(fields=['agency_id', 'at'], name='audit_agency_at'),
                ),
            ],
        ),
    ]
