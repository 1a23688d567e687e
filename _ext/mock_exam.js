/* The mock exam: 65 of the book's practice questions, drawn by the exam's domain weights,
   options shuffled on every attempt, scored in the browser. No server, no network.
   ?seed=N fixes the draw and the option order (a classroom's printed copy uses one seed). */
(function () {
  "use strict";
  const TOTAL = 65;
  const data = JSON.parse(document.getElementById("mock-exam-data").textContent);
  const root = document.getElementById("mock-exam");
  const params = new URLSearchParams(window.location.search);
  const seed = params.has("seed") ? Number(params.get("seed")) >>> 0
                                  : Math.floor(Math.random() * 1e9);

  function rng(a) {  // mulberry32: small, seedable, good enough to shuffle
    return function () {
      a |= 0; a = (a + 0x6D2B79F5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const random = rng(seed);
  function shuffle(list) {
    const out = list.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  // How many questions per domain: the weights times 65, rounded so they add up to 65.
  const domains = Object.keys(data.domains).sort();
  const raw = domains.map(d => data.domains[d].weight * TOTAL / 100);
  const want = raw.map(Math.floor);
  const order = raw.map((v, i) => [v - Math.floor(v), i]).sort((a, b) => b[0] - a[0]);
  for (let k = 0; want.reduce((s, v) => s + v, 0) < TOTAL; k++) want[order[k][1]] += 1;
  const byDomain = {};
  domains.forEach(d => { byDomain[d] = shuffle(data.questions.filter(q => q.domain === d)); });
  let drawn = [];
  const short = [];
  domains.forEach((d, i) => {
    const take = byDomain[d].slice(0, want[i]);
    if (take.length < want[i]) short.push(`domain ${d}: ${take.length} of ${want[i]}`);
    drawn = drawn.concat(take);
  });
  const rest = shuffle(data.questions.filter(q => !drawn.includes(q)));
  drawn = shuffle(drawn.concat(rest.slice(0, TOTAL - drawn.length)));

  // Each drawn question with its options in a new order. Options keep the book's letters,
  // so that the explanations (which name options by letter) still read right.
  const exam = drawn.map((q, n) => {
    const shown = shuffle(Object.keys(q.options));
    return { q, n, shown, letterOf: Object.fromEntries(shown.map(k => [k, k])) };
  });

  function el(tag, attrs, html) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (html !== undefined) node.innerHTML = html;
    return node;
  }

  function render() {
    root.innerHTML = "";
    const head = el("div", { class: "mock-exam-head" });
    head.appendChild(el("p", {}, `<strong>${exam.length} questions</strong>, drawn by the exam's ` +
      `domain weights (${domains.map((d, i) => `domain ${d}: ${want[i]}`).join(", ")}). ` +
      `Attempt <code>seed=${seed}</code>: <a href="?seed=${seed}">link to this exact exam</a> · ` +
      `<a href="?">a new draw</a> · <button type="button" id="mock-print">Print</button>` +
      (short.length ? ` <em>(too few questions in ${short.join("; ")}: filled from the others)</em>` : "")));
    root.appendChild(head);
    const form = el("form", { id: "mock-form" });
    exam.forEach(({ q, n, shown, letterOf }) => {
      const box = el("fieldset", { class: "mock-q", id: `mock-q-${n}`, "data-label": q.label });
      box.appendChild(el("legend", {}, `Question ${n + 1} of ${exam.length} · Task ${q.task}`));
      if (q.scenario) box.appendChild(el("div", { class: "mock-scenario" }, q.scenario));
      box.appendChild(el("div", { class: "mock-stem" }, q.stem));
      if (q.kind === "single" || q.kind === "multiple") {
        const type = q.kind === "single" ? "radio" : "checkbox";
        shown.forEach(k => {
          const id = `mock-${n}-${k}`;
          const row = el("div", { class: "mock-option" });
          row.appendChild(el("input", { type, name: `q${n}`, value: k, id, "data-original": k }));
          const label = el("label", { for: id }, `<strong>${letterOf[k]}.</strong> `);
          label.insertAdjacentHTML("beforeend", q.options[k].replace(/^<p>|<\/p>$/g, ""));
          row.appendChild(label);
          box.appendChild(row);
        });
      } else if (q.kind === "order") {
        box.appendChild(el("p", { class: "mock-hint" }, "Give each step its position (1 = first)."));
        shown.forEach(k => {
          const row = el("div", { class: "mock-option" });
          const select = el("select", { name: `q${n}-${k}`, "data-original": k });
          select.appendChild(el("option", { value: "" }, "–"));
          shown.forEach((_, i) => select.appendChild(el("option", { value: String(i + 1) }, String(i + 1))));
          row.appendChild(select);
          row.insertAdjacentHTML("beforeend", " " + q.options[k].replace(/^<p>|<\/p>$/g, ""));
          box.appendChild(row);
        });
      } else if (q.kind === "match") {
        const list = el("div", { class: "mock-match-options" });
        shown.forEach(k => list.insertAdjacentHTML("beforeend",
          `<div><strong>${letterOf[k]}.</strong> ${q.options[k].replace(/^<p>|<\/p>$/g, "")}</div>`));
        q.items.forEach((item, i) => {
          const row = el("div", { class: "mock-option" });
          const select = el("select", { name: `q${n}-item${i}`, "data-item": String(i) });
          select.appendChild(el("option", { value: "" }, "–"));
          shown.forEach(k => select.appendChild(el("option", { value: k }, letterOf[k])));
          row.appendChild(select);
          row.insertAdjacentHTML("beforeend", ` ${i + 1}. ` + item.replace(/^<p>|<\/p>$/g, ""));
          box.appendChild(row);
        });
        box.appendChild(list);
      }
      form.appendChild(box);
    });
    const submit = el("button", { type: "submit", id: "mock-submit" }, "Score my answers");
    form.appendChild(submit);
    root.appendChild(form);
    root.appendChild(el("div", { id: "mock-result" }));
    const key = el("section", { id: "mock-key", class: "mock-key" });
    key.appendChild(el("h2", {}, `Answer key (seed ${seed})`));
    const keyList = el("ol");
    exam.forEach(e => keyList.appendChild(el("li", {}, `${answerText(e)} — task ${e.q.task}, ` +
      `<a href="${e.q.url}">${e.q.chapter_title}, question ${e.q.number}</a>`)));
    key.appendChild(keyList);
    root.appendChild(key);
    form.addEventListener("submit", event => { event.preventDefault(); score(); });
    document.getElementById("mock-print").addEventListener("click", () => window.print());
  }

  function answerText({ q, letterOf }) {
    if (q.kind === "match") return q.key.map((k, i) => `${i + 1}-${letterOf[k]}`).join(", ");
    if (q.kind === "order") return "order " + q.key.map(k => letterOf[k]).join(", ");
    return q.key.map(k => letterOf[k]).sort().join(", ");
  }

  function answered(e) {
    const form = document.getElementById("mock-form");
    const { q, n, shown } = e;
    if (q.kind === "single" || q.kind === "multiple") {
      return Array.from(form.querySelectorAll(`input[name="q${n}"]:checked`)).map(i => i.value).sort();
    }
    if (q.kind === "order") {
      const pos = shown.map(k => [Number(form.querySelector(`select[name="q${n}-${k}"]`).value), k]);
      return pos.sort((a, b) => a[0] - b[0]).map(p => (p[0] ? p[1] : ""));
    }
    return q.items.map((_, i) => form.querySelector(`select[name="q${n}-item${i}"]`).value);
  }

  function correct(e) {
    const got = answered(e);
    const want = (e.q.kind === "single" || e.q.kind === "multiple") ? e.q.key.slice().sort() : e.q.key;
    return got.length === want.length && got.every((v, i) => v === want[i]);
  }

  function score() {
    const results = exam.map(e => ({ e, ok: correct(e) }));
    const right = results.filter(r => r.ok).length;
    const perDomain = domains.map(d => {
      const mine = results.filter(r => r.e.q.domain === d);
      return { d, right: mine.filter(r => r.ok).length, total: mine.length };
    });
    const out = document.getElementById("mock-result");
    out.innerHTML = "";
    out.appendChild(el("h2", {}, "Your result"));
    out.appendChild(el("p", { id: "mock-score" },
      `<strong>${right} of ${exam.length}</strong> correct (${Math.round(100 * right / exam.length)} %). ` +
      "The real exam reports a scaled score (100–1,000, 720 to pass) and gives no partial credit, as here."));
    const table = el("table", { class: "mock-domains" });
    table.innerHTML = "<thead><tr><th>Domain</th><th>Weight</th><th>Correct</th></tr></thead>";
    const body = el("tbody");
    perDomain.forEach(p => body.insertAdjacentHTML("beforeend",
      `<tr data-domain="${p.d}"><td>${p.d} · ${data.domains[p.d].name}</td>` +
      `<td>${data.domains[p.d].weight} %</td><td>${p.right} of ${p.total}</td></tr>`));
    table.appendChild(body);
    out.appendChild(table);
    const missed = results.filter(r => !r.ok);
    if (missed.length) {
      out.appendChild(el("h3", {}, "Review these"));
      const list = el("ol");
      missed.forEach(({ e }) => {
        const item = el("li", {}, `Question ${e.n + 1} (task ${e.q.task}): the answer is ` +
          `<strong>${answerText(e)}</strong>. <a href="${e.q.url}">Review it in ` +
          `${e.q.chapter_title}</a>.`);
        item.appendChild(el("div", { class: "mock-explanation" }, e.q.explanation));
        list.appendChild(item);
      });
      out.appendChild(list);
    }
    out.scrollIntoView();
    window.mockExam.result = { right, total: exam.length, perDomain };
  }

  if (params.get("key") === "1") root.classList.add("with-key");
  render();
  window.mockExam = {
    seed,
    questions: exam.map(({ q, n, shown }) => ({ n, label: q.label, kind: q.kind, key: q.key,
                                                  domain: q.domain, shown, items: q.items.length })),
    result: null,
  };
})();
