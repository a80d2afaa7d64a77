"""`migrate`, run as the tables' owner when MIGRATE_DATABASE_URL is set, then granting the runtime role its rights.

The application's DATABASE_URL role then needs no more than INSERT and SELECT on the audit tables (audit.roles).
Without MIGRATE_DATABASE_URL (development, SQLite) this is Django's own `migrate`.
"""

from typing import Any

import dj_database_url
from django.conf import settings
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DEFAULT_DB_ALIAS, connections

from audit.roles import grant_runtime_role


class Command(DjangoMigrate):
    help = DjangoMigrate.help + " As the owner role of MIGRATE_DATABASE_URL when it is set."

    def handle(self, *args: Any, **options: Any) -> None:
        owner_url = settings.MIGRATE_DATABASE_URL
        if not owner_url or options["database"] != DEFAULT_DB_ALIAS:
            super().handle(*args, **options)
            return
        connection = connections[DEFAULT_DB_ALIAS]
        runtime_role = connection.settings_dict["USER"]
        owner = dj_database_url.parse(owner_url)
        if owner["NAME"] != connection.settings_dict["NAME"]:
            raise SystemExit("MIGRATE_DATABASE_URL must name the same database as DATABASE_URL.")
        connection.close()
        saved = {key: connection.settings_dict.get(key) for key in ("USER", "PASSWORD", "HOST", "PORT")}
        connection.settings_dict.update(USER=owner["USER"], PASSWORD=owner["PASSWORD"], HOST=owner["HOST"],
                                        PORT=owner["PORT"])
        try:
            super().handle(*args, **options)
            if runtime_role and runtime_role != owner["USER"]:
                grant_runtime_role(connection, runtime_role)
                if options["verbosity"]:
                    self.stdout.write(f"Granted {runtime_role} INSERT and SELECT only on the audit tables.")
        finally:
            connection.close()
            connection.settings_dict.update(saved)
