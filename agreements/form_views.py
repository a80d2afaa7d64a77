"""Pages for governance officers to draft an agreement and to change a draft. They work without JavaScript.

"Add another flow" and "Remove" are submit buttons that draw the form again with what was typed, one row more
or less; "Save" parses the form and calls `services.agreement_create` / `agreement_update`, whose rules'
errors are put next to the field they name and in the error summary. Nothing typed is lost on an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from agencies.choices import Role
from agencies.models import Agency, Dataset
from agencies.selectors import user_agency_ids
from common.errors import Conflict

from . import services
from .choices import AgreementStatus
from .forms import (
    DATE_FIELDS,
    MAX_FLOWS,
    AgreementForm,
    FlowFormSet,
    comparable_flows,
    flow_initial,
    flow_terms,
)
from .lifecycle import Action, verdict
from .models import Agreement, Flow, LegalBasis
from .rules import TermsInvalid, resolve_terms
from .selectors import agreement_get

TEMPLATE = "agreements/agreement_form.html"
PREFIX = "flows"
SUGGESTIONS = 200  # the browser's type-ahead lists; any other code may still be typed and is checked on save

Save = Callable[[dict[str, Any], list[dict[str, Any]]], tuple[Agreement | None, str]]


# --- pages ---------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def agreement_create(request: HttpRequest) -> HttpResponse:
    """Draft a new agreement, led by an agency where the user is a governance officer."""
    leads = _lead_agencies(request.user)
    if leads is not None and not leads:
        return _refuse(request, 403, "You cannot draft an agreement",
                       "Only governance officers can draft agreements, and you are not a governance officer of any "
                       "active agency. If you should be, ask your agency administrator.")

    def save(terms: dict[str, Any], flows: list[dict[str, Any]]) -> tuple[Agreement | None, str]:
        agreement = services.agreement_create(actor=request.user, flows=flows, **terms)
        return agreement, (f"Draft agreement {agreement.reference} saved. It has not been sent for signature yet.")

    initial = {"lead_agency": leads[0].code if leads and len(leads) == 1 else ""}
    return _form_page(request, agreement=None, form_kwargs={"lead_agencies": leads}, initial=initial,
                      initial_flows=[{}], save=save)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def agreement_edit(request: HttpRequest, reference: str) -> HttpResponse:
    """Change the current draft of an agreement: governance officers of its lead agency only."""
    agreement = agreement_get(user=request.user, reference=reference)
    lead = agreement.lead_agency
    answer = verdict(user=request.user, agreement=agreement, action=Action.EDIT)
    if answer.forbidden:
        return _refuse(request, 403, "You cannot change this agreement", answer.message, agreement=agreement)
    version = agreement.current_version
    if not answer.allowed:
        return _not_a_draft(request, agreement)
    if request.method != "POST":  # the form shows the whole draft: a view like any other
        services.agreement_record_viewed(actor=request.user, agreement=agreement, page="edit")

    flows = list(version.flows.all())
    saved_flows = [flow_terms(f) for f in flows]
    initial = {name: getattr(version, name) for name in ("title", "purpose", "dpia_reference", *DATE_FIELDS)}
    initial["lead_agency"] = lead.code
    # An amendment of an agreement in force keeps its lead agency (the service refuses a change).
    lead_fixed = lead if agreement.status != AgreementStatus.DRAFT else None
    leads = _lead_agencies(request.user)
    if leads is not None and lead.pk not in {a.pk for a in leads}:
        leads = [lead, *leads]  # say who leads now, even if it has closed since: never switch it silently

    def save(terms: dict[str, Any], new_flows: list[dict[str, Any]]) -> tuple[Agreement | None, str]:
        changes = {name: value for name, value in terms.items()
                   if _normalise(value) != _normalise(initial.get(name))}
        if lead_fixed is not None:
            changes.pop("lead_agency", None)
        if comparable_flows(new_flows) != comparable_flows(saved_flows):
            changes["flows"] = new_flows
        if not changes:
            return agreement, f"You did not change anything, so {agreement.reference} is as it was."
        updated = services.agreement_update(actor=request.user, agreement=agreement,
                                            expected_revision=request.POST.get("revision") or None, **changes)
        return updated, f"Your changes to {updated.reference} are saved."

    try:
        return _form_page(request, agreement=agreement, revision=services.version_revision(version),
                          form_kwargs={"lead_agencies": leads, "lead_fixed": lead_fixed}, initial=initial,
                          initial_flows=[flow_initial(f) for f in flows] or [{}], save=save)
    except Conflict:  # someone sent it for signature while this form was open
        return _not_a_draft(request, agreement_get(user=request.user, reference=reference))


# --- the form, its buttons and its errors --------------------------------------------------------------------


def _form_page(request: HttpRequest, *, agreement: Agreement | None, form_kwargs: dict[str, Any],
               initial: dict[str, Any], initial_flows: list[dict[str, Any]], save: Save,
               revision: str = "") -> HttpResponse:
    catalogue = list(LegalBasis.objects.filter(active=True).order_by("pk"))  # the catalogue's own order
    flow_kwargs = {"catalogue": catalogue}
    # The draft's revision the editor started from travels with the form, so a save over someone else's is refused.
    revision = request.POST.get("revision", revision) if request.method == "POST" else revision
    context = {"agreement": agreement, "flow_errors": [], "add_error": "", "revision": revision}
    if request.method != "POST":
        form = AgreementForm(initial=initial, **form_kwargs)
        formset = FlowFormSet(initial=initial_flows, prefix=PREFIX, form_kwargs=flow_kwargs)
        return _render(request, form, formset, context)

    form = AgreementForm(request.POST, initial=initial, **form_kwargs)
    formset = FlowFormSet(request.POST, prefix=PREFIX, form_kwargs=flow_kwargs)
    if "add_flow" in request.POST or "remove_flow" in request.POST:
        # Draw the form again as typed, one row more or less, without checking it.
        rows = [row.typed() for row in formset.forms]
        if "remove_flow" in request.POST:
            position = _int(request.POST.get("remove_flow"))
            if position is not None and 0 <= position < len(rows):
                rows.pop(position)
        elif len(rows) < MAX_FLOWS:
            rows.append({})
        else:
            context["add_error"] = f"An agreement can have up to {MAX_FLOWS} flows"
        form = AgreementForm(initial=form.typed(), **form_kwargs)
        formset = FlowFormSet(initial=rows or [{}], prefix=PREFIX, form_kwargs=flow_kwargs)
        return _render(request, form, formset, context)

    parsed = form.is_valid() & formset.is_valid()  # both, so every row shows what did not parse
    rows = [row for row in formset.forms if not row.is_blank()]
    terms, flows = form.terms(), [row.flow() for row in rows]
    flow_errors = context["flow_errors"]
    flow_errors.extend(str(e) for e in formset.non_form_errors())
    if parsed and not flow_errors:
        try:
            saved, message = save(terms, flows)
        except services.StaleDraft as exc:
            form.add_error(None, f"{exc} Your changes are below and have not been saved. Open the draft again "
                                 "in another tab to see theirs, or save again to replace their version with yours.")
            context["revision"] = exc.revision
            return _render(request, form, formset, context, status=409)
        except TermsInvalid as exc:
            _apply(exc.errors, form=form, rows=rows, flow_errors=flow_errors)
        except ValidationError as exc:
            _apply(exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages},
                   form=form, rows=rows, flow_errors=flow_errors)
        else:
            messages.success(request, message)
            return redirect(_agreement_url(saved))
    else:
        # Check the rest too, so that every mistake is shown at once; nothing is saved.
        try:
            resolve_terms(flows=flows, **terms)
        except TermsInvalid as exc:
            _apply(exc.errors, form=form, rows=rows, flow_errors=flow_errors)
    return _render(request, form, formset, context, status=400)


def _apply(errors: dict[str, Any], *, form: AgreementForm, rows: list, flow_errors: list[str]) -> None:
    """Put the rules' errors ({"title": [...], "flows": [{...} per flow]}) on the fields and rows they name."""
    for name, texts in errors.items():
        if name != "flows":
            _add(form, name, texts)
            continue
        position = 0
        for text in texts:
            if isinstance(text, dict):
                if position < len(rows):
                    for field, field_texts in text.items():
                        _add(rows[position], field, field_texts)
                position += 1
            else:
                flow_errors.append(str(text))


def _add(target, name: str, texts: list[str]) -> None:
    if name in target.errors:
        return  # the field already says what is wrong with what was typed
    for text in texts:
        target.add_error(name if name in target.fields else None, str(text))


def _render(request: HttpRequest, form: AgreementForm, formset, context: dict[str, Any],
            status: int = 200) -> HttpResponse:
    rows = list(formset.forms)
    _describe_datasets(rows)
    summary = [{"href": None, "text": e} for e in form.non_field_errors()]
    summary += [{"href": f"#{form.anchor(name)}", "text": e} for name in form.fields for e in form[name].errors]
    first_flow = f"#{rows[0].anchor('dataset')}" if rows else "#add-flow"
    summary += [{"href": first_flow, "text": e} for e in context["flow_errors"]]
    for number, row in enumerate(rows, start=1):
        summary += [{"href": f"#{row.anchor('dataset')}", "text": f"Flow {number}: {e}"}
                    for e in row.non_field_errors()]
        summary += [{"href": f"#{row.anchor(name)}", "text": f"Flow {number}: {e}"}
                    for name in row.fields for e in row[name].errors]
    agreement = context["agreement"]
    context.update({
        "form": form, "formset": formset, "rows": rows, "errors": summary, "max_flows": MAX_FLOWS,
        "next_flow": len(rows) + 1, "heading": f"Change {agreement.reference}" if agreement else
        "Draft a new agreement", "cancel_url": _cancel_url(agreement), **_suggestions(request.user),
    })
    return render(request, TEMPLATE, context, status=status)


# --- helpers -------------------------------------------------------------------------------------------------


def _describe_datasets(rows: list) -> None:
    """Name the items each row's dataset holds in its data-items hint: without JavaScript there is no other way
    to see them while choosing (one query for every row)."""
    typed = [str(row["dataset"].value() or "").strip() for row in rows]
    codes = set(typed) - {""}
    held = dict(Dataset.objects.filter(code__in=codes).values_list("code", "data_items")) if codes else {}
    for row, code in zip(rows, typed, strict=True):
        if held.get(code):
            field = row.fields["data_items"]
            field.help_text = f"{field.help_text}. The dataset {code} holds: {', '.join(held[code])}"


def _lead_agencies(user: Any) -> list[Agency] | None:
    """Agencies the user may choose to lead an agreement; None for a superuser, who may type any code."""
    if user.is_superuser:
        return None
    ids = user_agency_ids(user, {Role.GOVERNANCE_OFFICER})
    return list(Agency.objects.filter(pk__in=ids, active=True).order_by("name")) if ids else []


def _suggestions(user: Any) -> dict[str, Any]:
    """Codes for the type-ahead: the user's agencies and those they already share with, and their datasets."""
    agencies = Agency.objects.filter(active=True)
    if not user.is_superuser:
        own = user_agency_ids(user)
        agencies = agencies.filter(
            Q(pk__in=own)
            | Q(pk__in=Flow.objects.filter(provider_id__in=own).values("recipient_id"))
            | Q(pk__in=Flow.objects.filter(recipient_id__in=own).values("provider_id"))
        )
    agency_rows = list(agencies.order_by("name", "code").values_list("pk", "code", "name")[:SUGGESTIONS])
    datasets = list(
        Dataset.objects.filter(owner_id__in=[pk for pk, _code, _name in agency_rows])
        .order_by("name", "code").values_list("code", "name", "owner__name")[:SUGGESTIONS]
    )
    return {
        "agency_suggestions": [{"code": code, "name": name} for _pk, code, name in agency_rows],
        "dataset_suggestions": [{"code": code, "name": f"{name} ({owner})"} for code, name, owner in datasets],
    }


def _agreement_url(agreement: Agreement) -> str:
    return reverse("agreement-detail", args=[agreement.reference])


def _cancel_url(agreement: Agreement | None) -> str:
    return _agreement_url(agreement) if agreement is not None else reverse("dashboard")


def _refuse(request: HttpRequest, status: int, title: str, message: str,
            agreement: Agreement | None = None) -> HttpResponse:
    links = []
    if agreement is not None:
        links = _agreement_links(agreement)
    return render(request, TEMPLATE, {"refusal": {"title": title, "message": message, "links": links}},
                  status=status)


def _agreement_links(agreement: Agreement) -> list[dict[str, str]]:
    links = [{"href": _agreement_url(agreement), "text": f"Go to {agreement.reference}"}]
    if getattr(agreement, "full_view", False):
        links.append({"href": reverse("agreement-print", args=[agreement.reference]),
                      "text": f"Read everything {agreement.reference} says (printable version)"})
    return links


def _not_a_draft(request: HttpRequest, agreement: Agreement) -> HttpResponse:
    """409: only a draft can be changed. The lifecycle says why and what to do instead."""
    answer = verdict(user=request.user, agreement=agreement, action=Action.EDIT)
    return _refuse(request, 409, f"{agreement.reference} cannot be changed now", answer.message, agreement=agreement)


def _normalise(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
