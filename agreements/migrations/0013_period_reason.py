"""A period remembers why it began, so that a check can quote a suspension's reason in the same query that finds
the period. Suspensions made before this keep their reason in the audit log: copied from there."""

from django.db import migrations, models

SUSPENDED = "agreement.suspended"


def backfill(apps, schema_editor):
    AgreementPeriod = apps.get_model("agreements", "AgreementPeriod")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    for period in AgreementPeriod.objects.filter(state="suspended", reason="").select_related("agreement"):
        # The service writes the period and its event in one transaction, the event just after the period.
        event = (AuditEvent.objects.filter(action=SUSPENDED, object_type="agreement",
                                           object_ref=period.agreement.reference, at__gte=period.started_at)
                 .order_by("at", "seq").first())
        reason = (event.detail or {}).get("reason") if event is not None else None
        if isinstance(reason, str) and reason:
            period.reason = reason
            period.save(update_fields=["reason"])


class Migration(migrations.Migration):
    dependencies = [("agreements", "0012_legal_basis_guidance"), ("audit", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="agreementperiod",
            name="reason",
            field=models.TextField(blank=True, default="",
                                   help_text="Why the period began, as the officer gave it: a suspension's reason, "
                                             "which a check quotes to those who may see the agreement."),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
