"""Journeys of people and their agency's set-up, in a real Chromium with axe on every page:
an invitation read from the email (file backend) to membership; a forgotten password reset;
an admin adds a dataset and an officer adds a data item to it."""

import re

import pytest
from playwright.sync_api import expect

from agencies import selectors
from agencies.choices import AgencyKind, Role
from agencies.models import Dataset
from agencies.services import agency_create
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.browser.conftest import sign_in
from tests.eager import eager_tasks
from tests.factories import UserFactory, member

pytestmark = pytest.mark.browser
NEW_PASSWORD = "lantern-orchard-quietly-71"


@pytest.fixture
def mailbox(settings, tmp_path):
    """Emails land as files, as Django's file backend writes them; tasks run in the server's process."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")
    with eager_tasks():
        yield tmp_path / "mail"


def read_mail(folder) -> str:
    return "".join(path.read_text() for path in sorted(folder.iterdir())) if folder.exists() else ""


def link_in(mail: str, pattern: str) -> str:
    return re.findall(pattern, mail)[-1]


@pytest.fixture
def council(db):
    agency = agency_create(actor=None, code="mcc", name="Manchester City Council", kind=AgencyKind.LOCAL_AUTHORITY)
    return {"agency": agency, "admin": member(agency, Role.AGENCY_ADMIN, "mcc-admin"),
            "officer": member(agency, Role.GOVERNANCE_OFFICER, "mcc-officer")}


class InvitationJourneyTests:
    def test_invite_read_the_email_set_a_password_sign_in_and_be_a_member(self, page, live_server, check_a11y,
                                                                           council, mailbox):
        sign_in(page, live_server, "mcc-admin")
        page.goto(f"{live_server.url}/agencies/mcc/members/")
        check_a11y(page)
        page.get_by_role("link", name="Invite someone").first.click()
        expect(page.get_by_role("heading", name="Invite someone")).to_be_visible()
        check_a11y(page)
        page.get_by_role("button", name="Send invitation").click()  # nothing filled in: the mistakes are explained
        expect(page.get_by_role("alert")).to_contain_text("Enter the person's full name.")
        check_a11y(page)
        page.get_by_label("Full name").fill("Asha Patel")
        page.get_by_label("Job title (optional)").fill("Data Protection Lead")
        page.get_by_label("Email address").fill("asha.patel@example.org")
        page.get_by_label("Role").select_option(label="Auditor")
        page.get_by_role("button", name="Send invitation").click()
        expect(page.get_by_text("Invitation sent to Asha Patel at asha.patel@example.org")).to_be_visible()
        expect(page.get_by_role("table").filter(has_text="asha.patel@example.org")).to_be_visible()
        check_a11y(page)
        page.get_by_role("button", name="Sign out").click()

        mail = read_mail(mailbox)
        assert "To: asha.patel@example.org" in mail and "Content-Type: text/html" in mail
        path = link_in(mail, r"http://[^/\s]+(/invitations/[A-Za-z0-9_-]+/)")
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", name="Join Manchester City Council")).to_be_visible()
        check_a11y(page)
        page.get_by_label("Create a password").fill("password")
        page.get_by_label("Type the password again").fill("password")
        page.get_by_role("button", name="Set password and join").click()
        expect(page.get_by_role("alert")).to_contain_text("This password is too common.")
        check_a11y(page)
        page.get_by_label("Create a password").fill(NEW_PASSWORD)
        page.get_by_label("Type the password again").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Set password and join").click()
        ready = "Your account is ready and you are an auditor in Manchester City Council"
        expect(page.get_by_text(ready)).to_be_visible()
        check_a11y(page)

        sign_in(page, live_server, "asha.patel@example.org", password=NEW_PASSWORD)
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        expect(page.get_by_role("link", name="Audit", exact=True)).to_be_visible()  # an auditor's section
        check_a11y(page)
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", name="This invitation link does not work")).to_be_visible()

        from django.contrib.auth import get_user_model

        asha = get_user_model().objects.get(username="asha.patel@example.org")
        assert selectors.has_role(asha, council["agency"].pk, Role.AUDITOR)
        actions = set(AuditEvent.objects.values_list("action", flat=True))
        assert {AuditAction.MEMBERSHIP_INVITED, AuditAction.USER_CREATED, AuditAction.MEMBERSHIP_GRANTED} <= actions


class ForgottenPasswordJourneyTests:
    def test_reset_a_forgotten_password_from_the_sign_in_page(self, page, live_server, check_a11y, mailbox):
        UserFactory(username="forgetful", email="forgetful@example.org")
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_role("link", name="Forgotten your password?").click()
        expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
        check_a11y(page)
        page.get_by_label("Email address").fill("forgetful@example.org")
        page.get_by_role("button", name="Send the link").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        check_a11y(page)

        path = link_in(read_mail(mailbox), r"http://[^/\s]+(/accounts/reset/\S+/)")
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
        check_a11y(page)
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("Type the new password again").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Save new password").click()
        expect(page.get_by_role("heading", name="Your password has been changed")).to_be_visible()
        check_a11y(page)

        sign_in(page, live_server, "forgetful", password=NEW_PASSWORD)
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        stages = list(AuditEvent.objects.filter(action=AuditAction.AUTH_PASSWORD_RESET).order_by("seq")
                      .values_list("detail__stage", flat=True))
        assert stages == ["requested", "completed"]


class DatasetJourneyTests:
    def test_an_admin_adds_a_dataset_and_an_officer_adds_a_data_item(self, page, live_server, check_a11y, council):
        sign_in(page, live_server, "mcc-admin")
        page.goto(f"{live_server.url}/agencies/mcc/")
        check_a11y(page)
        page.get_by_role("link", name="Add a dataset").click()
        expect(page.get_by_role("heading", name="Add a dataset")).to_be_visible()
        check_a11y(page)
        page.get_by_label("Code").fill("mcc-housing")
        page.get_by_label("Name").fill("Housing register")
        page.get_by_label("Data items").fill("name\naddress")
        page.get_by_label("It holds special category data").check()
        page.get_by_role("button", name="Add dataset").click()
        expect(page.get_by_role("heading", name="Housing register")).to_be_visible()
        check_a11y(page)
        page.get_by_role("button", name="Sign out").click()

        sign_in(page, live_server, "mcc-officer")
        page.goto(f"{live_server.url}/datasets/mcc-housing/")
        page.get_by_role("link", name="Change this dataset").click()
        expect(page.get_by_role("heading", name="Change the dataset")).to_be_visible()
        check_a11y(page)
        items = page.get_by_label("Data items")
        items.fill(items.input_value() + "\nhousing need")
        page.get_by_role("button", name="Save changes").click()
        expect(page.get_by_text("The changes to Housing register have been saved.")).to_be_visible()
        expect(page.get_by_role("list").filter(has_text="housing need")).to_be_visible()
        check_a11y(page)

        dataset = Dataset.objects.get(code="mcc-housing")
        assert dataset.data_items == ["name", "address", "housing need"] and dataset.special_category
        update = AuditEvent.objects.get(action=AuditAction.DATASET_UPDATED)
        assert (update.actor_name, update.detail["changes"]["data_items"]) == (
            "mcc-officer", [["name", "address"], ["name", "address", "housing need"]])
