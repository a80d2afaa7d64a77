import itertools
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.paginator import EmptyPage
from django.db import connection
from django.db.models.signals import post_init
from django.http import Http404

from agencies.choices import Role
from agreements import services
from agreements.models import Flow
from agreements.selectors import (
    RegisterPaginator,
    agreement_get,
    agreement_get_full,
    agreement_list,
    agreement_search,
    load_terms,
)
from tests.factories import agreement_factory, member

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER


class AgreementListTests:
    def test_each_user_sees_exactly_what_the_rules_allow(self, region):
        draft = agreement_factory()
        active = agreement_factory(state="active")
        suspended = agreement_factory(state="active")
        services.agreement_suspend(actor=member(region.nhs, GO), agreement=suspended, reason="Pause")
        root = get_user_model().objects.create(username="root", is_superuser=True)

        def seen(user):
            return {a.reference: a.full_view for a in agreement_list(user=user, filters={})}

        assert seen(AnonymousUser()) == {}
        assert seen(member(region.fire, Role.AUDITOR)) == {active.reference: False}
        for role in Role.values:
            assert seen(member(region.nhs, role)) == {
                draft.reference: True, active.reference: True, suspended.reference: True
            }
        assert seen(root) == {draft.reference: True, active.reference: True, suspended.reference: True}

    def test_removed_party_loses_sight_of_the_draft(self, region):
        agreement = agreement_factory()
        frontline = member(region.nhs, Role.FRONTLINE)
        services.agreement_update(actor=member(region.council, GO), agreement=agreement, flows=[
            {"dataset": "council-tenancies", "provider": "lead-council", "recipient": "police",
             "legal_bases": ["ukgdpr-6-1-e"]},
        ])
        assert not agreement_list(user=frontline, filters={}).exists()
        assert agreement_list(user=member(region.police, Role.FRONTLINE), filters={}).count() == 1

    def test_list_runs_a_fixed_number_of_queries(self, region, django_assert_num_queries):
        user = member(region.nhs, Role.FRONTLINE)
        for _ in range(4):
            agreement_factory(state="active")
        assert connection.features.supports_json_field  # SQLite asks this once per connection
        with django_assert_num_queries(3):  # agreements, then parties and flows (with bases) of both versions at once
            rows = load_terms(list(agreement_list(user=user, filters={"dataset": "discharge-summaries"})))
            loaded = [[b.code for b in row.current_version.flow_list()[0].basis_list()] for row in rows]
            assert all(row.in_force_version.party_list()[0].agency.code for row in rows)
        assert len(rows) == 4
        flow = rows[0].current_version.flow_list()[0]
        assert loaded[0] == [b.code for b in Flow.objects.get(pk=flow.pk).legal_bases.all()]  # the catalogue's order
        assert len(loaded[0]) == 3


class AgreementSearchTests:
    def test_the_rows_read_row_by_row_or_from_sets_and_the_count_parts_are_the_same_agreements(self, region):
        """The page's rows (looked up row by row, or read from sets past the first pages) and the count's parts (each
        read from its most selective index) are three ways of asking one rule: for every kind of user and filter,
        they give the same agreements, and the parts never share one."""
        draft = agreement_factory()
        active = agreement_factory(state="active")
        led_by_police = agreement_factory(state="active", lead=region.police, flows=[
            {"dataset": region.incidents, "provider": region.police, "recipient": region.council,
             "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18", "crime-and-disorder-act-1998-s115"]}])
        amended = agreement_factory(state="active", title="Amended later")
        services.agreement_amend(actor=member(region.council, GO), agreement=amended)
        services.agreement_update(actor=member(region.council, GO), agreement=amended, title="A draft's new title")
        suspended = agreement_factory(state="active")
        services.agreement_suspend(actor=member(region.nhs, GO), agreement=suspended, reason="Pause")
        users = [member(region.nhs, Role.FRONTLINE), member(region.council, Role.AUDITOR),
                 member(region.police, Role.FRONTLINE), member(region.fire, GO),
                 get_user_model().objects.create(username="root", is_superuser=True), AnonymousUser()]
        filters = [{}, {"agency": "nhs-provider"}, {"agency": "police"}, {"agency": "lead-council"},
                   {"agency": "no-such-agency"}, {"dataset": "discharge-summaries"}, {"legal_basis": "ukgdpr-10"},
                   {"q": "new title"}, {"q": "amended"}, {"q": led_by_police.reference.lower()}, {"status": "draft"},
                   {"status": "in_force", "agency": "nhs-provider"}, {"agency": "police", "q": "domestic"}]
        everything = {draft.pk, active.pk, led_by_police.pk, amended.pk, suspended.pk}
        seen_any = set()
        for user in users:
            for given in filters:
                search = agreement_search(user=user, filters=given)
                near = {a.pk: a.full_view for a in search.rows()}
                far = {a.pk: a.full_view for a in search.rows(probe=False)}
                assert near == far, (user, given)
                for probe in (True, False):
                    parts = [set(part.values_list("pk", flat=True)) for part in search.parts(probe=probe)]
                    assert sum(len(part) for part in parts) == len(set().union(*parts)) == len(near), (user, given)
                    assert set().union(*parts) == set(near), (user, given)
                seen_any |= set(near)
        assert seen_any == everything
        nhs = agreement_search(user=users[0], filters={"q": "new title"})
        assert set(nhs.rows().values_list("pk", flat=True)) == {amended.pk}  # a party reads the draft's terms
        fire = agreement_search(user=users[3], filters={"q": "new title"})
        assert not fire.rows().exists()  # a filter cannot reveal what a draft says


class RegisterPaginatorTests:
    def test_a_page_and_its_count_are_one_query_and_the_terms_two(self, region, django_assert_num_queries):
        user = member(region.nhs, Role.FRONTLINE)
        for _ in range(3):
            agreement_factory(state="active")
        assert connection.features.supports_json_field  # SQLite asks this once per connection
        paginator = RegisterPaginator(agreement_search(user=user), 2)
        with django_assert_num_queries(3):
            page = paginator.page(1)
            assert [len(a.in_force_version.party_list()) > 0 for a in page] == [True, True]
        assert (paginator.count, paginator.capped, page.has_next()) == (3, False, True)
        with django_assert_num_queries(3):
            last = paginator.page(2)
        assert (len(last), last.has_next(), last.has_previous()) == (1, False, True)
        with pytest.raises(EmptyPage):
            paginator.page(3)

    def test_a_page_builds_each_agency_once_and_no_user_for_its_signers(self, region):
        """What a page builds is what the collector walks at the end of the request: one object for each agency the
        page names (the lead agency is a party), none for a signer (the API shows their username), and each version's
        parties and flows as plain lists."""
        user = member(region.nhs, Role.FRONTLINE)
        made = [agreement_factory(state="active") for _ in range(3)]
        built: Counter[str] = Counter()

        def count(sender, **kwargs):
            built[sender.__name__] += 1

        post_init.connect(count, weak=False)
        try:
            page = RegisterPaginator(agreement_search(user=user), 3).page(1)
        finally:
            post_init.disconnect(count)
        agencies = {party.agency_id for agreement in made for party in agreement.current_version.parties.all()}
        assert (built["User"], built["Agency"], built["Agreement"]) == (0, len(agencies), 3)
        for agreement in page:
            version = agreement.current_version
            assert type(version.party_list()) is list and type(version.flow_list()) is list
            assert agreement.lead_agency in [party.agency for party in version.party_list()]
            assert all(party.signed_by_id for party in version.party_list())

    def test_the_count_stops_at_the_cap_and_every_page_is_still_served(self, region):
        user = member(region.nhs, Role.FRONTLINE)
        made = [agreement_factory(state="active").reference for _ in range(5)]
        paginator = RegisterPaginator(agreement_search(user=user), 2, cap=2)
        first = paginator.page(1)
        assert (paginator.count, paginator.capped, first.has_next()) == (3, True, True)
        seen = [a.reference for a in first]
        number = 1
        page = first
        while page.has_next():
            number = page.next_page_number()
            page = RegisterPaginator(agreement_search(user=user), 2, cap=2).page(number)
            seen += [a.reference for a in page]
        assert number == 3 and seen == made[::-1]
        with pytest.raises(EmptyPage):
            RegisterPaginator(agreement_search(user=user), 2, cap=2).page(4)

    def test_pages_deep_in_the_register_read_from_the_sets_give_the_same_pages(self, region, monkeypatch):
        user = member(region.nhs, Role.FRONTLINE)
        agreement_factory()
        for _ in range(4):
            agreement_factory(state="active")

        def pages() -> list[list[tuple[str, bool]]]:
            return [[(a.reference, a.full_view) for a in RegisterPaginator(agreement_search(user=user), 2).page(n)]
                    for n in (1, 2, 3)]

        near = pages()
        monkeypatch.setattr("agreements.selectors.PROBE_REACH", 0)
        assert pages() == near and sum(len(page) for page in near) == 5

    def test_nothing_visible_is_one_empty_first_page(self, region):
        agreement_factory()
        paginator = RegisterPaginator(agreement_search(user=member(region.fire, Role.FRONTLINE)), 2)
        assert (list(paginator.page(1)), paginator.count, paginator.capped) == ([], 0, False)


class AgreementGetTests:
    def test_invisible_and_missing_are_both_404(self, region):
        draft = agreement_factory()
        outsider = member(region.fire, GO)
        with pytest.raises(Http404):
            agreement_get(user=outsider, reference=draft.reference)
        with pytest.raises(Http404):
            agreement_get(user=outsider, reference="ISA-2000-0001")
        assert agreement_get(user=member(region.nhs, Role.AUDITOR), reference=draft.reference).full_view

    def test_full_record_only_for_parties(self, region):
        active = agreement_factory(state="active")
        outsider = member(region.fire, GO)
        assert agreement_get(user=outsider, reference=active.reference).full_view is False
        with pytest.raises(Http404):
            agreement_get_full(user=outsider, reference=active.reference)


class RegisterShapeTests:
    """The first pages are read from SQL compiled once for each shape of search (`sql.Shape`): each request still
    sees exactly what its own query would show it, whoever asked first."""

    @staticmethod
    def seen(rows):
        """Every value of each agreement and of both its versions, as read, with the annotations."""

        def values(obj):
            return obj and [(f.attname, getattr(obj, f.attname)) for f in obj._meta.concrete_fields]

        return [(values(a), bool(a.full_view), a.register_count, values(a.current_version),
                 values(a.in_force_version)) for a in rows]

    def test_each_user_and_filter_sees_what_their_own_query_shows(self, region):
        agreement_factory(state="active")
        agreement_factory()  # a draft: its parties' members only, and no version in force
        tenancies = agreement_factory(
            lead=region.council, state="submitted",
            flows=[{"dataset": region.tenancies, "provider": region.council, "recipient": region.fire,
                    "legal_bases": ["ukgdpr-6-1-e"]}])
        users = [member(region.nhs, Role.FRONTLINE), member(region.fire, Role.FRONTLINE),
                 member(region.council, Role.AUDITOR),
                 get_user_model().objects.create_superuser("root", "root@example.test", "x")]
        searches = [{}, {"agency": "nhs-provider"}, {"agency": "fire"}, {"dataset": "council-tenancies"},
                    {"agency": "lead-council", "legal_basis": "ukgdpr-6-1-e"}, {"agency": "nobody"}]
        # And every other combination of the slotted filters: each shape must compile (sql.Shape refuses otherwise).
        given = {"agency": "lead-council", "dataset": "council-tenancies", "legal_basis": "ukgdpr-6-1-e"}
        searches += [{name: given[name] for name in names} for size in (2, 3)
                     for names in itertools.combinations(given, size)]
        searches.append({"legal_basis": "ukgdpr-6-1-e"})
        for filters in searches:
            for user in [*users, *users[::-1]]:  # each shape compiled for one user, then read for every other
                search = agreement_search(user=user, filters=filters)
                paginator = RegisterPaginator(search, 2)
                assert search.shape() is not None
                expected = list(paginator._page_query(agreement_search(user=user, filters=filters), 0))
                assert self.seen(paginator._read(search.shape(), 0)) == self.seen(expected), (user, filters)
        fire = agreement_search(user=users[1], filters={"agency": "fire"})
        assert [a.reference for a in RegisterPaginator(fire, 10).page(1)] == [tenancies.reference]
        assert [a.reference for a in RegisterPaginator(
            agreement_search(user=users[0], filters={"agency": "fire"}), 10).page(1)] == []

    def test_a_status_or_text_filter_is_compiled_for_each_request(self, region):
        user = member(region.nhs, Role.FRONTLINE)
        assert agreement_search(user=user, filters={"q": "discharge"}).shape() is None
        assert agreement_search(user=user, filters={"status": "in_force"}).shape() is None
        assert agreement_search(user=AnonymousUser()).shape() is None
