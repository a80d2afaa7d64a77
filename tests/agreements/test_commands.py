import datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from agencies.choices import Role
from agencies.models import Agency, Dataset
from agreements.models import Agreement
from agreements.tasks import expire
from audit.models import AuditEvent
from tests.factories import agreement_factory, member

pytestmark = pytest.mark.django_db
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agreements.csv"
HEADER = ("agreement_key,title,purpose,lead_agency,start_date,end_date,review_date,dataset,provider,recipient,"
          "legal_bases\n")


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def demo(db):
    out, _ = run("seed_demo")
    return out


class SeedDemoTests:
    def test_loads_a_region_with_agreements_in_every_state(self, demo):
        assert Agency.objects.count() == 8 and Dataset.objects.count() == 15
        statuses = set(Agreement.objects.values_list("status", flat=True))
        assert statuses == {"draft", "submitted", "active", "rejected", "suspended", "revoked", "expired"}
        titles = " ".join(Agreement.objects.values_list("current_version__title", flat=True))
        for case in ("Social care case notes", "Home fire safety", "Domestic abuse incident notifications"):
            assert case in titles
        assert "sharing-registry-demo" in demo and "mcc-officer" in demo and "admin" in demo
        assert "/accounts/login/" in demo

    def test_demo_users_can_sign_in_and_hold_their_roles(self, demo, client):
        assert client.login(username="mcc-officer", password="sharing-registry-demo")
        assert client.login(username="admin", password="sharing-registry-demo")
        assert AuditEvent.objects.filter(action="membership.granted", detail__username="gmp-frontline").exists()

    def test_regression_demo_users_have_no_names_or_job_titles(self, demo):
        from django.contrib.auth import get_user_model

        from accounts.selectors import display_name, job_title

        users = list(get_user_model().objects.select_related("profile"))
        assert len(users) == 41
        names = {user.username: (display_name(user), job_title(user)) for user in users}
        assert all(name != username and title for username, (name, title) in names.items()), names
        assert len({name for name, _ in names.values()}) == len(users)  # nobody shares a name
        assert names["mcc-officer"] == ("Aisha Rahman", "Information Governance Manager")
        assert get_user_model().objects.get(username="mcc-officer").get_full_name() == "Aisha Rahman"
        mft = Agency.objects.get(code="mft")
        assert mft.siro_name.startswith("Gareth Lomax") and mft.caldicott_guardian_name.startswith("Dr Priya Raman")
        assert all(agency.siro_name for agency in Agency.objects.all())

    def test_everything_is_audited_as_seed_demo(self, demo):
        assert AuditEvent.objects.filter(action="agreement.activated").count() >= 6
        expired = AuditEvent.objects.get(action="agreement.expired")
        assert expired.actor_name == "seed_demo"

    def test_active_demo_agreements_are_in_force_today(self, demo):
        today = timezone.localdate()
        for agreement in Agreement.objects.filter(status="active").select_related("in_force_version"):
            version = agreement.in_force_version
            assert version.start_date <= today <= version.end_date
            assert version.review_date >= today

    def test_if_empty_does_nothing_when_agencies_exist(self, demo):
        before = AuditEvent.objects.count()
        out, _ = run("seed_demo", "--if-empty")
        assert "not loaded" in out and AuditEvent.objects.count() == before
        with pytest.raises(CommandError, match="already loaded"):
            run("seed_demo")

    def test_if_empty_loads_into_an_empty_database(self, db):
        run("seed_demo", "--if-empty")
        assert Agreement.objects.count() >= 8


class ImportTests:
    def write(self, tmp_path, text, name="register.csv"):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def test_the_example_imports_cleanly_into_the_demo(self, demo):
        before = Agreement.objects.count()
        out, err = run("import_agreements", str(EXAMPLE))
        assert err == ""
        assert "3 agreement(s) imported as drafts" in out
        imported = Agreement.objects.order_by("-id")[:3]
        assert Agreement.objects.count() == before + 3
        assert {a.status for a in imported} == {"draft"}
        school = Agreement.objects.get(versions__title="School safeguarding concerns to children's social care")
        assert school.current_version.flows.count() == 2
        assert school.current_version.start_date == datetime.date(2026, 4, 1)  # DD/MM/YYYY understood
        events = AuditEvent.objects.filter(action="agreement.imported")
        assert events.count() == 3 and {e.actor_name for e in events} == {"import_agreements"}
        assert "lines 3-4" in events.get(object_ref=school.reference).detail["source"]

    def test_a_bad_row_imports_nothing_and_is_reported_by_line(self, demo, tmp_path):
        lines = EXAMPLE.read_text().splitlines()
        lines[3] = lines[3].replace("mcc-childrens-social-care", "mcc-childrens-socal-care")  # line 4
        lines[4] = lines[4].replace("ukgdpr-6-1-f;", "")  # line 5: no Article 6 basis
        before = Agreement.objects.count()
        with pytest.raises(CommandError, match="Nothing was imported: 2 problem"):
            call_command("import_agreements", self.write(tmp_path, "\n".join(lines)), stderr=(err := StringIO()))
        report = err.getvalue().splitlines()
        assert report[0] == "line 4: There is no dataset with the code 'mcc-childrens-socal-care'."
        assert report[1].startswith("line 5: Name at least one UK GDPR Article 6 lawful basis")
        assert Agreement.objects.count() == before
        assert not AuditEvent.objects.filter(action="agreement.imported").exists()

    def test_skip_bad_imports_the_good_agreements_only(self, demo, tmp_path):
        lines = EXAMPLE.read_text().splitlines()
        lines[3] = lines[3].replace("mcc-childrens-social-care", "mcc-childrens-socal-care")
        out, err = run("import_agreements", self.write(tmp_path, "\n".join(lines)), "--skip-bad")
        assert "line 4: There is no dataset" in err
        assert "Skipped 1 agreement(s) with problems: SCHOOL-CONCERNS" in out
        assert "2 agreement(s) imported as drafts" in out
        assert not Agreement.objects.filter(versions__title__startswith="School safeguarding").exists()

    def test_agreement_level_problems_point_at_the_first_line(self, demo, tmp_path):
        text = HEADER + ("A,Title,Purpose,manchester-cc,2026-01-01,2025-01-01,2026-06-01,school-attendance,"
                         "northside-academy,manchester-cc,ukgdpr-6-1-e\n"
                         "B,Title,Purpose,manchester-cc,01/13/2026,2027-01-01,2026-06-01,school-attendance,"
                         "northside-academy,manchester-cc,ukgdpr-6-1-e\n")
        with pytest.raises(CommandError):
            call_command("import_agreements", self.write(tmp_path, text), stderr=(err := StringIO()))
        assert err.getvalue().splitlines() == [
            "line 2: end_date: The end date must be on or after the start date.",
            "line 3: start_date '01/13/2026' is not a date. Use YYYY-MM-DD or DD/MM/YYYY.",
        ]

    def test_rows_of_one_agreement_must_agree(self, demo, tmp_path):
        row = ("A,{title},Purpose,manchester-cc,2026-01-01,2027-01-01,2026-06-01,school-attendance,"
               "northside-academy,manchester-cc,ukgdpr-6-1-e\n")
        text = HEADER + row.format(title="One") + row.format(title="Two")
        with pytest.raises(CommandError):
            call_command("import_agreements", self.write(tmp_path, text), stderr=(err := StringIO()))
        assert "line 3: title differs from line 2" in err.getvalue()

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            ("", "line 1: the file is empty"),
            ("title,purpose\nA,B\n", "line 1: the header is missing these columns: agreement_key"),
            (HEADER.strip() + ",colour\n", "line 1: unknown columns: colour"),
            (HEADER, "no rows to import"),
            (HEADER + "A,T,P,manchester-cc,2026-01-01,2027-01-01,2026-06-01,school-attendance,northside-academy,"
                      "manchester-cc,ukgdpr-6-1-e,extra,values\n", "line 2: there are more values than columns"),
            (HEADER + "A,T,P,manchester-cc\n", "line 2: there are fewer values than columns"),
            (HEADER + ",T,P,manchester-cc,2026-01-01,2027-01-01,2026-06-01,school-attendance,northside-academy,"
                      "manchester-cc,ukgdpr-6-1-e\n", "line 2: agreement_key is empty"),
        ],
    )
    def test_malformed_files_are_refused_with_a_reason(self, demo, tmp_path, text, message):
        before = Agreement.objects.count()
        with pytest.raises(CommandError):
            call_command("import_agreements", self.write(tmp_path, text), stderr=(err := StringIO()))
        assert message in err.getvalue()
        assert Agreement.objects.count() == before

    def test_not_utf8_and_missing_file(self, db, tmp_path):
        path = tmp_path / "latin1.csv"
        path.write_bytes(HEADER.encode() + "A,Caf\xe9\n".encode("latin-1"))
        with pytest.raises(CommandError, match="not UTF-8"):
            run("import_agreements", str(path))
        with pytest.raises(CommandError, match="There is no file"):
            run("import_agreements", str(tmp_path / "missing.csv"))

    def test_import_as_a_named_user(self, demo):
        run("import_agreements", str(EXAMPLE), "--user", "mcc-officer")
        assert AuditEvent.objects.filter(action="agreement.imported", actor_name="mcc-officer").count() == 3
        with pytest.raises(CommandError, match="no user called"):
            run("import_agreements", str(EXAMPLE), "--user", "nobody")


class ExpireTests:
    def past_agreement(self):
        start = timezone.localdate() - datetime.timedelta(days=400)
        return agreement_factory(state="active", start_date=start, end_date=start + datetime.timedelta(days=100),
                                 review_date=start + datetime.timedelta(days=50))

    def test_command_expires_as_the_system_actor(self, region):
        agreement = self.past_agreement()
        current = agreement_factory(state="active")
        out, _ = run("expire_agreements")
        assert f"Expired {agreement.reference}" in out and "1 agreement(s) expired." in out
        assert Agreement.objects.get(pk=agreement.pk).status == "expired"
        assert Agreement.objects.get(pk=current.pk).status == "active"
        assert AuditEvent.objects.get(action="agreement.expired").actor_name == "expire_agreements"

    def test_command_accepts_a_date(self, region):
        agreement = agreement_factory(state="active")
        end = Agreement.objects.get(pk=agreement.pk).in_force_version.end_date
        run("expire_agreements", "--today", end.isoformat())
        assert Agreement.objects.get(pk=agreement.pk).status == "active"
        run("expire_agreements", "--today", (end + datetime.timedelta(days=1)).isoformat())
        assert Agreement.objects.get(pk=agreement.pk).status == "expired"

    def test_the_scheduled_task_does_the_same(self, region):
        agreement = self.past_agreement()
        member(region.council, Role.AUDITOR)
        assert expire.apply().get() == 1
        assert Agreement.objects.get(pk=agreement.pk).status == "expired"
        assert AuditEvent.objects.get(action="agreement.expired").actor_name == "task:agreements.expire"
