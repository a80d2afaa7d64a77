"""A client generated from the served schema by openapi-python-client compiles and runs the core journeys.

The client is generated in the test run, into a temporary folder, from the schema the app serves at that moment:
a committed copy would drift from the schema and test yesterday's contract. Generation takes about a second.
The journeys go over real HTTP to a live server, so the client's own parsing (typed models, the typed `Error` of a
409) is what is tested.
"""

from __future__ import annotations

import compileall
import datetime as dt
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from agencies.choices import AgencyKind, Role
from tests.dates import END, REVIEW, START
from tests.factories import AgencyFactory, DatasetFactory, api_key, member

PACKAGE = "registry_client"


@pytest.fixture(scope="session")
def generated(tmp_path_factory):
    """The generated package, imported from a temporary folder."""
    from tests import openapi_check

    folder = tmp_path_factory.mktemp("generated-client")
    schema = folder / "schema.json"
    schema.write_text(json.dumps(openapi_check.openapi().spec.read_value()), encoding="utf-8")
    config = folder / "config.yml"
    # The exports are files: read their bodies as bytes (the generator reads any text/* type as text).
    config.write_text(f"post_hooks: []\nproject_name_override: registry-client\npackage_name_override: {PACKAGE}\n"
                      "content_type_overrides:\n  text/csv: application/octet-stream\n"
                      "  application/x-ndjson: application/octet-stream\n")
    tool = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run(
        [str(tool), "generate", "--path", str(schema), "--config", str(config), "--meta", "none",
         "--output-path", str(folder / PACKAGE)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr  # every operation was understood
    assert compileall.compile_dir(str(folder / PACKAGE), quiet=1, force=True)
    sys.path.insert(0, str(folder))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(folder))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


def _module(name: str):
    return importlib.import_module(f"{PACKAGE}.{name}")


@pytest.fixture
def region(transactional_db):
    council = AgencyFactory(code="lead-council", name="Lead Council")
    nhs = AgencyFactory(code="nhs-provider", name="NHS Provider", kind=AgencyKind.NHS_TRUST)
    DatasetFactory(code="discharge-summaries", owner=nhs, special_category=True,
                   data_items=["name", "NHS number", "care needs"])
    people = {
        "officer": member(council, Role.GOVERNANCE_OFFICER, username="drafter"),
        "second": member(council, Role.GOVERNANCE_OFFICER, username="second-officer"),
        "nhs": member(nhs, Role.GOVERNANCE_OFFICER, username="nhs-officer"),
        "frontline": member(council, Role.FRONTLINE, username="frontline"),
        "auditor": member(nhs, Role.AUDITOR, username="auditor"),  # checks are the provider's events
    }
    return {role: api_key(user) for role, user in people.items()}


class GeneratedClientTests:
    def test_the_generated_client_drafts_signs_checks_suspends_and_audits(self, generated, live_server, region):
        client_module = _module("client")
        models = _module("models")

        def as_(role):
            return client_module.AuthenticatedClient(base_url=live_server.url, token=region[role], prefix="Token")

        legal_bases_list = _module("api.legal_bases.legal_bases_list")
        legal_bases_retrieve = _module("api.legal_bases.legal_bases_retrieve")
        bases = legal_bases_list.sync(client=as_("officer"), page_size=500)
        assert "ukgdpr-6-1-e" in [b.code for b in bases.results]
        basis = legal_bases_retrieve.sync("ukgdpr-9-2-h", client=as_("officer"))
        assert basis.code == "ukgdpr-9-2-h" and basis.kind.value == "article9"

        create = _module("api.agreements.agreements_create")
        draft = create.sync(client=as_("officer"), body=models.AgreementInputRequest(
            title="Hospital discharge", purpose="Plan care after hospital", lead_agency="lead-council",
            start_date=START, end_date=END, review_date=REVIEW,
            flows=[models.FlowInputRequest(dataset="discharge-summaries", provider="nhs-provider",
                                           recipient="lead-council", purpose="Discharge planning",
                                           legal_bases=["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"])],
        ))
        assert isinstance(draft, models.AgreementOutput), draft
        assert draft.status.value == "draft" and draft.start_date == START
        reference = draft.reference

        bad = create.sync_detailed(client=as_("officer"), body=models.AgreementInputRequest(
            title="", purpose="x", lead_agency="nowhere", start_date=START, end_date=START - dt.timedelta(days=1),
            review_date=REVIEW, flows=[]))
        assert bad.status_code == 400 and isinstance(bad.parsed, models.FieldErrors)
        assert bad.parsed.additional_properties == {"title": ["This field may not be blank."]}

        submit = _module("api.agreements.agreements_submit_create")
        assert submit.sync(reference, client=as_("officer")).status.value == "submitted"
        again = submit.sync_detailed(reference, client=as_("officer"))
        assert again.status_code == 409
        assert isinstance(again.parsed, models.Error) and again.parsed.detail  # typed, not a bare dict
        assert again.parsed.code.value == "wrong_state"

        approve = _module("api.agreements.agreements_approve_create")
        approve.sync(reference, client=as_("nhs"), body=models.ApproveInputRequest(agency="nhs-provider"))
        signed = approve.sync(reference, client=as_("second"), body=models.ApproveInputRequest(agency="lead-council"))
        assert signed.status.value == "active"
        assert all(party.approved for party in signed.parties)

        check = _module("api.checks.checks_create")
        question = models.CheckInputRequest(provider="nhs-provider", recipient="lead-council",
                                            dataset="discharge-summaries", purpose="Discharge planning")
        yes = check.sync(client=as_("frontline"), body=question)
        assert yes.allowed is True and yes.agreement == reference and isinstance(yes.checked_at, dt.datetime)

        suspend = _module("api.agreements.agreements_suspend_create")
        suspended = suspend.sync(reference, client=as_("nhs"), body=models.ReasonInputRequest(reason="A breach"))
        assert suspended.status.value == "suspended"
        assert check.sync(client=as_("frontline"), body=question).allowed is False

        events = _module("api.audit.audit_events_list").sync(client=as_("auditor"),
                                                             action=models.AuditEventsListAction.CHECK_ALLOWED)
        assert [e.object_ref for e in events.results] == [reference]
        assert isinstance(events.results[0].at, dt.datetime)
        export = _module("api.audit.audit_export_retrieve").sync_detailed(
            client=as_("auditor"), format_=models.AuditExportRetrieveFormat.CSV)
        assert export.status_code == 200 and export.parsed.payload.read().startswith(b"seq,at,actor,")
