"""agreements/sql.py: the SQL shapes the ORM does not write by itself, on SQLite and on PostgreSQL."""

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.test.utils import CaptureQueriesContext

from agencies.choices import Role
from agencies.models import Agency
from agencies.selectors import forget_user_roles, user_agency_codes
from agreements import decisions, sql
from agreements.models import Agreement, AgreementPeriod, Flow, LegalBasis, Party
from common import prepared
from tests.factories import agreement_factory, member

pytestmark = pytest.mark.django_db


class BoundedCountTests:
    def test_it_counts_every_row_up_to_the_cap_then_stops_at_one_more(self, region):
        for _ in range(4):
            agreement_factory()
        everything = Agreement.objects.all()
        counted = {cap: Agreement.objects.annotate(n=sql.BoundedCount(everything, cap)).values_list("n", flat=True)[0]
                   for cap in (2, 3, 4, 10)}
        assert counted == {2: 3, 3: 4, 4: 4, 10: 4}

    def test_it_counts_the_filtered_rows_in_the_same_query(self, region, django_assert_num_queries):
        drafts = [agreement_factory() for _ in range(3)]
        agreement_factory(state="active")
        only_drafts = Agreement.objects.filter(status="draft")
        with django_assert_num_queries(1):
            rows = list(only_drafts.annotate(n=sql.BoundedCount(only_drafts, 1000)).order_by("pk")[:2])
        assert [(a.pk, a.n) for a in rows] == [(drafts[0].pk, 3), (drafts[1].pk, 3)]


    def test_it_counts_a_union_of_parts_and_every_row_without_a_cap(self, region):
        for state in ("draft", "draft", "active"):
            agreement_factory(state=state)
        drafts = Agreement.objects.filter(status="draft").order_by().values("pk")
        active = Agreement.objects.filter(status="active").order_by().values("pk")
        both = drafts.union(active, all=True)
        counted = {cap: Agreement.objects.annotate(n=sql.BoundedCount(both, cap)).values_list("n", flat=True)[0]
                   for cap in (1, 2, None)}
        assert counted == {1: 2, 2: 3, None: 3}


class ProbeTests:
    def test_it_answers_as_exists_does(self, region):
        agreement_factory()
        agreement_factory(state="active")
        parties = Party.objects.filter(version_id=OuterRef("current_version_id"), agency__code="police")
        agreement_factory(state="active", flows=[
            {"dataset": region.incidents, "provider": region.police, "recipient": region.council,
             "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18", "crime-and-disorder-act-1998-s115"]}])
        probed = dict(Agreement.objects.annotate(p=sql.Probe(parties)).values_list("pk", "p"))
        existing = dict(Agreement.objects.annotate(p=Exists(parties)).values_list("pk", "p"))
        assert probed == existing and sorted(probed.values()) == [False, False, True]
        assert Agreement.objects.filter(sql.Probe(parties)).count() == 1

    @pytest.mark.postgres
    def test_postgresql_looks_it_up_for_each_row_and_never_hashes_the_set(self, region):
        """As EXISTS (or IN), PostgreSQL hashes every row of the set before the first outer row whenever it expects
        many outer rows; the page reads a few dozen."""
        for _ in range(3):
            agreement_factory(state="active")
        parties = Party.objects.filter(version_id=OuterRef("current_version_id"), agency__code="nhs-provider")
        rows = Agreement.objects.filter(Q(status="draft") | Q(sql.Probe(parties))).order_by("-created_at")[:2]
        plan = rows.explain()
        assert "SubPlan" in plan and "hashed SubPlan" not in plan
        assert len(rows) == 2


class AgencyJsonTests:
    def test_a_partys_agency_comes_as_the_orm_loads_it(self, region):
        agreement_factory(state="active")
        party = Party.objects.annotate(agency_json=sql.agency_json()).order_by("version_id", sql.agency_name()).first()
        loaded = sql.agency_from_json(party.agency_json)
        expected = Agency.objects.get(pk=party.agency_id)
        fields = [f.attname for f in Agency._meta.concrete_fields]
        assert [getattr(loaded, f) for f in fields] == [getattr(expected, f) for f in fields]
        assert loaded.name == "Lead Council"  # the first party of the version by agency name
        assert not loaded._state.adding


class LegalBasesJsonTests:
    def test_a_flows_bases_come_as_unsaved_looking_catalogue_rows_in_catalogue_order(self, region):
        agreement_factory()
        flow = Flow.objects.annotate(bases=sql.legal_bases_json()).get()
        loaded = sql.legal_bases_from_json(flow.bases)
        expected = list(Flow.objects.get().legal_bases.all())
        assert [(b.pk, b.code, b.kind, b.citation, b.title, b.guidance) for b in loaded] == [
            (b.pk, b.code, b.kind, b.citation, b.title, b.guidance) for b in expected]
        assert all(bool(b.active) for b in loaded)

    def test_each_basis_is_made_once_for_all_the_flows_that_cite_it(self, region):
        agreement_factory()
        agreement_factory()
        known = {}
        first, second = (sql.legal_bases_from_json(flow.bases, known)
                         for flow in Flow.objects.annotate(bases=sql.legal_bases_json()).order_by("pk"))
        assert [b.code for b in first] == [b.code for b in second]
        assert all(a is b for a, b in zip(first, second, strict=True))
        assert set(known) == {b.pk for b in first}

    def test_a_flow_without_bases_has_none(self, region):
        agreement_factory()
        Flow.objects.get().legal_bases.clear()
        flow = Flow.objects.annotate(bases=sql.legal_bases_json()).get()
        assert flow.bases is None and sql.legal_bases_from_json(flow.bases) == []


class PythonValuesTests:
    def test_values_come_back_as_the_fields_hold_them(self):
        fields = [AgreementPeriod._meta.get_field(name) for name in ("started_at", "ended_at", "state")]
        fields += [Flow._meta.get_field("data_items"), LegalBasis._meta.get_field("active")]
        row = ("2026-03-01 09:30:00.000001", None, "in_force", '["name", "address"]', 1, "beyond the fields")
        assert sql.python_values(fields, row) == [
            dt.datetime(2026, 3, 1, 9, 30, 0, 1, tzinfo=dt.UTC), None, "in_force", ["name", "address"], True]

    def test_values_already_in_python_are_kept(self):
        moment = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
        fields = [AgreementPeriod._meta.get_field("started_at"), Flow._meta.get_field("data_items")]
        assert sql.python_values(fields, (moment, ["name"])) == [moment, ["name"]]


@pytest.mark.postgres
class PreparedCheckTests:
    def test_the_check_is_prepared_once_per_connection(self, region):
        agreement_factory(state="active")
        asker = member(region.nhs, Role.FRONTLINE)
        question = {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "discharge-summaries"}

        def sent() -> list[str]:
            with CaptureQueriesContext(connection) as ctx:
                assert decisions.decide(asker=asker, **question).allowed
            return [q["sql"].split()[0] for q in ctx.captured_queries]

        connection.ensure_connection()
        prepared.prepared_on(connection.connection).clear()  # as on a new connection (earlier tests may have prepared)
        forget_user_roles(asker)
        first = sent()
        assert first == ["PREPARE", "PREPARE"]  # the asker's memberships, then the candidates: prepared as first sent
        forget_user_roles(asker)
        assert sent() == ["EXECUTE", "EXECUTE"]
        names = prepared.prepared_on(connection.connection)
        assert names["check_candidates"].startswith("sr_check_candidates_")
        assert names["memberships"].startswith("sr_memberships_")

    def test_the_small_statements_answer_as_the_plain_sql_does(self, region):
        submitted = agreement_factory(state="submitted")
        asker = member(region.police, Role.AUDITOR)
        connection.ensure_connection()
        prepared.prepared_on(connection.connection).clear()
        answers = []
        for _ in range(2):  # prepared, then executed by name
            forget_user_roles(asker)
            answers.append((
                sorted(user_agency_codes(asker)),
                decisions.decide(provider="fire", recipient="police", dataset="domestic-incidents").reason,
                decisions.decide(provider="nhs-provider", recipient="lead-council", dataset="discharge-summaries",
                                 asker=member(region.nhs, Role.FRONTLINE)).reason,
            ))
        assert answers[0] == answers[1]
        assert answers[0][0] == ["police"]
        assert "no information-sharing agreement for sharing Domestic" in answers[0][1]
        assert f"{submitted.reference}" in answers[0][2] and "still needs signing by" in answers[0][2]
        assert set(prepared.prepared_on(connection.connection)) >= {"memberships", "check_candidates", "check_unsigned"}
        with pytest.raises(decisions.UnknownCodes) as unknown:  # the codes' answer names what is missing
            decisions.decide(provider="fire", recipient="nobody", dataset="ghost")
        assert set(unknown.value.errors) == {"recipient", "dataset"}


class ShapeTests:
    """A query compiled once with stand-in values gives, with a request's own values, the SQL and parameters the ORM
    compiles for that request, and reads the same rows."""

    def test_its_params_are_those_compiled_for_the_request_and_read_the_same_rows(self, region):
        made = [agreement_factory(state="active"), agreement_factory()]

        def query(reference, lead_id):
            return Agreement.objects.filter(Q(reference=reference) | Q(lead_agency_id=lead_id)).values_list("pk")

        shape = sql.Shape(query("\x00reference\x00", -77), {"reference": "\x00reference\x00", "lead": -77})
        for reference, lead_id in ((made[0].reference, -1), ("ISA-NONE", region.council.pk), ("ISA-NONE", -1)):
            compiled, params = query(reference, lead_id).query.sql_with_params()
            assert (shape.sql, shape.params({"reference": reference, "lead": lead_id})) == (compiled, list(params))
            with connection.cursor() as cursor:
                cursor.execute(shape.sql, shape.params({"reference": reference, "lead": lead_id}))
                assert sorted(cursor.fetchall()) == sorted(query(reference, lead_id))

    def test_it_refuses_a_stand_in_that_is_not_a_parameter_as_given(self, region):
        text = Agreement.objects.filter(reference__icontains="\x00q\x00")  # LIKE's %...%: not the value given
        with pytest.raises(ValueError):
            sql.Shape(text, {"q": "\x00q\x00"})
        with pytest.raises(ValueError):  # not in the query at all
            sql.Shape(Agreement.objects.filter(pk=-5), {"pk": -5, "other": -6})
