"""Schedule the nightly chain verification and the hourly clean-up of expired export files.

They go into django-celery-beat's tables once, so an administrator can change or pause them in the admin and a
restart of beat keeps the change (entries in CELERY_BEAT_SCHEDULE would be rewritten at every start).
"""

from django.db import migrations

SCHEDULES = [
    {
        "name": "Verify the audit chain every night",
        "task": "audit.verify_nightly",
        "crontab": {"minute": "30", "hour": "2"},
        "description": "Nightly: recompute the hash chain and check every signed checkpoint; a failure emails "
                       "the auditors and shows on their page.",
    },
    {
        "name": "Delete expired audit export files",
        "task": "audit.export_cleanup",
        "crontab": {"minute": "5", "hour": "*"},
        "description": "Hourly: delete export files past AUDIT_EXPORT_RETENTION_HOURS and queue stalled jobs again.",
    },
]


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for entry in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            day_of_week="*", day_of_month="*", month_of_year="*", timezone="Europe/London", **entry["crontab"]
        )
        PeriodicTask.objects.get_or_create(
            name=entry["name"], defaults={"task": entry["task"], "crontab": crontab, "description": entry["description"]}
        )


def unschedule(apps, schema_editor):
    names = [entry["name"] for entry in SCHEDULES]
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=names).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_export_job"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
