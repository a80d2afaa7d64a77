import pytest

from sharing_registry.celery import ping
from tests.worker import celery_worker


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
class WorkerTests:
    def test_a_real_worker_round_trips_a_task_through_redis(self):
        with celery_worker() as (_, queue):
            result = ping.apply_async(args=["hello"], queue=queue)
            assert result.get(timeout=30) == "pong:hello"
