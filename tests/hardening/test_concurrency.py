"""Concurrency on PostgreSQL, 8 threads at once, each with its own connection, through the real services.

tests/agreements/test_services.py races two last signatures; here all eight parties sign at once. Checks race a
revocation, and the audit events that eight concurrent threads write are all there, in a chain that verifies.
(tests/audit/test_services.py races bare audit writers; these are the services' own events.)
"""

from __future__ import annotations

import threading
import time

import pytest

from agencies.choices import Role
from agreements import decisions, services
from agreements.models import Agreement, AgreementPeriod
from audit import chain
from audit.models import AuditEvent
from tests.factories import AgencyFactory, DatasetFactory, agreement_factory, member
from tests.threads import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
THREADS = 8
GO = Role.GOVERNANCE_OFFICER


def events(action: str, reference: str) -> int:
    return AuditEvent.objects.filter(action=action, object_ref=reference).count()


class ConcurrentSigningTests:
    def test_eight_parties_signing_at_once_activate_the_agreement_exactly_once(self):
        lead = AgencyFactory(code="lead-council", name="Lead Council")
        providers = [AgencyFactory(code=f"provider-{n}") for n in range(THREADS - 1)]
        for provider in providers:
            DatasetFactory(code=f"{provider.code}-data", owner=provider, data_items=["name"])
        flows = [{"dataset": f"{p.code}-data", "provider": p.code, "recipient": "lead-council",
                  "legal_bases": ["ukgdpr-6-1-e"]} for p in providers]
        signers = [(member(lead, GO, username="lead-second-officer"), lead.code)]
        signers += [(member(p, GO), p.code) for p in providers]
        for _ in range(2):  # a race shows itself only sometimes
            agreement = agreement_factory(state="submitted", lead=lead, flows=flows)
            errors = run_together([
                lambda user=user, code=code, pk=agreement.pk: services.agreement_approve(
                    actor=user, agreement=Agreement(pk=pk), agency=code)
                for user, code in signers
            ])
            assert errors == []
            agreement.refresh_from_db()
            assert agreement.status == "active"
            assert events("agreement.approved", agreement.reference) == THREADS
            assert events("agreement.activated", agreement.reference) == 1
            assert AgreementPeriod.objects.filter(agreement=agreement).count() == 1


class ChecksDuringRevocationTests:
    def test_no_check_that_starts_after_the_revocation_commits_says_yes(self):
        agreement = agreement_factory(state="active")
        officer = member(agreement.lead_agency, GO)
        question = {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "discharge-summaries"}
        assert decisions.check(**question).allowed
        answers: list[tuple[float, bool]] = []
        committed: list[float] = []
        lock = threading.Lock()
        deadline = time.monotonic() + 4

        def checker():
            while time.monotonic() < deadline and not (committed and time.monotonic() > committed[0] + 0.5):
                started = time.monotonic()
                allowed = decisions.check(**question).allowed
                with lock:
                    answers.append((started, allowed))

        def revoker():
            time.sleep(0.3)  # let the checks get going
            services.agreement_revoke(actor=officer, agreement=Agreement(pk=agreement.pk), reason="Data breach")
            committed.append(time.monotonic())  # the service's transaction has committed by now

        errors = run_together([revoker] + [checker] * (THREADS - 1))
        assert errors == []
        assert committed, "the revocation did not happen"
        after = [allowed for started, allowed in answers if started > committed[0]]
        before = [allowed for started, allowed in answers if started <= committed[0]]
        assert after and not any(after), f"{sum(after)} of {len(after)} checks after the revocation said yes"
        assert any(before), "no check said yes before the revocation: the race was not run"
        print(f"checks: {len(before)} before the revocation committed ({sum(before)} yes), {len(after)} after (0 yes)")

        # Eight threads wrote audit events at once (every check, and the revocation): none is lost, the chain holds.
        assert AuditEvent.objects.filter(action__in=["check.allowed", "check.denied"]).count() == len(answers) + 1
        assert events("agreement.revoked", agreement.reference) == 1
        chain.seal_pending(full=True)
        result = chain.verify()
        assert result.ok, result.message
        assert result.events == AuditEvent.objects.count()


class ConcurrentGrantTests:
    def test_regression_six_concurrent_identical_grants_write_two_membership_granted_events(self):
        from agencies.services import agency_role_group, membership_grant
        from tests.factories import UserFactory

        agency = AgencyFactory(code="home-council")
        agency_role_group(agency=agency, role=GO)
        for attempt in range(3):  # a race shows itself only sometimes
            person = UserFactory(username=f"person-{attempt}")
            errors = run_together([
                lambda person=person: membership_grant(agency=agency, user=person, role=GO) for _ in range(6)
            ])
            assert errors == []
            assert events("membership.granted", f"home-council:person-{attempt}:{GO.value}") == 1
            assert person.groups.count() == 1
