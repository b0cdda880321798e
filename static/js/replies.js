// Progressive enhancement: "Reply" under a reply opens the reply form right there, instead of a
// separate page. Without this file the link leads to that page, which works the same way.
(function () {
  "use strict";

  function freshToken() {
    // A new idempotency token for each opened form (forum/threads/submissions.py): a copy of the
    // page's form must not share the token of the form at the bottom of the page.
    const bytes = new Uint8Array(18);
    crypto.getRandomValues(bytes);
    return btoa(String.fromCharCode.apply(null, bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function openForm(link) {
    const article = link.closest("article.reply");
    const template = document.querySelector("section.reply-form form");
    if (!article || !template) return false;
    const existing = article.querySelector("form.inline-reply");
    if (existing) {
      existing.querySelector("textarea").focus();
      return true;
    }
    const form = template.cloneNode(true);
    const suffix = "-p" + link.dataset.parent;
    form.classList.add("inline-reply");
    form.querySelectorAll("[id]").forEach((el) => { el.id += suffix; });
    form.querySelectorAll("label[for]").forEach((el) => { el.htmlFor += suffix; });
    form.querySelectorAll("[aria-describedby]").forEach((el) => {
      el.setAttribute("aria-describedby", el.getAttribute("aria-describedby").split(" ").map((id) => id + suffix).join(" "));
    });
    form.querySelectorAll(".error, .form-error").forEach((el) => el.remove());
    form.querySelectorAll("[autofocus]").forEach((el) => el.removeAttribute("autofocus"));
    const parent = form.querySelector("input[name=parent_id]");
    if (parent) parent.value = link.dataset.parent;
    const token = form.querySelector("input[name=submission_token]");
    if (token) token.value = freshToken();
    const body = form.querySelector("textarea");
    body.value = "";
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "secondary";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", () => { form.remove(); link.focus(); });
    (form.querySelector(".buttons") || form).appendChild(cancel);
    const actions = article.querySelector(".actions");
    (actions || article.lastElementChild).after(form);
    body.focus();
    return true;
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("a.reply-link");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    if (openForm(link)) event.preventDefault();
  });
})();
