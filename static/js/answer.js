// The answering page. Two jobs, both optional: without JavaScript every question
// stays visible and the "Save answers" button posts the whole page.
// 1. Show a follow-up question only when the answer it depends on calls for it.
// 2. Autosave (htmx): each question posts only its own fields, shows "Saved at",
//    retries with backoff when the network or server fails, and warns before
//    leaving the page while an edit is not saved yet. A save stopped because someone
//    else saved first is sent again only when the person chooses ("Keep my version",
//    or editing it); a save refused because signing in again changed the form token
//    fetches the new token and is sent again.
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
  var signedOut = new Set();    // codes whose save met "signed out": sent again on return
  var texts = {
    saving: form.dataset.textSaving, retrying: form.dataset.textRetrying,
    signedOut: form.dataset.textSignedOut, refused: form.dataset.textRefused
  };

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
    // The very text that was stopped by someone else's newer save: leaving the field
    // (or a pending typed save) must not quietly overwrite theirs. It stays unsaved
    // until the person keeps it or edits it.
    if (block.dataset.conflictValues === values && !block.dataset.keepMine) {
      event.preventDefault();
      return;
    }
    delete block.dataset.keepMine;
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
      delete block.dataset.conflictValues;
      delete block.dataset.tokenRefreshed;
      signedOut.delete(code);
      block.dataset.savedValues = block.dataset.sendingValues || "";
      // An edit made while this save travelled is still unsaved; its own save follows.
      if (!block.dataset.editedAt || Number(block.dataset.editedAt) <= Number(block.dataset.sentAt)) { unsaved.delete(code); }
    } else if (status === 409) {
      // Swapped in: the notice with both versions (or "submitted").
      var reply = event.detail.xhr.responseText || "";
      if (reply.indexOf("data-conflict") !== -1) { block.dataset.conflictValues = block.dataset.sendingValues || ""; }
    } else if (status === 401) {
      // The session ended (signed out, expired): the edit stays in the page, unsaved,
      // and is sent again when the person comes back from signing in elsewhere.
      signedOut.add(code);
      setText(block, texts.signedOut, "text-danger");
    } else if (status === 403 && !block.dataset.tokenRefreshed) {
      // Most often a form token that signing in again replaced: take the new one and
      // send once more; a second refusal is a real one (shown below next time).
      block.dataset.tokenRefreshed = "1";
      refreshToken(function (ok) {
        if (ok) { window.htmx.trigger(block, "retry"); } else { setText(block, texts.refused, "text-danger"); }
      });
    } else if (status === 0 || status >= 500) {
      retries[code] = (retries[code] || 0) + 1;
      var delay = Math.min(60, Math.pow(2, retries[code])) * 1000;
      setText(block, texts.retrying, "text-danger");
      window.setTimeout(function () { window.htmx.trigger(block, "retry"); }, delay);
    } else if (status !== 422) {
      // Refused for good (403 again, 400, 404, 413…): not "Saving…" for ever. The
      // server's words when it sent some (plain text, shown as text).
      var xhr = event.detail.xhr;
      var plain = xhr && (xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0;
      setText(block, (plain && xhr.responseText.slice(0, 500)) || texts.refused, "text-danger");
    }
  });

  function refreshToken(done) {
    window.fetch(form.dataset.tokenUrl, {
      credentials: "same-origin", cache: "no-store", headers: { "HX-Request": "true", "Accept": "application/json" }
    }).then(function (reply) {
      return reply.ok ? reply.json() : null;
    }).then(function (body) {
      if (!body || typeof body.token !== "string") { done(false); return; }
      form.querySelector("[name=csrfmiddlewaretoken]").value = body.token;
      done(true);
    }).catch(function () { done(false); });
  }
  function resumeAfterSignIn() {
    if (!signedOut.size || document.visibilityState === "hidden") { return; }
    refreshToken(function (ok) {
      if (!ok) { return; }  // still signed out: the notes stay
      Array.from(signedOut).forEach(function (code) {
        signedOut.delete(code);
        var block = form.querySelector('[data-autosave-code="' + CSS.escape(code) + '"]');
        if (block) { window.htmx.trigger(block, "retry"); }
      });
    });
  }
  window.addEventListener("focus", resumeAfterSignIn);
  document.addEventListener("visibilitychange", resumeAfterSignIn);
  form.addEventListener("input", function (event) {
    var block = blockOf(event.target);
    if (block) { block.dataset.editedAt = String(Date.now()); }
  });
  form.addEventListener("click", function (event) {
    var keep = event.target.closest("[data-keep-mine]");
    if (keep) {
      // A deliberate overwrite: from the newer revision the notice put in the page.
      var mine = blockOf(keep);
      mine.dataset.keepMine = "1";
      window.htmx.trigger(mine, "retry");
      return;
    }
    var take = event.target.closest("[data-take-theirs]");
    if (take) {
      // Theirs is what the server has: show the page again at this question (other
      // unsaved edits on the page still make the browser ask first).
      var theirs = blockOf(take);
      unsaved.delete(theirs.dataset.autosaveCode);
      window.history.replaceState(null, "", "#" + theirs.id);
      window.location.reload();
      return;
    }
    var box = event.target.closest("[data-confirm-answer]");
    if (!box || !box.checked) { return; }
    // Saving a carried-over answer as it is confirms it; the box stays ticked, so
    // "Save answers" confirms it too if this save does not get through.
    window.htmx.trigger(blockOf(box), "retry");
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
