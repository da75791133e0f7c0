// The care console's only script: nothing here is needed to use a page, it only helps.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // A development sign-in link carries the token after "#": it never reaches the server's logs.
  const signin = document.getElementById("signin");
  if (signin && location.hash.startsWith("#token=")) {
    signin.elements.token.value = decodeURIComponent(location.hash.slice("#token=".length));
    history.replaceState(null, "", location.pathname + location.search);
    signin.requestSubmit();
  }

  // The decision form shows the amount or the items only for the solutions that take them.
  for (const form of document.querySelectorAll("form.decide")) {
    const kind = form.elements.kind;
    const sync = () => {
      for (const part of form.querySelectorAll("[data-kinds]")) {
        const shown = part.dataset.kinds.split(" ").includes(kind.value);
        part.hidden = !shown;
        for (const input of part.querySelectorAll("input")) input.disabled = !shown;
      }
    };
    kind.addEventListener("change", sync);
    sync();
  }

  // The lifecycle picture is larger than a phone's screen: its box scrolls so that the
  // current state is in the middle of it (as near as the picture's edges allow).
  for (const figure of document.querySelectorAll("figure.lifecycle")) {
    const current = figure.querySelector(".state.current");
    if (!current) continue;
    const box = current.getBoundingClientRect();
    const frame = figure.getBoundingClientRect();
    figure.scrollLeft += box.left + box.width / 2 - (frame.left + figure.clientWidth / 2);
    figure.scrollTop += box.top + box.height / 2 - (frame.top + figure.clientHeight / 2);
  }

  // A canned reply goes into the message where the cursor is, without reloading the page
  // (without the script, its button posts the form to get the page back with it inserted).
  for (const insert of document.querySelectorAll("button[data-canned]")) {
    const { canned, body } = insert.form.elements;
    insert.addEventListener("click", (event) => {
      const text = canned.selectedOptions[0]?.dataset.body;
      if (!text) return;
      event.preventDefault();
      const before = body.value.slice(0, body.selectionStart);
      const after = body.value.slice(body.selectionEnd);
      const glue = (side) => (side.trim() ? "\n\n" : "");
      const inserted = (before.trim() ? before.trimEnd() + glue(before) : "") + text;
      body.value = inserted + (after.trim() ? glue(after) + after.trimStart() : "");
      body.rows = Math.max(body.rows, 8);
      body.focus();
      body.setSelectionRange(inserted.length, inserted.length);
    });
  }
});
