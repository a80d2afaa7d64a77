"""The pages that draft and change an agreement, through Django's test client (no JavaScript, as a browser
without it would post them). The same form is driven in a real Chromium in tests/browser/test_agreement_form.py.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from rest_framework import serializers

from agencies.choices import Role
from agreements import services
from agreements.choices import TermsErrorCode, VersionState
from agreements.forms import FlowForm
from agreements.models import Agreement, LegalBasis
from agreements.rules import TermsInvalid, resolve_terms
from audit.models import AuditEvent
from tests.dates import END, REVIEW, START, iso
from tests.factories import AgencyFactory, DatasetFactory, UserFactory, agreement_factory, member

pytestmark = pytest.mark.django_db


# --- reading the page as a person (and a screen reader) would ----------------------------------------------------

VOID = {"input", "br", "meta", "link", "img", "hr", "source", "wbr", "area", "base", "col", "embed", "track"}


class Page(HTMLParser):
    """The rendered page: elements by id, their text, and the error summary's links."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[dict] = []
        self.by_id: dict[str, dict] = {}
        self.elements: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        element = {"tag": tag, "attrs": dict(attrs), "text": [], "children": []}
        if self.stack:
            self.stack[-1]["children"].append(element)
        self.elements.append(element)
        if "id" in element["attrs"]:
            self.by_id[element["attrs"]["id"]] = element
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index]["tag"] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        for element in self.stack:
            element["text"].append(data)

    def text(self, element_id: str) -> str:
        return " ".join("".join(self.by_id[element_id]["text"]).split())

    def has(self, element_id: str) -> bool:
        return element_id in self.by_id

    def value(self, element_id: str) -> str:
        element = self.by_id[element_id]
        if element["tag"] == "textarea":
            return "".join(element["text"])
        if element["tag"] == "select":
            chosen = [c["attrs"]["value"] for c in element["children"] if c["tag"] == "option" and "selected" in
                      c["attrs"]]
            return chosen[0] if chosen else ""
        return element["attrs"].get("value", "")

    def checked(self, element_id: str) -> bool:
        return "checked" in self.by_id[element_id]["attrs"]

    def summary(self) -> list[tuple[str, str]]:
        """(link target, message) for each entry in the GOV.UK error summary."""
        lists = [e for e in self.elements if "govuk-error-summary__list" in e["attrs"].get("class", "")]
        if not lists:
            return []
        out = []
        for item in lists[0]["children"]:
            for link in item["children"]:
                if link["tag"] == "a":
                    out.append((link["attrs"]["href"], " ".join("".join(link["text"]).split())))
        return out

    def flow_count(self) -> int:
        return len([e for e in self.elements if "app-flow" in e["attrs"].get("class", "")])


def inline_error(page: Page, field_id: str) -> str:
    """The error message drawn beside a field (GOV.UK puts it in <p id="<field>-error">)."""
    return page.text(f"{field_id}-error").removeprefix("Error: ")


# --- the data a person types ------------------------------------------------------------------------------------

DISCHARGE = {"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
             "purpose": "Discharge planning", "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"],
             "data_items": "name\nNHS number", "method": "shared_system", "frequency": "daily",
             "retention": "12 months"}
TENANCIES = {"dataset": "council-tenancies", "provider": "lead-council", "recipient": "police",
             "legal_bases": ["ukgdpr-6-1-e", "crime-and-disorder-act-1998-s115"]}


def form_data(*, flows=(DISCHARGE,), **overrides) -> dict:
    data = {
        "title": "Hospital discharge", "purpose": "Plan care after hospital", "lead_agency": "lead-council",
        "start_date_day": "1", "start_date_month": "1", "start_date_year": str(START.year),
        "end_date_day": "31", "end_date_month": "12", "end_date_year": str(END.year),
        "review_date_day": "30", "review_date_month": "6", "review_date_year": str(REVIEW.year),
        "dpia_reference": "DPIA-2026-7",
        "flows-TOTAL_FORMS": str(len(flows)), "flows-INITIAL_FORMS": "0",
        "flows-MIN_NUM_FORMS": "0", "flows-MAX_NUM_FORMS": "50",
    }
    for position, flow in enumerate(flows):
        row = {"dataset": "", "provider": "", "recipient": "", "purpose": "", "data_items": "",
               "method": "secure_email", "frequency": "as_needed", "retention": "", "legal_bases": [], **flow}
        data.update({f"flows-{position}-{name}": value for name, value in row.items()})
    data.update(overrides)
    return data


@pytest.fixture
def officer(region):
    return member(region.council, Role.GOVERNANCE_OFFICER, username="lead-officer")


# --- drafting -----------------------------------------------------------------------------------------------


class CreatePageTests:
    def test_the_form_has_every_field_with_the_officers_agency_chosen(self, client, officer):
        client.force_login(officer)
        response = client.get("/agreements/new/")
        assert response.status_code == 200
        page = Page(response.content.decode())
        assert page.value("id_lead_agency") == "lead-council"
        for field_id in ("id_title", "id_purpose", "id_start_date_day", "id_start_date_month", "id_start_date_year",
                         "id_end_date_day", "id_review_date_year", "id_dpia_reference", "id_flows-0-dataset",
                         "id_flows-0-provider", "id_flows-0-recipient", "id_flows-0-purpose",
                         "id_flows-0-data_items", "id_flows-0-method", "id_flows-0-frequency", "id_flows-0-retention",
                         "id_flows-0-legal_bases-ukgdpr-6-1-e", "id_flows-0-legal_bases-ukgdpr-10",
                         "id_flows-0-legal_bases-children-act-2004-s11"):
            assert page.has(field_id), field_id
        # Every input has a label that names it.
        html = response.content.decode()
        for field_id in ("id_title", "id_flows-0-dataset", "id_start_date_day", "id_flows-0-legal_bases-ukgdpr-6-1-e"):
            assert f'for="{field_id}"' in html
        assert page.flow_count() == 1
        assert page.summary() == []

    def test_the_lead_agency_offers_only_agencies_the_user_is_an_officer_of(self, client, region, officer):
        member(region.police, Role.GOVERNANCE_OFFICER, username=officer.username)  # an officer of two agencies
        member(region.fire, Role.FRONTLINE, username=officer.username)  # and frontline in a third
        client.force_login(officer)
        html = client.get("/agreements/new/").content.decode()
        select = html.split('id="id_lead_agency"', 1)[1].split("</select>", 1)[0]
        assert re.findall(r'<option value="([^"]*)"', select) == ["", "lead-council", "police"]

    def test_a_new_draft_is_saved_with_its_flows_and_legal_bases_and_audited(self, client, region, officer):
        client.force_login(officer)
        response = client.post("/agreements/new/", form_data(flows=(DISCHARGE, TENANCIES)), follow=True)
        agreement = Agreement.objects.get()
        assert response.redirect_chain == [(f"/agreements/{agreement.reference}/", 302)]
        assert f"Draft agreement {agreement.reference} saved" in response.content.decode()
        version = agreement.current_version
        assert (agreement.status, version.state, agreement.lead_agency.code) == ("draft", "draft", "lead-council")
        assert (version.title, version.purpose, version.dpia_reference) == (
            "Hospital discharge", "Plan care after hospital", "DPIA-2026-7")
        assert (str(version.start_date), str(version.end_date), str(version.review_date)) == (
            iso(START), iso(END), iso(REVIEW))
        flows = list(version.flows.order_by("id"))
        assert [(f.dataset.code, f.provider.code, f.recipient.code) for f in flows] == [
            ("discharge-summaries", "nhs-provider", "lead-council"), ("council-tenancies", "lead-council", "police")]
        assert sorted(b.code for b in flows[0].legal_bases.all()) == sorted(DISCHARGE["legal_bases"])
        assert (flows[0].data_items, flows[0].method, flows[0].frequency, flows[0].retention, flows[0].purpose) == (
            ["name", "NHS number"], "shared_system", "daily", "12 months", "Discharge planning")
        # Left blank: every item of the dataset, and the agreement's purpose.
        assert (flows[1].data_items, flows[1].purpose) == (["name", "address"], "Plan care after hospital")
        assert {p.agency.code for p in version.parties.all()} == {"lead-council", "nhs-provider", "police"}
        event = AuditEvent.objects.get(action="agreement.created")
        assert (event.object_ref, event.actor_id, event.detail["title"]) == (
            agreement.reference, officer.pk, "Hospital discharge")

    def test_a_blank_extra_row_is_left_out(self, client, region, officer):
        client.force_login(officer)
        response = client.post("/agreements/new/", form_data(flows=(DISCHARGE, {})))
        assert response.status_code == 302
        assert Agreement.objects.get().current_version.flows.count() == 1

    def test_only_the_chosen_lead_agencys_officers_may_draft_for_it(self, client, region):
        nhs_officer = member(region.nhs, Role.GOVERNANCE_OFFICER)
        client.force_login(nhs_officer)
        response = client.post("/agreements/new/", form_data())
        assert response.status_code == 400
        page = Page(response.content.decode())
        assert inline_error(page, "id_lead_agency") == "Choose an agency where you are a governance officer"
        assert ("#id_lead_agency", "Choose an agency where you are a governance officer") in page.summary()
        assert not Agreement.objects.exists()

    def test_a_superuser_chooses_any_lead_agency_or_types_its_code(self, client, region):
        client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
        page = Page(client.get("/agreements/new/").content.decode())
        assert page.by_id["id_lead_agency"]["tag"] == "select"
        assert page.by_id["id_lead_agency_search"]["tag"] == "input"  # for an agency not in the list
        assert client.post("/agreements/new/", form_data(lead_agency="fire",
                                                         flows=[{**DISCHARGE, "recipient": "fire"}])).status_code == 302
        assert Agreement.objects.get().lead_agency.code == "fire"


# --- every rule's error, inline and in the summary, with what was typed kept ----------------------------------

SPECIAL_WITHOUT_9 = {**DISCHARGE, "legal_bases": ["ukgdpr-6-1-e"]}
INCIDENTS = {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
             "legal_bases": ["ukgdpr-6-1-e", "crime-and-disorder-act-1998-s115"], "data_items": "incident date"}

RULES = [
    pytest.param({"end_date_year": str(START.year - 1)}, (DISCHARGE,), "id_end_date", "id_end_date_day",
                 "The end date must be on or after the start date.", id="end-before-start"),
    pytest.param({"review_date_year": str(END.year + 1)}, (DISCHARGE,), "id_review_date", "id_review_date_day",
                 "The review date must fall within the agreement's period", id="review-outside-period"),
    pytest.param({"title": ""}, (DISCHARGE,), "id_title", "id_title", "Give the agreement a title.", id="no-title"),
    pytest.param({}, ({**DISCHARGE, "legal_bases": ["ukgdpr-9-2-h", "dpa-2018-sch1-para2"]},),
                 "id_flows-0-legal_bases", "id_flows-0-legal_bases-ukgdpr-6-1-a",
                 "Name at least one UK GDPR Article 6 lawful basis", id="no-article-6"),
    pytest.param({}, (SPECIAL_WITHOUT_9,), "id_flows-0-legal_bases", "id_flows-0-legal_bases-ukgdpr-6-1-a",
                 "holds special category data (such as health), so also name a UK GDPR Article 9 condition",
                 id="special-category-without-article-9"),
    pytest.param({}, (DISCHARGE, INCIDENTS), "id_flows-1-legal_bases", "id_flows-1-legal_bases-ukgdpr-6-1-a",
                 "holds criminal offence data, so also cite UK GDPR Article 10", id="criminal-without-article-10"),
    pytest.param({}, ({**DISCHARGE, "recipient": "nhs-provider"},), "id_flows-0-recipient", "id_flows-0-recipient",
                 "The provider and the recipient must be different agencies.", id="provider-is-recipient"),
    pytest.param({}, ({**DISCHARGE, "dataset": "council-tenancies", "data_items": ""},), "id_flows-0-dataset",
                 "id_flows-0-dataset", "The dataset Council Tenancies belongs to Lead Council, not to NHS Provider.",
                 id="dataset-not-the-providers"),
    pytest.param({}, ({**DISCHARGE, "dataset": "atlantis"},), "id_flows-0-dataset", "id_flows-0-dataset",
                 "Nothing matches “atlantis”. Check the spelling, or choose from the list", id="unknown-dataset"),
    pytest.param({}, ({**DISCHARGE, "provider": "nowhere-trust"},), "id_flows-0-provider", "id_flows-0-provider",
                 "Nothing matches “nowhere-trust”. Check the spelling, or choose from the list",
                 id="unknown-agency"),
    pytest.param({}, (DISCHARGE, DISCHARGE), "id_flows-1-dataset", "id_flows-1-dataset",
                 "This repeats flow 1", id="duplicate-flow"),
    pytest.param({}, ({**DISCHARGE, "data_items": "name\nshoe size"},), "id_flows-0-data_items",
                 "id_flows-0-data_items", "These items are not in the dataset Discharge Summaries: shoe size.",
                 id="data-items-outside-the-dataset"),
    pytest.param({"start_date_day": "31", "start_date_month": "2"}, (DISCHARGE,), "id_start_date",
                 "id_start_date_day", "Start date must be a real date", id="not-a-real-date"),
    pytest.param({"end_date_month": ""}, (DISCHARGE,), "id_end_date", "id_end_date_month",
                 "End date must include a month", id="part-of-a-date-missing"),
    pytest.param({"review_date_month": "13"}, (DISCHARGE,), "id_review_date", "id_review_date_month",
                 "Review date must be a real date", id="no-such-month"),
    pytest.param({"start_date_day": "99999999999999999999"}, (DISCHARGE,), "id_start_date", "id_start_date_day",
                 "Start date must be a real date", id="a-day-too-big-for-a-computer"),
    pytest.param({"start_date_year": "²⁰²⁶"}, (DISCHARGE,), "id_start_date", "id_start_date_year",
                 "Start date must be a real date, in numbers", id="not-plain-digits"),
    pytest.param({"end_date_year": "27"}, (DISCHARGE,), "id_end_date", "id_end_date_year",
                 "The year of the end date must include 4 numbers", id="two-digit-year"),
]


class RuleErrorTests:
    @pytest.mark.parametrize(("overrides", "flows", "field_id", "anchor", "message"), RULES)
    def test_the_error_is_beside_its_field_and_in_the_summary_and_nothing_typed_is_lost(
        self, client, region, officer, overrides, flows, field_id, anchor, message
    ):
        client.force_login(officer)
        data = form_data(flows=flows, **overrides)
        response = client.post("/agreements/new/", data)
        assert response.status_code == 400
        assert not Agreement.objects.exists()
        assert not AuditEvent.objects.filter(action="agreement.created").exists()
        page = Page(response.content.decode())
        assert message in inline_error(page, field_id)
        assert page.by_id[anchor], "the summary link's target exists"
        flow_number = re.match(r"id_flows-(\d+)-", field_id)
        prefix = f"Flow {int(flow_number.group(1)) + 1}: " if flow_number else ""
        assert any(href == f"#{anchor}" and text.startswith(prefix) and message in text
                   for href, text in page.summary()), page.summary()
        assert response.content.decode().count("There is a problem") == 1
        assert "<title>Error: Draft a new agreement" in response.content.decode()
        # Everything typed comes back as typed.
        for name in ("title", "purpose", "dpia_reference", "start_date_day", "start_date_month", "start_date_year",
                     "end_date_day", "end_date_month", "end_date_year", "review_date_year"):
            assert page.value(f"id_{name}") == data[name], name
        assert page.value("id_lead_agency") == "lead-council"
        assert page.flow_count() == len(flows)
        for position, flow in enumerate(flows):
            for name in ("dataset", "provider", "recipient", "purpose", "method", "frequency", "retention"):
                assert page.value(f"id_flows-{position}-{name}") == flow.get(name, data[f"flows-{position}-{name}"])
            assert page.value(f"id_flows-{position}-data_items").strip() == flow.get("data_items", "").strip()
            for code in ("ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2", "crime-and-disorder-act-1998-s115"):
                assert page.checked(f"id_flows-{position}-legal_bases-{code}") == (code in flow["legal_bases"])

    def test_a_legal_basis_error_opens_the_group_it_asks_for_and_no_other(self, client, region, officer):
        client.force_login(officer)
        html = client.post("/agreements/new/", form_data(flows=(SPECIAL_WITHOUT_9, TENANCIES))).content.decode()
        first, second = html.split('id="flow-1"', 1)[1].split('id="flow-2"', 1)
        opened = re.findall(r'<details[^>]* open>\s*<summary[^>]*><span[^>]*>([^<]+)</span>', first)
        assert opened == ["UK GDPR Article 9 conditions (special category data, such as health)"]
        # The other groups (and "The item you need is not in the dataset?") stay closed, so the page stays short.
        assert first.count("<details") == 5
        # The second row has no error: only the group with its ticked gateway is open.
        assert second.count(" open>") == 1

    def test_the_group_a_rule_opens_follows_its_code_not_its_wording(self, db):
        catalogue = list(LegalBasis.objects.all())

        def opened(error: ValidationError) -> set[str]:
            row = FlowForm(prefix="flows-0", catalogue=catalogue)
            row.cleaned_data = {}
            row.add_error("legal_bases", error)
            return {group["kind"] for group in row.basis_groups() if group["open"]}

        assert opened(ValidationError("Cite Article 9 here", code=TermsErrorCode.UNKNOWN_LEGAL_BASIS)) == {"article6"}
        assert opened(ValidationError("Reworded", code=TermsErrorCode.NO_ARTICLE9)) == {"article6", "article9"}
        assert opened(ValidationError("Reworded", code=TermsErrorCode.NO_ARTICLE10)) == {
            "article6", "article10", "statute"}

    def test_the_api_reports_each_rules_code(self, region, officer):
        with pytest.raises(TermsInvalid) as refused:
            resolve_terms(lead_agency="lead-council", title="", purpose="p", start_date=None, end_date=None,
                          review_date=None, dpia_reference="", flows=[{**SPECIAL_WITHOUT_9, "data_items": []}])
        codes = serializers.ValidationError(refused.value.errors).get_codes()
        assert codes["title"] == ["required"] and codes["start_date"] == ["required"]
        assert "no_article9" in codes["flows"][0]["legal_bases"]

    def test_only_the_wrong_box_of_a_date_is_marked(self, client, region, officer):
        client.force_login(officer)
        page = Page(client.post("/agreements/new/", form_data(end_date_month="")).content.decode())
        marked = {part: "govuk-input--error" in page.by_id[f"id_end_date_{part}"]["attrs"]["class"]
                  for part in ("day", "month", "year")}
        assert marked == {"day": False, "month": True, "year": False}
        assert "govuk-input--error" not in page.by_id["id_start_date_day"]["attrs"]["class"]

    def test_every_mistake_shows_at_once_even_when_a_date_does_not_parse(self, client, region, officer):
        client.force_login(officer)
        data = form_data(title="", start_date_day="32", flows=({**DISCHARGE, "dataset": "atlantis"},))
        page = Page(client.post("/agreements/new/", data).content.decode())
        assert [href for href, _ in page.summary()] == ["#id_title", "#id_start_date_day", "#id_flows-0-dataset"]
        assert inline_error(page, "id_start_date") == "Start date must be a real date"
        assert not Agreement.objects.exists()

    def test_an_agreement_with_no_flows_says_so(self, client, region, officer):
        client.force_login(officer)
        page = Page(client.post("/agreements/new/", form_data(flows=({},))).content.decode())
        assert page.summary() == [("#id_flows-0-dataset", "An agreement needs at least one flow of data: which "
                                   "dataset goes from which agency to which.")]

    def test_a_broken_formset_is_an_error_not_a_crash(self, client, region, officer):
        client.force_login(officer)
        data = {k: v for k, v in form_data().items() if not k.endswith("TOTAL_FORMS")}
        response = client.post("/agreements/new/", data)
        assert response.status_code == 400
        assert "The form arrived incomplete" in response.content.decode()
        assert not Agreement.objects.exists()


# --- adding and removing rows without JavaScript ------------------------------------------------------------


class FlowRowTests:
    def test_add_another_flow_draws_one_more_empty_row_and_keeps_what_was_typed(self, client, region, officer):
        client.force_login(officer)
        response = client.post("/agreements/new/", form_data(title="", add_flow="1"))
        assert response.status_code == 200
        page = Page(response.content.decode())
        assert page.flow_count() == 2
        assert page.summary() == []  # nothing is checked yet: the blank title is not an error until saving
        assert page.value("id_start_date_year") == str(START.year)
        assert page.value("id_flows-0-dataset") == "discharge-summaries"
        assert page.checked("id_flows-0-legal_bases-ukgdpr-9-2-h")
        assert page.value("id_flows-1-dataset") == ""
        assert page.value("id_flows-1-method") == "secure_email"
        assert page.by_id["add-flow"]["attrs"]["formaction"] == "/agreements/new/#flow-3"
        assert not Agreement.objects.exists()

    def test_remove_takes_that_row_out_and_keeps_the_others(self, client, region, officer):
        client.force_login(officer)
        response = client.post("/agreements/new/", form_data(flows=(DISCHARGE, TENANCIES), remove_flow="0"))
        page = Page(response.content.decode())
        assert page.flow_count() == 1
        assert page.value("id_flows-0-dataset") == "council-tenancies"
        assert page.checked("id_flows-0-legal_bases-crime-and-disorder-act-1998-s115")
        assert page.value("id_flows-TOTAL_FORMS") == "1"
        # Then saving creates the one flow left.
        client.post("/agreements/new/", form_data(flows=(TENANCIES,)))
        assert [f.dataset.code for f in Agreement.objects.get().current_version.flows.all()] == ["council-tenancies"]

    def test_removing_the_last_row_leaves_an_empty_one(self, client, region, officer):
        client.force_login(officer)
        page = Page(client.post("/agreements/new/", form_data(remove_flow="0")).content.decode())
        assert page.flow_count() == 1
        assert page.value("id_flows-0-dataset") == ""

    def test_rows_stop_at_the_limit(self, client, region, officer):
        client.force_login(officer)
        page = Page(client.post("/agreements/new/", form_data(flows=[{}] * 50, add_flow="1")).content.decode())
        assert page.flow_count() == 50
        assert "An agreement can have up to 50 flows" in page.text("add-flow-error")


# --- changing a draft ----------------------------------------------------------------------------------------


@pytest.fixture
def draft(db):
    agreement = agreement_factory(title="Discharge to assess")
    DatasetFactory(code="council-tenancies", owner=agreement.lead_agency, data_items=["name", "address"])
    AgencyFactory(code="police", name="Police")
    return agreement


def lead_officer(agreement):
    return member(agreement.lead_agency, Role.GOVERNANCE_OFFICER)  # the drafter, as agreement_factory made them


class EditPageTests:
    def test_the_form_shows_the_draft_as_saved(self, client, draft):
        client.force_login(lead_officer(draft))
        response = client.get(f"/agreements/{draft.reference}/edit/")
        assert response.status_code == 200
        page = Page(response.content.decode())
        version = draft.current_version
        assert page.value("id_title") == "Discharge to assess"
        assert page.value("id_start_date_year") == str(version.start_date.year)
        assert page.value("id_review_date_day") == str(version.review_date.day)
        assert page.value("id_lead_agency") == "lead-council"
        assert page.value("id_flows-0-dataset") == "discharge-summaries"
        assert page.value("id_flows-0-data_items").split("\n") == ["name", "NHS number", "discharge date",
                                                                   "care needs"]
        assert page.checked("id_flows-0-legal_bases-ukgdpr-9-2-h")
        assert not page.checked("id_flows-0-legal_bases-ukgdpr-6-1-a")
        # Without JavaScript the items a dataset holds are named beside the box that chooses among them.
        assert page.text("id_flows-0-data_items-hint").endswith(
            "The dataset Discharge Summaries holds: name, NHS number, discharge date, care needs")

    def test_saving_changes_updates_the_draft_and_audits_what_changed(self, client, draft):
        officer = lead_officer(draft)
        client.force_login(officer)
        version = draft.current_version
        data = form_data(
            title="Discharge to assess, with housing",
            start_date_day=str(version.start_date.day), start_date_month=str(version.start_date.month),
            start_date_year=str(version.start_date.year), end_date_day=str(version.end_date.day),
            end_date_month=str(version.end_date.month), end_date_year=str(version.end_date.year),
            review_date_day=str(version.review_date.day), review_date_month=str(version.review_date.month),
            review_date_year=str(version.review_date.year), purpose=version.purpose, dpia_reference="",
            flows=({**DISCHARGE, "data_items": ""}, TENANCIES),
        )
        response = client.post(f"/agreements/{draft.reference}/edit/", data, follow=True)
        assert response.redirect_chain == [(f"/agreements/{draft.reference}/", 302)]
        assert f"Your changes to {draft.reference} are saved." in response.content.decode()
        version.refresh_from_db()
        assert version.title == "Discharge to assess, with housing"
        assert [f.dataset.code for f in version.flows.order_by("id")] == ["discharge-summaries", "council-tenancies"]
        event = AuditEvent.objects.get(action="agreement.updated")
        assert (event.object_ref, event.actor_id, event.detail["fields"]) == (draft.reference, officer.pk,
                                                                             ["flows", "title"])

    def test_saving_without_changes_records_nothing(self, client, draft):
        client.force_login(lead_officer(draft))
        html = client.get(f"/agreements/{draft.reference}/edit/").content.decode()
        page = Page(html)
        version = draft.current_version
        data = form_data(
            title=version.title, purpose=version.purpose, dpia_reference="",
            start_date_day=page.value("id_start_date_day"), start_date_month=page.value("id_start_date_month"),
            start_date_year=page.value("id_start_date_year"), end_date_day=page.value("id_end_date_day"),
            end_date_month=page.value("id_end_date_month"), end_date_year=page.value("id_end_date_year"),
            review_date_day=page.value("id_review_date_day"), review_date_month=page.value("id_review_date_month"),
            review_date_year=page.value("id_review_date_year"),
            flows=[{"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
                    "purpose": page.value("id_flows-0-purpose"), "data_items": page.value("id_flows-0-data_items"),
                    "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"],
                    "method": page.value("id_flows-0-method"), "frequency": page.value("id_flows-0-frequency")}],
        )
        response = client.post(f"/agreements/{draft.reference}/edit/", data, follow=True)
        assert "You did not change anything" in response.content.decode()
        assert not AuditEvent.objects.filter(action="agreement.updated").exists()

    def test_a_broken_rule_changes_nothing_and_keeps_the_edit(self, client, draft):
        client.force_login(lead_officer(draft))
        data = form_data(title="Renamed", flows=({**DISCHARGE, "legal_bases": ["ukgdpr-6-1-e"]},))
        response = client.post(f"/agreements/{draft.reference}/edit/", data)
        assert response.status_code == 400
        page = Page(response.content.decode())
        assert page.value("id_title") == "Renamed"
        assert "Article 9 condition" in inline_error(page, "id_flows-0-legal_bases")
        draft.current_version.refresh_from_db()
        assert draft.current_version.title == "Discharge to assess"
        assert not AuditEvent.objects.filter(action="agreement.updated").exists()

    def test_an_officer_of_two_agencies_hands_the_lead_to_the_other(self, client, draft):
        officer = lead_officer(draft)
        member(AgencyFactory(code="police"), Role.GOVERNANCE_OFFICER, username=officer.username)
        client.force_login(officer)
        url = f"/agreements/{draft.reference}/edit/"
        page = Page(client.get(url).content.decode())
        data = form_data(flows=[{"dataset": "discharge-summaries", "provider": "nhs-provider",
                                 "recipient": "lead-council", "purpose": page.value("id_flows-0-purpose"),
                                 "data_items": page.value("id_flows-0-data_items"),
                                 "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]}])
        data.update({name: page.value(f"id_{name}") for name in data if name.endswith(("_day", "_month", "_year"))})
        data.update(title=page.value("id_title"), purpose=page.value("id_purpose"), dpia_reference="",
                    lead_agency="police")
        assert client.post(url, data).status_code == 302
        draft.refresh_from_db()
        assert draft.lead_agency.code == "police"
        assert AuditEvent.objects.get(action="agreement.updated").detail["fields"] == ["lead_agency"]

    def test_the_lead_is_shown_even_after_it_closes(self, client, draft):
        officer = lead_officer(draft)
        member(AgencyFactory(code="police"), Role.GOVERNANCE_OFFICER, username=officer.username)
        draft.lead_agency.active = False
        draft.lead_agency.save()
        client.force_login(officer)
        page = Page(client.get(f"/agreements/{draft.reference}/edit/").content.decode())
        assert page.value("id_lead_agency") == "lead-council"

    def test_an_amendment_keeps_its_lead_agency(self, client, draft):
        active = agreement_factory(lead=AgencyFactory(code="amend-council", name="Amend Council"), state="active",
                                   flows=[{"dataset": DatasetFactory(code="amend-data",
                                                                     owner=AgencyFactory(code="amend-nhs")),
                                           "provider": "amend-nhs", "recipient": "amend-council",
                                           "legal_bases": ["ukgdpr-6-1-e"]}])
        officer = lead_officer(active)
        services.agreement_amend(actor=officer, agreement=active)
        client.force_login(officer)
        response = client.get(f"/agreements/{active.reference}/edit/")
        assert response.status_code == 200
        page = Page(response.content.decode())
        assert not page.has("id_lead_agency")
        assert "The lead agency of an agreement in force cannot change." in response.content.decode()


class ConcurrentEditTests:
    def test_a_save_over_someone_elses_is_refused_with_the_typed_values_kept(self, draft):
        first, second = Client(), Client()
        drafter = lead_officer(draft)
        first.force_login(drafter)
        second.force_login(member(draft.lead_agency, Role.GOVERNANCE_OFFICER, username="second-officer"))
        url = f"/agreements/{draft.reference}/edit/"
        version = draft.current_version
        dates = {f"{name}_{part}": str(getattr(getattr(version, name), attr))
                 for name in ("start_date", "end_date", "review_date")
                 for part, attr in (("day", "day"), ("month", "month"), ("year", "year"))}
        both_open = {client: Page(client.get(url).content.decode()).value("revision") for client in (first, second)}

        saved = first.post(url, form_data(title="First officer's title", purpose=version.purpose, revision=both_open[
            first], **dates))
        assert saved.status_code == 302
        stale = second.post(url, form_data(title=version.title, purpose="Second officer's purpose",
                                           revision=both_open[second], **dates))

        assert stale.status_code == 409
        html = stale.content.decode()
        page = Page(html)
        summary = " ".join(html.split("govuk-error-summary__list", 1)[1].split("</ul>", 1)[0].split())
        assert f"{drafter.username} changed this draft at" in summary
        assert "Your changes are below and have not been saved." in summary
        assert page.value("id_purpose") == "Second officer's purpose"  # nothing typed is lost
        version.refresh_from_db()
        assert (version.title, version.purpose) == ("First officer's title", draft.current_version.purpose)
        assert list(AuditEvent.objects.filter(action="agreement.updated").values_list("actor_name", flat=True)) == [
            drafter.username]

        # Having seen the warning, saving again replaces the first officer's version on purpose.
        again = second.post(url, form_data(title=version.title, purpose="Second officer's purpose",
                                           revision=page.value("revision"), **dates))
        assert again.status_code == 302
        version.refresh_from_db()
        assert version.purpose == "Second officer's purpose"


class NotADraftTests:
    @pytest.mark.parametrize(("state", "explanation"), [
        ("submitted", "It is waiting for every party to sign it."),
        ("active", "To change an agreement in force, start an amendment from its page"),
        ("amendment submitted", "It is waiting for every party to sign it."),
    ])
    def test_only_a_draft_can_be_changed(self, client, state, explanation):
        agreement = agreement_factory(state="active" if state == "amendment submitted" else state)
        officer = lead_officer(agreement)
        if state == "amendment submitted":
            agreement = services.agreement_amend(actor=officer, agreement=agreement)
            agreement = services.agreement_submit(actor=officer, agreement=agreement)
        client.force_login(officer)
        for response in (client.get(f"/agreements/{agreement.reference}/edit/"),
                         client.post(f"/agreements/{agreement.reference}/edit/", form_data())):
            assert response.status_code == 409
            html = response.content.decode()
            assert f"{agreement.reference} cannot be changed now" in html
            assert "only a draft can be changed." in html
            assert explanation in html
            assert f'href="/agreements/{agreement.reference}/"' in html
        assert Agreement.objects.get().current_version.state != VersionState.DRAFT
        assert not AuditEvent.objects.filter(action="agreement.updated").exists()


# --- who may open the pages ------------------------------------------------------------------------------------

MATRIX = [
    # user,                 GET new, POST new (lead-council), GET and POST edit
    ("anonymous",           302, 302, 302),
    ("superuser",           200, 302, 200),
    ("lead officer",        200, 302, 200),
    ("party officer",       200, 400, 403),  # may draft for their own agency, not for the lead council
    ("unrelated officer",   200, 400, 404),
    ("lead frontline",      403, 403, 403),
    ("lead auditor",        403, 403, 403),
    ("unrelated frontline", 403, 403, 404),
    ("no agency",           403, 403, 404),
]


def _user(who: str, agreement: Agreement):
    lead, fire = agreement.lead_agency, AgencyFactory(code="unrelated-fire")
    party = agreement.current_version.parties.exclude(agency=lead).get().agency
    return {
        "anonymous": lambda: None,
        "superuser": lambda: UserFactory(username="root", is_superuser=True, is_staff=True),
        "lead officer": lambda: lead_officer(agreement),
        "party officer": lambda: member(party, Role.GOVERNANCE_OFFICER),
        "unrelated officer": lambda: member(fire, Role.GOVERNANCE_OFFICER),
        "lead frontline": lambda: member(lead, Role.FRONTLINE),
        "lead auditor": lambda: member(lead, Role.AUDITOR),
        "unrelated frontline": lambda: member(fire, Role.FRONTLINE),
        "no agency": lambda: UserFactory(username="nobody"),
    }[who]()


class PermissionTests:
    @pytest.mark.parametrize(("who", "create", "post_create", "edit"), MATRIX)
    def test_who_may_open_the_pages(self, client, draft, who, create, post_create, edit):
        user = _user(who, draft)
        if user is not None:
            client.force_login(user)
        edit_url = f"/agreements/{draft.reference}/edit/"
        for url, expected in (("/agreements/new/", create), (edit_url, edit)):
            response = client.get(url)
            assert response.status_code == expected, (who, url)
            if expected == 302:
                assert response["Location"] == f"/accounts/login/?next={url}"

        response = client.post("/agreements/new/", form_data(title="A second agreement"))
        assert response.status_code == post_create, who
        created = Agreement.objects.filter(versions__title="A second agreement").exists()
        assert created == (post_create == 302 and user is not None)

        # Posting a change is refused the same way as opening the page, and changes nothing.
        response = client.post(edit_url, form_data(title="Taken over"))
        assert response.status_code == (302 if edit in (200, 302) else edit), who
        draft.current_version.refresh_from_db()
        assert (draft.current_version.title == "Taken over") == (edit == 200)
        assert AuditEvent.objects.filter(action="agreement.updated").count() == (1 if edit == 200 else 0)

    def test_a_refusal_says_who_can(self, client, draft):
        client.force_login(member(draft.lead_agency, Role.FRONTLINE))
        html = client.get(f"/agreements/{draft.reference}/edit/").content.decode()
        assert "Only governance officers of Lead Council, the lead agency, can change" in html
        html = client.get("/agreements/new/").content.decode()
        assert "Only governance officers can draft agreements" in html

    def test_other_methods_are_not_allowed(self, client, draft):
        client.force_login(lead_officer(draft))
        assert client.put("/agreements/new/").status_code == 405
        assert client.delete(f"/agreements/{draft.reference}/edit/").status_code == 405

    def test_new_is_not_read_as_a_reference(self, client, officer):
        from django.urls import include, path, resolve

        from agreements import urls

        # No two of the pages' patterns match one path: read in either order, each path finds the same page.
        class Reversed:
            urlpatterns = [path("", include((urls.urlpatterns[::-1], "agreements")))]

        for urlconf in ("sharing_registry.urls", Reversed):
            assert resolve("/agreements/new/", urlconf=urlconf).view_name == "agreements:create"
            assert resolve("/agreements/ISA-2026-0042/", urlconf=urlconf).view_name == "agreements:detail"
            assert resolve("/agreements/ISA-2026-0042/edit/", urlconf=urlconf).view_name == "agreements:edit"
            assert resolve("/agreements/ISA-2026-0042/print/", urlconf=urlconf).view_name == "agreements:print"
            assert resolve("/agreements/ISA-2026-0042/sign/", urlconf=urlconf).view_name == "agreements:action"
        client.force_login(officer)
        assert "Draft a new agreement" in client.get("/agreements/new/").content.decode()


class TypeAheadTests:
    def test_it_offers_the_officers_agencies_and_partners_and_their_datasets(self, client, draft):
        AgencyFactory(code="stranger", name="Stranger Council")
        client.force_login(lead_officer(draft))
        page = Page(client.get("/agreements/new/").content.decode())
        agencies = [o["attrs"]["value"] for o in page.by_id["id_flows-0-provider"]["children"]]
        datasets = [o["attrs"]["value"] for o in page.by_id["id_flows-0-dataset"]["children"]]
        assert agencies == ["", "lead-council", "nhs-provider"]
        assert sorted(datasets) == ["", "council-tenancies", "discharge-summaries"]

    def test_it_stays_short_however_many_agencies_there_are(self, client, db):
        from agencies.models import Agency

        Agency.objects.bulk_create(Agency(code=f"agency-{n:04d}", name=f"Agency {n:04d}", kind="other")
                                   for n in range(250))
        client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
        page = Page(client.get("/agreements/new/").content.decode())
        assert len(page.by_id["id_lead_agency"]["children"]) == 1 + 200
        # Any other agency can still be typed, by name or code: it is found when saving.
        assert page.by_id["id_lead_agency_search"]["tag"] == "input"


class DashboardLinkTests:
    def test_a_governance_officer_is_offered_to_draft_an_agreement(self, client, officer):
        client.force_login(officer)
        html = client.get("/").content.decode()
        assert '<a class="govuk-link" href="/agreements/new/">Draft a new agreement</a>' in html

    def test_others_are_not(self, client, region):
        client.force_login(member(region.council, Role.FRONTLINE))
        assert "Draft a new agreement" not in client.get("/").content.decode()


# --- queries ---------------------------------------------------------------------------------------------------


class QueryCountTests:
    def test_the_new_page_runs_a_fixed_number_of_queries(self, client, region, officer,
                                                         django_assert_max_num_queries):
        client.force_login(officer)
        client.get("/agreements/new/")  # the first request warms caches that are not per request
        with django_assert_max_num_queries(11):  # with the header's unread notifications
            assert client.get("/agreements/new/").status_code == 200

    def test_the_edit_page_runs_a_fixed_number_of_queries_however_many_flows(self, client, draft,
                                                                            django_assert_max_num_queries):
        officer = lead_officer(draft)
        client.force_login(officer)
        url = f"/agreements/{draft.reference}/edit/"
        client.get(url)
        with django_assert_max_num_queries(19):  # with the recorded view and the header's unread notifications
            assert client.get(url).status_code == 200
        before = _count_queries(client, url)
        flows = [{"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
                  "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]}]
        flows += [{"dataset": DatasetFactory(owner=draft.lead_agency, code=f"extra-{n}").code,
                   "provider": "lead-council", "recipient": "nhs-provider", "legal_bases": ["ukgdpr-6-1-e"]}
                  for n in range(5)]
        services.agreement_update(actor=officer, agreement=draft, flows=flows)
        assert _count_queries(client, url) == before


def _count_queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


class MissingDateTests:
    def test_a_date_left_empty_is_named_in_the_message(self, client, region, officer):
        client.force_login(officer)
        data = form_data(end_date_day="", end_date_month="", end_date_year="",
                         review_date_day="", review_date_month="", review_date_year="")
        page = Page(client.post("/agreements/new/", data).content.decode())
        messages = [text for _href, text in page.summary()]
        assert "Enter the end date." in messages and "Enter the review date." in messages
