"""Racing the real services: each target in its own thread and database connection, released at one moment."""

import threading

from django.db import connection


def run_together(targets) -> list[BaseException]:
    """Start every target at the same moment (a barrier), each in its own thread and connection; return errors."""
    barrier = threading.Barrier(len(targets))
    errors: list[BaseException] = []

    def wrapped(target):
        try:
            barrier.wait(timeout=20)
            target()
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    return errors
