"""Schemathesis against /api/v1/schema/: every operation, as five roles and no one, on the demo region.

One test loads the demo once and fuzzes every operation the schema lists, each example sent with the token of a
superuser, a governance officer, a frontline worker, an auditor and an agency admin, and with no token at all.
Half the examples name real objects (an agreement reference, an agency or dataset code) so requests reach past
the 404. The checks: no 5xx, and every response matches the schema (status, content type, body). Bounded: a few
examples per operation and mode, derandomised so CI sees the same cases each run (FUZZ_SEED=random varies them,
FUZZ_MAX_EXAMPLES=40 digs deeper). Findings are kept as named tests in test_api_regressions.py.
"""

from __future__ import annotations

import logging
import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import api_key

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "2"))  # per strategy: about 1,000 requests, 10-20 s
# A hard cap, far above the usual 10-15 s: going past it means something hangs or has become very slow.
BUDGET_SECONDS = float(os.environ.get("FUZZ_BUDGET_SECONDS", "120"))
ROLES = {
    "superuser": "admin",
    "governance officer": "mcc-officer",
    "frontline": "mcc-frontline",
    "auditor": "mcc-auditor",
    "agency admin": "mcc-admin",
}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def wsgi_in_test_transaction():
    """The WSGI app as Django's test client runs it: without closing the test's connection after each request.

    Django closes a connection whose autocommit differs from the default when a request finishes; inside the
    test's transaction that would end it. Django's test client unhooks the same handler.
    """
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from sharing_registry.wsgi import application

    request_log = logging.getLogger("sharing_registry.request")
    level = request_log.level
    request_log.setLevel(logging.WARNING)  # thousands of request lines otherwise
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield application
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        request_log.setLevel(level)


@pytest.fixture
def demo_region(db):
    from agreements import demo
    from common import context

    with context.system("seed_demo"):
        loaded, agreements = demo.load_demo()
    tokens = {role: api_key(loaded.users[username]) for role, username in ROLES.items()}
    tokens["anonymous"] = None  # no token: every answer must be a documented 401
    real = {
        "reference": [a.reference for a in agreements],
        "code": [*loaded.agencies, "mcc-adult-social-care-notes", "mft-discharge-summaries"],
    }
    return tokens, real


def _documented_examples(operation) -> list:
    """The request examples the schema documents (the contract's own), as cases to send first, every run."""
    content = operation.definition.raw.get("requestBody", {}).get("content", {}).get("application/json", {})
    examples = content.get("examples", {}).values()
    return [operation.Case(body=example["value"], media_type="application/json") for example in examples]


@pytest.mark.django_db
def test_every_operation_answers_within_its_schema_for_every_role(demo_region, wsgi_in_test_transaction):
    application = wsgi_in_test_transaction
    tokens, real = demo_region
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)
    started = time.monotonic()
    failures: list[str] = []
    calls = 0
    succeeded: set[tuple[str, str]] = set()

    def send(operation, case) -> None:
        nonlocal calls
        for role, token in tokens.items():
            calls += 1
            try:
                headers = {"Authorization": f"Token {token}"} if token else {}
                response = case.call_and_validate(headers=headers, checks=CHECKS)
            except (FailureGroup, Exception) as exc:  # collect, so one run reports every operation that misbehaves
                failures.append(f"{operation.label} as {role}:\n{exc}")
                return
            if response.status_code < 300:
                succeeded.add((operation.label, role))

    for result in schema.get_all_operations():
        operation = result.ok()
        if time.monotonic() - started > BUDGET_SECONDS:
            failures.append(f"time budget of {BUDGET_SECONDS:.0f} s spent before {operation.label}")
            break
        for case in _documented_examples(operation):
            send(operation, case)
        names = [p.name for p in operation.path_parameters if p.name in real]  # others are generated
        strategies = []
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategies.append(operation.as_strategy(generation_mode=mode))
            if names:
                fixed = st.fixed_dictionaries({name: st.sampled_from(real[name]) for name in names})
                strategies.append(fixed.flatmap(
                    lambda params, mode=mode, op=operation: op.as_strategy(generation_mode=mode, path_parameters=params)
                ))

        @settings(
            max_examples=MAX_EXAMPLES * len(strategies), deadline=None, database=None,
            derandomize=os.environ.get("FUZZ_SEED") != "random",
            suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
        )
        @given(case=st.one_of(strategies))
        def run(case):
            send(case.operation, case)

        run()
    elapsed = time.monotonic() - started
    print(f"schemathesis: {calls} calls, {len(succeeded)} (operation, role) pairs answered 2xx, {elapsed:.1f} s")
    assert not failures, f"{len(failures)} finding(s):\n\n" + "\n\n".join(failures[:20])
    # Not vacuous: every role got real answers, and the writes were reached, not only their 400s and 404s.
    assert {role for _, role in succeeded} == set(ROLES)  # and never the anonymous caller
    reached = {label for label, _ in succeeded}
    assert {"POST /api/v1/agreements/", "POST /api/v1/checks/", "GET /api/v1/audit/export/"} <= reached, reached
