"""The legal-basis catalogue: the product's voice on the law, so every description is checked against the source.

Data is frozen here (not imported from app code) so that later edits arrive as new migrations.
Descriptions are for frontline workers: what the basis means, when it fits, and what else it needs.
"""

from django.db import migrations

SCHEDULE_1_NOTE = (
    " In the UK this condition is not enough on its own: the Data Protection Act 2018 (section 10 and "
    "Schedule 1) also requires a Schedule 1 condition, so name that condition in the agreement too."
)

CATALOGUE = [
    # UK GDPR Article 6: every flow of personal data needs at least one.
    (
        "ukgdpr-6-1-a",
        "Consent",
        "UK GDPR Article 6(1)(a)",
        "article6",
        "The person has given clear, specific and informed agreement to their information being shared for this "
        "purpose. Consent must be freely given and can be withdrawn at any time, after which the sharing must stop. "
        "Public bodies should rarely rely on it for their core work, because people who depend on a service may "
        "not feel free to refuse; use it only when the person has a real choice.",
    ),
    (
        "ukgdpr-6-1-b",
        "Contract",
        "UK GDPR Article 6(1)(b)",
        "article6",
        "The sharing is necessary to deliver a contract with the person themselves (for example a tenancy or a "
        "paid-for service), or to take steps they asked for before entering into one. It does not cover "
        "contracts between organisations.",
    ),
    (
        "ukgdpr-6-1-c",
        "Legal obligation",
        "UK GDPR Article 6(1)(c)",
        "article6",
        "The sharing is necessary to comply with a specific legal requirement on your organisation, such as a "
        "statutory duty to provide information or a court order. You should be able to name the law that requires "
        "it. A contract does not count.",
    ),
    (
        "ukgdpr-6-1-d",
        "Vital interests",
        "UK GDPR Article 6(1)(d)",
        "article6",
        "The sharing is necessary to protect someone's life, for example in a medical emergency. It is meant for "
        "emergencies where no other basis fits, usually when the person cannot give consent. Planned, routine "
        "sharing should use another basis.",
    ),
    (
        "ukgdpr-6-1-e",
        "Public task",
        "UK GDPR Article 6(1)(e)",
        "article6",
        "The sharing is necessary for your organisation to carry out a task in the public interest or to use its "
        "official powers, and that task or power has a clear basis in law (for example a council's social care "
        "duties or the NHS's duty to provide care). This is the usual basis for public bodies sharing to deliver "
        "their services. It must be necessary: a less intrusive way of achieving the purpose rules it out.",
    ),
    (
        "ukgdpr-6-1-f",
        "Legitimate interests",
        "UK GDPR Article 6(1)(f)",
        "article6",
        "The sharing is necessary for a legitimate interest of your organisation or someone else, and that interest "
        "is not outweighed by the person's rights and interests. You must weigh this up and record it. Public "
        "authorities cannot use it for the work they do as public authorities; it suits voluntary organisations "
        "and other private bodies.",
    ),
    # UK GDPR Article 9: special category data needs one of these as well as an Article 6 basis.
    (
        "ukgdpr-9-2-a",
        "Explicit consent",
        "UK GDPR Article 9(2)(a)",
        "article9",
        "The person has given explicit consent, clearly confirmed in words, to sharing their special category "
        "information (such as health, ethnicity, religion or sexuality) for this purpose. The same limits as "
        "ordinary consent apply: it must be freely given and it can be withdrawn.",
    ),
    (
        "ukgdpr-9-2-b",
        "Employment, social security and social protection",
        "UK GDPR Article 9(2)(b)",
        "article9",
        "The sharing is necessary to carry out obligations or use rights under employment, social security or "
        "social protection law. Social protection includes safeguarding and social care support for people in "
        "need." + SCHEDULE_1_NOTE + " The usual one is Schedule 1, paragraph 1.",
    ),
    (
        "ukgdpr-9-2-c",
        "Vital interests (person cannot consent)",
        "UK GDPR Article 9(2)(c)",
        "article9",
        "The sharing is necessary to protect someone's life, and the person is physically or legally unable to "
        "give consent (for example they are unconscious). If they can consent but refuse, this condition does "
        "not apply.",
    ),
    (
        "ukgdpr-9-2-d",
        "Not-for-profit bodies",
        "UK GDPR Article 9(2)(d)",
        "article9",
        "A not-for-profit body with a political, philosophical, religious or trade-union aim processing "
        "information about its own members, former members or regular contacts. The information must not be "
        "shared outside the body without the person's consent, so it rarely supports sharing between agencies.",
    ),
    (
        "ukgdpr-9-2-e",
        "Made public by the person",
        "UK GDPR Article 9(2)(e)",
        "article9",
        "The person has themselves deliberately made the information public. Information made public by someone "
        "else, such as the press, does not count.",
    ),
    (
        "ukgdpr-9-2-f",
        "Legal claims and courts",
        "UK GDPR Article 9(2)(f)",
        "article9",
        "The sharing is necessary to establish, exercise or defend legal claims, or is done by a court acting in "
        "its judicial capacity, for example providing evidence in care proceedings.",
    ),
    (
        "ukgdpr-9-2-g",
        "Substantial public interest",
        "UK GDPR Article 9(2)(g)",
        "article9",
        "The sharing is necessary for reasons of substantial public interest set out in law, such as safeguarding "
        "children and adults at risk or preventing crime. In the UK it is only available through one of the "
        "specific conditions in Part 2 of Schedule 1 to the Data Protection Act 2018 (for example paragraph 18, "
        "safeguarding, or paragraph 10, preventing or detecting unlawful acts); name that condition in the "
        "agreement too.",
    ),
    (
        "ukgdpr-9-2-h",
        "Health or social care",
        "UK GDPR Article 9(2)(h)",
        "article9",
        "The sharing is necessary for health or social care: preventive or occupational medicine, diagnosis, "
        "providing care or treatment, or managing health or social care services. The information must be handled "
        "by, or under the responsibility of, a professional who owes a duty of confidentiality, such as a doctor, "
        "nurse or social worker." + SCHEDULE_1_NOTE + " The usual one is Schedule 1, paragraph 2.",
    ),
    (
        "ukgdpr-9-2-i",
        "Public health",
        "UK GDPR Article 9(2)(i)",
        "article9",
        "The sharing is necessary for reasons of public interest in public health, such as protecting against "
        "serious threats to health or ensuring high standards of quality and safety of health care, medicines or "
        "medical devices. It must be done by, or under the responsibility of, someone who owes a duty of "
        "confidentiality." + SCHEDULE_1_NOTE + " The usual one is Schedule 1, paragraph 3.",
    ),
    (
        "ukgdpr-9-2-j",
        "Archiving, research and statistics",
        "UK GDPR Article 9(2)(j)",
        "article9",
        "The sharing is necessary for archiving in the public interest, scientific or historical research, or "
        "statistics, with safeguards such as pseudonymisation, and is not used to make decisions about the "
        "individual." + SCHEDULE_1_NOTE + " The usual one is Schedule 1, paragraph 4.",
    ),
    # UK GDPR Article 10: criminal offence data.
    (
        "ukgdpr-10",
        "Criminal offence data",
        "UK GDPR Article 10",
        "article10",
        "Information about criminal allegations, offences, proceedings or convictions (including police call-outs "
        "that record suspected offences) may only be processed under the control of official authority or when "
        "the law authorises it. In the UK that authorisation comes from a condition in Schedule 1 to the Data "
        "Protection Act 2018 (section 10(5)), for example paragraph 10, preventing or detecting unlawful acts, or "
        "paragraph 18, safeguarding; name that condition in the agreement too. You still need an Article 6 basis.",
    ),
    # Data Protection Act 2018, Schedule 1 conditions: complete Article 9(2)(b), (g), (h), (i), (j) and Article 10.
    (
        "dpa-2018-sch1-para1",
        "Employment, social security and social protection",
        "Data Protection Act 2018, Schedule 1, paragraph 1",
        "statute",
        "Completes UK GDPR Article 9(2)(b). The processing is necessary to carry out obligations or use rights "
        "under employment, social security or social protection law, and your organisation has an 'appropriate "
        "policy document' explaining how it handles this information and how long it keeps it.",
    ),
    (
        "dpa-2018-sch1-para2",
        "Health or social care purposes",
        "Data Protection Act 2018, Schedule 1, paragraph 2",
        "statute",
        "Completes UK GDPR Article 9(2)(h). The processing is necessary for health or social care purposes (such "
        "as diagnosis, care, treatment or managing services) and is done by or under the responsibility of a "
        "health or social work professional, or someone else who owes a duty of confidentiality under law.",
    ),
    (
        "dpa-2018-sch1-para3",
        "Public health",
        "Data Protection Act 2018, Schedule 1, paragraph 3",
        "statute",
        "Completes UK GDPR Article 9(2)(i). The processing is necessary for reasons of public interest in public "
        "health and is done by or under the responsibility of a health professional, or someone else who owes a "
        "duty of confidentiality under law.",
    ),
    (
        "dpa-2018-sch1-para4",
        "Research",
        "Data Protection Act 2018, Schedule 1, paragraph 4",
        "statute",
        "Completes UK GDPR Article 9(2)(j). The processing is necessary for archiving in the public interest, "
        "scientific or historical research, or statistics, with the safeguards in Article 89 and section 19 of the "
        "Act, and is in the public interest.",
    ),
    (
        "dpa-2018-sch1-para6",
        "Statutory and government purposes",
        "Data Protection Act 2018, Schedule 1, paragraph 6",
        "statute",
        "A substantial public interest condition for UK GDPR Article 9(2)(g). The processing is necessary to carry "
        "out a function given to your organisation by law, and is necessary for reasons of substantial public "
        "interest. Your organisation needs an 'appropriate policy document'.",
    ),
    (
        "dpa-2018-sch1-para10",
        "Preventing or detecting unlawful acts",
        "Data Protection Act 2018, Schedule 1, paragraph 10",
        "statute",
        "A condition for UK GDPR Article 9(2)(g) and for criminal offence data (Article 10). The sharing is "
        "necessary to prevent or detect an unlawful act, asking for consent would prejudice that, and it is "
        "necessary for reasons of substantial public interest. Your organisation usually needs an 'appropriate "
        "policy document', though not when the disclosure is to the police or another competent authority.",
    ),
    (
        "dpa-2018-sch1-para18",
        "Safeguarding of children and of individuals at risk",
        "Data Protection Act 2018, Schedule 1, paragraph 18",
        "statute",
        "A condition for UK GDPR Article 9(2)(g) and for criminal offence data (Article 10). The sharing is "
        "necessary to protect a child, or an adult at risk, from neglect or from physical, mental or emotional "
        "harm, or to protect their well-being. It applies only when it is done without consent because consent "
        "cannot be given, you cannot reasonably be expected to get it, or asking would put the protection at "
        "risk; and it must be necessary for reasons of substantial public interest.",
    ),
    # Statutory gateways: the law that gives the power or duty to share. They sit beside, not instead of, UK GDPR.
    (
        "crime-and-disorder-act-1998-s115",
        "Disclosure to reduce crime and disorder",
        "Crime and Disorder Act 1998, section 115",
        "statute",
        "Gives any person a power (not a duty) to disclose information to a relevant authority, such as the "
        "police, a council, probation services or a health body, where the disclosure is necessary or expedient "
        "for the purposes of the Act, such as community safety partnerships reducing crime and disorder. It does "
        "not override data protection law or the duty of confidentiality: you still need a UK GDPR lawful basis, "
        "and each disclosure must be necessary and proportionate.",
    ),
    (
        "children-act-2004-s10",
        "Co-operation to improve the well-being of children",
        "Children Act 2004, section 10",
        "statute",
        "Requires each English local authority to make arrangements for co-operation with its relevant partners "
        "(including the police, probation services and NHS bodies) to improve the well-being of children in its "
        "area: their health, protection from harm and neglect, education, and social and economic well-being. "
        "Sharing information is part of that co-operation, but the section is not a duty to share any particular "
        "information; you still need a UK GDPR lawful basis.",
    ),
    (
        "children-act-2004-s11",
        "Duty to safeguard and promote the welfare of children",
        "Children Act 2004, section 11",
        "statute",
        "Requires named bodies, including local authorities, NHS bodies, the police, probation services and youth "
        "offending teams, to make sure their functions are carried out having regard to the need to safeguard "
        "and promote the welfare of children. Sharing information about a child at risk is a normal part of "
        "that duty. Schools have a similar duty under the Education Act 2002. You still need a UK GDPR lawful "
        "basis.",
    ),
    (
        "care-act-2014-s45",
        "Supply of information to a Safeguarding Adults Board",
        "Care Act 2014, section 45",
        "statute",
        "When a Safeguarding Adults Board asks a person or organisation for information to help it carry out its "
        "functions (including a safeguarding adults review), they must supply it, provided the information "
        "relates to them, to their functions or activities, or to someone in respect of whom they carry out "
        "functions or activities. It is a duty to answer the Board's "
        "request; it is not a general gateway for day-to-day safeguarding referrals.",
    ),
    (
        "health-and-social-care-act-2012-s251b",
        "Duty to share information for direct care",
        "Health and Social Care Act 2012, section 251B (inserted by the Health and Social Care (Safety and "
        "Quality) Act 2015, section 3)",
        "statute",
        "Health and adult social care commissioners and providers in England must share information about a "
        "person with each other, and within their own organisation, where this is likely to help provide that "
        "person's health or adult social care and is in their best interests. The duty does not apply if the "
        "person objects or would be likely to object. It does not override data protection law or the common law "
        "duty of confidentiality.",
    ),
    (
        "digital-economy-act-2017-part5",
        "Public service delivery and other data sharing powers",
        "Digital Economy Act 2017, Part 5",
        "statute",
        "Gives named public bodies powers to share information to improve public services for individuals and "
        "households (for example supporting families facing multiple disadvantages, or fuel and water poverty), "
        "and to tackle fraud against and debt owed to the public sector, plus research and statistics. Only "
        "bodies listed in the Act's schedules may use it, only for objectives set in regulations, and they must "
        "follow the statutory codes of practice. It does not override data protection law.",
    ),
    (
        "children-act-1989-s47",
        "Child protection enquiries",
        "Children Act 1989, section 47",
        "statute",
        "A local authority must make enquiries when it has reasonable cause to suspect that a child in its area "
        "is suffering, or likely to suffer, significant harm. Other councils, housing authorities and NHS bodies "
        "must help with those enquiries, in particular by providing relevant information, when the local "
        "authority asks, unless that would be unreasonable in the circumstances.",
    ),
    (
        "care-act-2014-s42",
        "Adult safeguarding enquiries",
        "Care Act 2014, section 42",
        "statute",
        "A local authority must make, or ask others to make, enquiries when it has reasonable cause to suspect "
        "that an adult in its area has needs for care and support, is experiencing or at risk of abuse or "
        "neglect, and because of those needs cannot protect themselves. Sharing information to carry out such an "
        "enquiry is part of the council's public task.",
    ),
    (
        "education-act-2002-s175",
        "Safeguarding duty of schools and local authorities",
        "Education Act 2002, section 175",
        "statute",
        "Local authorities, and the governing bodies of maintained schools and further education colleges, must "
        "carry out their education functions with a view to safeguarding and promoting the welfare of children. "
        "Academies and independent schools have the same duty through the Independent School Standards. Sharing "
        "safeguarding concerns with children's social care is part of this duty.",
    ),
    (
        "fire-and-rescue-services-act-2004-s6",
        "Fire safety promotion",
        "Fire and Rescue Services Act 2004, section 6",
        "statute",
        "Each fire and rescue authority must promote fire safety in its area, including giving information and "
        "advice on preventing fires and on avoiding death or injury by fire. This supports home fire safety "
        "('safe and well') visits to people at higher risk. It is the fire service's power to act; the agencies "
        "referring people to it still need their own lawful basis to share.",
    ),
    # Common law duty of confidentiality: information given in confidence also needs one of these.
    (
        "common-law-confidentiality-consent",
        "Confidential information shared with consent",
        "Common law duty of confidentiality: consent",
        "common_law",
        "Information given in confidence, such as what a patient tells a doctor or a client tells a social worker, "
        "may be shared if the person agrees. Within a team providing their direct care, that agreement may be "
        "implied when the person has been told how their information is used and has not objected; otherwise ask "
        "them explicitly. This is separate from UK GDPR: you still need a lawful basis there too.",
    ),
    (
        "common-law-confidentiality-public-interest",
        "Confidential information shared in the public interest",
        "Common law duty of confidentiality: overriding public interest",
        "common_law",
        "Confidential information may be shared without consent when the public interest in sharing outweighs "
        "the public interest in keeping the confidence, for example to protect someone from serious harm or to "
        "prevent or detect serious crime. Share only what is necessary, with those who need it, and record the "
        "decision and the reasons. This is separate from UK GDPR: you still need a lawful basis there too.",
    ),
    (
        "common-law-confidentiality-legal-requirement",
        "Confidential information shared because the law requires it",
        "Common law duty of confidentiality: required by law or a court",
        "common_law",
        "Confidential information may be shared without consent when a law or a court order requires the "
        "disclosure. Share only what is required, and record what was shared and under which requirement.",
    ),
]


def load(apps, schema_editor):
    LegalBasis = apps.get_model("agreements", "LegalBasis")
    for code, title, citation, kind, description in CATALOGUE:
        LegalBasis.objects.update_or_create(
            code=code, defaults={"title": title, "citation": citation, "kind": kind, "description": description}
        )


def unload(apps, schema_editor):
    apps.get_model("agreements", "LegalBasis").objects.filter(code__in=[row[0] for row in CATALOGUE]).delete()


class Migration(migrations.Migration):
    dependencies = [("agreements", "0001_initial")]

    operations = [migrations.RunPython(load, unload)]
