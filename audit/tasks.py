"""Background work for the audit log: sealing committed events into the hash chain."""

from celery import shared_task

from . import context


@shared_task(name="audit.seal", ignore_result=True)
def seal() -> int:
    """Seal committed events and sign the head. Beat runs it every AUDIT_SEAL_INTERVAL_SECONDS."""
    from .chain import seal_pending

    with context.system("audit-sealer"):
        return seal_pending().sealed
