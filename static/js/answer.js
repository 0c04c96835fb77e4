// The answering page. Two jobs, both optional: without JavaScript every question
// stays visible and the "Save answers" button posts the whole page.
// 1. Show a follow-up question only when the answer it depends on calls for it.
// 2. Autosave (htmx): each question posts only its own fields, shows "Saved at",
//    retries with backoff when the network or server fails, and warns before
//    leaving the page while an edit is not saved yet.
(function () {
  "use strict";
  var form = document.getElementById("answer-form");
  if (!form) { return; }

  var dependants = form.querySelectorAll("[data-condition-question]");
  function currentValues(code) {
    var values = [];
    form.querySelectorAll('input[name="' + CSS.escape(code) + '"]').forEach(function (input) {
      if ((input.type === "radio" || input.type === "checkbox") && input.checked) { values.push(input.value); }
    });
    return values;
  }
  function updateConditions() {
    dependants.forEach(function (block) {
      var target = block.getAttribute("data-condition-question");
      var wanted = block.getAttribute("data-condition-values").split(" ");
      var targetBlock = document.getElementById("q-" + target);
      var show = (!targetBlock || !targetBlock.hidden) &&
        currentValues(target).some(function (v) { return wanted.indexOf(v) !== -1; });
      block.hidden = !show;
    });
  }
  form.addEventListener("change", updateConditions);
  updateConditions();

  if (!form.hasAttribute("data-autosave") || !window.htmx) { return; }

  var unsaved = new Set();      // codes edited since their last successful save
  var inFlight = 0;             // autosaves sent and not answered yet
  var submitWhenIdle = false;   // "Save answers" pressed while autosaves travelled
  var retries = {};             // code -> number of failed attempts in a row
  var texts = { saving: form.dataset.textSaving, retrying: form.dataset.textRetrying, signedOut: form.dataset.textSignedOut };

  function blockOf(elt) { return elt.closest("[data-autosave-code]"); }
  function statusOf(block) { return block.querySelector(".save-status"); }
  function setText(block, text, cls) {
    var status = statusOf(block);
    var span = status.querySelector(".autosave-note");
    if (!span) { span = document.createElement("span"); span.className = "autosave-note"; status.appendChild(span); }
    span.className = "autosave-note " + (cls || "");
    span.textContent = text;
  }

  form.addEventListener("input", function (event) {
    var block = blockOf(event.target);
    if (block) { unsaved.add(block.dataset.autosaveCode); }
  });
  form.addEventListener("change", function (event) {
    var block = blockOf(event.target);
    if (block) { unsaved.add(block.dataset.autosaveCode); }
  });

  function ownsField(code, name) { return name === code || name.indexOf(code + "-") === 0; }
  // The values of one question as the server stores them, to tell whether a save
  // would change anything (the revision and the token are not values).
  function snapshot(code, data) {
    return JSON.stringify(Array.from(data.entries()).filter(function (entry) {
      return ownsField(code, entry[0]) && typeof entry[1] === "string";
    }));
  }
  Array.from(form.querySelectorAll("[data-autosave-code]")).forEach(function (block) {
    block.dataset.savedValues = snapshot(block.dataset.autosaveCode, new FormData(form));
  });

  // Send only this question's fields (htmx would send the whole enclosing form),
  // and nothing at all when they are what was last saved: leaving a field after its
  // typed save fires "change" with the same values (a retry or a confirmation of a
  // carried-over answer is always sent).
  document.body.addEventListener("htmx:configRequest", function (event) {
    var block = blockOf(event.detail.elt);
    if (!block) { return; }
    var code = block.dataset.autosaveCode;
    var data = event.detail.formData;
    Array.from(data.keys()).forEach(function (name) {
      var own = ownsField(code, name) || name === "rev-" + code || name === "csrfmiddlewaretoken";
      if (!own) { data.delete(name); }
    });
    var values = snapshot(code, data);
    var trigger = event.detail.triggeringEvent;
    if (values === block.dataset.savedValues && !(trigger && trigger.type === "retry")) {
      event.preventDefault();
      unsaved.delete(code);
      return;
    }
    block.dataset.sendingValues = values;
    event.detail.headers["X-CSRFToken"] = form.querySelector("[name=csrfmiddlewaretoken]").value;
  });
  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var block = blockOf(event.detail.elt);
    if (block) { inFlight += 1; block.dataset.sentAt = String(Date.now()); setText(block, texts.saving, "text-body-secondary"); }
  });
  document.body.addEventListener("htmx:afterRequest", function (event) {
    var block = blockOf(event.detail.elt);
    if (!block) { return; }
    inFlight = Math.max(0, inFlight - 1);
    if (submitWhenIdle && inFlight === 0) {
      // The answers' new revisions are in the page now (the status lines): the
      // whole-page save starts from them, not from the ones these autosaves replaced.
      submitWhenIdle = false;
      window.setTimeout(function () { unsaved.clear(); form.submit(); }, 50);
    }
    var code = block.dataset.autosaveCode;
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (status >= 200 && status < 300) {
      retries[code] = 0;
      block.dataset.savedValues = block.dataset.sendingValues || "";
      // An edit made while this save travelled is still unsaved; its own save follows.
      if (!block.dataset.editedAt || Number(block.dataset.editedAt) <= Number(block.dataset.sentAt)) { unsaved.delete(code); }
    } else if (status === 401) {
      // The session ended (signed out, expired): the edit stays in the page, unsaved.
      setText(block, texts.signedOut, "text-danger");
    } else if (status === 0 || status >= 500) {
      retries[code] = (retries[code] || 0) + 1;
      var delay = Math.min(60, Math.pow(2, retries[code])) * 1000;
      setText(block, texts.retrying, "text-danger");
      window.setTimeout(function () { window.htmx.trigger(block, "retry"); }, delay);
    }
  });
  form.addEventListener("input", function (event) {
    var block = blockOf(event.target);
    if (block) { block.dataset.editedAt = String(Date.now()); }
  });
  form.addEventListener("click", function (event) {
    var button = event.target.closest("[data-confirm-answer]");
    if (!button) { return; }
    // Saving a carried-over answer as it is confirms it.
    window.htmx.trigger(blockOf(button), "retry");
    button.disabled = true;
  });
  form.addEventListener("submit", function (event) {
    // Pressing "Save answers" blurs the last field, whose autosave then races the
    // page's save: wait for the autosaves in flight, or the page's save would start
    // from older revisions and stop on a conflict with this person's own autosave.
    if (inFlight > 0) { event.preventDefault(); submitWhenIdle = true; return; }
    unsaved.clear();
  });
  window.addEventListener("beforeunload", function (event) {
    if (unsaved.size) { event.preventDefault(); event.returnValue = ""; }
  });
})();
