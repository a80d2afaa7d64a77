// Starts GOV.UK Frontend's components (header menu, error summary focus, character counts and the rest).
import { initAll } from "/static/govuk/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();
