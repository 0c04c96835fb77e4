// Shows a follow-up question only when the answer it depends on calls for it.
// Without JavaScript every question stays visible and the server decides what
// counts (hidden answers are not required and not exported).
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
  function isShown(block) {
    if (block.hidden) { return false; }
    return true;
  }
  function update() {
    dependants.forEach(function (block) {
      var target = block.getAttribute("data-condition-question");
      var wanted = block.getAttribute("data-condition-values").split(" ");
      var targetBlock = document.getElementById("q-" + target);
      var show = (!targetBlock || isShown(targetBlock)) && currentValues(target).some(function (v) { return wanted.indexOf(v) !== -1; });
      block.hidden = !show;
    });
  }
  form.addEventListener("change", update);
  update();
})();
