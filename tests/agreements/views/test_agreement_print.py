import pytest
from django.contrib.auth import get_user_model

from agencies.choices import Role
from agreements import services
from audit.models import AuditEvent
from tests.factories import agreement_factory, member

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER


class PrintPageTests:
    def test_shows_everything_a_signatory_signs_under_the_ico_headings(self, client, region):
        agreement = agreement_factory(state="submitted", dpia_reference="DPIA-2026-007")
        services.agreement_approve(actor=member(region.nhs, GO), agreement=agreement)
        client.force_login(member(region.council, Role.FRONTLINE))
        response = client.get(f"/agreements/{agreement.reference}/print/")
        assert response.status_code == 200
        page = response.content.decode()
        for heading in ("Purpose", "Parties", "Data items shared", "Lawful basis for sharing",
                        "Special category and criminal offence data", "Individuals' rights",
                        "Information governance", "Retention", "Review", "Signatures"):
            assert heading in page, heading
        assert "DPIA-2026-007" in page
        assert "dpo@nhs-provider.example.org" in page
        assert "UK GDPR Article 9(2)(h)" in page and "NHS number" in page
        assert "Signed for NHS Provider by nhs-provider-governance_officer, on " in page
        assert "Not signed" in page  # the lead agency has not signed yet
        assert AuditEvent.objects.filter(action="agreement.viewed", detail__page="print").count() == 1

    def test_print_css_hides_navigation(self, client, region):
        agreement = agreement_factory()
        client.force_login(member(region.nhs, GO))
        page = client.get(f"/agreements/{agreement.reference}/print/").content.decode()
        assert "css/app.css" in page and "app-no-print" in page
        from django.contrib.staticfiles import finders

        css = open(finders.find("css/app.css")).read()
        printing = css[css.index("@media print"):]
        assert ".govuk-service-navigation" in printing and ".app-no-print" in printing and "display: none" in printing

    def test_only_those_who_see_the_full_record(self, client, region):
        agreement = agreement_factory(state="active")
        url = f"/agreements/{agreement.reference}/print/"
        assert client.get(url).status_code == 302  # to sign in
        client.force_login(member(region.fire, GO))  # sees the summary of an active agreement, not the record
        assert client.get(url).status_code == 404
        client.force_login(get_user_model().objects.create(username="root", is_superuser=True))
        assert client.get(url).status_code == 200

    def test_an_amendment_shows_the_version_in_force(self, client, region):
        agreement = agreement_factory(state="active")
        services.agreement_amend(actor=member(region.council, GO), agreement=agreement)
        client.force_login(member(region.nhs, GO))
        page = client.get(f"/agreements/{agreement.reference}/print/").content.decode()
        assert "version 2" in page
        assert "Version 1 stays in force until every party signs version 2." in page
        assert "signed version 1, in force" in page
