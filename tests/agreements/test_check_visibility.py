"""What the check shows an outsider (an auditor of a third agency) is what the register shows them, and finding it
out costs the check no query of its own.

The check reads the asker's view grant in its candidates query (agreements.decisions) rather than asking the
register (`AgreementSearch`), whose query PostgreSQL plans as a hash of every grant the asker holds: over
HTTP that cost an auditor of a hub agency more app and database CPU than the rest of the check.
"""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agencies.choices import Role
from agreements import decisions, services
from agreements.selectors import agreement_search
from tests.factories import UserFactory, agreement_factory, api_key, member

pytestmark = pytest.mark.django_db
GO = Role.GOVERNANCE_OFFICER
URL = "/api/v1/checks/"
QUESTION = {"provider": "nhs-provider", "recipient": "lead-council", "dataset": "discharge-summaries"}
TENANCY_TO_FIRE = {"dataset": "council-tenancies", "provider": "lead-council", "recipient": "fire",
                   "legal_bases": ["ukgdpr-6-1-e"]}


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_key(user)}")
    return client


def agreements_in_every_state(region) -> None:
    """Agreements for QUESTION in each state, and one (submitted) that names the fire service as a party too, so
    that an auditor of the fire service holds a view grant on it while still an outsider to the question."""
    for state in ("draft", "submitted", "active"):
        agreement_factory(lead=region.council, state=state, title=f"Discharge, {state}")
    officer = member(region.nhs, GO)
    services.agreement_suspend(actor=officer, agreement=agreement_factory(lead=region.council, state="active"),
                               reason="Breach under investigation")
    services.agreement_revoke(actor=officer, agreement=agreement_factory(lead=region.council, state="active"),
                              reason="Ended")
    discharge = {"dataset": "discharge-summaries", "provider": "nhs-provider", "recipient": "lead-council",
                 "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"]}
    agreement_factory(lead=region.council, state="submitted", title="With the fire service",
                      flows=[discharge, TENANCY_TO_FIRE])


class CheckVisibilityTests:
    @pytest.mark.parametrize("who", ["fire_auditor", "police_auditor", "police_frontline", "superuser",
                                     "council_frontline"])
    def test_the_check_shows_each_asker_what_the_register_shows_them(self, region, who):
        agreements_in_every_state(region)
        user = {
            "fire_auditor": lambda: member(region.fire, Role.AUDITOR),  # outsider, party to one of them
            "police_auditor": lambda: member(region.police, Role.AUDITOR),  # outsider, party to none
            "police_frontline": lambda: member(region.police, Role.FRONTLINE),
            "superuser": lambda: UserFactory(username="root", is_superuser=True, is_staff=True),
            "council_frontline": lambda: member(region.council, Role.FRONTLINE),  # a party: not an outsider
        }[who]()
        flows, _known = decisions._candidate_flows(QUESTION["provider"], QUESTION["recipient"], QUESTION["dataset"],
                                                   timezone.now(), user)
        ids = {flow.version.agreement_id for flow in flows}
        assert len(ids) == 6
        if decisions._outsider(user, QUESTION["provider"], QUESTION["recipient"]):
            shown, full = decisions._shown_to([(None, None, flow) for flow in flows])
        else:
            shown, full = [(None, None, flow) for flow in flows], ids
        # What the register shows this user of these agreements, and whether in full (its one rule).
        register = dict(agreement_search(user=user).rows().filter(pk__in=ids).values_list("pk", "full_view"))
        assert {flow.version.agreement_id for _, _, flow in shown} == set(register)
        assert full == {pk for pk, in_full in register.items() if in_full}
        if who == "fire_auditor":  # the agreement in force (its summary), and the submitted one it is party to, in full
            assert sorted(register.values()) == [False, True]

    def test_an_outsiders_check_over_http_costs_no_query_beyond_a_members(self, region,
                                                                         django_assert_max_num_queries):
        agreement_factory(lead=region.council, state="active")
        agreement_factory(lead=region.police, state="draft", title="Incidents, a draft", flows=[
            {"dataset": "domestic-incidents", "provider": "police", "recipient": "lead-council",
             "legal_bases": ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18"]}])
        outsider = token_client(member(region.fire, Role.AUDITOR))
        # Token, the asker's memberships, the candidates (with the asker's grants) and the audit INSERT.
        with django_assert_max_num_queries(4):
            body = outsider.post(URL, QUESTION, format="json").json()
        assert (body["allowed"], body["data_items"]) == (True, [])  # the public summary's answer
        # ... and one more where nothing may be shown: the codes, so that a hidden agreement and none read alike.
        with django_assert_max_num_queries(5):
            body = outsider.post(URL, {"provider": "police", "recipient": "lead-council",
                                       "dataset": "domestic-incidents"}, format="json").json()
        assert body["outcome"] == "not_visible"
