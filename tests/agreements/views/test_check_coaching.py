"""The answer leaves out what matters: each finding, through the check's API and page. What to do next follows
the legal bases (from the catalogue's one line per basis), the provider's Caldicott Guardian and Data Protection
Officer are named where its record holds them, and a no because of a suspension quotes the reason to those who may
see the agreement. Every test here failed before.
"""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from agencies.choices import AgencyKind, Role
from agreements import services
from agreements.models import LegalBasis
from tests.factories import AgencyFactory, DatasetFactory, agreement_factory, member

pytestmark = pytest.mark.django_db
URL = "/api/v1/checks/"
GO = Role.GOVERNANCE_OFFICER


@pytest.fixture
def trust():
    return AgencyFactory(code="nhs-provider", name="NHS Provider", kind=AgencyKind.NHS_TRUST,
                         dpo_email="dpo@nhs-provider.example.org", dpo_name="Sam Jones",
                         caldicott_guardian_name="Dr Asha Patel")


@pytest.fixture
def council():
    return AgencyFactory(code="lead-council", name="Lead Council", caldicott_guardian_name="")


def active_with(bases: list[str], *, trust, council, special: bool = True):
    DatasetFactory(code="discharge-summaries", name="Discharge summaries", owner=trust, special_category=special,
                   data_items=["name", "NHS number", "care needs"])
    return agreement_factory(lead=council, state="active", flows=[{
        "dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
        "purpose": "Discharge planning", "legal_bases": bases}])


def ask(user, **question) -> dict:
    client = APIClient()
    client.force_authenticate(user)
    body = {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "discharge-summaries", **question}
    response = client.post(URL, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


class NextStepsFollowTheLawTests:
    def test_a_yes_under_explicit_consent_says_to_get_and_record_consent_first(self, trust, council):
        active_with(["ukgdpr-6-1-e", "ukgdpr-9-2-a"], trust=trust, council=council)
        answer = ask(member(trust, Role.FRONTLINE))
        assert answer["allowed"] is True
        first = answer["next_steps"][0]
        assert first.startswith("Get the person's explicit consent, in words, before you share")
        assert "record it" in first and "If they refuse, do not share on this basis" in first
        assert answer["next_step"].startswith(first)
        assert answer["next_steps"][-1].startswith("Share only what is needed for that purpose")
        # The catalogue's line says "your Data Protection Officer"; the answer names the provider's.
        guidance = {b["code"]: b["guidance"] for b in answer["legal_basis_details"]}
        assert guidance["ukgdpr-9-2-a"].replace("your Data Protection Officer", "Sam Jones, the Data Protection "
                                                "Officer of NHS Provider (dpo@nhs-provider.example.org)") == first

    def test_a_yes_under_common_law_consent_says_to_ask_first_and_names_the_caldicott_guardian(self, trust, council):
        active_with(["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2", "common-law-confidentiality-consent"],
                    trust=trust, council=council)
        steps = ask(member(trust, Role.FRONTLINE))["next_steps"]
        assert steps[0].startswith("Ask the person first and record their agreement. If they refuse, do not share")
        assert "Dr Asha Patel, the Caldicott Guardian of NHS Provider" in steps[0]
        assert not [s for s in steps if "your Caldicott Guardian" in s]

    def test_vital_interests_says_share_what_is_needed_now_and_record_why(self, trust, council):
        active_with(["ukgdpr-6-1-d", "ukgdpr-9-2-c"], trust=trust, council=council)
        steps = ask(member(trust, Role.FRONTLINE))["next_steps"]
        assert any(s.startswith("Share only what is needed now to protect the person's life") and "record why" in s
                   for s in steps)

    def test_section_115_says_crime_and_disorder_purposes_only(self, trust, council):
        active_with(["ukgdpr-6-1-e", "crime-and-disorder-act-1998-s115"], trust=trust, council=council,
                    special=False)
        steps = ask(member(trust, Role.FRONTLINE))["next_steps"]
        assert "Use this only for crime and disorder purposes" in " ".join(steps)

    def test_every_basis_in_the_catalogue_has_one_plain_line(self):
        bases = list(LegalBasis.objects.filter(active=True))
        assert len(bases) >= 30
        assert [b.code for b in bases if not b.guidance.strip()] == []
        assert [b.code for b in bases if "\n" in b.guidance or "ukgdpr-" in b.guidance] == []

    def test_the_page_lists_the_steps_consent_first(self, trust, council):
        active_with(["ukgdpr-6-1-e", "ukgdpr-9-2-a"], trust=trust, council=council)
        client = Client()
        client.force_login(member(trust, Role.FRONTLINE))
        html = client.post("/check/", {"provider": "nhs-provider", "recipient": "Lead Council",
                                       "dataset": "Discharge summaries"}).content.decode()
        steps = html.split('id="next-steps"', 1)[1].split("</ol>", 1)[0]
        assert steps.index("explicit consent") < steps.index("Share only what is needed")
        assert "Caldicott Guardian of NHS Provider: Dr Asha Patel" in html
        assert "Data Protection Officer of NHS Provider: Sam Jones, " in html


class NamedContactsTests:
    def test_answers_say_your_caldicott_guardian_the_no_names_them(self, trust, council):
        DatasetFactory(code="discharge-summaries", owner=trust)
        answer = ask(member(trust, Role.FRONTLINE))
        assert answer["outcome"] == "no_agreement"
        assert "speak to Dr Asha Patel, the Caldicott Guardian of NHS Provider, or Sam Jones, the Data Protection " \
               "Officer of NHS Provider (dpo@nhs-provider.example.org) today" in answer["next_step"]
        assert "your Caldicott Guardian" not in answer["next_step"]
        assert answer["provider_contacts"] == {"agency": "nhs-provider", "name": "NHS Provider",
                                               "dpo_name": "Sam Jones", "dpo_email": "dpo@nhs-provider.example.org",
                                               "caldicott_guardian": "Dr Asha Patel"}

    def test_a_provider_without_a_guardian_on_record_is_not_given_one(self, trust, council):
        DatasetFactory(code="council-tenancies", owner=council)
        answer = ask(member(council, Role.FRONTLINE), provider="lead-council", recipient="nhs-provider",
                     dataset="council-tenancies")
        assert answer["provider_contacts"]["caldicott_guardian"] is None
        assert answer["provider_contacts"]["dpo_name"] is None
        assert "your Caldicott Guardian or the Data Protection Officer of Lead Council" in answer["next_step"]


class SuspensionReasonTests:
    REASON = "A data breach at the trust is being investigated"

    @pytest.fixture
    def suspended(self, trust, council):
        agreement = active_with(["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"], trust=trust,
                                council=council)
        return services.agreement_suspend(actor=member(trust, GO), agreement=agreement, reason=self.REASON)

    def test_the_suspend_page_promises_the_reason_the_check_quotes_it(self, suspended, trust):
        answer = ask(member(trust, Role.FRONTLINE))
        assert answer["outcome"] == "suspended"
        assert answer["reason"].endswith(f"is suspended now. The reason given: “{self.REASON}”.")
        assert answer["suspension_reason"] == self.REASON

    def test_the_page_quotes_it_too(self, suspended, trust):
        client = Client()
        client.force_login(member(trust, Role.FRONTLINE))
        html = client.post("/check/", {"provider": "nhs-provider", "recipient": "Lead Council",
                                       "dataset": "Discharge summaries"}).content.decode()
        assert f"The reason given: “{self.REASON}”" in html

    def test_an_outsider_gets_the_generic_answer(self, suspended):
        auditor = member(AgencyFactory(code="elsewhere"), Role.AUDITOR)
        answer = ask(auditor)
        assert answer["outcome"] == "not_visible"
        assert self.REASON not in answer["reason"] + answer["next_step"]
        assert answer["suspension_reason"] is None

    def test_reinstated_it_says_yes_again_without_the_reason(self, suspended, trust):
        services.agreement_reinstate(actor=member(trust, GO), agreement=suspended, reason="Investigation closed")
        answer = ask(member(trust, Role.FRONTLINE))
        assert answer["allowed"] is True and answer["suspension_reason"] is None

    def test_suspensions_made_before_periods_kept_reasons_get_theirs_from_the_audit_log(self, suspended, trust):
        import importlib

        from django.apps import apps

        from agreements.models import AgreementPeriod

        AgreementPeriod.objects.filter(agreement=suspended).update(reason="")  # as the migration finds them
        importlib.import_module("agreements.migrations.0013_period_reason").backfill(apps, None)
        period = AgreementPeriod.objects.get(agreement=suspended, state="suspended")
        assert period.reason == self.REASON
        assert ask(member(trust, Role.FRONTLINE))["suspension_reason"] == self.REASON

    def test_the_check_still_costs_a_fixed_number_of_queries(self, suspended, trust, django_assert_max_num_queries):
        client = APIClient()
        client.force_authenticate(member(trust, Role.FRONTLINE))
        body = {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "discharge-summaries"}
        client.post(URL, body, format="json")
        with django_assert_max_num_queries(5):
            assert client.post(URL, body, format="json").json()["suspension_reason"] == self.REASON


class PastSuspensionTests:
    """A check about a day when the agreement, in force again now, was suspended."""

    def test_only_askers_who_see_the_agreement_in_full_hear_the_reason(self, trust, council):
        import datetime as dt

        from django.utils import timezone

        from agreements.choices import PeriodState
        from agreements.models import AgreementPeriod
        from tests.agreements.builders import at, build_agreement

        today = timezone.localdate()
        dataset = DatasetFactory(code="discharge-summaries", owner=trust)
        agreement = build_agreement(
            provider=trust, recipient=council, dataset=dataset, start=today - dt.timedelta(days=60),
            periods=[(PeriodState.IN_FORCE, at(today - dt.timedelta(days=30)), at(today - dt.timedelta(days=10))),
                     (PeriodState.SUSPENDED, at(today - dt.timedelta(days=10)), at(today - dt.timedelta(days=5))),
                     (PeriodState.IN_FORCE, at(today - dt.timedelta(days=5)), None)])
        AgreementPeriod.objects.filter(agreement=agreement, state=PeriodState.SUSPENDED).update(
            reason="Waiting for the new DPIA")
        on = (today - dt.timedelta(days=7)).isoformat()

        mine = ask(member(trust, Role.FRONTLINE), on=on)
        assert mine["outcome"] == "suspended"
        assert mine["suspension_reason"] == "Waiting for the new DPIA"
        assert mine["reason"].endswith("The reason given: “Waiting for the new DPIA”.")
        # An auditor of another agency sees the agreement's public summary (it is active now), not its reasons.
        theirs = ask(member(AgencyFactory(code="elsewhere"), Role.AUDITOR), on=on)
        assert theirs["outcome"] == "suspended"
        assert theirs["suspension_reason"] is None
        assert "DPIA" not in theirs["reason"]
