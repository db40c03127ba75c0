// Render pymdownx.arithmatex output (generic mode) with the site's own copy of KaTeX.
// Inline math is <span class="arithmatex">\(...\)</span>, display math <div class="arithmatex">\[...\]</div>.
(function () {
  "use strict";

  function strip(text, display) {
    text = text.trim();
    var open = display ? "\\[" : "\\(";
    var close = display ? "\\]" : "\\)";
    if (text.startsWith(open) && text.endsWith(close)) {
      return text.slice(2, -2);
    }
    if (display && text.startsWith("$$") && text.endsWith("$$")) {
      return text.slice(2, -2);
    }
    return text;
  }

  function render(root) {
    if (typeof katex === "undefined") {
      return;
    }
    var nodes = (root || document).querySelectorAll(".arithmatex:not([data-qkv-math])");
    nodes.forEach(function (node) {
      var display = node.tagName === "DIV";
      var tex = strip(node.textContent, display);
      try {
        katex.render(tex, node, { displayMode: display, throwOnError: false, output: "htmlAndMathml" });
        node.setAttribute("data-qkv-math", "rendered");
      } catch (error) {
        node.setAttribute("data-qkv-math", "error");
        node.title = String(error);
      }
    });
  }

  if (typeof document$ !== "undefined" && document$.subscribe) {
    document$.subscribe(function () { render(document); });
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { render(document); });
  } else {
    render(document);
  }
})();
