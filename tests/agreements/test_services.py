import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from agencies.choices import Role
from agreements import services
from agreements.models import (
    Agreement,
    AgreementGroupObjectPermission,
    AgreementPeriod,
    AgreementVersion,
    ReferenceCounter,
)
from agreements.rules import TermsInvalid
from audit.models import AuditEvent
from common.errors import Conflict
from tests.dates import AFTER_END, BEFORE_START
from tests.factories import AgencyFactory, DatasetFactory, agreement_factory, member, sign_all
from tests.threads import run_together

pytestmark = pytest.mark.django_db

GO = Role.GOVERNANCE_OFFICER


def events(action, reference=None):
    qs = AuditEvent.objects.filter(action=action)
    if reference:
        qs = qs.filter(object_ref=reference)
    return list(qs.order_by("seq"))


def fresh(agreement):
    return Agreement.objects.select_related("current_version", "in_force_version").get(pk=agreement.pk)


class CreateTests:
    def test_create_makes_a_draft_version_one_with_every_party_and_records_it(self, region):
        officer = member(region.council, GO)
        agreement = services.agreement_create(actor=officer, **region.terms(dpia_reference="DPIA-1"))
        assert agreement.reference == f"ISA-{timezone.localdate().year}-0001"
        assert agreement.status == "draft"
        version = agreement.current_version
        assert (version.number, version.state, version.dpia_reference) == (1, "draft", "DPIA-1")
        assert {p.agency.code for p in version.parties.all()} == {"lead-council", "nhs-provider"}
        flow = version.flows.get()
        assert flow.data_items == region.discharge.data_items  # empty means the whole dataset
        assert sorted(b.code for b in flow.legal_bases.all()) == ["dpa-2018-sch1-para2", "ukgdpr-6-1-e",
                                                                  "ukgdpr-9-2-h"]
        [event] = events("agreement.created")
        assert event.object_ref == agreement.reference
        assert event.actor == officer
        assert event.agency_code == "lead-council"
        assert event.detail["parties"] == ["lead-council", "nhs-provider"]

    def test_references_count_up_and_are_never_reused(self, region):
        officer = member(region.council, GO)
        first = services.agreement_create(actor=officer, **region.terms())
        second = services.agreement_create(actor=officer, **region.terms())
        year = timezone.localdate().year
        assert (first.reference, second.reference) == (f"ISA-{year}-0001", f"ISA-{year}-0002")
        with pytest.raises(TermsInvalid):
            services.agreement_create(actor=officer, **region.terms(title=""))
        third = services.agreement_create(actor=officer, **region.terms())
        assert third.reference == f"ISA-{year}-0003"
        assert ReferenceCounter.objects.get(year=year).last_number == 3

    def test_only_a_governance_officer_of_the_lead_may_draft(self, region):
        for user in (member(region.council, Role.FRONTLINE), member(region.nhs, GO)):
            with pytest.raises(PermissionDenied, match="Only governance officers of Lead Council"):
                services.agreement_create(actor=user, **region.terms())
        assert not Agreement.objects.exists()
        assert not events("agreement.created")

    def test_parties_get_their_object_permissions_each_grant_audited(self, region):
        agreement = services.agreement_create(actor=member(region.council, GO), **region.terms())
        held = set(
            AgreementGroupObjectPermission.objects.filter(content_object=agreement)
            .values_list("group__name", "permission__codename")
        )
        # Every role of every party may see it; who may act is the lifecycle's to say, so no other grant is stored.
        assert held == {(f"{agency}:{role}", "view_agreement")
                        for agency in ("lead-council", "nhs-provider") for role in Role.values}
        assert len(events("permission.granted", agreement.reference)) == len(held) == 8


class ValidationTests:
    """Every rule gives DRF-shaped errors and writes nothing."""

    def invalid(self, region, **overrides):
        officer = member(region.council, GO)
        with pytest.raises(TermsInvalid) as caught:
            services.agreement_create(actor=officer, **region.terms(**overrides))
        assert not Agreement.objects.exists()
        assert not AgreementVersion.objects.exists()
        assert not events("agreement.created")
        return caught.value.errors

    def flow(self, region, **changes):
        flow = dict(region.terms()["flows"][0])
        flow.update(changes)
        return flow

    def test_end_before_start(self, region):
        errors = self.invalid(region, end_date=BEFORE_START)
        assert errors["end_date"] == ["The end date must be on or after the start date."]

    def test_review_date_outside_the_period(self, region):
        errors = self.invalid(region, review_date=AFTER_END)
        assert "within the agreement's period" in errors["review_date"][0]
        errors = self.invalid(region, review_date=BEFORE_START)
        assert "review_date" in errors

    def test_unknown_lead_agency(self, region):
        assert self.invalid(region, lead_agency="nowhere")["lead_agency"] == [
            "There is no agency with the code 'nowhere'."
        ]

    def test_unknown_dataset_provider_recipient_and_legal_basis(self, region):
        errors = self.invalid(region, flows=[
            self.flow(region, dataset="nope", provider="nobody", recipient="noone",
                      legal_bases=["ukgdpr-6-1-e", "made-up-law"]),
        ])
        [flow] = errors["flows"]
        assert flow["dataset"] == ["There is no dataset with the code 'nope'."]
        assert flow["provider"] == ["There is no agency with the code 'nobody'."]
        assert flow["recipient"] == ["There is no agency with the code 'noone'."]
        assert flow["legal_bases"] == ["Unknown legal basis: 'made-up-law'."]

    def test_flow_without_an_article_6_basis(self, region):
        errors = self.invalid(region, flows=[self.flow(region, legal_bases=["ukgdpr-9-2-h", "dpa-2018-sch1-para2"])])
        assert "Article 6" in errors["flows"][0]["legal_bases"][0]

    def test_special_category_dataset_without_an_article_9_condition(self, region):
        errors = self.invalid(region, flows=[self.flow(region, legal_bases=["ukgdpr-6-1-e"])])
        assert "special category" in errors["flows"][0]["legal_bases"][0]

    def test_criminal_offence_dataset_without_article_10(self, region):
        flow = {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
                "legal_bases": ["ukgdpr-6-1-e", "dpa-2018-sch1-para18"]}
        errors = self.invalid(region, flows=[flow])
        assert "criminal offence" in errors["flows"][0]["legal_bases"][0]

    def test_provider_equal_to_recipient(self, region):
        errors = self.invalid(region, flows=[self.flow(region, recipient="nhs-provider")])
        assert errors["flows"][0]["recipient"] == ["The provider and the recipient must be different agencies."]

    def test_dataset_not_owned_by_its_provider(self, region):
        errors = self.invalid(region, flows=[self.flow(region, provider="police")])
        assert "belongs to NHS Provider, not to Police" in errors["flows"][0]["dataset"][0]

    def test_duplicate_flows(self, region):
        errors = self.invalid(region, flows=[self.flow(region), self.flow(region, purpose="Again")])
        assert errors["flows"][0] == {}
        assert "repeats flow 1" in errors["flows"][1]["dataset"][0]

    def test_data_items_must_be_a_subset_of_the_dataset(self, region):
        errors = self.invalid(region, flows=[self.flow(region, data_items=["name", "bank details"])])
        assert "not in the dataset Discharge Summaries: bank details" in errors["flows"][0]["data_items"][0]

    def test_at_least_one_flow(self, region):
        assert "at least one flow" in self.invalid(region, flows=[])["flows"][0]

    def test_errors_point_at_the_flow_and_flatten_for_django(self, region):
        with pytest.raises(ValidationError) as caught:
            services.agreement_create(actor=member(region.council, GO), **region.terms(
                flows=[self.flow(region), self.flow(region, recipient="nhs-provider")]
            ))
        assert caught.value.message_dict["flows"] == [
            "Flow 2: The provider and the recipient must be different agencies."
        ]

    def test_article_9_for_a_dataset_without_special_category_data_warns_but_does_not_block(self, region):
        from agreements.rules import version_warnings

        agreement = services.agreement_create(actor=member(region.nhs, GO), **region.terms(
            lead_agency="nhs-provider",
            flows=[{"dataset": "council-tenancies", "provider": "lead-council", "recipient": "nhs-provider",
                    "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h"]}],
        ))
        warnings = version_warnings(agreement.current_version)
        assert any("not marked as holding special category data" in w for w in warnings)
        assert any("Schedule 1" in w for w in warnings)


class UpdateTests:
    def test_update_changes_a_draft_and_records_the_fields(self, region):
        agreement = agreement_factory()
        officer = member(region.council, GO, username="second-editor")
        agreement = services.agreement_update(actor=officer, agreement=agreement, title="New title",
                                              dpia_reference="DPIA-9")
        version = fresh(agreement).current_version
        assert (version.title, version.dpia_reference, version.last_edited_by) == ("New title", "DPIA-9", officer)
        [event] = events("agreement.updated")
        assert event.detail["fields"] == ["dpia_reference", "title"]

    def test_update_is_for_the_lead_agencys_governance_officers_only(self, region):
        agreement = agreement_factory()
        for user in (member(region.nhs, GO), member(region.council, Role.FRONTLINE)):
            with pytest.raises(PermissionDenied):
                services.agreement_update(actor=user, agreement=agreement, title="Mine now")

    def test_update_after_submission_is_a_conflict(self, region):
        agreement = agreement_factory(state="submitted")
        with pytest.raises(Conflict, match="only a draft can be changed"):
            services.agreement_update(actor=member(region.council, GO), agreement=agreement, title="Late")

    def test_invalid_update_writes_nothing(self, region):
        agreement = agreement_factory()
        with pytest.raises(TermsInvalid):
            services.agreement_update(actor=member(region.council, GO), agreement=agreement, title="Changed",
                                      end_date=datetime.date(2000, 1, 1))
        assert fresh(agreement).current_version.title == "Hospital discharge to adult social care"
        assert not events("agreement.updated")

    def test_adding_a_party_grants_and_removing_one_revokes(self, region):
        agreement = agreement_factory()
        officer = member(region.council, GO)
        police_flow = {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
                       "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}
        services.agreement_update(actor=officer, agreement=agreement, flows=[police_flow])
        groups = set(AgreementGroupObjectPermission.objects.filter(content_object=agreement)
                     .values_list("group__name", flat=True))
        assert "police:frontline" in groups
        assert "nhs-provider:frontline" not in groups
        revoked = events("permission.revoked", agreement.reference)
        assert {e.agency_code for e in revoked} == {"nhs-provider"}
        assert len(revoked) == 4


class LifecycleTests:
    def test_submit_then_every_party_signs_and_it_becomes_active(self, region):
        agreement = agreement_factory()
        drafter = member(region.council, GO)
        agreement = services.agreement_submit(actor=drafter, agreement=agreement)
        assert (agreement.status, agreement.current_version.state) == ("submitted", "submitted")
        assert events("agreement.submitted")

        nhs_officer = member(region.nhs, GO)
        agreement = services.agreement_approve(actor=nhs_officer, agreement=agreement)  # agency inferred
        assert fresh(agreement).status == "submitted"
        [approved] = events("agreement.approved")
        assert (approved.agency_code, approved.actor) == ("nhs-provider", nhs_officer)
        assert not events("agreement.activated")

        second = member(region.council, GO, username="council-second")
        agreement = services.agreement_approve(actor=second, agreement=agreement)
        agreement = fresh(agreement)
        assert agreement.status == "active"
        assert agreement.in_force_version == agreement.current_version
        assert agreement.current_version.state == "signed"
        [period] = AgreementPeriod.objects.filter(agreement=agreement)
        assert (period.state, period.ended_at, period.version_id) == ("in_force", None, agreement.current_version_id)
        assert len(events("agreement.activated")) == 1

    def test_submitting_twice_is_a_conflict(self, region):
        agreement = agreement_factory(state="submitted")
        with pytest.raises(Conflict, match="already awaiting signatures"):
            services.agreement_submit(actor=member(region.council, GO), agreement=agreement)

    def test_approving_a_draft_is_a_conflict(self, region):
        agreement = agreement_factory()
        with pytest.raises(Conflict, match="is a draft: the lead agency must send it for signature"):
            services.agreement_approve(actor=member(region.nhs, GO), agreement=agreement)

    def test_approving_an_agreement_in_force_says_there_is_nothing_left_to_sign(self, region):
        agreement = agreement_factory(state="active")
        with pytest.raises(Conflict, match="already been signed by every party: there is nothing left to sign"):
            services.agreement_approve(actor=member(region.nhs, GO), agreement=agreement)

    def test_the_last_editor_cannot_sign_for_the_lead(self, region):
        agreement = agreement_factory(state="submitted")
        with pytest.raises(PermissionDenied, match="another governance officer of Lead Council must sign"):
            services.agreement_approve(actor=member(region.council, GO), agreement=agreement)
        assert not events("agreement.approved")

    def test_an_officer_signs_only_for_their_own_party(self, region):
        agreement = agreement_factory(state="submitted")
        nhs_officer = member(region.nhs, GO)
        with pytest.raises(PermissionDenied, match="Only governance officers of Lead Council"):
            services.agreement_approve(actor=nhs_officer, agreement=agreement, agency="lead-council")
        with pytest.raises(PermissionDenied):
            services.agreement_approve(actor=member(region.fire, GO), agreement=agreement)
        with pytest.raises(PermissionDenied):
            services.agreement_approve(actor=member(region.nhs, Role.FRONTLINE), agreement=agreement)
        with pytest.raises(ValidationError):
            services.agreement_approve(actor=nhs_officer, agreement=agreement, agency="fire")

    def test_signing_twice_for_the_same_party_is_a_conflict(self, region):
        agreement = agreement_factory(state="submitted")
        nhs_officer = member(region.nhs, GO)
        services.agreement_approve(actor=nhs_officer, agreement=agreement)
        with pytest.raises(Conflict, match="already signed"):
            services.agreement_approve(actor=nhs_officer, agreement=agreement)
        with pytest.raises(Conflict, match="already signed"):
            services.agreement_approve(actor=nhs_officer, agreement=agreement, agency="nhs-provider")

    def test_an_officer_of_two_parties_must_say_which(self, region):
        agreement = agreement_factory(state="submitted")
        both = member(region.nhs, GO, username="both")
        member(region.council, GO, username="both")
        with pytest.raises(ValidationError, match="Say which agency"):
            services.agreement_approve(actor=both, agreement=agreement)
        services.agreement_approve(actor=both, agreement=agreement, agency="lead-council")

    def test_reject_a_submitted_agreement(self, region):
        agreement = agreement_factory(state="submitted")
        with pytest.raises(ValidationError):
            services.agreement_reject(actor=member(region.nhs, GO), agreement=agreement, reason="  ")
        agreement = services.agreement_reject(actor=member(region.nhs, GO), agreement=agreement,
                                              reason="The purpose is too broad.")
        agreement = fresh(agreement)
        assert (agreement.status, agreement.current_version.state) == ("rejected", "rejected")
        [event] = events("agreement.rejected")
        assert event.detail["reason"] == "The purpose is too broad."
        with pytest.raises(Conflict):
            services.agreement_reject(actor=member(region.nhs, GO), agreement=agreement, reason="Again")
        with pytest.raises(Conflict):
            services.agreement_submit(actor=member(region.council, GO), agreement=agreement)

    def test_reject_a_draft_is_a_conflict(self, region):
        with pytest.raises(Conflict):
            services.agreement_reject(actor=member(region.nhs, GO), agreement=agreement_factory(), reason="No")

    def test_suspend_reinstate_and_revoke_keep_the_periods(self, region):
        agreement = agreement_factory(state="active")
        officer = member(region.nhs, GO)  # any party's officer may manage
        agreement = services.agreement_suspend(actor=officer, agreement=agreement, reason="Breach under review")
        assert fresh(agreement).status == "suspended"
        agreement = services.agreement_reinstate(actor=officer, agreement=agreement, reason="Fixed")
        assert fresh(agreement).status == "active"
        agreement = services.agreement_revoke(actor=officer, agreement=agreement, reason="No longer needed")
        assert fresh(agreement).status == "revoked"
        periods = list(AgreementPeriod.objects.filter(agreement=agreement).order_by("started_at", "id"))
        assert [(p.state, p.end_reason) for p in periods] == [
            ("in_force", "suspended"), ("suspended", "reinstated"), ("in_force", "revoked")
        ]
        assert all(p.ended_at is not None for p in periods)
        for action in ("suspended", "reinstated", "revoked"):
            [event] = events(f"agreement.{action}")
            assert event.actor == officer and event.detail["reason"]

    def test_wrong_state_lifecycle_actions_are_conflicts(self, region):
        officer = member(region.nhs, GO)
        draft = agreement_factory()
        with pytest.raises(Conflict):
            services.agreement_suspend(actor=officer, agreement=draft, reason="x")
        with pytest.raises(Conflict):
            services.agreement_reinstate(actor=officer, agreement=draft, reason="x")
        with pytest.raises(Conflict):
            services.agreement_revoke(actor=officer, agreement=draft, reason="x")
        with pytest.raises(Conflict):
            services.agreement_amend(actor=member(region.council, GO), agreement=draft)
        active = agreement_factory(state="active")
        with pytest.raises(Conflict):
            services.agreement_reinstate(actor=officer, agreement=active, reason="x")
        with pytest.raises(Conflict):
            services.agreement_submit(actor=member(region.council, GO), agreement=active)
        services.agreement_revoke(actor=officer, agreement=active, reason="done")
        for call in (services.agreement_suspend, services.agreement_reinstate, services.agreement_revoke):
            with pytest.raises(Conflict, match="revoked"):
                call(actor=officer, agreement=active, reason="again")

    def test_revoking_a_suspended_agreement(self, region):
        agreement = agreement_factory(state="active")
        officer = member(region.council, GO)
        services.agreement_suspend(actor=officer, agreement=agreement, reason="Pause")
        services.agreement_revoke(actor=officer, agreement=agreement, reason="End")
        assert fresh(agreement).status == "revoked"
        assert not AgreementPeriod.objects.filter(agreement=agreement, ended_at__isnull=True).exists()

    def test_each_action_is_filed_under_the_agency_whose_officer_took_it(self, region):
        """So that a party's auditors see what their own staff did to an agreement another agency leads."""
        agreement = agreement_factory(state="active")
        nhs_officer, lead_officer = member(region.nhs, GO), member(region.council, GO)
        services.agreement_suspend(actor=nhs_officer, agreement=agreement, reason="Breach under review")
        services.agreement_reinstate(actor=nhs_officer, agreement=agreement, reason="Fixed")
        services.agreement_revoke(actor=lead_officer, agreement=agreement, reason="No longer needed")
        assert [(e.action, e.agency_code) for e in AuditEvent.objects.filter(
            action__in=["agreement.suspended", "agreement.reinstated", "agreement.revoked"]).order_by("seq")] == [
            ("agreement.suspended", region.nhs.code), ("agreement.reinstated", region.nhs.code),
            ("agreement.revoked", region.council.code),
        ]

    def test_managing_is_for_party_governance_officers(self, region):
        agreement = agreement_factory(state="active")
        for user in (member(region.fire, GO), member(region.nhs, Role.FRONTLINE), member(region.nhs, Role.AUDITOR)):
            with pytest.raises(PermissionDenied):
                services.agreement_suspend(actor=user, agreement=agreement, reason="x")


class AmendmentTests:
    def test_the_signed_version_stays_in_force_until_the_amendment_is_active(self, region):
        agreement = agreement_factory(state="active")
        v1 = fresh(agreement).in_force_version
        drafter = member(region.council, GO)
        agreement = services.agreement_amend(actor=drafter, agreement=agreement)
        agreement = fresh(agreement)
        v2 = agreement.current_version
        assert (v2.number, v2.state, agreement.status, agreement.in_force_version) == (2, "draft", "active", v1)
        assert [f.dataset_id for f in v2.flows.all()] == [f.dataset_id for f in v1.flows.all()]
        assert list(v2.flows.get().legal_bases.order_by("code")) == list(v1.flows.get().legal_bases.order_by("code"))
        assert not v2.parties.filter(signed_at__isnull=False).exists()
        [event] = events("agreement.amended")
        assert event.detail["version"] == 2

        with pytest.raises(Conflict, match="already being prepared"):
            services.agreement_amend(actor=drafter, agreement=agreement)
        services.agreement_update(actor=drafter, agreement=agreement, title="Hospital discharge, amended")
        services.agreement_submit(actor=drafter, agreement=agreement)
        services.agreement_approve(actor=member(region.nhs, GO), agreement=agreement)
        agreement = fresh(agreement)
        assert (agreement.status, agreement.in_force_version) == ("active", v1)  # not yet every party

        sign_all(agreement)
        agreement = fresh(agreement)
        v1.refresh_from_db()
        assert agreement.in_force_version == v2 and v1.state == "superseded"
        assert agreement.in_force_version.title == "Hospital discharge, amended"
        periods = list(AgreementPeriod.objects.filter(agreement=agreement).order_by("started_at", "id"))
        assert [(p.version.number, p.state, p.end_reason, p.ended_at is None) for p in periods] == [
            (1, "in_force", "superseded", False), (2, "in_force", "", True)
        ]

    def test_a_rejected_amendment_leaves_the_agreement_in_force(self, region):
        agreement = agreement_factory(state="active")
        drafter = member(region.council, GO)
        services.agreement_amend(actor=drafter, agreement=agreement)
        services.agreement_submit(actor=drafter, agreement=agreement)
        services.agreement_reject(actor=member(region.nhs, GO), agreement=agreement, reason="Not this time")
        agreement = fresh(agreement)
        assert agreement.status == "active"
        assert agreement.in_force_version.number == 1 and agreement.current_version.state == "rejected"
        services.agreement_amend(actor=drafter, agreement=agreement)  # and may be amended again
        assert fresh(agreement).current_version.number == 3

    def test_signing_an_amendment_while_suspended_is_a_conflict(self, region):
        agreement = agreement_factory(state="active")
        drafter = member(region.council, GO)
        services.agreement_amend(actor=drafter, agreement=agreement)
        services.agreement_submit(actor=drafter, agreement=agreement)
        services.agreement_suspend(actor=drafter, agreement=agreement, reason="Pause")
        with pytest.raises(Conflict, match="reinstate it"):
            services.agreement_approve(actor=member(region.nhs, GO), agreement=agreement)


class ExpiryTests:
    def test_expire_due_ends_active_and_suspended_agreements_past_their_end_date(self, region):
        start = timezone.localdate() - datetime.timedelta(days=400)
        past = agreement_factory(state="active", start_date=start, end_date=start + datetime.timedelta(days=100),
                                 review_date=start + datetime.timedelta(days=50))
        suspended = agreement_factory(state="active", start_date=start,
                                      end_date=start + datetime.timedelta(days=100),
                                      review_date=start + datetime.timedelta(days=50))
        services.agreement_suspend(actor=member(region.nhs, GO), agreement=suspended, reason="Pause")
        current = agreement_factory(state="active")
        draft = agreement_factory(start_date=start, end_date=start + datetime.timedelta(days=100),
                                  review_date=start + datetime.timedelta(days=50))
        expired = services.agreement_expire_due(today=timezone.localdate())
        assert sorted(expired) == sorted([past.reference, suspended.reference])
        assert fresh(past).status == fresh(suspended).status == "expired"
        assert fresh(current).status == "active" and fresh(draft).status == "draft"
        assert not AgreementPeriod.objects.filter(agreement__in=[past, suspended], ended_at__isnull=True).exists()
        assert {e.object_ref for e in events("agreement.expired")} == {past.reference, suspended.reference}
        assert services.agreement_expire_due(today=timezone.localdate()) == []  # idempotent

    def test_expiry_withdraws_a_pending_amendment(self, region):
        agreement = agreement_factory(state="active")
        services.agreement_amend(actor=member(region.council, GO), agreement=agreement)
        end = fresh(agreement).in_force_version.end_date
        assert services.agreement_expire_due(today=end + datetime.timedelta(days=1)) == [agreement.reference]
        assert fresh(agreement).current_version.state == "withdrawn"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
class ConcurrentSigningTests:
    def test_two_last_signatures_at_once_activate_exactly_once(self):
        lead = AgencyFactory(code="lead-council", name="Lead Council")
        other = AgencyFactory(code="other-trust", name="Other Trust")
        DatasetFactory(code="other-data", owner=other, data_items=["name"])
        signers = [member(lead, GO, username="lead-second"), member(other, GO)]
        for _ in range(3):  # a race shows itself only sometimes; three rounds make a missing lock fail reliably
            agreement = agreement_factory(state="submitted", lead=lead, flows=[
                {"dataset": "other-data", "provider": "other-trust", "recipient": "lead-council",
                 "legal_bases": ["ukgdpr-6-1-e"]},
            ])
            def sign(user, agreement=agreement):
                return lambda: services.agreement_approve(actor=user, agreement=Agreement(pk=agreement.pk))

            errors = run_together([sign(user) for user in signers])
            assert errors == []
            agreement = fresh(agreement)
            assert agreement.status == "active"
            assert len(events("agreement.activated", agreement.reference)) == 1
            assert len(events("agreement.approved", agreement.reference)) == 2
            assert AgreementPeriod.objects.filter(agreement=agreement).count() == 1
