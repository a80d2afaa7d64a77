"""The dashboard's "Waiting for you": exactly what the lifecycle lets this officer do now and waits on them, in a fixed
number of queries however many agreements there are."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from agencies.choices import Role
from agreements import services
from agreements.dashboard import dashboard_for
from agreements.lifecycle import Action, verdict
from agreements.models import Agreement
from tests.factories import AgencyFactory, DatasetFactory, agreement_factory, member

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER
TODAY = timezone.localdate()


def world():
    """Drafts, versions awaiting signature, reviews due and suspensions, all involving the NHS provider."""
    lead = AgencyFactory(code="lead-council", name="Lead Council")
    nhs = AgencyFactory(code="nhs-provider", name="NHS Provider")
    DatasetFactory(code="discharge-summaries", owner=nhs, special_category=True)
    member(nhs, GO, username="nhs-provider-governance_officer")
    draft = agreement_factory(lead=lead, title="A draft")
    submitted = agreement_factory(lead=lead, state="submitted", title="Awaiting signatures")
    due = agreement_factory(lead=lead, state="active", title="Review due", start_date=TODAY - dt.timedelta(400),
                            review_date=TODAY + dt.timedelta(days=20), end_date=TODAY + dt.timedelta(days=500))
    suspended = agreement_factory(lead=lead, state="active", title="Suspended by NHS",
                                  review_date=TODAY + dt.timedelta(days=300))
    nhs_officer = member(nhs, GO, username="nhs-provider-governance_officer")
    services.agreement_suspend(actor=nhs_officer, agreement=suspended, reason="Checking a breach.")
    return lead, nhs, nhs_officer, {"draft": draft, "submitted": submitted, "due": due, "suspended": suspended}


class WaitingForYouTests:
    def test_each_item_is_one_the_lifecycle_allows_now(self):
        lead, nhs, nhs_officer, agreements = world()
        board = dashboard_for(user=nhs_officer, today=TODAY)
        got = {(item.action, item.agreement.reference) for item in board.waiting}
        assert got == {(Action.SIGN, agreements["submitted"].reference),
                       (Action.REVIEW, agreements["due"].reference),
                       (Action.REINSTATE, agreements["suspended"].reference)}
        for item in board.waiting:  # the same answer the service would give
            assert verdict(user=nhs_officer, agreement=Agreement.objects.get(pk=item.agreement.pk),
                           action=item.action).allowed, item
        drafter = agreements["draft"].created_by
        drafts = {(i.action, i.agreement.reference) for i in dashboard_for(user=drafter, today=TODAY).waiting}
        assert (Action.SUBMIT, agreements["draft"].reference) in drafts
        assert (Action.REINSTATE, agreements["suspended"].reference) not in drafts  # NHS suspended it, not them

    def test_a_confirmed_review_leaves_the_list(self):
        _lead, _nhs, nhs_officer, agreements = world()
        services.agreement_review(actor=nhs_officer, agreement=agreements["due"],
                                  next_review_date=TODAY + dt.timedelta(days=200))
        actions = {(i.action, i.agreement.reference) for i in dashboard_for(user=nhs_officer, today=TODAY).waiting}
        assert (Action.REVIEW, agreements["due"].reference) not in actions

    def test_the_page_links_each_item_to_its_action_in_a_fixed_number_of_queries(self, django_assert_max_num_queries):
        _lead, _nhs, nhs_officer, agreements = world()
        client = Client()
        client.force_login(nhs_officer)
        client.get("/")
        with django_assert_max_num_queries(40) as first:
            html = client.get("/").content.decode()
        waiting = html.split("Waiting for you", 1)[1].split("Your drafts", 1)[0]
        assert f'href="/agreements/{agreements["submitted"].reference}/sign/"' in waiting
        assert f'href="/agreements/{agreements["due"].reference}/review/"' in waiting
        assert f'href="/agreements/{agreements["suspended"].reference}/reinstate/"' in waiting
        for n in range(3):  # more of everything: the same number of queries
            more = agreement_factory(lead=agreements["draft"].lead_agency, state="submitted", title=f"More {n}")
            assert more.status == "submitted"
        with django_assert_max_num_queries(len(first.captured_queries)):
            client.get("/")
