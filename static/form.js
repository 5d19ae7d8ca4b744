// Department self-check form: shows/hides questions by their `relevant` expression
// and autosaves the draft. Without scripts the form still works: every question is
// shown and the server decides what is relevant.
(function (root) {
  "use strict";

  // --- relevance: data-relevant holds the expression AST as JSON ----------------
  // Pure and the same rules as model.Compare/BoolOp/Not: `chosen(ref)` gives the
  // values chosen for a question (empty when unanswered).
  function evaluate(node, chosen) {
    var recurse = function (operand) { return evaluate(operand, chosen); };
    if (node.op === "and") { return node.operands.every(recurse); }
    if (node.op === "or") { return node.operands.some(recurse); }
    if (node.op === "not") { return !recurse(node.operand); }
    var hit = chosen(node.ref).some(function (v) { return node.values.indexOf(v) >= 0; });
    return node.op === "!=" ? !hit : hit;
  }
  root.surveyRelevance = evaluate;

  var form = root.document && root.document.getElementById("self-check-form");
  if (!form) { return; }

  // A system block's questions (DESIGN.md §12) read the same block's answers first
  // (their fields carry the block's prefix), then the 所属's own answers.
  function valuesOf(name) {
    var values = [];
    var inputs = form.querySelectorAll("[name='" + CSS.escape(name) + "']");
    Array.prototype.forEach.call(inputs, function (input) {
      if ((input.type === "radio" || input.type === "checkbox") && !input.checked) { return; }
      if (input.value !== "") { values.push(input.value); }
    });
    return { found: inputs.length > 0, values: values };
  }

  function chosenIn(prefix) {
    return function (ref) {
      var own = prefix ? valuesOf(prefix + "q_" + ref) : { found: false };
      return own.found ? own.values : valuesOf("q_" + ref).values;
    };
  }

  var dependents = Array.prototype.map.call(
    form.querySelectorAll("[data-relevant]"),
    function (element) {
      var expression = null;
      try { expression = JSON.parse(element.getAttribute("data-relevant")); } catch (e) { expression = null; }
      var block = element.closest("[data-field-prefix]");
      var prefix = block ? block.getAttribute("data-field-prefix") : "";
      return { element: element, expression: expression, chosen: chosenIn(prefix) };
    });

  // A block's own progress: its required questions shown, and how many have an answer.
  function applyProgress() {
    Array.prototype.forEach.call(form.querySelectorAll("[data-field-prefix]"), function (block) {
      var prefix = block.getAttribute("data-field-prefix");
      var needed = 0;
      var answered = 0;
      Array.prototype.forEach.call(block.querySelectorAll(".question[data-required]"), function (q) {
        if (q.hidden) { return; }
        needed += 1;
        if (valuesOf(prefix + "q_" + q.getAttribute("data-question")).values.length) { answered += 1; }
      });
      var shownNeeded = block.querySelector("[data-needed]");
      var shownAnswered = block.querySelector("[data-answered]");
      if (shownNeeded) { shownNeeded.textContent = needed; }
      if (shownAnswered) { shownAnswered.textContent = answered; }
    });
  }

  function applyRelevance() {
    dependents.forEach(function (item) {
      if (!item.expression) { return; }
      item.element.hidden = !evaluate(item.expression, item.chosen);
    });
    Array.prototype.forEach.call(form.querySelectorAll(".relevance-note"), function (note) {
      note.hidden = true;
    });
    // A section whose questions are all skipped (e.g. no server room) would be an empty box.
    Array.prototype.forEach.call(form.querySelectorAll("fieldset.section"), function (section) {
      var questions = section.querySelectorAll(".question");
      section.hidden = questions.length > 0 &&
        Array.prototype.every.call(questions, function (q) { return q.hidden; });
    });
    applyProgress();
  }

  // --- autosave ------------------------------------------------------------------
  var status = document.getElementById("autosave-status");
  var versionField = document.getElementById("response-version");
  var seconds = parseInt(form.getAttribute("data-autosave-seconds"), 10) || 0;
  var url = form.getAttribute("data-autosave-url");
  var dirty = false;
  var saving = false;
  var stopped = false;

  function say(text) { if (status) { status.textContent = text; } }

  function autosave() {
    if (!dirty || saving || stopped || !url) { return; }
    saving = true;
    dirty = false;
    var body = new FormData(form);
    body.delete("action");
    // Files go with 下書き保存/提出 only: an autosave every few seconds must not send them.
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
      body.delete(input.name);
    });
    var token = form.querySelector("input[name='csrf_token']");
    fetch(url, {
      method: "POST", body: body, credentials: "same-origin", redirect: "manual",
      headers: { "X-CSRFToken": token ? token.value : "", "Accept": "application/json" }
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!json) { throw new Error("not json"); }  // e.g. the login page after a timeout
      return response.json().then(function (data) {
        return { ok: response.ok, status: response.status, data: data };
      });
    }).then(function (result) {
      if (result.ok) {
        versionField.value = result.data.version;
        say(result.data.message);
      } else {
        dirty = true;  // not saved: leaving the page still asks first
        // A conflict or a locked response: the user decides on the next save. A 503
        // (disk full, read-only, busy) may pass: try again on the next tick.
        stopped = result.status !== 503;
        say(result.data.error || "");
      }
    }).catch(function () {
      dirty = true;  // try again on the next tick; the input stays in the form
      say(form.getAttribute("data-autosave-failed") || "");
    }).then(function () {
      saving = false;
      if (waitingSubmitter) { submitAfterAutosave(); }
    });
  }

  // A press on 下書き保存/提出 while an autosave is on its way would post the version
  // the page held before that autosave, and the server would take the user's own autosave
  // for someone else's save (a false conflict). Send it once the autosave has answered.
  var waitingSubmitter = null;
  function submitAfterAutosave() {
    var submitter = waitingSubmitter;
    waitingSubmitter = null;
    form.requestSubmit(submitter);
  }

  function changed() { dirty = true; applyRelevance(); }

  // --- attachments: refuse an oversized file before it is sent -----------------------
  // The server refuses it too; checking here keeps a large upload from being sent for
  // nothing, and a request above the form's limit from answering 413 (the page would
  // be lost with everything typed since the last autosave).
  function fileMessage(input, text) {
    var id = "file-note-" + input.id;
    var note = document.getElementById(id);
    if (!note) {
      note = document.createElement("p");
      note.id = id;
      note.className = "field-error";
      note.setAttribute("role", "alert");
      input.parentNode.insertBefore(note, input);
    }
    note.textContent = text;
    note.hidden = !text;
  }

  function checkFiles(input) {
    var limit = parseInt(input.getAttribute("data-max-bytes"), 10) || 0;
    var large = Array.prototype.filter.call(input.files || [], function (file) {
      return limit > 0 && file.size > limit;
    });
    if (large.length) {
      input.value = "";
      fileMessage(input, (form.getAttribute("data-file-too-large") || "")
        .replace("{name}", large.map(function (file) { return file.name; }).join(", ")));
    } else {
      fileMessage(input, "");
    }
  }

  function chosenBytes() {
    var total = 0;
    Array.prototype.forEach.call(form.querySelectorAll("input[type=file]"), function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) { total += file.size; });
    });
    return total;
  }

  form.addEventListener("change", function (event) {
    if (event.target.type === "file") { checkFiles(event.target); }
  });

  form.addEventListener("change", changed);
  form.addEventListener("input", function () { dirty = true; });
  var leaving = false;
  form.addEventListener("submit", function (event) {
    var limit = parseInt(form.getAttribute("data-request-max-bytes"), 10) || 0;
    if (limit > 0 && chosenBytes() > limit) {
      event.preventDefault();
      say(form.getAttribute("data-files-too-large") || "");
      return;
    }
    if (saving && form.requestSubmit) {
      event.preventDefault();
      waitingSubmitter = event.submitter || form.querySelector("[type=submit]");
      return;
    }
    stopped = true;
    leaving = true;
  });
  // Unsaved typing since the last autosave: let the browser ask before leaving.
  window.addEventListener("beforeunload", function (event) {
    if (dirty && !leaving) { event.preventDefault(); event.returnValue = ""; }
  });
  applyRelevance();
  if (seconds > 0) { window.setInterval(autosave, seconds * 1000); }

  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})(this);
