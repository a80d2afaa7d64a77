"""The "may I share?" decision, against a real database, for every reason and on any date."""

import datetime as dt
import json

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agreements import decisions
from agreements.choices import AgreementStatus, Frequency, Method, PeriodState
from agreements.models import AgreementPeriod, Flow
from audit.models import AuditEvent
from tests.agreements.builders import at, build_agreement, legal_basis
from tests.factories import AgencyFactory, DatasetFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 24)


@pytest.fixture(autouse=True)
def _fixed_today():
    """Checks default to "today"; pin the clock so the dates below mean the same every day the suite runs."""
    with time_machine.travel(at(TODAY, 10), tick=True):
        yield


@pytest.fixture(autouse=True)
def _one_query(monkeypatch):
    """Every decision in this module, for every outcome, costs one query (the candidates, with what the register
    holds under the question's codes), and an agreement awaiting signatures a second (who has still to sign). The
    check reads only the fields it selected of each row (decisions._SELECTED): reading any other would cost a query
    more, and fail here; so would an answer that looked its names up again."""
    decide = decisions.decide

    def counted(**kwargs):
        with CaptureQueriesContext(connection) as queries:
            decision = decide(**kwargs)
        allowed = 2 if decision.outcome == "awaiting_signatures" else 1
        assert len(queries) <= allowed, [query["sql"][:120] for query in queries.captured_queries]
        return decision

    monkeypatch.setattr(decisions, "decide", counted)


@pytest.fixture
def fire():
    return AgencyFactory(code="gm-fire", name="Greater Manchester Fire and Rescue", dpo_email="dpo@gmfrs.example")


@pytest.fixture
def council():
    return AgencyFactory(code="mcc", name="Manchester City Council", dpo_email="dpo@mcc.example")


@pytest.fixture
def smoking(council):
    return DatasetFactory(
        code="smoking-risk", name="Smoking and home fire risk", owner=council,
        data_items=["name", "address", "smokes at home", "uses oxygen"],
    )


def ask(**kwargs):
    question = {"provider": "mcc", "recipient": "gm-fire", "dataset": "smoking-risk", **kwargs}
    return decisions.decide(**question)


class AllowedTests:
    def test_yes_names_the_agreement_and_its_legal_bases(self, council, fire, smoking):
        agreement = build_agreement(
            provider=council, recipient=fire, dataset=smoking, bases=("ukgdpr-6-1-e", "ukgdpr-9-2-h")
        )
        decision = ask()
        assert decision.allowed is True
        assert agreement.reference in decision.reason
        assert decision.reason.startswith("Yes, you may share this")
        assert legal_basis("ukgdpr-6-1-e").citation in decision.reason
        assert [b.code for b in decision.legal_bases] == ["ukgdpr-6-1-e", "ukgdpr-9-2-h"]
        assert decision.agreement == agreement.reference and decision.version == 1
        assert decision.contact == "dpo@mcc.example"
        assert decision.retention == "12 months"
        assert decision.data_items == ["name", "address", "smokes at home", "uses oxygen"]
        assert decision.warnings == []

    @pytest.mark.parametrize(("method", "frequency"), [*zip(Method.values, Frequency.values, strict=False),
                                                      ("carrier pigeon", "")])
    def test_the_answer_says_what_the_flow_says_as_the_orm_reads_it(self, council, fire, smoking, method, frequency):
        """The check reads its rows into plain objects, not model instances: what it tells the asker of the flow
        is what the flow's model says (a value outside the choices, written before they changed, shown as it is)."""
        agreement = build_agreement(provider=council, recipient=fire, dataset=smoking)
        Flow.objects.filter(version__agreement=agreement).update(method=method, frequency=frequency,
                                                                  purpose="Fire safety visits: “home”")
        flow = Flow.objects.get(version__agreement=agreement)
        decision = ask()
        assert (decision.method, decision.frequency, decision.retention) == (
            flow.get_method_display(), flow.get_frequency_display(), flow.retention)
        assert (decision.purposes, decision.data_items) == ([flow.purpose], flow.data_items)
        assert decision.version == flow.version.number and decision.agreement_title == flow.version.title
        assert decision.provider_name == council.name

    def test_review_overdue_still_allows_but_warns(self, council, fire, smoking):
        build_agreement(provider=council, recipient=fire, dataset=smoking, review=TODAY - dt.timedelta(days=10))
        decision = ask()
        assert decision.allowed is True
        assert "overdue" in decision.warnings[0]

    def test_items_inside_the_agreement_are_allowed(self, council, fire, smoking):
        build_agreement(provider=council, recipient=fire, dataset=smoking)
        assert ask(data_items=["name", "uses oxygen"]).allowed is True


class DeniedTests:
    def test_no_agreement(self, council, fire, smoking):
        decision = ask()
        assert decision.allowed is False
        assert decision.outcome == "no_agreement"
        assert decision.reason == (f"No: there is no information-sharing agreement for sharing {smoking.name} from "
                                   f"{council.name} with {fire.name}.")  # names a worker knows, not codes
        assert f"the Data Protection Officer of {council.name}" in decision.next_step

    def test_wrong_direction(self, council, fire, smoking):
        reverse = build_agreement(provider=council, recipient=fire, dataset=smoking)
        decision = ask(provider="gm-fire", recipient="mcc")
        assert decision.allowed is False and decision.outcome == "wrong_direction"
        assert reverse.reference in decision.reason
        assert ("covers sharing Smoking and home fire risk from Manchester City Council to Greater Manchester Fire "
                "and Rescue, not from Greater Manchester Fire and Rescue to Manchester City Council."
                ) in decision.reason

    def test_awaiting_signatures_names_the_parties_still_to_sign(self, council, fire, smoking):
        build_agreement(provider=council, recipient=fire, dataset=smoking, status=AgreementStatus.SUBMITTED)
        decision = ask()
        assert decision.outcome == "awaiting_signatures"
        assert "Greater Manchester Fire and Rescue" in decision.reason
        assert "Manchester City Council" in decision.reason

    def test_suspended_now(self, council, fire, smoking):
        build_agreement(
            provider=council, recipient=fire, dataset=smoking, status=AgreementStatus.SUSPENDED,
            periods=[(PeriodState.IN_FORCE, at(dt.date(2025, 12, 1)), at(dt.date(2026, 10, 1))),
                     (PeriodState.SUSPENDED, at(dt.date(2026, 10, 1)), None)],
        )
        decision = ask()
        assert decision.outcome == "suspended"
        assert "suspended now" in decision.reason

    def test_revoked(self, council, fire, smoking):
        build_agreement(
            provider=council, recipient=fire, dataset=smoking, status=AgreementStatus.REVOKED,
            periods=[(PeriodState.IN_FORCE, at(dt.date(2025, 12, 1)), at(dt.date(2026, 9, 3)))],
        )
        decision = ask()
        assert decision.outcome == "revoked"
        assert "revoked on 3 September 2026" in decision.reason

    def test_expired(self, council, fire, smoking):
        build_agreement(
            provider=council, recipient=fire, dataset=smoking, status=AgreementStatus.EXPIRED,
            start=dt.date(2024, 1, 1), end=dt.date(2025, 12, 31), review=dt.date(2025, 6, 1),
            periods=[(PeriodState.IN_FORCE, at(dt.date(2023, 12, 1)), at(dt.date(2026, 1, 1), 2))],
        )
        decision = ask()
        assert decision.outcome == "expired"
        assert "expired on 31 December 2025" in decision.reason

    def test_not_yet_started(self, council, fire, smoking):
        build_agreement(provider=council, recipient=fire, dataset=smoking, start=dt.date(2027, 1, 1))
        decision = ask()
        assert decision.outcome == "not_yet_started"
        assert "does not start until 1 January 2027" in decision.reason

    def test_review_lapsed_after_the_grace_period(self, council, fire, smoking, settings):
        settings.REVIEW_GRACE_DAYS = 90
        build_agreement(provider=council, recipient=fire, dataset=smoking, review=TODAY - dt.timedelta(days=91))
        decision = ask()
        assert decision.allowed is False and decision.outcome == "review_lapsed"
        assert "review" in decision.reason and "lapsed" in decision.reason

    def test_items_not_covered_names_those_that_are(self, council, fire, smoking):
        build_agreement(provider=council, recipient=fire, dataset=smoking, data_items=["name", "address"])
        decision = ask(data_items=["name", "uses oxygen"])
        assert decision.outcome == "items_not_covered"
        assert "does not cover uses oxygen" in decision.reason
        assert "covers only: name and address" in decision.reason

    def test_dataset_not_covered(self, council, fire, smoking):
        other = DatasetFactory(code="housing-repairs", name="Housing repairs", owner=council)
        build_agreement(provider=council, recipient=fire, dataset=other)
        decision = ask()
        assert decision.outcome == "dataset_not_covered"
        assert "Housing repairs" in decision.reason

    def test_rejected(self, council, fire, smoking):
        build_agreement(provider=council, recipient=fire, dataset=smoking, status=AgreementStatus.REJECTED)
        assert ask().outcome == "rejected"

    def test_the_closest_answer_wins_when_several_agreements_apply(self, council, fire, smoking):
        build_agreement(provider=council, recipient=fire, dataset=smoking, status=AgreementStatus.REJECTED)
        good = build_agreement(provider=council, recipient=fire, dataset=smoking)
        decision = ask()
        assert decision.allowed is True and decision.agreement == good.reference

    def test_unknown_codes_are_named(self, council, fire, smoking):
        with pytest.raises(decisions.UnknownCodes) as raised:
            ask(recipient="nowhere", dataset="nothing")
        assert set(raised.value.errors) == {"recipient", "dataset"}


class TimeTravelTests:
    """A check for a past date answers as the register stood on that date."""

    @pytest.fixture
    def suspended_once(self, council, fire, smoking):
        return build_agreement(
            provider=council, recipient=fire, dataset=smoking,
            periods=[
                (PeriodState.IN_FORCE, at(dt.date(2025, 12, 1)), at(dt.date(2026, 3, 1))),
                (PeriodState.SUSPENDED, at(dt.date(2026, 3, 1)), at(dt.date(2026, 4, 1))),
                (PeriodState.IN_FORCE, at(dt.date(2026, 4, 1)), None),
            ],
        )

    def test_during_a_past_suspension(self, suspended_once):
        decision = ask(on=dt.date(2026, 3, 15))
        assert decision.outcome == "suspended"
        assert "suspended on 15 March 2026" in decision.reason

    def test_before_and_after_a_past_suspension(self, suspended_once):
        assert ask(on=dt.date(2026, 2, 15)).allowed is True
        assert ask(on=dt.date(2026, 4, 15)).allowed is True

    def test_after_revocation_but_not_before(self, council, fire, smoking):
        build_agreement(
            provider=council, recipient=fire, dataset=smoking, status=AgreementStatus.REVOKED,
            periods=[(PeriodState.IN_FORCE, at(dt.date(2025, 12, 1)), at(dt.date(2026, 6, 1)))],
        )
        assert ask(on=dt.date(2026, 5, 31)).allowed is True
        assert ask(on=dt.date(2026, 6, 2)).outcome == "revoked"

    def test_before_the_start_date(self, council, fire, smoking):
        build_agreement(provider=council, recipient=fire, dataset=smoking, start=dt.date(2026, 2, 1))
        decision = ask(on=dt.date(2026, 1, 15))
        assert decision.outcome == "not_yet_started"

    def test_before_it_was_signed(self, council, fire, smoking):
        build_agreement(
            provider=council, recipient=fire, dataset=smoking,
            periods=[(PeriodState.IN_FORCE, at(dt.date(2026, 5, 1)), None)],
        )
        decision = ask(on=dt.date(2026, 4, 1))
        assert decision.outcome == "not_yet_in_force"
        assert "came into force on 1 May 2026" in decision.reason

    def test_after_expiry_but_not_before(self, council, fire, smoking):
        build_agreement(
            provider=council, recipient=fire, dataset=smoking, status=AgreementStatus.EXPIRED,
            start=dt.date(2025, 1, 1), end=dt.date(2026, 6, 30), review=dt.date(2026, 5, 1),
            periods=[(PeriodState.IN_FORCE, at(dt.date(2024, 12, 1)), at(dt.date(2026, 7, 1), 2))],
        )
        assert ask(on=dt.date(2026, 6, 30)).allowed is True
        assert ask(on=dt.date(2026, 7, 2)).outcome == "expired"

    def test_after_the_review_lapsed_but_not_before(self, council, fire, smoking, settings):
        settings.REVIEW_GRACE_DAYS = 90
        build_agreement(provider=council, recipient=fire, dataset=smoking, review=dt.date(2026, 3, 1))
        assert ask(on=dt.date(2026, 5, 1)).allowed is True  # overdue, within grace
        assert ask(on=dt.date(2026, 6, 1)).outcome == "review_lapsed"

    def test_suspension_takes_effect_at_once(self, council, fire, smoking):
        agreement = build_agreement(provider=council, recipient=fire, dataset=smoking)
        assert ask().allowed is True
        now = timezone.now()
        AgreementPeriod.objects.filter(agreement=agreement, ended_at__isnull=True).update(ended_at=now)
        AgreementPeriod.objects.create(
            agreement=agreement, version=agreement.in_force_version, state=PeriodState.SUSPENDED, started_at=now
        )
        assert ask().outcome == "suspended"


class CheckAuditTests:
    def test_every_check_is_recorded_with_its_inputs_and_outcome(self, council, fire, smoking):
        agreement = build_agreement(provider=council, recipient=fire, dataset=smoking)
        decision = decisions.check(provider="mcc", recipient="gm-fire", dataset="smoking-risk", purpose="Home visit")
        event = AuditEvent.objects.get(seq=decision.event)
        assert event.action == "check.allowed"
        assert event.object_ref == agreement.reference
        assert event.agency_code == "mcc"
        assert event.detail["purpose"] == "Home visit"
        assert event.detail["allowed"] is True
        assert event.detail["legal_bases"] == ["ukgdpr-6-1-e"]

    def test_the_largest_check_adds_a_bounded_event(self, council, fire, smoking, settings):
        """A long purpose and 200 items of 200 characters, echoed again in the reason, made an 80 KB event."""
        build_agreement(provider=council, recipient=fire, dataset=smoking)
        items = [f"item-{i:03d}-" + "x" * 191 for i in range(200)]
        decision = decisions.check(provider="mcc", recipient="gm-fire", dataset="smoking-risk",
                                   purpose="p" * 10_000, data_items=items)
        assert decision.outcome == "items_not_covered" and len(decision.reason) > 40_000  # the answer is whole
        event = AuditEvent.objects.get(seq=decision.event)
        stored = len(json.dumps(event.detail, separators=(",", ":")))
        assert stored <= settings.AUDIT_DETAIL_MAX_BYTES
        assert event.detail["truncated"] == {"purpose": 10_000, "data_items": 200, "reason": len(decision.reason)}
        assert event.detail["data_items"][0].startswith("item-000-")
        assert len(event.detail["data_items"]) == decisions.CHECK_DETAIL_ITEMS_MAX

    def test_a_denied_check_is_recorded_too(self, council, fire, smoking):
        decision = decisions.check(provider="mcc", recipient="gm-fire", dataset="smoking-risk")
        event = AuditEvent.objects.get(seq=decision.event)
        assert event.action == "check.denied"
        assert event.detail["outcome"] == "no_agreement"

    @pytest.mark.parametrize("status", [AgreementStatus.ACTIVE, AgreementStatus.SUBMITTED, None])
    def test_a_check_costs_at_most_three_queries(self, council, fire, smoking, status, django_assert_max_num_queries):
        if status:
            for _ in range(5):
                build_agreement(provider=council, recipient=fire, dataset=smoking, status=status)
        with django_assert_max_num_queries(3):
            decisions.check(provider="mcc", recipient="gm-fire", dataset="smoking-risk")
