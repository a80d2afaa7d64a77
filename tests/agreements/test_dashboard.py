"""agreements/dashboard.py: the officer's chart and "Waiting for you" read the same agreements a plain ORM question
would, on a register with amendments, leads that are not parties, agencies sharing an agreement and every status;
and they cost the same few queries however big the register is."""

from collections import Counter

import pytest
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from agencies.choices import Role
from agreements import lifecycle
from agreements.choices import AgreementStatus, VersionState
from agreements.dashboard import dashboard_for
from agreements.lifecycle import Action
from agreements.models import Agreement, AgreementVersion, Party
from tests.agreements.builders import build_agreement
from tests.factories import AgencyFactory, UserFactory, member

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def _version(agreement: Agreement, number: int, state: str, parties, *, signed=(), editor=None,
             current: bool = True) -> AgreementVersion:
    """Another version of `agreement` with these parties (those in `signed` have signed it); made current."""
    first = agreement.versions.get(number=1)
    version = AgreementVersion.objects.create(
        agreement=agreement, number=number, state=state, title=first.title, purpose=first.purpose,
        start_date=first.start_date, end_date=first.end_date, review_date=first.review_date,
        created_by=first.created_by, last_edited_by=editor or first.created_by,
        submitted_at=timezone.now() if state == VersionState.SUBMITTED else None,
    )
    for agency in parties:
        done = agency in signed
        Party.objects.create(version=version, agency=agency, signed_by=first.created_by if done else None,
                             signed_at=timezone.now() if done else None)
    if current:
        agreement.current_version = version
        agreement.save(update_fields=["current_version"])
    return version


def varied_register():
    """An officer of two agencies, and agreements that are theirs in every way the chart counts (and some not)."""
    mine, also_mine, other, third = (AgencyFactory() for _ in range(4))
    officer = member(mine, Role.GOVERNANCE_OFFICER)
    member(also_mine, Role.GOVERNANCE_OFFICER, username=officer.username)
    for status in AgreementStatus.values:  # led by one of mine, and another it is only party to
        build_agreement(provider=mine, status=status)
        build_agreement(provider=other, recipient=also_mine, status=status)
    build_agreement(provider=mine, recipient=also_mine, status=AgreementStatus.ACTIVE)  # both mine: counted once
    led_only = build_agreement(provider=other, recipient=third, status=AgreementStatus.SUSPENDED)
    Agreement.objects.filter(pk=led_only.pk).update(lead_agency=also_mine)  # the lead, but not a party
    dropped = build_agreement(provider=other, recipient=mine, status=AgreementStatus.ACTIVE)
    _version(dropped, 2, VersionState.DRAFT, [other, third])  # party to version 1 only
    kept = build_agreement(provider=other, recipient=mine, status=AgreementStatus.EXPIRED)
    _version(kept, 2, VersionState.SUPERSEDED, [other, mine], current=False)  # party to both: counted once
    for status in (AgreementStatus.ACTIVE, AgreementStatus.DRAFT, AgreementStatus.REVOKED):
        build_agreement(provider=other, recipient=third, status=status)  # not theirs
    return officer, mine, also_mine


class StatusChartTests:
    def test_each_status_counts_the_agreements_a_plain_orm_question_finds(self):
        officer, mine, also_mine = varied_register()
        agency_ids = {mine.pk, also_mine.pk}
        theirs = (Agreement.objects.filter(Q(versions__parties__agency_id__in=agency_ids)
                                           | Q(lead_agency_id__in=agency_ids))
                  .distinct().values_list("pk", "status"))
        expected = Counter(status for _pk, status in theirs)
        board = dashboard_for(user=officer, today=TODAY)
        assert {row["status"]: row["count"] for row in board.by_status} == {
            status: expected.get(status, 0) for status in AgreementStatus.values}
        assert sum(expected.values()) == 2 * len(AgreementStatus.values) + 4

    def test_an_agency_with_no_agreements_counts_none(self):
        officer = member(AgencyFactory(), Role.GOVERNANCE_OFFICER)
        varied_register()
        board = dashboard_for(user=officer, today=TODAY)
        assert [row["count"] for row in board.by_status] == [0] * len(AgreementStatus.values)
        assert {row["width"] for row in board.by_status} == {0}


class AwaitingSignatureTests:
    def test_the_parties_listed_are_those_the_lifecycle_asks_to_sign(self):
        officer, mine, also_mine = varied_register()
        agency_ids = {mine.pk, also_mine.pk}
        other, third = AgencyFactory(), AgencyFactory()
        drafter = UserFactory()
        # A first version awaiting signatures, and amendments awaiting them on an active and a suspended agreement
        # (suspended: reinstate before signing), one already signed by me, one whose earlier version waits in vain.
        awaiting = build_agreement(provider=other, recipient=mine, status=AgreementStatus.SUBMITTED)
        amended = build_agreement(provider=other, recipient=mine, status=AgreementStatus.ACTIVE)
        _version(amended, 2, VersionState.SUBMITTED, [other, mine])
        suspended = build_agreement(provider=other, recipient=mine, status=AgreementStatus.SUSPENDED)
        _version(suspended, 2, VersionState.SUBMITTED, [other, mine])
        signed = build_agreement(provider=other, recipient=mine, status=AgreementStatus.ACTIVE)
        _version(signed, 2, VersionState.SUBMITTED, [other, mine], signed=[mine])
        stale = build_agreement(provider=other, recipient=mine, status=AgreementStatus.ACTIVE)
        _version(stale, 2, VersionState.SUBMITTED, [other, mine])
        _version(stale, 3, VersionState.DRAFT, [other, mine])  # v2 withdrawn to a new draft: nothing to sign
        resent = build_agreement(provider=other, recipient=mine, status=AgreementStatus.ACTIVE)
        withdrawn = _version(resent, 2, VersionState.WITHDRAWN, [other, mine])
        _version(resent, 3, VersionState.SUBMITTED, [other, mine])  # only v3 is to sign, not v2
        # Led by mine: listed unless this officer last edited it (the drafter may not sign for the lead).
        led = build_agreement(provider=mine, recipient=third, status=AgreementStatus.ACTIVE)
        _version(led, 2, VersionState.SUBMITTED, [mine, third], editor=drafter)
        led_by_me = build_agreement(provider=mine, recipient=third, status=AgreementStatus.ACTIVE)
        _version(led_by_me, 2, VersionState.SUBMITTED, [mine, third], editor=officer)

        plainly = (  # the question as the lifecycle words it: an agreement whose current version is this party's
            Party.objects.filter(agency_id__in=agency_ids, signed_at__isnull=True)
            .filter(Exists(Agreement.objects.filter(lifecycle.state_q(Action.SIGN),
                                                    current_version_id=OuterRef("version_id"))))
            .exclude(Q(agency_id=F("version__agreement__lead_agency_id")) & Q(version__last_edited_by=officer))
            .order_by("version__submitted_at", "pk")
        )
        board = dashboard_for(user=officer, today=TODAY)
        listed = [item.party for item in board.waiting if item.action == Action.SIGN]
        assert [p.pk for p in listed] == [p.pk for p in plainly]
        assert [p.version.number for p in listed if p.version.agreement_id == resent.pk] == [3]
        assert withdrawn.parties.filter(agency=mine, signed_at__isnull=True).exists()
        assert {p.version.agreement.reference for p in listed} >= {awaiting.reference, amended.reference,
                                                                  led.reference}
        assert not {p.version.agreement.reference for p in listed} & {suspended.reference, signed.reference,
                                                                     stale.reference, led_by_me.reference}


class DashboardQueriesTests:
    def test_the_officers_dashboard_costs_the_same_queries_for_a_bigger_register(self, django_assert_max_num_queries):
        officer, mine, also_mine = varied_register()
        with django_assert_max_num_queries(12) as first:
            dashboard_for(user=officer, today=TODAY)
        for status in AgreementStatus.values:
            build_agreement(provider=mine, recipient=also_mine, status=status)
            build_agreement(recipient=mine, status=status)
        with django_assert_max_num_queries(len(first.captured_queries)):
            dashboard_for(user=officer, today=TODAY)
