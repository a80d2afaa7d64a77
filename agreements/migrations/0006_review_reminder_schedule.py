"""Schedule the daily review reminders (django-celery-beat's database scheduler), editable in the admin."""

from django.db import migrations

TASK_NAME = "Send review reminders to governance officers"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="7", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Europe/London"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "agreements.review_reminders", "crontab": crontab,
                  "description": "Daily: email every party's governance officers 90, 30 and 0 days before an "
                                 "agreement's review date, once per threshold (audited)."},
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0005_review_reminder"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
