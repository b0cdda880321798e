// Progressive enhancement: vote without reloading the page.
// Without this file the vote forms post normally and the page reloads.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.classList.contains("vote-form")) return;
  const button = event.submitter;
  if (!button || !button.value) return;
  event.preventDefault();
  const data = new FormData(form);
  data.set("value", button.value);
  form.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: data,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const result = await response.json();
    if (!response.ok) {
      window.alert(result.error || "Your vote was not counted.");
      return;
    }
    form.querySelector(".score").textContent = result.score;
    form.dataset.vote = result.vote;
    form.querySelector(".vote-up")?.setAttribute("aria-pressed", result.vote === 1 ? "true" : "false");
    form.querySelector(".vote-down")?.setAttribute("aria-pressed", result.vote === -1 ? "true" : "false");
  } catch (error) {
    // The network or the script failed: fall back to a plain post of the same vote.
    const value = document.createElement("input");
    value.type = "hidden";
    value.name = "value";
    value.value = button.value;
    form.append(value);
    form.submit();
  } finally {
    form.removeAttribute("aria-busy");
  }
});
