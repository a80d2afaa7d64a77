"""Demo data: a Greater Manchester-style region, loaded the same way every time (`manage.py seed_demo`).

Agencies and datasets are written here with their audit events; agreements, memberships and every signature
go through the services, so the demo's audit log reads like a real one. Dates are relative to the current
year so that the active agreements are in force whenever the demo is loaded.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts.models import Profile
from agencies.choices import AgencyKind, Classification, Role
from agencies.models import Agency
from agencies.services import agency_create, dataset_create, membership_grant
from common.types import User

from . import services
from .models import Agreement

DEMO_PASSWORD = "sharing-registry-demo"  # noqa: S105 - printed to the person loading the demo, on purpose

# (code, user prefix, name, kind, ICO registration (placeholder numbers), SIRO, Caldicott Guardian): the SIRO and
# Caldicott Guardian are named people with their posts, as an agency's records hold them.
AGENCIES = [
    ("manchester-cc", "mcc", "Manchester City Council", AgencyKind.LOCAL_AUTHORITY, "Z0000001",
     "Helen Ashworth, Director of Digital and Information", "Dr Samuel Okafor, Director of Adult Social Services"),
    ("mft", "mft", "Manchester University NHS Foundation Trust", AgencyKind.NHS_TRUST, "Z0000002",
     "Gareth Lomax, Chief Finance Officer", "Dr Priya Raman, Medical Director"),
    ("ancoats-gp", "gp", "Ancoats Urban Village Medical Practice", AgencyKind.GP_PRACTICE, "Z0000003",
     "Joanne Whitfield, Practice Manager", "Dr Imran Siddiqui, Senior Partner"),
    ("gmp", "gmp", "Greater Manchester Police", AgencyKind.POLICE, "Z0000004",
     "Deputy Chief Constable Claire Pemberton", ""),
    ("gmfrs", "fire", "Greater Manchester Fire and Rescue Service", AgencyKind.FIRE_RESCUE, "Z0000005",
     "Martin Heywood, Director of Corporate Support", ""),
    ("northside-academy", "school", "Northside Academy", AgencyKind.EDUCATION, "Z0000006",
     "Rachel Dunmore, Business Manager", ""),
    ("safe-haven", "vcs", "Safe Haven Domestic Abuse Service", AgencyKind.VOLUNTARY, "Z0000007",
     "Yasmin Clarke, Chief Executive", ""),
    ("city-homes", "homes", "City Homes Housing Association", AgencyKind.OTHER, "Z0000008",
     "Peter Ogunleye, Director of Resources", ""),
]
# Every demo person's full name and job title, by username, so pages, signatures and the audit log name people.
PEOPLE = {
    "mcc-officer": ("Aisha Rahman", "Information Governance Manager"),
    "mcc-officer2": ("Tom Brennan", "Data Protection Officer"),
    "mcc-frontline": ("Lucy Hargreaves", "Senior Social Worker, Adult Social Care"),
    "mcc-auditor": ("Daniel Kowalski", "Internal Audit Manager"),
    "mcc-admin": ("Sarah Whittaker", "ICT Service Desk Lead"),
    "mft-officer": ("Nadia Hussain", "Head of Information Governance"),
    "mft-officer2": ("James Fairclough", "Deputy Data Protection Officer"),
    "mft-frontline": ("Grace Adeyemi", "Discharge Coordinator, Ward 12"),
    "mft-auditor": ("Owen Pritchard", "Clinical Audit Lead"),
    "mft-admin": ("Hannah Leigh", "Systems Access Manager"),
    "gp-officer": ("Dr Fiona McBride", "GP Partner and Information Governance Lead"),
    "gp-officer2": ("Karen Holt", "Assistant Practice Manager"),
    "gp-frontline": ("Rebecca Sutcliffe", "Practice Nurse"),
    "gp-auditor": ("Mohammed Iqbal", "Primary Care Audit Officer"),
    "gp-admin": ("Emma Thornley", "Practice Administrator"),
    "gmp-officer": ("Inspector Mark Davies", "Force Information Sharing Lead"),
    "gmp-officer2": ("Louise Kerr", "Data Protection Officer"),
    "gmp-frontline": ("PC Ryan Chadwick", "Neighbourhood Police Constable"),
    "gmp-auditor": ("Andrew Sykes", "Professional Standards Auditor"),
    "gmp-admin": ("Joanna Price", "Information Systems Administrator"),
    "fire-officer": ("Stephen Barlow", "Information Governance Officer"),
    "fire-officer2": ("Amira Patel", "Data Protection Officer"),
    "fire-frontline": ("Watch Manager Lee Hampson", "Prevention and Home Fire Safety"),
    "fire-auditor": ("Diane Mercer", "Assurance Manager"),
    "fire-admin": ("Chris Ogden", "ICT Systems Manager"),
    "school-officer": ("Victoria Lang", "Designated Safeguarding Lead"),
    "school-officer2": ("Paul Redfern", "Data Protection Lead"),
    "school-frontline": ("Naomi Green", "Head of Year 9"),
    "school-auditor": ("Graham Fletcher", "Chair of the Audit Committee"),
    "school-admin": ("Shazia Akhtar", "Office Manager"),
    "vcs-officer": ("Bernadette Flynn", "Operations Manager"),
    "vcs-officer2": ("Zara Mahmood", "Quality and Compliance Lead"),
    "vcs-frontline": ("Kelly Marsden", "Independent Domestic Violence Adviser"),
    "vcs-auditor": ("Roger Lyons", "Trustee, Audit and Risk"),
    "vcs-admin": ("Ellie Cooper", "Administration Coordinator"),
    "homes-officer": ("Jonathan Reid", "Head of Governance"),
    "homes-officer2": ("Maria Santos", "Data Protection Officer"),
    "homes-frontline": ("Callum Doyle", "Tenancy Sustainment Officer"),
    "homes-auditor": ("Patricia Nolan", "Internal Auditor"),
    "homes-admin": ("Sunil Varma", "Business Systems Administrator"),
    "admin": ("Alex Morgan", "Sharing Registry Administrator"),
}
ROLE_SUFFIX = {
    Role.GOVERNANCE_OFFICER: "officer", Role.FRONTLINE: "frontline", Role.AUDITOR: "auditor",
    Role.AGENCY_ADMIN: "admin",
}
SENSITIVE = Classification.OFFICIAL_SENSITIVE

# (code, owner, name, description, items, special category, criminal offence, classification)
DATASETS = [
    ("mcc-adult-social-care-notes", "manchester-cc", "Adult social care case notes",
     "Assessments, support plans and social workers' case notes for adults receiving care and support.",
     ["name", "date of birth", "NHS number", "address", "care needs assessment", "social worker's case notes",
      "safeguarding concerns", "next of kin"], True, False, SENSITIVE),
    ("mcc-childrens-social-care", "manchester-cc", "Children's social care records",
     "Referrals, assessments and plans for children in need and children subject to a child protection plan.",
     ["child's name", "date of birth", "address", "school", "child protection plan status", "allocated social worker",
      "parents and carers"], True, False, SENSITIVE),
    ("mcc-early-help", "manchester-cc", "Early help assessments",
     "Family assessments and support plans agreed with families who asked for early help.",
     ["child's name", "date of birth", "address", "family support needs", "lead practitioner"], False, False,
     SENSITIVE),
    ("mft-discharge-summaries", "mft", "Hospital discharge summaries",
     "What adult social care needs to know to plan care for patients leaving hospital.",
     ["patient name", "NHS number", "date of birth", "address", "expected discharge date", "diagnosis summary",
      "medication on discharge", "care needs on discharge", "mobility"], True, False, SENSITIVE),
    ("mft-ed-attendances", "mft", "Emergency department attendances",
     "Attendances at A&E, including injuries that may raise safeguarding concerns.",
     ["patient name", "NHS number", "date of birth", "attendance date", "presenting complaint", "injury mechanism",
      "safeguarding flag"], True, False, SENSITIVE),
    ("mft-home-fire-risk", "mft", "Home fire risk referrals",
     "Patients identified on the ward or in the community as being at higher risk of a fire at home.",
     ["patient name", "address", "telephone", "smoker in household", "home oxygen", "limited mobility", "lives alone",
      "consent recorded"], True, False, Classification.OFFICIAL),
    ("gp-patient-summary", "ancoats-gp", "GP patient summary",
     "A summary of the GP record: medication, allergies and long-term conditions.",
     ["patient name", "NHS number", "date of birth", "address", "current medication", "allergies",
      "long-term conditions"], True, False, SENSITIVE),
    ("gp-frailty-register", "ancoats-gp", "Frailty register",
     "Registered patients with moderate or severe frailty, used to plan proactive care.",
     ["patient name", "NHS number", "address", "telephone", "frailty score", "lives alone", "smoker"], True, False,
     SENSITIVE),
    ("gmp-domestic-incidents", "gmp", "Domestic abuse incidents (police call-outs)",
     "Domestic incidents attended by officers, with the risk assessment and any children present.",
     ["incident reference", "incident date", "address", "victim name", "victim date of birth", "suspect name",
      "children present", "child names", "DASH risk level", "officer's account"], False, True, SENSITIVE),
    ("gmp-missing-episodes", "gmp", "Missing from home episodes",
     "Children reported missing from home or care, and when they returned.",
     ["child's name", "date of birth", "address", "date reported missing", "date found", "where found",
      "return interview requested"], False, False, SENSITIVE),
    ("gmfrs-safe-and-well", "gmfrs", "Safe and well visit outcomes",
     "What fire officers found and did on home fire safety visits.",
     ["resident name", "address", "visit date", "smoke alarms fitted", "fire risk level", "onward referrals"],
     False, False, Classification.OFFICIAL),
    ("school-safeguarding-log", "northside-academy", "Safeguarding concerns log",
     "Concerns raised by staff with the designated safeguarding lead, and what was done.",
     ["pupil name", "date of birth", "year group", "date of concern", "summary of concern", "action taken"],
     True, False, SENSITIVE),
    ("school-attendance", "northside-academy", "Pupil attendance",
     "Attendance and exclusions for pupils on roll.",
     ["pupil name", "date of birth", "unique pupil number", "attendance percentage", "unauthorised absences",
      "suspensions and exclusions"], False, False, Classification.OFFICIAL),
    ("vcs-idva-caseload", "safe-haven", "IDVA referrals and risk assessments",
     "Referrals to the Independent Domestic Violence Advisers, with risk assessments and safety plans.",
     ["client name", "date of birth", "safe contact details", "DASH risk score", "MARAC referral",
      "children in household", "safety plan"], True, True, SENSITIVE),
    ("homes-tenancy-records", "city-homes", "Tenancy records",
     "Tenancies, households and the support tenants have asked for.",
     ["tenant name", "address", "household members", "tenancy start date", "support needs", "rent account status"],
     False, False, Classification.OFFICIAL),
]


@dataclass
class Demo:
    agencies: dict[str, Agency]
    users: dict[str, Any]
    year: int

    def officer(self, code: str, second: bool = False) -> User:
        prefix = next(a[1] for a in AGENCIES if a[0] == code)
        return self.users[f"{prefix}-officer2" if second else f"{prefix}-officer"]


def _flow(dataset: str, provider: str, recipient: str, purpose: str, bases: list[str], items: list[str] | None = None,
          **extra: Any) -> dict[str, Any]:
    return {"dataset": dataset, "provider": provider, "recipient": recipient, "purpose": purpose,
            "legal_bases": bases, "data_items": items or [], **extra}


def _draft(demo: Demo, lead: str, title: str, purpose: str, flows: list[dict[str, Any]], *,
           years: tuple[int, int] = (-1, 1),
           dpia: str = "") -> Agreement:
    start = date(demo.year + years[0], 4, 1)
    end = date(demo.year + years[1], 3, 31)
    review = min(max(date(demo.year + 1, 1, 15), start), end)  # in the future for agreements in force today
    return services.agreement_create(
        actor=demo.officer(lead), lead_agency=lead, title=title, purpose=purpose, start_date=start, end_date=end,
        review_date=review, dpia_reference=dpia, flows=flows,
    )


def _sign_all(demo: Demo, agreement: Agreement, *, except_for: AbstractSet[str] = frozenset()) -> Agreement:
    agreement.refresh_from_db()
    for party in agreement.current_version.parties.select_related("agency").order_by("agency__code"):
        code = party.agency.code
        if code in except_for or party.signed_at:
            continue
        officer = demo.officer(code, second=party.agency_id == agreement.lead_agency_id)
        agreement = services.agreement_approve(actor=officer, agreement=agreement, agency=code)
    return agreement


def _active(demo: Demo, agreement: Agreement) -> Agreement:
    lead = agreement.lead_agency.code
    agreement = services.agreement_submit(actor=demo.officer(lead), agreement=agreement)
    return _sign_all(demo, agreement)


def _person(User: Any, username: str, **fields: Any) -> Any:
    """A demo user with their full name and job title (the profile), and Django's first and last name to match."""
    full_name, job_title = PEOPLE[username]
    first, _, last = full_name.rpartition(" ")
    user = User.objects.create(username=username, first_name=first, last_name=last, **fields)
    Profile.objects.create(user=user, full_name=full_name, job_title=job_title)
    return user


def _agencies_and_users(year: int) -> Demo:
    User = get_user_model()
    agencies: dict[str, Agency] = {}
    users: dict[str, Any] = {}
    hashed = make_password(DEMO_PASSWORD)  # hashed once: every demo user shares the printed password
    for code, prefix, name, kind, ico, siro, caldicott in AGENCIES:
        agency = agency_create(
            actor=None, code=code, name=name, kind=kind, ico_registration=ico,
            dpo_email=f"dpo@{code}.example.org", siro_name=siro, caldicott_guardian_name=caldicott,
        )
        agencies[code] = agency
        people = [(f"{prefix}-{suffix}", role) for role, suffix in ROLE_SUFFIX.items()]
        people.append((f"{prefix}-officer2", Role.GOVERNANCE_OFFICER))
        for username, role in people:
            user = _person(User, username, email=f"{username}@{code}.example.org", password=hashed)
            membership_grant(agency=agency, user=user, role=role)
            users[username] = user
    users["admin"] = _person(User, "admin", email="admin@sharing-registry.example.org", password=hashed,
                             is_staff=True, is_superuser=True)
    for code, owner, name, description, items, special, criminal, classification in DATASETS:
        dataset_create(
            actor=None, code=code, owner=agencies[owner], name=name, description=description, data_items=items,
            special_category=special, criminal_offence=criminal, classification=classification,
        )
    return Demo(agencies=agencies, users=users, year=year)


def _agreements(demo: Demo) -> list[Agreement]:
    made: list[Agreement] = []
    health_care = ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2", "health-and-social-care-act-2012-s251b"]

    # Active: hospital discharge to adult social care (the contract's example).
    made.append(_active(demo, _draft(
        demo, "manchester-cc", "Hospital discharge to adult social care",
        "Plan care and support for adults leaving hospital so that nobody waits in a hospital bed for care.",
        [_flow("mft-discharge-summaries", "mft", "manchester-cc", "Discharge planning", health_care,
               ["patient name", "NHS number", "date of birth", "address", "expected discharge date",
                "care needs on discharge", "mobility"], method="shared_system", frequency="daily",
               retention="Kept in the adult social care record for 8 years after the case closes")],
        dpia="DPIA-MCC-2024-017",
    )))

    # Active, with an amendment in progress: a social worker's notes to the health provider.
    notes = _active(demo, _draft(
        demo, "manchester-cc", "Social care case notes for hospital and community health teams",
        "Give clinicians caring for an adult the social worker's view of their needs, risks and support.",
        [_flow("mcc-adult-social-care-notes", "manchester-cc", "mft", "Joint care planning for adults in hospital "
               "or on a community health caseload", health_care,
               ["name", "date of birth", "NHS number", "care needs assessment", "social worker's case notes",
                "safeguarding concerns"], method="shared_system", frequency="as_needed",
               retention="Kept in the patient's health record under the NHS records retention schedule")],
        dpia="DPIA-MCC-2024-021",
    ))
    notes = services.agreement_amend(actor=demo.officer("manchester-cc"), agreement=notes)
    notes = services.agreement_update(
        actor=demo.officer("manchester-cc"), agreement=notes,
        purpose="Give clinicians caring for an adult the social worker's view of their needs, risks and support, "
                "including adults seen by their GP practice.",
        flows=[
            _flow("mcc-adult-social-care-notes", "manchester-cc", "mft", "Joint care planning for adults in "
                  "hospital or on a community health caseload", health_care,
                  ["name", "date of birth", "NHS number", "care needs assessment", "social worker's case notes",
                   "safeguarding concerns"], method="shared_system", frequency="as_needed",
                  retention="Kept in the patient's health record under the NHS records retention schedule"),
            _flow("mcc-adult-social-care-notes", "manchester-cc", "ancoats-gp", "Joint care planning with the "
                  "patient's GP", health_care, ["name", "date of birth", "NHS number", "care needs assessment",
                                                "social worker's case notes"], method="secure_email",
                  retention="Kept in the GP record"),
        ],
    )
    made.append(notes)

    # Active: smoking and home-fire risk to the fire service for safe and well visits.
    made.append(_active(demo, _draft(
        demo, "gmfrs", "Home fire safety: safe and well referrals",
        "Refer people at higher risk of a fire at home (smokers, people using home oxygen, people who live alone "
        "with limited mobility) to the fire service for a free safe and well visit and smoke alarms.",
        [
            _flow("mft-home-fire-risk", "mft", "gmfrs", "Referral for a safe and well visit",
                  ["ukgdpr-6-1-e", "ukgdpr-9-2-a", "common-law-confidentiality-consent",
                   "fire-and-rescue-services-act-2004-s6"], method="secure_email", frequency="weekly",
                  retention="Deleted 12 months after the visit"),
            _flow("gp-frailty-register", "ancoats-gp", "gmfrs", "Referral of frail patients who smoke or live "
                  "alone", ["ukgdpr-6-1-e", "ukgdpr-9-2-a", "common-law-confidentiality-consent",
                            "fire-and-rescue-services-act-2004-s6"],
                  ["patient name", "address", "telephone", "lives alone", "smoker"], frequency="monthly",
                  retention="Deleted 12 months after the visit"),
            _flow("gmfrs-safe-and-well", "gmfrs", "ancoats-gp", "Tell the GP what the visit found",
                  ["ukgdpr-6-1-e", "fire-and-rescue-services-act-2004-s6"], retention="Kept in the GP record"),
        ],
        dpia="DPIA-GMFRS-2023-004",
    )))

    # Active: police call-outs (domestic incidents) to children's and adult social care, and to the school.
    made.append(_active(demo, _draft(
        demo, "gmp", "Domestic abuse incident notifications",
        "Tell social care, and a child's school before the next school day, when police attend a domestic "
        "incident, so that children and adults at risk get support quickly.",
        [
            _flow("gmp-domestic-incidents", "gmp", "manchester-cc", "Safeguarding children and adults at risk",
                  ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18", "children-act-2004-s11",
                   "crime-and-disorder-act-1998-s115"], method="shared_system", frequency="daily",
                  retention="Kept on the social care record under the council's retention schedule"),
            _flow("gmp-domestic-incidents", "gmp", "northside-academy", "Let the designated safeguarding lead "
                  "support the child at school", ["ukgdpr-6-1-e", "ukgdpr-10", "dpa-2018-sch1-para18",
                                                  "children-act-2004-s11"],
                  ["incident date", "child names"], method="secure_email", frequency="daily",
                  retention="Kept in the child's safeguarding file until they are 25"),
        ],
        dpia="DPIA-GMP-2024-002",
    )))

    # Submitted, partly signed: school attendance for early help.
    attendance = _draft(
        demo, "manchester-cc", "School attendance for early help",
        "Offer early help to families whose children are missing school, before problems grow.",
        [_flow("school-attendance", "northside-academy", "manchester-cc", "Identify families who may need help",
               ["ukgdpr-6-1-e", "children-act-2004-s10"], method="sftp", frequency="monthly",
               retention="Deleted after 2 years unless the family takes up early help")],
        years=(0, 2),
    )
    attendance = services.agreement_submit(actor=demo.officer("manchester-cc"), agreement=attendance)
    made.append(_sign_all(demo, attendance, except_for={"manchester-cc"}))

    # Draft: a voluntary organisation sharing IDVA risk assessments with the police for MARAC.
    made.append(_draft(
        demo, "safe-haven", "IDVA risk assessments for MARAC",
        "Share high-risk domestic abuse cases with the police so that the MARAC can plan the victim's safety.",
        [_flow("vcs-idva-caseload", "safe-haven", "gmp", "Multi-agency risk assessment conference (MARAC)",
               ["ukgdpr-6-1-f", "ukgdpr-9-2-g", "dpa-2018-sch1-para18", "ukgdpr-10", "dpa-2018-sch1-para10"],
               ["client name", "date of birth", "DASH risk score", "MARAC referral", "children in household"])],
        years=(0, 2),
    ))

    # Rejected: a bulk tenancy feed to the police.
    tenancy = _draft(
        demo, "city-homes", "Tenancy records to the police",
        "Help the police trace people connected with anti-social behaviour.",
        [_flow("homes-tenancy-records", "city-homes", "gmp", "Tracing people connected with anti-social behaviour",
               ["ukgdpr-6-1-f", "crime-and-disorder-act-1998-s115"], method="sftp", frequency="monthly")],
        years=(0, 2),
    )
    tenancy = services.agreement_submit(actor=demo.officer("city-homes"), agreement=tenancy)
    made.append(services.agreement_reject(
        actor=demo.officer("gmp"), agreement=tenancy,
        reason="This is a monthly copy of every tenancy. Section 115 supports sharing case by case where it is "
               "necessary; please resubmit as a request-based flow for named individuals.",
    ))

    # Suspended: missing from home episodes.
    missing = _active(demo, _draft(
        demo, "gmp", "Missing from home episodes to children's social care",
        "Make sure every child who returns after going missing is offered a return interview.",
        [_flow("gmp-missing-episodes", "gmp", "manchester-cc", "Arrange return interviews",
               ["ukgdpr-6-1-e", "children-act-2004-s11"], method="secure_email", frequency="daily",
               retention="Kept on the child's social care record")],
    ))
    made.append(services.agreement_suspend(
        actor=demo.officer("manchester-cc"), agreement=missing,
        reason="Notifications went to a closed team mailbox for two weeks. Paused while the address is fixed "
               "and the missed episodes are followed up.",
    ))

    # Revoked: GP summaries to a school.
    pupils = _active(demo, _draft(
        demo, "northside-academy", "Pupil health summaries for the school",
        "Let the school plan for pupils' medical needs.",
        [_flow("gp-patient-summary", "ancoats-gp", "northside-academy", "Plan for pupils' medical needs",
               ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"],
               ["patient name", "date of birth", "current medication", "allergies", "long-term conditions"])],
    ))
    made.append(services.agreement_revoke(
        actor=demo.officer("ancoats-gp"), agreement=pupils,
        reason="A school does not provide health care, so Article 9(2)(h) does not fit. Parents now share "
               "individual healthcare plans with the school directly.",
    ))

    # Expired: last winter's discharge pilot with the housing provider.
    pilot = _active(demo, _draft(
        demo, "mft", "Winter discharge to assess pilot",
        "Find suitable housing quickly for patients who are medically fit to leave hospital.",
        [_flow("mft-discharge-summaries", "mft", "city-homes", "Match patients to adapted housing",
               ["ukgdpr-6-1-e", "ukgdpr-9-2-h", "dpa-2018-sch1-para2"], ["patient name", "address", "mobility",
                                                                         "expected discharge date"])],
        years=(-3, -2),
    ))
    services.agreement_expire(agreement=pilot, today=timezone.localdate())
    pilot.refresh_from_db()
    made.append(pilot)
    return made


@transaction.atomic
def load_demo() -> tuple[Demo, list[Agreement]]:
    """Everything in one transaction: a failure leaves the database as it was."""
    demo = _agencies_and_users(timezone.localdate().year)
    return demo, _agreements(demo)
