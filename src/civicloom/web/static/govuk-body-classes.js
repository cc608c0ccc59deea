// GOV.UK Frontend's body classes, set before the page renders (it was an inline script in the
// GOV.UK page template; our Content-Security-Policy allows no inline script).
document.body.className +=
  " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");
