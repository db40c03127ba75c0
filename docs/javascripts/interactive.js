// Interactive figures (class "qkv-interactive"): the numbers come from the reference at build time,
// as JSON in a <script type="application/json"> inside the figure (see docs/_tools/qkvdocs/widget.py).
// The figure first shows a still table; this script hides it and draws the live version:
// controls (sliders, button groups, on/off buttons), one button per query token (data-query),
// and a table with one column per key whose weights carry data-weight (the number shown).
(function () {
  "use strict";

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }

  function fmt(value, digits) {
    var text = value.toFixed(digits);
    return Number(text) === 0 ? (0).toFixed(digits) : text; // no "-0.000"
  }

  // Buttons of a group: arrow keys, Home and End move to a neighbour and choose it.
  function arrowKeys(buttons, choose) {
    buttons.forEach(function (button, index) {
      button.addEventListener("keydown", function (event) {
        var next = { ArrowRight: index + 1, ArrowDown: index + 1, ArrowLeft: index - 1,
          ArrowUp: index - 1, Home: 0, End: buttons.length - 1 }[event.key];
        if (next === undefined) {
          return;
        }
        event.preventDefault();
        next = (next + buttons.length) % buttons.length;
        buttons[next].focus();
        choose(next);
      });
    });
  }

  function buttonGroup(label, options, className, attribute, choose) {
    var group = el("div", { role: "group", "aria-label": label, class: className });
    group.appendChild(el("span", { class: "qkv-interactive__label", "aria-hidden": "true" }, label));
    var buttons = options.map(function (option, index) {
      var button = el("button", { type: "button", "aria-pressed": "false" }, option);
      button.setAttribute(attribute, String(index));
      button.addEventListener("click", function () { choose(index); });
      group.appendChild(button);
      return button;
    });
    arrowKeys(buttons, choose);
    return { node: group, buttons: buttons };
  }

  function setup(root, index) {
    var script = root.querySelector('script[type="application/json"]');
    if (!script || root.hasAttribute("data-qkv-ready")) {
      return;
    }
    var data = JSON.parse(script.textContent);
    var text = data.text;
    var state = { query: data.query, controls: data.controls.map(function (c) { return c.value; }) };
    var live = el("div", { class: "qkv-interactive__live" });
    var controls = el("div", { class: "qkv-interactive__controls" });
    var groups = []; // [control index, buttons] for choice groups and toggles
    var ranges = []; // [control index, input, output]

    data.controls.forEach(function (control, ci) {
      var id = "qkv-interactive-" + index + "-" + control.id;
      if (control.type === "range") {
        var wrap = el("div", { class: "qkv-interactive__range" });
        var label = el("label", { for: id }, control.label);
        var input = el("input", { type: "range", id: id, min: "0", step: "1",
          max: String(control.options.length - 1), value: String(control.value) });
        var output = el("output", { for: id, "aria-hidden": "true" });
        input.addEventListener("input", function () {
          state.controls[ci] = Number(input.value);
          render();
        });
        wrap.appendChild(label);
        wrap.appendChild(input);
        wrap.appendChild(output);
        controls.appendChild(wrap);
        ranges.push([ci, input, output]);
      } else if (control.type === "choice") {
        var group = buttonGroup(control.label, control.options, "qkv-interactive__choice",
          "data-option", function (option) {
            state.controls[ci] = option;
            render();
          });
        controls.appendChild(group.node);
        groups.push([ci, group.buttons]);
      } else {
        var toggle = el("button", { type: "button", class: "qkv-interactive__toggle",
          "data-control": control.id }, control.label);
        toggle.addEventListener("click", function () {
          state.controls[ci] = 1 - state.controls[ci];
          render();
        });
        controls.appendChild(toggle);
        groups.push([ci, [toggle]]);
      }
    });
    if (data.controls.length) {
      live.appendChild(controls);
    }

    var queryButtons = [];
    if (data.queries) {
      var queries = buttonGroup(text.choose, data.queries, "qkv-interactive__queries",
        "data-query", function (query) {
          state.query = query;
          render();
        });
      queries.node.firstChild.textContent = text.query;
      queryButtons = queries.buttons;
      queryButtons.forEach(function (button, query) {
        button.addEventListener("pointerenter", function (event) {
          if (event.pointerType === "mouse") { // a mouse looks by hovering; touch and keys choose
            state.query = query;
            render();
          }
        });
      });
      live.appendChild(queries.node);
    }

    var scroller = el("div", { class: "qkv-interactive__scroll" });
    var table = el("table", { class: "qkv-interactive__table" });
    var head = el("tr");
    var corner = el("th", { scope: "col" });
    head.appendChild(corner);
    data.keys.forEach(function (key) { head.appendChild(el("th", { scope: "col" }, key)); });
    table.appendChild(el("thead")).appendChild(head);
    var body = table.appendChild(el("tbody"));
    scroller.appendChild(table);
    live.appendChild(scroller);
    var result = live.appendChild(el("p", { class: "qkv-interactive__result" }));
    var note = live.appendChild(el("p", { class: "qkv-interactive__note", "aria-live": "polite" }));

    function render() {
      var view = data.views[state.controls.join(",")];
      var q = data.queries ? state.query : 0;
      var hidden = data.keys.map(function () { return false; });
      view.lines.forEach(function (line) {
        if (line.kind === "mask") {
          hidden = line.values[q].map(function (allowed) { return !allowed; });
        }
      });
      corner.textContent = data.queries ? text.corner.replace("{token}", data.queries[q]) : text.key;
      body.textContent = "";
      var shown = 0;
      view.lines.forEach(function (line) {
        if (line.kind === "mask") {
          return;
        }
        var row = el("tr", { "data-line": String(shown++) });
        row.appendChild(el("th", { scope: "row" }, line.label));
        line.values[q].forEach(function (value, key) {
          var cell = el("td", { "data-key": String(key) });
          if (hidden[key] && line.masked !== false) {
            cell.className = "qkv-masked";
            cell.title = text.masked;
          }
          if (line.kind === "weight") {
            var shownValue = fmt(value, 3);
            var bar = cell.appendChild(el("span", { class: "qkv-interactive__bar", "aria-hidden": "true" }));
            bar.appendChild(el("span")).style.height = (100 * Math.max(0, Math.min(1, value))) + "%";
            cell.appendChild(el("span", { "data-weight": shownValue }, shownValue));
          } else {
            var valueText = fmt(value, 2);
            cell.appendChild(el("span", { "data-value": valueText }, valueText));
          }
          row.appendChild(cell);
        });
        body.appendChild(row);
      });
      if (view.result) {
        var parts = view.result.values[q].map(function (v) { return fmt(v, 2); });
        result.textContent = view.result.label + " = (" + parts.join(", ") + ")";
        result.setAttribute("data-result", parts.join(","));
      }
      note.textContent = view.note ? view.note[q] : "";
      queryButtons.forEach(function (button, query) {
        button.setAttribute("aria-pressed", String(query === q));
      });
      groups.forEach(function (pair) {
        var control = data.controls[pair[0]];
        pair[1].forEach(function (button, option) {
          var on = control.type === "toggle" ? state.controls[pair[0]] === 1 : state.controls[pair[0]] === option;
          button.setAttribute("aria-pressed", String(on));
        });
      });
      ranges.forEach(function (triple) {
        var label = data.controls[triple[0]].options[state.controls[triple[0]]];
        triple[1].value = String(state.controls[triple[0]]);
        triple[1].setAttribute("aria-valuetext", label);
        triple[2].textContent = label;
      });
    }

    var still = root.querySelector(".qkv-interactive__still");
    if (still) {
      still.hidden = true;
    }
    root.insertBefore(live, script);
    root.setAttribute("data-qkv-ready", "true");
    render();
  }

  function setupAll() {
    document.querySelectorAll(".qkv-interactive").forEach(setup);
  }

  if (typeof document$ !== "undefined" && document$.subscribe) {
    document$.subscribe(setupAll);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupAll);
  } else {
    setupAll();
  }
})();
