"""Attacks on the check as another agency's staff, an outside auditor, a superuser and an anonymous caller:
whether hidden agreements can be told to exist, leaks of summary-only ones, odd input, the question serializer's
shared field copies, and the prepared audit INSERT."""

import copy
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from agencies.choices import Role
from agreements import services
from agreements.api.serializers import CheckInputSerializer
from agreements.models import Flow
from audit.models import AuditEvent
from tests.factories import UserFactory, agreement_factory, api_key, member

pytestmark = pytest.mark.django_db
URL = "/api/v1/checks/"
QUESTION = {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "discharge-summaries"}
VOLATILE = {"event", "checked_at"}


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    return client


def ask(client, question):
    with CaptureQueriesContext(connection) as queries:
        response = client.post(URL, question, format="json")
    body = response.json()
    return response.status_code, {k: v for k, v in body.items() if k not in VOLATILE}, len(queries.captured_queries)


class OutsiderExistenceTests:
    @pytest.mark.parametrize("role", [Role.AUDITOR, Role.FRONTLINE, Role.GOVERNANCE_OFFICER, Role.AGENCY_ADMIN])
    def test_hidden_agreements_read_as_none_in_words_status_and_queries(self, region, role):
        user = member(region.police, role)
        client = token_client(user)
        ask(client, QUESTION)  # warm (memberships cache, prepared statements)
        before = ask(client, QUESTION)
        officer = member(region.nhs, Role.GOVERNANCE_OFFICER)
        for state in ("draft", "submitted"):
            agreement_factory(lead=region.council, state=state, title=f"Secret {state}")
        services.agreement_suspend(actor=officer, agreement=agreement_factory(lead=region.council, state="active",
                                                                               title="Secret suspended"),
                                   reason="Secret breach")
        services.agreement_revoke(actor=officer, agreement=agreement_factory(lead=region.council, state="active",
                                                                              title="Secret revoked"), reason="Gone")
        after = ask(client, QUESTION)
        assert before == after
        if before[0] != 200:
            assert not AuditEvent.objects.filter(action__startswith="check.").exists()
            return
        details = [e.detail for e in AuditEvent.objects.filter(action__startswith="check.").order_by("seq")]
        strip = [{k: v for k, v in d.items() if k not in {"checked_at", "event"}} for d in details]
        assert strip[-1] == strip[-2]

    def test_summary_only_answers_leak_no_full_record_field(self, region):
        officer = member(region.nhs, Role.GOVERNANCE_OFFICER)
        active = agreement_factory(lead=region.council, state="active", title="Public one")
        flow = Flow.objects.filter(version__agreement=active, dataset__code="discharge-summaries").first()
        client = token_client(member(region.police, Role.AUDITOR))
        status, body, _ = ask(client, {**QUESTION, "data_items": ["zz-not-an-item"]})
        assert status == 200
        assert "covers only" not in body["reason"], body["reason"]
        for item in flow.data_items or []:
            assert f" {item}" not in body["reason"] + body["next_step"]
        assert flow.purpose not in str(body)
        assert body["data_items"] == [] and body["purposes"] == [] and body["method"] is None
        services.agreement_suspend(actor=officer, agreement=active, reason="Very secret reason 123")
        status, body, _ = ask(client, QUESTION)
        assert "Very secret reason 123" not in str(body) and body.get("suspension_reason") is None


class OddInputTests:
    @pytest.mark.parametrize("question", [
        {"provider": "nhs-provider", "recipient": "nhs-provider", "dataset": "discharge-summaries"},
        {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "no-such-dataset"},
        {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "domestic-incidents"},
        {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "x" * 64},
        {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "x" * 65},
        {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "d'; drop"},
        {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "caf\u00e9"},
        {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "a\x00b"},
        {**QUESTION, "on": "1999-12-31"}, {**QUESTION, "on": "2100-12-31"}, {**QUESTION, "on": "2000-01-01"},
        {**QUESTION, "data_items": []}, {**QUESTION, "data_items": [""]}, {**QUESTION, "data_items": "name"},
        {**QUESTION, "data_items": [None]}, {**QUESTION, "data_items": ["x" * 10_000]},
    ])
    @pytest.mark.parametrize("who", ["superuser", "member", "outsider"])
    def test_no_500_and_no_event_for_a_refusal(self, region, question, who):
        agreement_factory(lead=region.council, state="active")
        agreement_factory(lead=region.council, state="draft")
        user = {"superuser": lambda: UserFactory(username="root", is_superuser=True, is_staff=True),
                "member": lambda: member(region.nhs, Role.FRONTLINE),
                "outsider": lambda: member(region.police, Role.AUDITOR)}[who]()
        events = AuditEvent.objects.count()
        response = token_client(user).post(URL, question, format="json")
        assert response.status_code in (200, 400, 403), response.content
        assert AuditEvent.objects.count() == events + (response.status_code == 200)


class ShallowCopyTests:
    def test_concurrent_questions_never_see_each_others_values_or_errors(self):
        inputs = [
            {"provider": "a", "recipient": "b", "dataset": "c", "data_items": ["one", "two"]},
            {"provider": "bad code!", "recipient": "b", "dataset": "c", "data_items": ["x" * 10_000]},
            {"provider": "p", "recipient": "q", "dataset": "r", "on": "2024-02-30"},
            {"provider": "p", "recipient": "q", "dataset": "r", "data_items": list("abcdefghij")},
        ]

        def deep(data):
            serializer = CheckInputSerializer(data=data)
            serializer.get_fields = lambda: copy.deepcopy(serializer._declared_fields)  # DRF's own behaviour
            ok = serializer.is_valid()
            return ok, (dict(serializer.validated_data) if ok else serializer.errors)

        expected = [deep(data) for data in inputs]
        failures = []

        def worker(n):
            for i in range(300):
                k = (n + i) % len(inputs)
                serializer = CheckInputSerializer(data=copy.deepcopy(inputs[k]))
                ok = serializer.is_valid()
                got = (ok, dict(serializer.validated_data) if ok else serializer.errors)
                if got != expected[k]:
                    failures.append((k, got))
                if ok:
                    serializer.validated_data.get("data_items", []).append("mutated")

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        assert [deep(data) for data in inputs] == expected


class AuditInsertTests:
    @pytest.mark.parametrize("ip", ["2001:db8::7", "::ffff:10.0.0.1", "10.1.2.3", None])
    def test_rolled_back_check_leaves_nothing_and_the_next_writes_exactly(self, region, ip):
        from audit.choices import AuditAction
        from audit.services import record
        from common import context

        user = member(region.nhs, Role.FRONTLINE)
        before = AuditEvent.objects.count()
        with context.bind(actor=user, request_id="r" * 64, client_ip=ip):
            with pytest.raises(RuntimeError), transaction.atomic():
                record(action=AuditAction.CHECK_DENIED, object_type="dataset", object_ref="x",
                       agencies=("nhs-provider", "lead-council"), detail={"t": "caf\u00e9 \"q\" \\"})
                raise RuntimeError
            assert AuditEvent.objects.count() == before
            event = record(action=AuditAction.CHECK_DENIED, object_type="dataset", object_ref="x",
                           agencies=("lead-council", "nhs-provider"),
                           detail={"t": "caf\u00e9 \"q\" \\", "b": [1, None]})
        stored = AuditEvent.objects.get(seq=event.seq)
        for f in AuditEvent._meta.concrete_fields:
            assert getattr(stored, f.attname) == getattr(event, f.attname), f.attname
        assert stored.client_ip == ip


class WebPageTests:
    def test_the_web_page_reads_hidden_as_none_for_an_outsider(self, region, client):
        import re

        user = member(region.police, Role.AUDITOR)
        client.force_login(user)
        form = {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "discharge-summaries"}

        def page():
            with CaptureQueriesContext(connection) as queries:
                response = client.post("/check/", form)
            html = response.content.decode()
            html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)
            html = re.sub(r"\b\d{1,9}\b", "N", html)  # event numbers, times
            return response.status_code, html, len(queries.captured_queries)

        page()
        before = page()
        officer = member(region.nhs, Role.GOVERNANCE_OFFICER)
        agreement_factory(lead=region.council, state="draft", title="Secret draft")
        agreement_factory(lead=region.council, state="submitted", title="Secret submitted")
        services.agreement_suspend(actor=officer, agreement=agreement_factory(lead=region.council, state="active",
                                                                               title="Secret suspended"),
                                   reason="Secret breach")
        after = page()
        assert before[0] == after[0] == 200
        assert before[2] == after[2]
        assert "Secret" not in after[1]
        assert before[1] == after[1]

    def test_anonymous_gets_nothing(self, region, client):
        agreement_factory(lead=region.council, state="draft", title="Secret draft")
        response = client.post("/check/", {"provider": "nhs-provider", "recipient": "lead-council",
                                           "dataset": "discharge-summaries"})
        assert response.status_code in (302, 401, 403)
        assert b"Secret" not in response.content
        assert APIClient().post(URL, QUESTION, format="json").status_code == 401
        assert not AuditEvent.objects.filter(action__startswith="check.").exists()


class SchemaThenQuestionTests:
    def test_generating_the_schema_changes_no_field_a_question_uses(self, region):
        odd = ({**QUESTION, "data_items": ["x" * 10_000]}, {**QUESTION, "on": "2024-02-30"},
               {**QUESTION, "provider": "b!"})
        before = [ask(token_client(member(region.nhs, Role.FRONTLINE)), q)[:2] for q in odd]
        superuser = UserFactory(username="root", is_superuser=True, is_staff=True)
        for path in ("/api/v1/schema/", "/api/v1/schema/?format=json"):
            token_client(superuser).get(path)
        after = [ask(token_client(member(region.nhs, Role.FRONTLINE)), q)[:2] for q in odd]
        assert before == after


class ChainAfterHttpCheckTests:
    @pytest.mark.parametrize("ip", ["2001:DB8:0:0::1", "::ffff:10.0.0.1", "fe80::1%eth0", "10.0.0.1"])
    def test_checks_from_odd_addresses_seal_and_verify(self, region, ip, settings):
        from audit import chain

        client = token_client(member(region.nhs, Role.FRONTLINE))
        response = client.post(URL, QUESTION, format="json", REMOTE_ADDR=ip)
        assert response.status_code == 200, response.content
        client.post(URL, {**QUESTION, "dataset": "domestic-incidents"}, format="json", REMOTE_ADDR=ip)
        chain.seal_pending(force_checkpoint=True)
        assert chain.verify().ok
        event = AuditEvent.objects.filter(action__startswith="check.").latest("seq")
        assert event.agencies and "nhs-provider" in event.agencies
