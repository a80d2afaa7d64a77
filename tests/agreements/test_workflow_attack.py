"""Regressions found by an attacker of the signing workflow: a NUL in the name lookups (a 500 on PostgreSQL), a
signature made through the API without a declaration that read exactly as a declared one, and the review's
completion filed under the lead agency whoever completed it."""

import datetime as dt

import pytest
from django.utils import timezone

from agencies.choices import Role
from agreements import services
from audit.models import AuditEvent
from tests.agreements.test_review import officers, overdue_agreement
from tests.clients import page as browser
from tests.factories import AgencyFactory, agreement_factory, member

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


@pytest.mark.parametrize("query", ["/names/agencies/?q=%00", "/names/datasets/?q=%00",
                                   "/names/datasets/?q=a&provider=%00", "/names/agencies/?q=Home%00"])
def test_regression_a_nul_in_the_name_lookups_is_an_error_page(query):
    AgencyFactory(code="home", name="Home Council")
    answer = browser(member(AgencyFactory(code="asker"), Role.GOVERNANCE_OFFICER)).get(query)
    assert answer.status_code == 200
    labels = [row["label"] for row in answer.json()["results"]]
    assert labels in ([], ["Home Council"])
    assert "Asker" not in " ".join(labels)  # a NUL alone matched every agency


def test_regression_a_signature_without_a_declaration_reads_as_a_declared_one():
    agreement = agreement_factory(state="submitted")
    lead = agreement.lead_agency
    nhs = agreement.current_version.parties.exclude(agency=lead).get().agency
    second = member(lead, Role.GOVERNANCE_OFFICER, username="second-officer")
    services.agreement_approve(actor=second, agreement=agreement, declared=True)
    services.agreement_approve(actor=member(nhs, Role.GOVERNANCE_OFFICER), agreement=agreement)  # as the API may
    lead = second
    for path in ("", "print/"):
        page = browser(lead).get(f"/agreements/{agreement.reference}/{path}").content.decode()
        assert page.count("(no declaration of authority to sign was recorded)") == 1


def test_regression_the_reviews_completion_is_filed_under_the_lead_agency_whoever_completes_it():
    agreement = overdue_agreement()
    lead, nhs = officers(agreement)
    services.agreement_review(actor=lead, agreement=agreement, next_review_date=TODAY + dt.timedelta(days=300))
    agreement.refresh_from_db()
    services.agreement_review(actor=nhs, agreement=agreement, next_review_date=TODAY + dt.timedelta(days=300))
    assert AuditEvent.objects.get(action="agreement.reviewed").agency_code == "nhs-provider"
