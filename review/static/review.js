// scopeguard review page: one conversation at a time, answered by keyboard (or buttons). No dependencies.
"use strict";
(function () {
  const $ = (id) => document.getElementById(id);
  const state = { auth: true, credential: sessionStorage.getItem("sg-review-credential"), item: null, marked: new Set(), bots: [] };

  function headers() {
    const h = { "Content-Type": "application/json" };
    if (state.credential) {
      if (state.auth) h["Authorization"] = "Bearer " + state.credential;
      else h["X-Reviewer"] = state.credential;
    }
    return h;
  }

  async function api(path, options) {
    const response = await fetch(path, Object.assign({ headers: headers() }, options || {}));
    let body = null;
    try { body = await response.json(); } catch (e) { body = null; }
    if (!response.ok) {
      const err = new Error((body && body.detail) || response.statusText);
      err.status = response.status;
      throw err;
    }
    return body;
  }

  function say(text, isError) {
    const m = $("message");
    m.textContent = text;
    m.className = isError ? "error" : "";
  }

  function showSignin(error) {
    $("review").hidden = true;
    $("signin").hidden = false;
    $("signin-label").textContent = state.auth ? "API key" : "Your name";
    $("signin-input").type = state.auth ? "password" : "text";
    $("signin-error").textContent = error || "";
    $("signin-input").focus();
  }

  async function start() {
    const config = await api("/api/config");
    state.auth = config.auth;
    if (!state.credential) return showSignin();
    try {
      const me = await api("/api/me");
      $("who").textContent = me.reviewer;
      $("queue-name").textContent = me.queue;
    } catch (e) {
      sessionStorage.removeItem("sg-review-credential");
      state.credential = null;
      return showSignin(e.message);
    }
    $("signin").hidden = true;
    $("review").hidden = false;
    await loadNext(0);
  }

  function roleName(role) {
    return { user: "customer", assistant: "bot", agent: "human agent", system: "system" }[role] || role;
  }

  function render(item) {
    state.item = item;
    state.marked = new Set(item && item.answer ? item.answer.general_turns : []);
    state.bots = [];
    const list = $("turns");
    list.textContent = "";
    $("done").hidden = !!item;
    if (!item) {
      $("profile").textContent = ""; $("prelabel").textContent = ""; $("reasons").textContent = ""; $("current").textContent = "";
      return;
    }
    const evidence = new Set(item.evidence.map((e) => e.turn));
    item.turns.forEach((turn, index) => {
      const li = document.createElement("li");
      li.className = turn.role + (evidence.has(index) ? " evidence" : "");
      li.id = "turn-" + index;
      const role = document.createElement("span");
      role.className = "role";
      if (turn.role === "assistant") {
        state.bots.push(index);
        const badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = String(state.bots.length);
        role.appendChild(badge);
      }
      role.appendChild(document.createTextNode(roleName(turn.role) + " · turn " + index + (evidence.has(index) ? " · evidence" : "")));
      const score = item.turn_scores[String(index)];
      if (score !== undefined) {
        const s = document.createElement("span");
        s.className = "score";
        s.textContent = "score " + Number(score).toFixed(2);
        role.appendChild(s);
      }
      li.appendChild(role);
      li.appendChild(document.createTextNode(turn.text));
      list.appendChild(li);
    });
    const p = item.profile;
    $("profile").textContent = p ? (p.name ? p.name + " — " : "") + p.text + "  [" + p.source + ", " + p.digest + "]"
      : "none: judged against the business the conversation shows";
    const cls = item.pre_label === "general_assistance" ? "general" : "business";
    $("prelabel").innerHTML = "";
    const strong = document.createElement("span");
    strong.className = cls;
    strong.textContent = item.pre_label.replace("_", " ");
    $("prelabel").append(strong, document.createTextNode(" · score " + item.score.toFixed(3) + " (threshold " + item.threshold.toFixed(3) + ") · " + item.conv_id + " · " + (item.lang || "?") + (item.channel ? " · " + item.channel : "")));
    const r = item.reasons || {};
    const why = ["uncertainty " + r.uncertainty];
    if (r.evidence_contradiction) why.push("evidence contradicts the label");
    if (r.second_opinion) why.push("second opinion " + r.second_opinion.label + " " + r.second_opinion.score);
    if (r.random) why.push("random sample");
    if (r.cluster) why.push("cluster " + r.cluster);
    $("reasons").textContent = "picked for: " + why.join(" · ");
    $("note").value = item.answer && item.answer.note ? item.answer.note : "";
    $("current").textContent = item.answer ? "you answered: " + (item.answer.label || item.answer.action) + " at " + item.answer.at : "not answered yet";
    paintMarks();
    $("conversation").scrollTop = 0;
    const first = evidence.size ? $("turn-" + Math.min.apply(null, Array.from(evidence))) : null;
    if (first) first.scrollIntoView({ block: "center" });
  }

  function paintMarks() {
    state.bots.forEach((index) => $("turn-" + index).classList.toggle("marked", state.marked.has(index)));
  }

  async function refreshStatus() {
    const s = await api("/api/status");
    $("progress").max = Math.max(1, s.picked);
    $("progress").value = s.labelled;
    $("progress-text").textContent = s.labelled + " / " + s.picked + " labelled · you " + (s.you.labelled || 0);
    const pairs = s.agreement.pairs.map((p) => p.reviewers.join("/") + ": " + p.shared + " shared, κ " + (p.kappa === null ? "n/a" : p.kappa));
    const dis = s.agreement.disagreements.map((d) => d.conv_id);
    $("agreement").textContent = (pairs.join("; ") || "one reviewer so far") + (dis.length ? " · disagreements: " + dis.join(", ") : "");
  }

  async function loadNext(after) {
    const body = await api("/api/next?after=" + after);
    render(body.item);
    await refreshStatus();
  }

  async function loadItem(id) {
    const body = await api("/api/items/" + id);
    render(body.item);
    await refreshStatus();
  }

  async function answer(action, label) {
    const item = state.item;
    if (!item) return;
    const general = label === "general_assistance" ? Array.from(state.marked).sort((a, b) => a - b) : [];
    if (label !== "general_assistance" && state.marked.size) {
      say("marked turns are for general assistance: unmark them (1–9) or press G", true);
      return;
    }
    try {
      await api("/api/items/" + item.id + "/answer", {
        method: "POST",
        body: JSON.stringify({ action: action, label: label || null, general_turns: general, note: $("note").value || null,
                               expected: item.answer ? item.answer.event_id : 0 }),
      });
      say(action === "skip" ? "skipped " + item.conv_id : "saved " + item.conv_id + ": " + label, false);
      await loadNext(item.id);
    } catch (e) {
      say(e.message, true);
    }
  }

  async function undo() {
    try {
      const body = await api("/api/undo", { method: "POST" });
      say("undone: your last answer", false);
      await loadItem(body.item_id);
    } catch (e) {
      say(e.message, true);
    }
  }

  function toggleTurn(n) {
    const index = state.bots[n - 1];
    if (index === undefined) { say("no bot turn " + n + " in this conversation", true); return; }
    if (state.marked.has(index)) state.marked.delete(index); else state.marked.add(index);
    paintMarks();
    say("general turns marked: " + (Array.from(state.marked).sort((a, b) => a - b).join(", ") || "none"), false);
  }

  document.addEventListener("keydown", (event) => {
    if ($("review").hidden) return;
    const inNote = document.activeElement === $("note");
    if (inNote) {
      if (event.key === "Escape") { $("note").blur(); event.preventDefault(); }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    const actions = {
      b: () => answer("label", "business_support"),
      g: () => answer("label", "general_assistance"),
      u: () => answer("label", "unsure"),
      s: () => answer("skip", null),
      z: () => undo(),
      n: () => $("note").focus(),
      j: () => $("conversation").scrollBy(0, 120),
      k: () => $("conversation").scrollBy(0, -120),
      "?": () => { $("help").hidden = !$("help").hidden; },
      escape: () => { $("help").hidden = true; },
    };
    if (/^[1-9]$/.test(key)) { toggleTurn(Number(key)); event.preventDefault(); return; }
    if (actions[key]) { event.preventDefault(); actions[key](); }
  });

  document.querySelectorAll("#actions button[data-label]").forEach((b) => b.addEventListener("click", () => answer("label", b.dataset.label)));
  $("btn-skip").addEventListener("click", () => answer("skip", null));
  $("btn-undo").addEventListener("click", undo);
  $("signin").addEventListener("submit", (event) => {
    event.preventDefault();
    state.credential = $("signin-input").value.trim();
    sessionStorage.setItem("sg-review-credential", state.credential);
    start().catch((e) => showSignin(e.message));
  });
  start().catch((e) => say(e.message, true));
})();
