"""The nightly verification is incremental now; a full one runs every week (parallel ranges on one snapshot)."""

from django.db import migrations

WEEKLY = {
    "name": "Verify the whole audit chain every week",
    "task": "audit.verify_full",
    "crontab": {"minute": "30", "hour": "3", "day_of_week": "0"},
    "description": "Weekly: recompute the whole hash chain in parallel position ranges on one snapshot and check "
                   "every signed and witnessed checkpoint; a failure emails the auditors and shows on their page.",
}
NIGHTLY = "Verify the audit chain every night"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        day_of_month="*", month_of_year="*", timezone="Europe/London", **WEEKLY["crontab"]
    )
    PeriodicTask.objects.get_or_create(name=WEEKLY["name"], defaults={
        "task": WEEKLY["task"], "crontab": crontab, "description": WEEKLY["description"],
    })
    PeriodicTask.objects.filter(name=NIGHTLY).update(
        description="Nightly: verify the hash chain from the last checkpoint a run verified and the witness holds "
                    "(cost grows with the new events); a failure emails the auditors and shows on their page.")


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=WEEKLY["name"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0010_witness_chained_checkpoints_alerts"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
