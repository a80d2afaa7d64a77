// The agreement form's agencies and datasets: GOV.UK's accessible-autocomplete turns each list (a plain select,
// which works without JavaScript) into a type-ahead. It offers the list's own options first, then any agency or
// dataset in the directory whose name matches, from a small JSON endpoint (/names/agencies/, /names/datasets/).
// The box "Or type the name of ... not in the list" is hidden: on submit, text that matches no option is put
// there, so the server finds it by name or code, or says what is wrong, exactly as without JavaScript.
const MIN_REMOTE = 2;
const SHOWN = 30;
const picks = new Map(); // the select's original id -> { select, search, labels }

function optionsOf(select) {
  return [...select.options].filter((o) => o.value).map((o) => ({
    value: o.value, label: o.textContent.trim(), owner: o.dataset.owner || "",
  }));
}

function typedText(id) {
  const input = document.getElementById(id);
  return input ? input.value.trim() : "";
}

// The code chosen in another pick (the provider, for a dataset), as the server would read it.
function codeOf(id) {
  const pick = picks.get(id);
  if (!pick) return "";
  const text = typedText(id);
  return pick.labels.get(text) || "";
}

function enhance(select) {
  const id = select.id;
  const search = document.getElementById(select.dataset.pickSearch);
  const source = select.dataset.pickSource;
  const providerId = select.dataset.pickProvider || "";
  const local = optionsOf(select);
  const labels = new Map(local.map((o) => [o.label, o.value]));
  picks.set(id, { select, search, labels, local });
  let latest = 0;

  function sourceFn(query, populate) {
    const text = query.trim();
    const needle = text.toLowerCase();
    const owner = providerId ? codeOf(providerId) : "";
    const mine = local
      .filter((o) => !owner || !o.owner || o.owner === owner)
      .filter((o) => o.label.toLowerCase().includes(needle) || o.value.startsWith(needle))
      .map((o) => o.label);
    populate(mine.slice(0, SHOWN));
    if (text.length < MIN_REMOTE) return;
    const asked = ++latest;
    const url = new URL(source, window.location.origin);
    url.searchParams.set("q", text);
    if (owner) url.searchParams.set("provider", owner);
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : { results: [] }))
      .then((data) => {
        if (asked !== latest) return; // a later query has answered, or will
        for (const result of data.results) labels.set(result.label, result.value);
        const merged = [...new Set([...mine, ...data.results.map((r) => r.label)])];
        populate(merged.slice(0, SHOWN));
      })
      .catch(() => {}); // the list's own options are still offered
  }

  const initial = select.value ? "" : (search && search.value) || "";
  window.accessibleAutocomplete.enhanceSelectElement({
    selectElement: select,
    source: sourceFn,
    defaultValue: initial,
    minLength: 1,
    autoselect: false, // its greyed-out completion is an unlabelled input, which screen readers would announce
    showNoOptionsFound: true,
    tNoResults: () => "Nothing matches: check the spelling",
    onConfirm: (label) => {
      if (label) settle(id, label);
    },
  });
  if (search) search.closest(".app-pick-search").hidden = true;
}

// Make the select (and the hidden box) say what the visible type-ahead says.
function settle(id, text) {
  const pick = picks.get(id);
  if (!pick) return;
  const { select, search, labels } = pick;
  const value = text ? labels.get(text) : "";
  if (value) {
    let option = [...select.options].find((o) => o.value === value);
    if (!option) {
      option = new Option(text, value);
      select.add(option);
    }
    select.value = value;
    if (search) search.value = "";
  } else {
    select.value = "";
    if (search) search.value = text;
  }
}

if (window.accessibleAutocomplete) {
  const selects = document.querySelectorAll("select.app-pick[data-pick-source]");
  selects.forEach(enhance);
  for (const form of new Set([...selects].map((s) => s.form).filter(Boolean))) {
    form.addEventListener("submit", () => {
      for (const id of picks.keys()) settle(id, typedText(id));
    });
  }
}
