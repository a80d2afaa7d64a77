"""Forms want codes: each finding, reproduced through the agreement form (no JavaScript, as the test client posts
it), the type-ahead's lookups and the rules' messages. Every test here failed before names were accepted and
errors named things as people know them.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agencies.choices import AgencyKind, Role
from agencies.models import Dataset
from agencies.services import dataset_permissions_ensure
from agreements import services
from agreements.models import Agreement
from agreements.rules import TermsInvalid, version_warnings
from audit.models import AuditEvent
from tests.agreements.views.test_form import DISCHARGE, Page, form_data, inline_error
from tests.factories import AgencyFactory, DatasetFactory, agreement_factory, member

pytestmark = pytest.mark.django_db

CODES = ("ukgdpr-", "dpa-2018-", "discharge-summaries", "council-tenancies", "domestic-incidents")


@pytest.fixture
def officer(region):
    return member(region.council, Role.GOVERNANCE_OFFICER, username="lead-officer")


def _messages(exc: TermsInvalid) -> list[str]:
    return [str(m) for messages in exc.message_dict.values() for m in messages]


class FormTakesNamesTests:
    def test_forms_want_codes_the_form_takes_agency_and_dataset_names(self, client, region, officer):
        client.force_login(officer)
        flow = {**DISCHARGE, "provider": "NHS Provider", "recipient": "lead council", "dataset": "Discharge Summaries"}
        response = client.post("/agreements/new/", form_data(flows=(flow,)))
        assert response.status_code == 302, Page(response.content.decode()).summary()
        saved = Agreement.objects.get().current_version.flows.get()
        assert (saved.provider.code, saved.recipient.code, saved.dataset.code) == (
            "nhs-provider", "lead-council", "discharge-summaries")

    def test_a_name_typed_beside_the_list_wins_over_the_list(self, client, region, officer):
        client.force_login(officer)
        flow = {**DISCHARGE, "recipient": "police", "recipient_search": "Lead Council"}
        assert client.post("/agreements/new/", form_data(flows=(flow,))).status_code == 302
        assert Agreement.objects.get().current_version.flows.get().recipient.code == "lead-council"

    def test_a_dataset_name_is_looked_for_among_its_providers_datasets(self, client, region, officer):
        DatasetFactory(code="police-discharges", name="Discharge Summaries", owner=region.police)
        client.force_login(officer)
        flow = {**DISCHARGE, "dataset": "", "dataset_search": "discharge summaries"}
        assert client.post("/agreements/new/", form_data(flows=(flow,))).status_code == 302
        assert Agreement.objects.get().current_version.flows.get().dataset.code == "discharge-summaries"

    def test_a_name_that_matches_several_agencies_lists_them_by_name(self, client, region, officer):
        AgencyFactory(code="nhs-north", name="NHS North")
        client.force_login(officer)
        flow = {**DISCHARGE, "provider": "", "provider_search": "NHS"}
        page = Page(client.post("/agreements/new/", form_data(flows=(flow,))).content.decode())
        assert inline_error(page, "id_flows-0-provider") == (
            "More than one matches “NHS”: NHS North, NHS Provider. Type more of the name")
        assert page.value("id_flows-0-provider_search") == "NHS"  # nothing typed is lost
        assert not Agreement.objects.exists()

    def test_names_cost_the_same_queries_for_one_flow_as_for_many(self, client, region, officer):
        client.force_login(officer)
        named = {**DISCHARGE, "provider": "NHS Provider", "recipient": "Lead Council", "dataset": "Discharge Summaries",
                 "title": ""}
        extra = [DatasetFactory(code=f"nhs-extra-{n}", name=f"Extra {n}", owner=region.nhs) for n in range(6)]

        def count(flows) -> int:
            with CaptureQueriesContext(connection) as captured:
                assert client.post("/agreements/new/", form_data(title="", flows=flows)).status_code == 400
            return len(captured)

        one = count((named,))
        many = count([named] + [{**named, "dataset": d.name} for d in extra])
        assert many == one


class LookupTests:
    def test_the_type_ahead_finds_any_agency_by_name_in_one_query(self, client, region, officer,
                                                                   django_assert_max_num_queries):
        AgencyFactory.create_batch(30, kind=AgencyKind.OTHER)
        AgencyFactory(code="northside-academy", name="Northside Academy", kind=AgencyKind.EDUCATION)
        client.force_login(officer)
        client.get("/names/agencies/?q=north")
        with django_assert_max_num_queries(6):  # the session, the user, the one lookup and the session's save
            answer = client.get("/names/agencies/?q=north").json()
        assert answer == {"results": [{"value": "northside-academy", "label": "Northside Academy"}]}

    def test_it_finds_a_providers_datasets_labelled_with_the_owner(self, client, region, officer):
        client.force_login(officer)
        answer = client.get("/names/datasets/?q=summ&provider=nhs-provider").json()
        assert answer == {"results": [{"value": "discharge-summaries", "label": "Discharge Summaries (NHS Provider)",
                                       "owner": "nhs-provider"}]}
        assert client.get("/names/datasets/?q=summ&provider=police").json() == {"results": []}

    def test_it_answers_only_signed_in_users(self, client, region):
        assert client.get("/names/agencies/?q=lead").status_code == 302


class AddDataItemTests:
    def test_an_officer_of_the_owner_adds_a_data_item_from_the_form(self, client, region):
        dataset_permissions_ensure(dataset=region.discharge)  # as registering it through its page does
        nhs_officer = member(region.nhs, Role.GOVERNANCE_OFFICER)
        client.force_login(nhs_officer)
        flow = {**DISCHARGE, "new_data_item": "GP practice"}
        response = client.post("/agreements/new/", {**form_data(flows=(flow,)), "add_item": "0"})
        assert response.status_code == 200
        page = Page(response.content.decode())
        assert Dataset.objects.get(code="discharge-summaries").data_items[-1] == "GP practice"
        event = AuditEvent.objects.get(action="dataset.updated", object_ref="discharge-summaries")
        assert event.detail["changes"]["data_items"][1][-1] == "GP practice"
        # The form is drawn again as typed, the new item listed among the flow's items; nothing else is saved.
        assert page.value("id_title") == "Hospital discharge"
        assert page.value("id_flows-0-data_items").splitlines() == ["name", "NHS number", "GP practice"]
        assert page.value("id_flows-0-new_data_item") == ""
        assert "“GP practice” is now a data item of Discharge Summaries" in response.content.decode()
        assert not Agreement.objects.exists()

    def test_an_officer_of_another_agency_is_told_who_can(self, client, region, officer):
        client.force_login(officer)
        flow = {**DISCHARGE, "new_data_item": "GP practice"}
        response = client.post("/agreements/new/", {**form_data(flows=(flow,)), "add_item": "0"})
        assert response.status_code == 400
        page = Page(response.content.decode())
        assert inline_error(page, "id_flows-0-new_data_item").startswith(
            "Only governance officers and administrators of NHS Provider can add items to Discharge Summaries")
        assert "GP practice" not in Dataset.objects.get(code="discharge-summaries").data_items
        assert not AuditEvent.objects.filter(action="dataset.updated").exists()


class ErrorsNameThingsTests:
    """No `ukgdpr-6-1-e`, no `'discharge-summaries'`: errors and warnings name the law and the data."""

    def test_errors_show_codes_the_legal_basis_errors_name_the_law(self, region):
        with pytest.raises(TermsInvalid) as caught:
            services.agreement_create(actor=member(region.council, Role.GOVERNANCE_OFFICER), **region.terms(flows=[
                {"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
                 "legal_bases": ["dpa-2018-sch1-para2"]},
                {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
                 "legal_bases": ["ukgdpr-6-1-e"]},
            ]))
        messages = _messages(caught.value)
        assert any("public task (Article 6(1)(e))" in m for m in messages)
        assert any("health or social care (Article 9(2)(h))" in m for m in messages)
        assert any("Discharge Summaries holds special category data" in m for m in messages)
        assert any("Domestic Incidents holds criminal offence data" in m for m in messages)
        assert not [m for m in messages if any(code in m for code in CODES)]

    def test_errors_show_codes_the_dataset_errors_name_the_dataset(self, region):
        with pytest.raises(TermsInvalid) as caught:
            services.agreement_create(actor=member(region.council, Role.GOVERNANCE_OFFICER), **region.terms(flows=[
                {"dataset": "council-tenancies", "provider": "nhs-provider", "recipient": "lead-council",
                 "legal_bases": ["ukgdpr-6-1-e"]},
                {"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "police",
                 "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"], "data_items": ["shoe size"]},
            ]))
        messages = _messages(caught.value)
        assert any("The dataset Council Tenancies belongs to Lead Council" in m for m in messages)
        assert any("not in the dataset Discharge Summaries: shoe size" in m for m in messages)
        assert not [m for m in messages if any(code in m for code in CODES)]

    def test_errors_show_codes_signing_warnings_name_the_dataset_and_the_law(self, region):
        agreement = agreement_factory(flows=[{
            "dataset": "council-tenancies", "provider": "lead-council", "recipient": "nhs-provider",
            "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "ukgdpr-10"]}])
        warnings = version_warnings(agreement.current_version)
        assert any("the dataset Council Tenancies is not marked as holding special category" in w for w in warnings)
        assert any("UK GDPR Article 9(2)(h) and UK GDPR Article 10 also needs a condition from Schedule 1" in w
                   for w in warnings)
        assert not [w for w in warnings if any(code in w for code in CODES)]

    def test_errors_show_codes_signing_for_an_agency_that_is_not_a_party_names_it(self, region):
        from rest_framework.test import APIClient

        agreement = agreement_factory(state="submitted")
        client = APIClient()
        client.force_authenticate(member(agreement.current_version.flows.get().provider, Role.GOVERNANCE_OFFICER))
        response = client.post(f"/api/v1/agreements/{agreement.reference}/approve/", {"agency": "police"},
                               format="json")
        assert response.status_code == 400
        assert response.json() == {"agency": [f"Police is not a party to {agreement.reference}."]}
