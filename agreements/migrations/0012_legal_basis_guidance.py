"""What a frontline worker does next when a "yes" rests on each legal basis: one plain-English line per basis,
shown under "What to do next" in the check's answer. Frozen here, like the catalogue itself."""

from django.db import migrations, models

GUIDANCE = {
    "ukgdpr-6-1-a": "Get the person's consent before you share, and record what they agreed to, when and how. If "
                    "they refuse or withdraw it, do not share on this basis: record the refusal and ask your Data "
                    "Protection Officer whether another basis applies.",
    "ukgdpr-6-1-b": "Share only what the contract with the person needs, and record which contract it is.",
    "ukgdpr-6-1-c": "Share only what the law requires, and record which law or order requires it.",
    "ukgdpr-6-1-d": "Share only what is needed now to protect the person's life, and record why it could not wait "
                    "and what you shared.",
    "ukgdpr-6-1-e": "Share only what the public task needs, and record what you shared and why.",
    "ukgdpr-6-1-f": "Check the legitimate interests assessment covers this case, and record what you shared and "
                    "why.",
    "ukgdpr-9-2-a": "Get the person's explicit consent, in words, before you share their special category "
                    "information, and record it. If they refuse, do not share on this basis: record the refusal "
                    "and ask your Data Protection Officer whether another condition applies.",
    "ukgdpr-9-2-b": "Share only for the employment, social security or social protection duty, and record which.",
    "ukgdpr-9-2-c": "Share only what is needed now to protect the person's life when they cannot consent, and "
                    "record why it could not wait.",
    "ukgdpr-9-2-d": "Share only about members or regular contacts of the body, and never outside it without "
                    "consent.",
    "ukgdpr-9-2-e": "Check the person really made this information public themselves before you rely on it.",
    "ukgdpr-9-2-f": "Share only what the legal claim or court needs, and record which claim or proceedings.",
    "ukgdpr-9-2-g": "Share only for the substantial public interest named in the agreement, with its Schedule 1 "
                    "condition.",
    "ukgdpr-9-2-h": "Share only for the person's health or social care, with people bound by confidentiality.",
    "ukgdpr-9-2-i": "Share only for the public health purpose, with people bound by confidentiality.",
    "ukgdpr-9-2-j": "Share only for the archiving, research or statistics the agreement names, with its safeguards.",
    "ukgdpr-10": "Share criminal offence information only under the Schedule 1 condition the agreement names, and "
                 "record why.",
    "dpa-2018-sch1-para1": "Share only to meet the employment or social security duty, and keep the policy document "
                           "it needs.",
    "dpa-2018-sch1-para2": "Share only for health or social care purposes, with people bound by confidentiality.",
    "dpa-2018-sch1-para3": "Share only for the public health purpose, with people bound by confidentiality.",
    "dpa-2018-sch1-para4": "Share only for the research the agreement names, with its safeguards.",
    "dpa-2018-sch1-para6": "Share only for the statutory or government purpose, and record which.",
    "dpa-2018-sch1-para10": "Share only to prevent or detect the unlawful act, and record why asking for consent "
                            "would have prejudiced that.",
    "dpa-2018-sch1-para18": "Share to protect a child or an adult at risk, and record why consent was not sought or "
                            "could not be relied on.",
    "crime-and-disorder-act-1998-s115": "Use this only for crime and disorder purposes: what you share or receive "
                                        "must not be used for anything else.",
    "children-act-2004-s10": "Share only to improve the child's well-being under the co-operation arrangements, "
                             "and record why.",
    "children-act-2004-s11": "Share to safeguard and promote the child's welfare, and record what you shared and "
                             "why.",
    "care-act-2014-s45": "Share only what the Safeguarding Adults Board asked for, and record the request.",
    "health-and-social-care-act-2012-s251b": "Share what the person's direct care needs, unless they have objected: "
                                             "if they have, do not share, and tell the person caring for them.",
    "digital-economy-act-2017-part5": "Share only for the public service objective named in the agreement.",
    "children-act-1989-s47": "Share what the child protection enquiry needs now, and record what you shared and "
                             "why.",
    "care-act-2014-s42": "Share what the adult safeguarding enquiry needs, and record what you shared and why.",
    "education-act-2002-s175": "Share to safeguard the child, and record what you shared and why.",
    "fire-and-rescue-services-act-2004-s6": "Share only to promote fire safety, for example to arrange a home fire "
                                            "safety visit.",
    "common-law-confidentiality-consent": "Ask the person first and record their agreement. If they refuse, do not "
                                          "share unless there is an overriding public interest or a legal duty: "
                                          "ask your Caldicott Guardian, and record the refusal and the decision.",
    "common-law-confidentiality-public-interest": "Record why the public interest outweighs the person's "
                                                  "confidentiality, and share only what that needs.",
    "common-law-confidentiality-legal-requirement": "Record which law or court order requires it, and share only "
                                                    "what it requires.",
}


def load(apps, schema_editor):
    LegalBasis = apps.get_model("agreements", "LegalBasis")
    for code, guidance in GUIDANCE.items():
        LegalBasis.objects.filter(code=code).update(guidance=guidance)


def unload(apps, schema_editor):
    apps.get_model("agreements", "LegalBasis").objects.update(guidance="")


class Migration(migrations.Migration):
    dependencies = [("agreements", "0011_signer_and_returned_terms")]

    operations = [
        migrations.AddField(
            model_name="legalbasis",
            name="guidance",
            field=models.TextField(blank=True, default="",
                                   help_text="What to do next when a check's yes rests on this basis: one plain-English "
                                             "line for a frontline worker."),
        ),
        migrations.RunPython(load, unload),
    ]
