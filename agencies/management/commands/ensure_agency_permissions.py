from typing import Any

from django.core.management.base import BaseCommand

from agencies.models import Agency, Dataset
from agencies.services import agency_permissions_ensure, dataset_permissions_ensure
from common import context


class Command(BaseCommand):
    help = (
        "Give every agency its four role groups and its admins their object permissions, and the owners' governance "
        "officers and admins edit rights on their datasets, where loading data skipped the services. Idempotent; "
        "each grant made is audited as permission.granted."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        grants = 0
        with context.system("command:ensure_agency_permissions"):
            for agency in Agency.objects.order_by("pk").iterator(chunk_size=500):
                grants += agency_permissions_ensure(agency=agency)
            for dataset in Dataset.objects.select_related("owner").order_by("pk").iterator(chunk_size=500):
                grants += dataset_permissions_ensure(dataset=dataset)
        self.stdout.write(f"{grants} permission{'s' if grants != 1 else ''} granted")
