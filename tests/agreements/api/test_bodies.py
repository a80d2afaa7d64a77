"""The agreement bodies the API sends, pinned whole: every key, its order and every byte of the JSON.

Clients compare these bodies and tests read them field by field, so a change to how they are produced (the
serializers in agreements/api/serializers.py) must leave them exactly as they are. The clock is pinned to a summer
day, so a date-time rendered in London time rather than UTC would show, and so would a digest that moved.
"""

import datetime as dt
import json

import pytest
import time_machine

from agencies.choices import Role
from agreements import services
from agreements.api.serializers import AgreementOutputSerializer
from agreements.selectors import RegisterPaginator, agreement_get, agreement_search
from tests.clients import api
from tests.factories import agreement_factory, member

pytestmark = pytest.mark.django_db

GO = Role.GOVERNANCE_OFFICER
NOW = dt.datetime(2026, 7, 15, 9, 30, 15, 123456, tzinfo=dt.UTC)  # 10:30 in London (BST)
TENANCIES = {"dataset": "council-tenancies", "provider": "lead-council", "recipient": "nhs-provider",
             "purpose": "Find tenants leaving hospital", "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h"],
             "data_items": ["address"], "method": "api", "frequency": "daily", "retention": "Two years"}


@pytest.fixture
def pinned():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def agreements(region, pinned):
    """An agreement in force with a draft amendment (new title, a flow added that draws a warning), and one signed
    by every party that has not started yet."""
    amended = agreement_factory(state="active", start_date=dt.date(2026, 1, 1), end_date=dt.date(2027, 12, 31),
                                review_date=dt.date(2027, 6, 30), dpia_reference="DPIA-7")
    drafter = member(region.council, GO)
    services.agreement_amend(actor=drafter, agreement=amended)
    flows = [{"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
              "purpose": "Discharge planning", "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]},
             TENANCIES]
    services.agreement_update(actor=drafter, agreement=amended, title="Hospital discharge, both ways", flows=flows)
    later = agreement_factory(state="active", title="Starts next year", start_date=dt.date(2027, 4, 1),
                              end_date=dt.date(2028, 3, 31), review_date=dt.date(2027, 10, 1))
    return amended.reference, later.reference


def compact(body) -> bytes:
    """As DRF's JSONRenderer writes it (compact, UTF-8): the bytes a client receives."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def parties_signed(version_signed=1, approved=True):
    signer = {"lead-council": "lead-council-second-officer", "nhs-provider": "nhs-provider-governance_officer"}
    return [
        {"agency": code, "approved": approved, "approved_by": signer[code] if approved else None,
         "approved_by_name": signer[code] if approved else None, "approved_by_job_title": "" if approved else None,
         "approved_at": "2026-07-15T09:30:15.123456Z" if approved else None, "version_signed": version_signed}
        for code in ("lead-council", "nhs-provider")
    ]


DISCHARGE = {"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
             "purpose": "Discharge planning", "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"],
             "data_items": ["name", "NHS number", "discharge date", "care needs"], "method": "secure_email",
             "frequency": "as_needed", "retention": ""}
DEFAULT_DISCHARGE = {**DISCHARGE, "purpose": "Plan care for patients leaving hospital"}


def full_amended(reference: str) -> dict:
    return {
        "reference": reference, "status": "active", "status_label": "Active", "in_force_today": True,
        "access": "full", "title": "Hospital discharge, both ways",
        "purpose": "Plan care for patients leaving hospital", "lead_agency": "lead-council",
        "start_date": "2026-01-01", "end_date": "2027-12-31",
        "review_date": "2027-06-30", "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"],
        "parties": parties_signed(version_signed=1, approved=False),
        "version": 2, "version_state": "draft", "in_force_version": 1, "dpia_reference": "DPIA-7",
        "flows": [DISCHARGE, {**TENANCIES, "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h"]}],
        "warnings": [
            "Flow 2: an Article 9 condition is cited, but the dataset Council Tenancies is not marked as holding "
            "special category data. Check the dataset, or remove the condition if it is not needed.",
            "Flow 2: UK GDPR Article 9(2)(h) also needs a condition from Schedule 1 to the Data Protection Act 2018 "
            "(for example paragraph 2, health or social care purposes, or paragraph 18, safeguarding of children "
            "and individuals at risk). Name it in the flow's legal bases.",
        ],
        "content_sha256": AMENDED_SHA256,
    }


def full_later(reference: str) -> dict:
    return {
        "reference": reference, "status": "active", "status_label": "Signed: starts 1 April 2027",
        "in_force_today": False, "access": "full", "title": "Starts next year",
        "purpose": "Plan care for patients leaving hospital", "lead_agency": "lead-council",
        "start_date": "2027-04-01", "end_date": "2028-03-31", "review_date": "2027-10-01",
        "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"],
        "parties": parties_signed(), "version": 1, "version_state": "signed", "in_force_version": 1,
        "dpia_reference": "", "flows": [DEFAULT_DISCHARGE], "warnings": [], "content_sha256": LATER_SHA256,
    }


def summary_amended(reference: str) -> dict:
    return {
        "reference": reference, "status": "active", "status_label": "Active", "in_force_today": True,
        "access": "summary", "title": "Hospital discharge to adult social care",
        "purpose": "Plan care for patients leaving hospital", "lead_agency": "lead-council",
        "start_date": "2026-01-01", "end_date": "2027-12-31", "review_date": "2027-06-30",
        "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"],
        "parties": [{"agency": "lead-council"}, {"agency": "nhs-provider"}],
    }


def summary_later(reference: str) -> dict:
    return {
        "reference": reference, "status": "active", "status_label": "Signed: starts 1 April 2027",
        "in_force_today": False, "access": "summary", "title": "Starts next year",
        "purpose": "Plan care for patients leaving hospital", "lead_agency": "lead-council",
        "start_date": "2027-04-01", "end_date": "2028-03-31", "review_date": "2027-10-01",
        "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"],
        "parties": [{"agency": "lead-council"}, {"agency": "nhs-provider"}],
    }


AMENDED_SHA256 = "029d9df3433857bd1e8cf91aa9009610f10d0f14d833efc0a05d628e057d4a8c"
SIGNED_AMENDMENT_SHA256 = "d49cf809ac10650840f40537958e97412ef5fdcd3defc6d279dc0f35cbb593ce"
LATER_SHA256 = "723b587665227b2e5a84209297ae3ad3111a2592bfb82c6b9bce29b086fb62c8"


class DetailBodyTests:
    def test_the_full_record(self, region, agreements):
        amended, later = agreements
        client = api(member(region.nhs, Role.FRONTLINE))
        assert client.get(f"/api/v1/agreements/{amended}/").content == compact(full_amended(amended))
        assert client.get(f"/api/v1/agreements/{later}/").content == compact(full_later(later))

    def test_the_summary(self, region, agreements):
        amended, later = agreements
        client = api(member(region.fire, GO))
        assert client.get(f"/api/v1/agreements/{amended}/").content == compact(summary_amended(amended))
        assert client.get(f"/api/v1/agreements/{later}/").content == compact(summary_later(later))


class ListBodyTests:
    def test_a_page_of_full_records(self, region, agreements):
        amended, later = agreements
        body = api(member(region.nhs, Role.FRONTLINE)).get("/api/v1/agreements/").content
        assert body == compact({"count": 2, "next": None, "previous": None,
                                "results": [full_later(later), full_amended(amended)], "count_exact": True})

    def test_a_page_of_summaries(self, region, agreements):
        amended, later = agreements
        body = api(member(region.fire, GO)).get("/api/v1/agreements/?page_size=1").content
        assert body == compact({"count": 2, "next": "http://testserver/api/v1/agreements/?page=2&page_size=1",
                                "previous": None, "results": [summary_later(later)], "count_exact": True})
        body = api(member(region.fire, GO)).get("/api/v1/agreements/?page=2&page_size=1").content
        assert body == compact({"count": 2, "next": None, "previous": "http://testserver/api/v1/agreements/?page_size=1",
                                "results": [summary_amended(amended)], "count_exact": True})


class WritesTests:
    def test_an_action_answers_with_the_full_record(self, region, agreements):
        amended, _ = agreements
        body = api(member(region.council, GO)).post(f"/api/v1/agreements/{amended}/submit/").content
        assert body == compact({**full_amended(amended), "version_state": "submitted"})

    def test_a_signature_on_the_amendment_shows_beside_the_one_in_force(self, region, agreements):
        amended, _ = agreements
        api(member(region.council, GO)).post(f"/api/v1/agreements/{amended}/submit/")
        body = api(member(region.nhs, GO)).post(f"/api/v1/agreements/{amended}/approve/",
                                                       {"authorised_to_sign": True}, format="json").content
        council, nhs = parties_signed(version_signed=1, approved=False)
        nhs.update(approved=True, approved_by="nhs-provider-governance_officer",
                   approved_by_name="nhs-provider-governance_officer", approved_by_job_title="",
                   approved_at="2026-07-15T09:30:15.123456Z", version_signed=2)
        assert body == compact({**full_amended(amended), "version_state": "submitted", "parties": [council, nhs],
                                "content_sha256": SIGNED_AMENDMENT_SHA256})


class SerializerTests:
    def test_the_serializer_gives_what_the_views_send(self, region, agreements):
        """A page rendered through the serializer directly, as the register's views and benchmarks do."""
        amended, later = agreements
        user = member(region.nhs, Role.FRONTLINE)
        page = RegisterPaginator(agreement_search(user=user, filters={"agency": "lead-council"}), 50).page(1)
        data = AgreementOutputSerializer(page, many=True).data
        assert compact(data) == compact([full_later(later), full_amended(amended)])
        one = AgreementOutputSerializer(agreement_get(user=member(region.fire, GO), reference=amended)).data
        assert compact(one) == compact(summary_amended(amended))
