"""The background sealer, as beat runs it in production: `seal_pending()` every AUDIT_SEAL_INTERVAL_SECONDS."""

from __future__ import annotations

import multiprocessing as mp


def _loop(stop, interval: float, out) -> None:
    import django

    django.setup()
    from audit.chain import seal_pending
    from common import context

    sealed = 0
    with context.system("audit-sealer"):
        while not stop.is_set():
            sealed += seal_pending().sealed
            stop.wait(interval)
    out.put(sealed)


class Sealer:
    """`with Sealer() as sealer:` seals in a separate process (this process's environment) until the block ends;
    `sealer.sealed` is how many events it sealed."""

    def __init__(self, interval: float | None = None):
        self.interval = interval
        self.sealed = 0

    def __enter__(self) -> Sealer:
        from django.conf import settings

        ctx = mp.get_context("spawn")
        self._stop, self._out = ctx.Event(), ctx.Queue()
        interval = self.interval or settings.AUDIT_SEAL_INTERVAL_SECONDS
        self._process = ctx.Process(target=_loop, args=(self._stop, interval, self._out), daemon=True)
        self._process.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self.sealed = self._out.get(timeout=300)
        self._process.join(timeout=60)
