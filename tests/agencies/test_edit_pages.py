"""Agencies and datasets created and edited in the browser, each change audited with its old and new values."""

import pytest

from agencies.models import Agency, Dataset
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.clients import page as browser

NEW_AGENCY = {"code": "bolton-cc", "name": "Bolton Council", "kind": "local_authority", "ico_registration": "Z123",
              "dpo_email": "dpo@bolton.example.org", "siro_name": "", "caldicott_guardian_name": ""}
NEW_DATASET = {"code": "home-housing", "name": "Housing register", "description": "Who is waiting for a home",
               "data_items": "name\naddress\n\n date of birth ", "classification": "OFFICIAL", "special_category": "on"}


@pytest.mark.django_db
class AgencyPageTests:
    @pytest.mark.parametrize(("actor", "status"), [("home_admin", 403), ("home_officer", 403), ("superuser", 302)])
    def test_only_registry_administrators_add_agencies(self, region, actor, status):
        response = browser(region.users[actor]).post("/agencies/new/", NEW_AGENCY)
        assert response.status_code == status
        assert Agency.objects.filter(code="bolton-cc").exists() == (status == 302)

    def test_a_new_agency_is_audited_and_its_page_opens(self, region):
        client = browser(region.users["superuser"])
        assert "Add an agency" in client.get("/agencies/").content.decode()
        response = client.post("/agencies/new/", NEW_AGENCY, follow=True)
        assert "Bolton Council has been added." in response.content.decode()
        event = AuditEvent.objects.filter(action=AuditAction.AGENCY_CREATED, object_ref="bolton-cc").get()
        assert (event.actor_name, event.detail["dpo_email"]) == ("root", "dpo@bolton.example.org")

    def test_bad_input_is_summarised_and_nothing_is_saved(self, region):
        response = browser(region.users["superuser"]).post("/agencies/new/", {**NEW_AGENCY, "code": "home-council",
                                                                              "kind": "", "dpo_email": "nope"})
        content = response.content.decode()
        assert response.status_code == 400
        assert "Choose the kind of agency." in content and "Enter the email address in the correct format." in content
        taken = browser(region.users["superuser"]).post("/agencies/new/", {**NEW_AGENCY, "code": "home-council"})
        assert "already" in taken.content.decode() and taken.status_code == 400
        assert Agency.objects.count() == 2

    def test_an_agency_admin_edits_their_agency_and_the_change_is_audited(self, region):
        client = browser(region.users["home_admin"])
        detail = client.get("/agencies/home-council/").content.decode()
        assert 'href="/agencies/home-council/edit/"' in detail
        form = client.get("/agencies/home-council/edit/").content.decode()
        assert 'value="Home City Council"' in form and 'name="code"' not in form
        data = {"name": "Home City Council", "kind": "local_authority", "ico_registration": "Z999",
                "dpo_email": "", "siro_name": "Sam Siro", "caldicott_guardian_name": ""}
        response = client.post("/agencies/home-council/edit/", data)
        assert response.status_code == 302
        event = AuditEvent.objects.get(action=AuditAction.AGENCY_UPDATED)
        assert event.detail["changes"] == {"ico_registration": ["", "Z999"], "siro_name": ["", "Sam Siro"]}
        assert browser(region.users["other_admin"]).get("/agencies/home-council/edit/").status_code == 403


@pytest.mark.django_db
class DatasetPageTests:
    @pytest.mark.parametrize(("actor", "status"), [("home_officer", 302), ("home_admin", 302),
                                                   ("home_frontline", 403), ("other_admin", 403)])
    def test_the_owners_officers_and_admins_add_datasets(self, region, actor, status):
        response = browser(region.users[actor]).post("/agencies/home-council/datasets/new/", NEW_DATASET)
        assert response.status_code == status
        assert Dataset.objects.filter(code="home-housing").exists() == (status == 302)

    def test_a_new_dataset_keeps_its_items_and_flags(self, region):
        client = browser(region.users["home_officer"])
        assert "Add a dataset" in client.get("/agencies/home-council/").content.decode()
        response = client.post("/agencies/home-council/datasets/new/", NEW_DATASET, follow=True)
        assert "Housing register has been added" in response.content.decode()
        dataset = Dataset.objects.get(code="home-housing")
        assert dataset.data_items == ["name", "address", "date of birth"]
        assert (dataset.special_category, dataset.criminal_offence) == (True, False)
        event = AuditEvent.objects.get(action=AuditAction.DATASET_CREATED, object_ref="home-housing")
        assert (event.actor_name, event.detail["data_items"]) == ("home-officer", dataset.data_items)

    def test_an_officer_adds_a_data_item_and_the_change_has_old_and_new_values(self, region):
        client = browser(region.users["home_officer"])
        form = client.get("/datasets/home-social-care/edit/").content.decode()
        assert "name\nneeds</textarea>" in form
        data = {"name": "Adult social care records", "description": "", "data_items": "name\nneeds\nNHS number",
                "classification": "OFFICIAL", "criminal_offence": "on"}
        assert client.post("/datasets/home-social-care/edit/", data).status_code == 302
        event = AuditEvent.objects.get(action=AuditAction.DATASET_UPDATED)
        assert event.detail["changes"] == {"data_items": [["name", "needs"], ["name", "needs", "NHS number"]],
                                           "criminal_offence": [False, True]}

    def test_a_repeated_item_is_refused_with_its_field(self, region):
        data = {"name": "Adult social care records", "data_items": "name\nName", "classification": "OFFICIAL"}
        response = browser(region.users["home_officer"]).post("/datasets/home-social-care/edit/", data)
        assert response.status_code == 400
        assert "Each data item must be listed only once." in response.content.decode()
        assert not AuditEvent.objects.filter(action=AuditAction.DATASET_UPDATED).exists()

    def test_others_cannot_edit(self, region):
        for actor in ("other_admin", "home_frontline", "home_auditor"):
            assert browser(region.users[actor]).get("/datasets/home-social-care/edit/").status_code == 403
        assert browser().get("/datasets/home-social-care/edit/").status_code == 302
