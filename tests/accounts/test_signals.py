"""Grants and account changes made outside the services are recorded too (the Django admin, commands, beat).

Regressions, each named after the finding: adding a user to an agency-role group in the Django admin made them a
governance officer with no `membership.granted`; deleting a user dropped their memberships silently; user
creation, password changes and resets, lockout resets and changes to scheduled tasks left no event.
"""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from agencies import selectors
from agencies.choices import Role
from audit.choices import AuditAction
from audit.models import AuditEvent
from tests.clients import page as admin_client
from tests.factories import UserFactory, api_key, member, token_works


def events(action, **filters) -> list:
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("seq"))


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


def user_form(user, **changes) -> dict:
    """What the admin's change form posts for `user`, with `changes`."""
    data = {"username": user.username, "first_name": user.first_name, "last_name": user.last_name,
            "email": user.email, "is_active": "on", "last_login_0": "", "last_login_1": "",
            "date_joined_0": timezone.localtime(user.date_joined).strftime("%Y-%m-%d"),
            "date_joined_1": timezone.localtime(user.date_joined).strftime("%H:%M:%S"),
            "profile-TOTAL_FORMS": "1", "profile-INITIAL_FORMS": "0", "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1", "profile-0-full_name": "", "profile-0-job_title": "",
            "profile-0-user": str(user.pk)}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


@pytest.mark.django_db
class AdminGrantTests:
    def test_regression_adding_a_user_to_an_agency_role_group_in_the_admin_grants_unrecorded(self, root):
        from tests.factories import AgencyFactory

        agency = AgencyFactory(code="home-council")
        group = member(agency, Role.GOVERNANCE_OFFICER, "someone-else").groups.get()
        target = UserFactory(username="target")
        client = admin_client(root)
        assert client.get("/admin/auth/group/").status_code == 404  # agency-role groups are not in the admin
        page = client.get(f"/admin/auth/user/{target.pk}/change/").content.decode()
        assert 'name="groups"' not in page and 'name="user_permissions"' not in page
        assert "Roles in agencies are given on each agency" in page
        response = client.post(f"/admin/auth/user/{target.pk}/change/", user_form(target, groups=str(group.pk)))
        assert response.status_code == 302
        target.refresh_from_db()
        assert not target.groups.exists()
        assert not selectors.has_role(target, agency.pk, Role.GOVERNANCE_OFFICER)
        assert events(AuditAction.MEMBERSHIP_GRANTED) == []

    def test_regression_deleting_a_user_drops_their_memberships_silently(self, root):
        from tests.factories import AgencyFactory

        agency = AgencyFactory(code="home-council")
        leaver = member(agency, Role.AUDITOR, "leaver")
        member(agency, Role.FRONTLINE, "leaver")
        response = admin_client(root).post(f"/admin/auth/user/{leaver.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not get_user_model().objects.filter(username="leaver").exists()
        revoked = events(AuditAction.MEMBERSHIP_REVOKED)
        assert sorted(e.object_ref for e in revoked) == ["home-council:leaver:auditor", "home-council:leaver:frontline"]
        assert {(e.actor_name, e.agency_code, e.detail["reason"]) for e in revoked} == {
            ("root", "home-council", "user deleted")}
        deleted = events(AuditAction.USER_DELETED)
        assert [(e.object_ref, e.actor_name) for e in deleted] == [("leaver", "root")]
        assert "home-council" in deleted[0].agencies  # the agency's auditors see that their member was deleted


@pytest.mark.django_db
class UserChangeTests:
    def test_regression_user_creation_leaves_no_event(self, root):
        response = admin_client(root).post("/admin/auth/user/add/", {
            "username": "newbie", "password1": "lantern-orchard-quietly-71", "password2": "lantern-orchard-quietly-71",
            "usable_password": "true", "profile-TOTAL_FORMS": "1", "profile-INITIAL_FORMS": "0",
            "profile-MIN_NUM_FORMS": "0", "profile-MAX_NUM_FORMS": "1", "profile-0-full_name": "New Bie",
            "profile-0-job_title": ""})
        assert response.status_code == 302, response.content.decode()[:2000]
        created = events(AuditAction.USER_CREATED, object_ref="newbie")
        assert [(e.actor_name, e.detail["is_superuser"]) for e in created] == [("root", False)]

    def test_createsuperuser_is_recorded_by_the_system(self, db):
        call_command("createsuperuser", "--noinput", username="admin2", email="a@example.org", verbosity=0)
        assert [e.actor_name for e in events(AuditAction.USER_CREATED, object_ref="admin2")] == ["system"]

    def test_regression_password_changes_leave_no_event(self, root):
        target = UserFactory(username="target")
        key = api_key(target)
        response = admin_client(root).post(f"/admin/auth/user/{target.pk}/password/", {
            "password1": "lantern-orchard-quietly-71", "password2": "lantern-orchard-quietly-71"})
        assert response.status_code == 302
        changed = events(AuditAction.AUTH_PASSWORD_CHANGED, object_ref="target")
        assert [e.actor_name for e in changed] == ["root"]
        assert "lantern" not in str(changed[0].detail)
        assert not token_works(key)

    def test_making_someone_a_superuser_or_switching_them_off_in_the_admin_is_recorded(self, root):
        target = UserFactory(username="target")
        client = admin_client(root)
        client.post(f"/admin/auth/user/{target.pk}/change/", user_form(target, is_superuser="on"))
        client.post(f"/admin/auth/user/{target.pk}/change/", user_form(target, is_superuser="on", is_active=None))
        updated = events(AuditAction.USER_UPDATED, object_ref="target")
        assert [e.detail["changes"] for e in updated] == [{"is_superuser": [False, True]}]
        assert [e.actor_name for e in events(AuditAction.USER_DEACTIVATED, object_ref="target")] == ["root"]

    def test_a_sign_in_records_no_user_change(self, db):
        UserFactory(username="plain")
        from tests.factories import PASSWORD

        Client().post("/accounts/login/", {"username": "plain", "password": PASSWORD})
        assert events(AuditAction.USER_UPDATED) == [] and events(AuditAction.AUTH_PASSWORD_CHANGED) == []


@pytest.mark.django_db
class LockoutResetTests:
    def test_regression_lockout_resets_leave_no_event(self, root, settings):
        AccessAttempt.objects.create(username="locked", ip_address="203.0.113.5", user_agent="x",
                                     failures_since_start=settings.AXES_FAILURE_LIMIT)
        AccessAttempt.objects.create(username="fumbled", ip_address="203.0.113.6", user_agent="x",
                                     failures_since_start=1)
        attempt = AccessAttempt.objects.get(username="locked")
        response = admin_client(root).post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        call_command("axes_reset", verbosity=0)
        reset = events(AuditAction.AUTH_LOCKOUT_RESET)
        assert [(e.object_ref, e.actor_name, e.detail["ip_address"]) for e in reset] == [
            ("locked", "root", "203.0.113.5")]


@pytest.mark.django_db
class ScheduleChangeTests:
    def test_regression_changes_to_scheduled_tasks_leave_no_event(self, root):
        every_minute = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
        task = PeriodicTask.objects.create(name="nightly export", task="audit.verify_nightly", interval=every_minute)
        task.enabled = False
        task.save()
        task.last_run_at, task.total_run_count = timezone.now(), 5  # what beat writes after each run
        task.save()
        task.delete()
        changes = [(e.object_type, e.detail["change"]) for e in events(AuditAction.SCHEDULE_CHANGED)]
        assert changes == [("intervalschedule", "created"), ("periodictask", "created"), ("periodictask", "updated"),
                           ("periodictask", "deleted")]
        updated = events(AuditAction.SCHEDULE_CHANGED, object_type="periodictask")[1]
        assert updated.detail["changes"] == {"enabled": [True, False]}

    def test_a_change_in_the_admin_names_the_admin(self, root):
        every_minute = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.MINUTES)
        task = PeriodicTask.objects.create(name="sweep", task="agreements.expire", interval=every_minute)
        client = admin_client(root)
        page = client.get(f"/admin/django_celery_beat/periodictask/{task.pk}/change/")
        assert page.status_code == 200
        client.post(f"/admin/django_celery_beat/periodictask/{task.pk}/delete/", {"post": "yes"})
        deleted = events(AuditAction.SCHEDULE_CHANGED, object_type="periodictask")[-1]
        assert (deleted.detail["change"], deleted.actor_name) == ("deleted", "root")
