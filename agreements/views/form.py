"""Pages for governance officers to draft an agreement and to change a draft. They work without JavaScript.

"Add another flow" and "Remove" are submit buttons that draw the form again with what was typed, one row more
or less; "Save" parses the form and calls `services.agreement_create` / `agreement_update`, whose rules'
errors are put next to the field they name and in the error summary. Nothing typed is lost on an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from agencies import services as agency_services
from agencies.choices import Role
from agencies.models import Agency, Dataset
from agencies.selectors import user_agency_ids
from common.errors import Conflict
from common.lookups import by_codes_or_names, typed
from common.types import AuthenticatedHttpRequest, User

from .. import services
from ..choices import AgreementStatus
from ..forms import (
    DATE_FIELDS,
    MAX_FLOWS,
    NAME_MAX,
    PICKED,
    AgreementForm,
    FlowFormSet,
    comparable_flows,
    flow_initial,
    flow_terms,
)
from ..lifecycle import Action, verdict
from ..models import Agreement, Flow, LegalBasis
from ..rules import TermsInvalid, resolve_terms
from ..selectors import agreement_get

TEMPLATE = "agreements/agreement_form.html"
PREFIX = "flows"
SUGGESTIONS = 200  # the lists beside each agency and dataset; any other may be typed by name and is found on save
LOOKUP_RESULTS = 20  # the type-ahead's answers from the whole directory, per request

Save = Callable[[dict[str, Any], list[dict[str, Any]]], tuple[Agreement, str]]


# --- pages ---------------------------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def agreement_create(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Draft a new agreement, led by an agency where the user is a governance officer."""
    leads = _lead_agencies(request.user)
    if leads is not None and not leads:
        return _refuse(request, 403, "You cannot draft an agreement",
                       "Only governance officers can draft agreements, and you are not a governance officer of any "
                       "active agency. If you should be, ask your agency administrator.")

    def save(terms: dict[str, Any], flows: list[dict[str, Any]]) -> tuple[Agreement, str]:
        agreement = services.agreement_create(actor=request.user, flows=flows, **terms)
        return agreement, (f"Draft agreement {agreement.reference} saved. It has not been sent for signature yet.")

    initial = {"lead_agency": leads[0].code if leads and len(leads) == 1 else ""}
    return _form_page(request, agreement=None, form_kwargs={"lead_agencies": leads}, initial=initial,
                      initial_flows=[{}], save=save)


@require_http_methods(["GET", "HEAD", "POST"])
@login_required
def agreement_edit(request: AuthenticatedHttpRequest, reference: str) -> HttpResponse:
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

    flows = list(version.flow_list())
    saved_flows = [flow_terms(f) for f in flows]
    initial = {name: getattr(version, name) for name in ("title", "purpose", "dpia_reference", *DATE_FIELDS)}
    initial["lead_agency"] = lead.code
    # An amendment of an agreement in force keeps its lead agency (the service refuses a change).
    lead_fixed = lead if agreement.status != AgreementStatus.DRAFT else None
    leads = _lead_agencies(request.user)
    if leads is not None and lead.pk not in {a.pk for a in leads}:
        leads = [lead, *leads]  # say who leads now, even if it has closed since: never switch it silently

    def save(terms: dict[str, Any], new_flows: list[dict[str, Any]]) -> tuple[Agreement, str]:
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


def _form_page(request: AuthenticatedHttpRequest, *, agreement: Agreement | None, form_kwargs: dict[str, Any],
               initial: dict[str, Any], initial_flows: list[dict[str, Any]], save: Save,
               revision: str = "") -> HttpResponse:
    catalogue = list(LegalBasis.objects.filter(active=True).order_by("pk"))  # the catalogue's own order
    flow_kwargs = {"catalogue": catalogue}
    # The draft's revision the editor started from travels with the form, so a save over someone else's is refused.
    revision = request.POST.get("revision", revision) if request.method == "POST" else revision
    context: dict[str, Any] = {"agreement": agreement, "flow_errors": [], "add_error": "", "revision": revision}
    if request.method != "POST":
        form = AgreementForm(initial=initial, **form_kwargs)
        formset = FlowFormSet(initial=initial_flows, prefix=PREFIX, form_kwargs=flow_kwargs)
        return _render(request, form, formset, context)

    form = AgreementForm(request.POST, initial=initial, **form_kwargs)
    formset = FlowFormSet(request.POST, prefix=PREFIX, form_kwargs=flow_kwargs)
    if "add_item" in request.POST:
        return _add_data_item(request, form, formset, context, form_kwargs=form_kwargs, flow_kwargs=flow_kwargs)
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
    flow_errors: list[str] = context["flow_errors"]
    flow_errors.extend(str(e) for e in formset.non_form_errors())
    parsed &= _resolve_names(form, rows, terms, flows)
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


def _resolve_names(form: AgreementForm, rows: list, terms: dict[str, Any], flows: list[dict[str, Any]]) -> bool:
    """Turn the agencies and datasets chosen or typed (names or codes) into codes, in place, in four queries at
    most for the whole form; what names nothing, or more than one thing, gets a message on its field. A dataset's
    name is looked for among its provider's datasets."""
    lead_text = terms["lead_agency"] if isinstance(terms["lead_agency"], str) else ""
    agency_texts = {lead_text} | {flow[name] for flow in flows for name in ("provider", "recipient")}
    agencies = by_codes_or_names(Agency.objects.all(), agency_texts)
    ok = True

    def pick(target: forms.BaseForm, field: str, named: Any, **kwargs: Any) -> Any:
        nonlocal ok
        try:
            return named.one(**kwargs)
        except ValidationError as exc:
            ok = False
            if field not in target.errors:
                target.add_error(field, exc.messages[0])
            return None

    if lead_text.strip() and "lead_agency" in form.fields:
        found = pick(form, "lead_agency", agencies[lead_text.strip()])
        terms["lead_agency"] = found.code if found else lead_text
    providers: dict[int, Agency | None] = {}
    for position, (row, flow) in enumerate(zip(rows, flows, strict=True)):
        for name in ("provider", "recipient"):
            if flow[name]:
                found = pick(row, name, agencies[flow[name]])
                flow[name] = found.code if found else flow[name]
                if name == "provider":
                    providers[position] = found
    dataset_texts = {flow["dataset"] for flow in flows} - {""}
    if not dataset_texts:
        return ok
    owner_ids = {agency.pk for agency in providers.values() if agency is not None}
    datasets = by_codes_or_names(Dataset.objects.select_related("owner").filter(
        Q(code__in=dataset_texts) | Q(owner_id__in=owner_ids)), dataset_texts)
    for position, (row, flow) in enumerate(zip(rows, flows, strict=True)):
        if not flow["dataset"]:
            continue
        provider = providers.get(position)
        named = datasets[flow["dataset"]]
        if provider is None and named.code is None:
            if flow["provider"] and "dataset" not in row.errors:
                continue  # the provider's own message says what to fix first
            found = pick(row, "dataset", named, label=_dataset_label)
        else:
            found = pick(row, "dataset", named, label=_dataset_label,
                         keep=lambda d, owner=provider: owner is not None and d.owner_id == owner.pk)
        flow["dataset"] = found.code if found else flow["dataset"]
    return ok


def _dataset_label(dataset: Dataset) -> str:
    return f"{dataset.name} ({dataset.owner.name})"


def _add_data_item(request: AuthenticatedHttpRequest, form: AgreementForm, formset: forms.BaseFormSet,
                   context: dict[str, Any], *,
                   form_kwargs: dict[str, Any], flow_kwargs: dict[str, Any]) -> HttpResponse:
    """"Add" beside a flow's new data item: an officer of the dataset's owner adds the item to the dataset (an
    audited change to the dataset, as on its own page), and the form is drawn again as typed, the item listed
    among the flow's items. Nothing else on the form is saved."""
    form.is_valid()
    formset.is_valid()
    typed_rows = [row.typed() for row in formset.forms]
    position = _int(request.POST.get("add_item"))
    status, problem = 200, ""
    if position is None or not 0 <= position < len(formset.forms):
        position, problem = None, "Choose the flow whose dataset the item belongs to"
    else:
        row, typed = formset.forms[position], typed_rows[position]
        item = str(typed.get("new_data_item") or "").strip()
        flow = {name: row.picked(name) for name in PICKED}
        dataset = _dataset_for_item(row, flow)
        if isinstance(dataset, str):
            problem = dataset
        elif not item:
            problem = f"Type the name of the data item to add to {dataset.name}"
        elif len(item) > NAME_MAX:
            problem = f"Keep the item’s name to {NAME_MAX} characters"
        else:
            try:
                agency_services.dataset_update(actor=request.user, dataset=dataset,
                                               data_items=[*dataset.data_items, item])
            except PermissionDenied:
                problem = (f"Only governance officers and administrators of {dataset.owner.name} can add items "
                           f"to {dataset.name}. Ask one of them to add “{item}”.")
            except ValidationError as exc:
                problem = " ".join(exc.messages)
            else:
                messages.success(request, f"“{item}” is now a data item of {dataset.name}. The change is recorded "
                                          "in the audit log. Your agreement is not saved yet.")
                typed.update(dataset=dataset.code, dataset_search="", new_data_item="")
                listed = str(typed.get("data_items") or "").strip()
                if listed:  # the flow names its items: add this one; blank already means every item
                    typed["data_items"] = f"{listed}\n{item}"
    if problem:
        status = 400
    form = AgreementForm(initial=form.typed(), **form_kwargs)
    formset = FlowFormSet(initial=typed_rows or [{}], prefix=PREFIX, form_kwargs=flow_kwargs)
    if problem and position is not None:
        formset.forms[position].item_error = problem
    elif problem:
        context["flow_errors"].append(problem)
    return _render(request, form, formset, context, status=status)


def _dataset_for_item(row: forms.BaseForm, flow: dict[str, str]) -> Dataset | str:
    """The dataset a new item is for, found as the save finds it (by name among the provider's datasets, or by
    code); or what to fix first."""
    if not flow["dataset"]:
        return "Choose the dataset first, then add its new data item"
    provider = None
    if flow["provider"]:
        try:
            provider = by_codes_or_names(Agency.objects.all(), [flow["provider"]])[flow["provider"]].one()
        except ValidationError as exc:
            return f"Provider: {exc.messages[0]}"
    within = Q(code=flow["dataset"]) | (Q(owner=provider) if provider else Q(pk__in=[]))
    try:
        return by_codes_or_names(Dataset.objects.select_related("owner").filter(within), [flow["dataset"]])[
            flow["dataset"]].one(
            keep=lambda d: provider is None or d.owner_id == provider.pk, label=_dataset_label)
    except ValidationError as exc:
        return f"Dataset: {exc.messages[0]}"


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


def _add(target: forms.BaseForm, name: str, texts: list[str]) -> None:
    if name in target.errors:
        return  # the field already says what is wrong with what was typed
    for text in texts:  # a rule's message keeps its code (rules.Problem): the page opens groups by it
        error = ValidationError(str(text), code=getattr(text, "code", None))
        target.add_error(name if name in target.fields else None, error)


def _render(request: AuthenticatedHttpRequest, form: AgreementForm, formset: forms.BaseFormSet,
            context: dict[str, Any],
            status: int = 200) -> HttpResponse:
    rows = list(formset.forms)
    _describe_datasets(rows)
    summary: list[tuple[str | None, Any]] = [(None, e) for e in form.non_field_errors()]
    summary += [(form.anchor(name), e) for name in form.fields for e in form[name].errors]
    first_flow = rows[0].anchor("dataset") if rows else "add-flow"
    summary += [(first_flow, e) for e in context["flow_errors"]]
    for number, row in enumerate(rows, start=1):
        summary += [(row.anchor("dataset"), f"Flow {number}: {e}") for e in row.non_field_errors()]
        summary += [(row.anchor(name), f"Flow {number}: {e}") for name in row.fields for e in row[name].errors]
    _pick_lists(form, rows, context, request.user)
    agreement = context["agreement"]
    context.update({
        "form": form, "formset": formset, "rows": rows, "error_links": summary, "max_flows": MAX_FLOWS,
        "next_flow": len(rows) + 1, "heading": f"Change {agreement.reference}" if agreement else
        "Draft a new agreement", "cancel_url": _cancel_url(agreement),
    })
    return render(request, TEMPLATE, context, status=status)


# --- helpers -------------------------------------------------------------------------------------------------


def _describe_datasets(rows: list) -> None:
    """Name the items each row's dataset holds in its data-items hint: without JavaScript there is no other way
    to see them while choosing (one query for every row)."""
    typed = [str(row["dataset"].value() or "").strip() for row in rows]
    codes = set(typed) - {""}
    held = {code: (name, items) for code, name, items in
            Dataset.objects.filter(code__in=codes).values_list("code", "name", "data_items")} if codes else {}
    for row, code in zip(rows, typed, strict=True):
        name, items = held.get(code, ("", []))
        if items:
            field = row.fields["data_items"]
            field.help_text = f"{field.help_text}. The dataset {name} holds: {', '.join(items)}"


def _pick_lists(form: AgreementForm, rows: list, context: dict[str, Any], user: User) -> None:
    """The options of each agency and dataset list: the user's agencies, those they already share with and their
    datasets (at most SUGGESTIONS of each, the same for every row), and on each row whatever it holds that those
    lists lack, named (one query for each kind). The type-ahead finds any other agency or dataset by name."""
    suggestions = _suggestions(user)
    listed_agencies = {option["value"] for option in suggestions["agency_options"]}
    listed_datasets = {option["value"] for option in suggestions["dataset_options"]}
    chosen: dict[str, set[str]] = {"agency": set(), "dataset": set()}
    if "lead_agency_search" in form.fields:
        chosen["agency"].add(str(form["lead_agency"].value() or ""))
    for row in rows:
        for name in PICKED:
            chosen["agency" if name != "dataset" else "dataset"].add(str(row[name].value() or ""))
    missing_agencies = chosen["agency"] - listed_agencies - {""}
    missing_datasets = chosen["dataset"] - listed_datasets - {""}
    names = {code: name for code, name in Agency.objects.filter(code__in=missing_agencies)
             .values_list("code", "name")} if missing_agencies else {}
    if missing_datasets:
        names.update({code: f"{name} ({owner})" for code, name, owner in Dataset.objects
                      .filter(code__in=missing_datasets).values_list("code", "name", "owner__name")})

    def extra(value: Any, listed: set[str]) -> list[dict[str, str]]:
        value = str(value or "")
        return [{"value": value, "label": names.get(value, value)}] if value and value not in listed else []

    form.lead_extra = extra(form["lead_agency"].value(), listed_agencies)
    for row in rows:
        row.extra_options = {name: extra(row[name].value(), listed_datasets if name == "dataset" else
                                         listed_agencies) for name in PICKED}
    context.update(suggestions)


def _lead_agencies(user: User) -> list[Agency] | None:
    """Agencies the user may choose to lead an agreement; None for a superuser, who may type any code."""
    if user.is_superuser:
        return None
    ids = user_agency_ids(user, {Role.GOVERNANCE_OFFICER})
    return list(Agency.objects.filter(pk__in=ids, active=True).order_by("name")) if ids else []


def _suggestions(user: User) -> dict[str, Any]:
    """The lists' options: the user's agencies and those they already share with, and their datasets."""
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
        .order_by("name", "code").values_list("code", "name", "owner__name", "owner__code")[:SUGGESTIONS]
    )
    return {
        "agency_options": [{"value": code, "label": name} for _pk, code, name in agency_rows],
        "dataset_options": [{"value": code, "label": f"{name} ({owner})", "owner": owner_code}
                            for code, name, owner, owner_code in datasets],
    }


# --- the type-ahead's answers --------------------------------------------------------------------------------


@require_safe
@login_required
def agency_names(request: AuthenticatedHttpRequest) -> JsonResponse:
    """Active agencies whose name contains `q` (or whose code starts with it), by name: one query, at most
    LOOKUP_RESULTS answers. The directory of agencies is open to every signed-in user."""
    text = typed(request.GET.get("q", ""), NAME_MAX)
    if not text:
        return _names([])
    rows = (Agency.objects.filter(Q(name__icontains=text) | Q(code__startswith=text.lower()), active=True)
            .order_by("name", "code").values_list("code", "name")[:LOOKUP_RESULTS])
    return _names([{"value": code, "label": name} for code, name in rows])


@require_safe
@login_required
def dataset_names(request: AuthenticatedHttpRequest) -> JsonResponse:
    """Datasets whose name contains `q` (or whose code starts with it), of the agency coded `provider` when given:
    one query, at most LOOKUP_RESULTS answers, each labelled with its owner's name."""
    text = typed(request.GET.get("q", ""), NAME_MAX)
    provider = typed(request.GET.get("provider", ""), NAME_MAX)
    if not text:
        return _names([])
    rows = Dataset.objects.filter(Q(name__icontains=text) | Q(code__startswith=text.lower()))
    if provider:
        rows = rows.filter(owner__code=provider)
    found = rows.order_by("name", "code").values_list("code", "name", "owner__name", "owner__code")[:LOOKUP_RESULTS]
    return _names([{"value": code, "label": f"{name} ({owner})", "owner": owner_code}
                   for code, name, owner, owner_code in found])


def _names(results: list[dict[str, str]]) -> JsonResponse:
    return JsonResponse({"results": results})


def _agreement_url(agreement: Agreement) -> str:
    return reverse("agreements:detail", args=[agreement.reference])


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
        links.append({"href": reverse("agreements:print", args=[agreement.reference]),
                      "text": f"Read everything {agreement.reference} says (printable version)"})
    return links


def _not_a_draft(request: AuthenticatedHttpRequest, agreement: Agreement) -> HttpResponse:
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
