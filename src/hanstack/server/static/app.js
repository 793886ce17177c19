// hanstack console: plain JS, no build step. Every call carries the key; the server scopes it to the key's tenant.
"use strict";
const $ = (s) => document.querySelector(s);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
let KEY = sessionStorage.getItem("hanstack-key") || "";

async function api(path, opts = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + KEY }, opts.headers || {});
  if (opts.json !== undefined) { headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(opts.json); }
  const resp = await fetch(path, Object.assign({}, opts, { headers }));
  const text = await resp.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch (e) { body = { error: { message: text } }; }
  if (!resp.ok) {
    const err = new Error((body && body.error && body.error.message) || resp.statusText);
    err.status = resp.status; err.hint = body && body.error && body.error.hint;
    throw err;
  }
  return body;
}

function showError(el, err) {
  el.classList.remove("hidden");
  el.innerHTML = `<p class="bad">오류 (${esc(err.status || "")}): ${esc(err.message)}</p>` + (err.hint ? `<p class="muted">${esc(err.hint)}</p>` : "");
}

// --- tabs and key ------------------------------------------------------------------------------
document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => selectTab(b.dataset.tab)));
function selectTab(name) {
  document.querySelectorAll("#tabs button").forEach((b) => b.classList.toggle("active", b.dataset.tab === name));
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.id === name));
  if (name === "docs") loadDocs();
  if (name === "audit") loadAudit();
  if (name === "tokens") loadTokens();
}

$("#key-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  KEY = $("#api-key").value.trim();
  sessionStorage.setItem("hanstack-key", KEY);
  await connect();
});

async function connect() {
  if (!KEY) return;
  try {
    const u = await api("/v1/usage");
    $("#whoami").innerHTML = `테넌트 <b>${esc(u.tenant)}</b> · 요청 ${u.requests} · 토큰 ${u.prompt_tokens + u.completion_tokens} · $${u.cost_usd.toFixed(6)}`;
    $("#whoami").className = "ok";
  } catch (err) {
    $("#whoami").textContent = "연결 실패: " + err.message;
    $("#whoami").className = "bad";
  }
}

// --- ask ---------------------------------------------------------------------------------------
$("#ask-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = $("#answer");
  const question = $("#question").value.trim();
  if (!question) return;
  out.classList.remove("hidden");
  out.innerHTML = '<p class="muted">답변을 찾는 중…</p>';
  $("#ask-submit").disabled = true;
  try {
    const a = await api("/v1/ask", { method: "POST", json: { question, model: $("#ask-model").value } });
    renderAnswer(out, a);
  } catch (err) {
    showError(out, err);
  } finally {
    $("#ask-submit").disabled = false;
    connect();
  }
});

function highlight(text, spans) {
  // spans: [start, end) in text; merged, then rendered with <mark>, everything else escaped
  const sorted = spans.filter((s) => s[1] > s[0]).sort((a, b) => a[0] - b[0]);
  const merged = [];
  for (const s of sorted) {
    if (merged.length && s[0] <= merged[merged.length - 1][1]) merged[merged.length - 1][1] = Math.max(merged[merged.length - 1][1], s[1]);
    else merged.push([s[0], s[1]]);
  }
  let html = "", pos = 0;
  for (const [a, b] of merged) { html += esc(text.slice(pos, a)) + "<mark>" + esc(text.slice(a, b)) + "</mark>"; pos = b; }
  return html + esc(text.slice(pos));
}

function renderAnswer(out, a) {
  let html = "";
  if (a.label) html += `<p><span class="label">${esc(a.label)}</span></p>`;
  if (a.abstained) {
    html += `<p class="answer-text">${esc(a.text)}</p>`;
    if (a.abstain_reason) html += `<p class="muted">사유: ${esc(a.abstain_reason)}</p>`;
    const s = a.searched || {};
    html += `<p class="muted">검색: “${esc(s.query)}” · 검색어 ${esc((s.terms || []).join(", "))} · 결과 ${esc(s.hits)}건 · 문서 ${esc((s.documents || []).join(", "))}</p>`;
  } else {
    html += `<div class="answer-text" id="answer-text">${esc(a.text)}</div>`;
    html += '<h3>주장과 근거</h3>';
    for (const c of a.claims || []) {
      const cites = (c.citations || []).map((x) => `<span class="cite">${esc(x.source_id)}</span>`).join("");
      html += `<div class="claim">${esc(c.text)} ${cites}</div>`;
    }
  }
  const bySource = {};
  for (const c of a.claims || []) for (const x of c.citations || []) (bySource[x.source_id] = bySource[x.source_id] || []).push(x);
  if ((a.sources || []).length) {
    html += '<h3>출처</h3>';
    for (const s of a.sources) {
      const cites = bySource[s.id] || [];
      const spans = cites.map((x) => [x.chunk_start, x.chunk_end]);
      const where = [s.source, s.page_start ? `${s.page_start}${s.page_end && s.page_end !== s.page_start ? "-" + s.page_end : ""}쪽` : "", (s.section_path || []).join(" > ")].filter(Boolean).join(" · ");
      const docSpans = cites.map((x) => `문서 위치 ${x.doc_start}–${x.doc_end}`).join(", ");
      html += `<div class="source" data-source="${esc(s.id)}"><h4>[${esc(s.id)}] ${esc(s.title || s.source)}</h4>` +
        `<div class="meta">${esc(where)}${docSpans ? " · " + esc(docSpans) : ""}${s.injection_flagged ? ' · <span class="bad">지시문 의심 (데이터로만 사용)</span>' : ""}</div>` +
        `<div class="text">${highlight(s.text, spans)}</div></div>`;
    }
  }
  const m = a.model || {};
  html += `<p class="muted">모델 ${esc(m.name)} (${esc(m.kind)}) · ${a.cache ? "캐시 " + esc(a.cache) + " · " : ""}요청 ${esc(a.request_id)}</p>`;
  out.innerHTML = html;
}

// --- documents -----------------------------------------------------------------------------------
async function loadDocs() {
  const body = $("#docs-table tbody");
  try {
    const r = await api("/v1/documents");
    body.innerHTML = r.data.map((d) => `<tr><td>${esc(d.title || "")}</td><td>${esc(d.source)}</td><td>${esc(d.format)}</td><td>${d.chunk_count}</td><td>${esc((d.ingested_at || "").slice(0, 19))}</td>` +
      `<td><button class="link" data-view="${esc(d.doc_id)}">보기</button> <button class="link" data-del="${esc(d.doc_id)}">삭제</button></td></tr>`).join("") ||
      '<tr><td colspan="6" class="muted">문서가 없습니다. 파일을 업로드하세요.</td></tr>';
  } catch (err) {
    body.innerHTML = `<tr><td colspan="6" class="bad">${esc(err.message)}</td></tr>`;
  }
}

$("#docs-table").addEventListener("click", async (e) => {
  const view = e.target.dataset.view, del = e.target.dataset.del;
  const out = $("#doc-view");
  if (view) {
    try {
      const d = await api("/v1/documents/" + encodeURIComponent(view));
      out.classList.remove("hidden");
      const spans = (d.chunks || []).map((c) => `<li>#${c.ordinal} ${esc(c.section || "")} ${c.pages ? esc(c.pages) + "쪽" : ""} [${c.char_start}–${c.char_end}]</li>`).join("");
      out.innerHTML = `<h3>${esc(d.title || d.source)}</h3><p class="muted">${esc(d.doc_id)} · v${d.version} · ${esc(d.acl.join(", "))}</p>` +
        `<div class="doc-text">${esc(d.text)}</div><details><summary>청크 ${d.chunks.length}개</summary><ul>${spans}</ul></details>`;
    } catch (err) { showError(out, err); }
  }
  if (del && confirm("이 문서를 삭제할까요?")) {
    try { await api("/v1/documents/" + encodeURIComponent(del), { method: "DELETE" }); out.classList.add("hidden"); loadDocs(); }
    catch (err) { showError(out, err); }
  }
});

$("#upload-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = $("#upload-file").files[0];
  if (!f) return;
  const fd = new FormData();
  fd.append("file", f);
  fd.append("acl", $("#upload-acl").value);
  $("#upload-status").textContent = "업로드 중…";
  try {
    const d = await api("/v1/documents", { method: "POST", body: fd });
    $("#upload-status").textContent = `완료: ${d.title || d.source} (${d.status}, 청크 ${d.chunk_count})`;
    loadDocs();
  } catch (err) { $("#upload-status").textContent = "실패: " + err.message; }
});

// --- audit ---------------------------------------------------------------------------------------
async function loadAudit() {
  const body = $("#audit-table tbody");
  try {
    const r = await api("/v1/audit?limit=200");
    body.innerHTML = r.data.map((rec) => {
      const m = rec.meta || {}, u = m.usage || {};
      const guards = (m.guards || []).map((g) => `${g.guard}:${g.decision}`).join(" ");
      return `<tr><td>${rec.seq}</td><td>${esc(rec.ts.slice(0, 19))}</td><td>${esc(m.route || rec.kind)}</td><td>${esc(m.model || "")}</td>` +
        `<td class="${m.status >= 400 ? "bad" : ""}">${esc(m.status)}${rec.erased ? " (삭제됨)" : ""}</td><td>${(u.prompt_tokens || 0) + (u.completion_tokens || 0)}</td>` +
        `<td>${(u.cost_usd || 0).toFixed(6)}</td><td>${esc(guards)}</td><td>${esc(m.latency_ms)}</td><td class="hash">${esc(rec.hash.slice(0, 12))}…</td></tr>`;
    }).join("") || '<tr><td colspan="10" class="muted">기록이 없습니다.</td></tr>';
  } catch (err) {
    body.innerHTML = `<tr><td colspan="10" class="bad">${esc(err.message)}${err.status === 403 ? " (관리자 키가 필요합니다)" : ""}</td></tr>`;
  }
}
$("#audit-refresh").addEventListener("click", loadAudit);
$("#audit-verify").addEventListener("click", async () => {
  const s = $("#audit-status");
  s.textContent = "검증 중…";
  try {
    const v = await api("/v1/audit/verify");
    s.className = v.ok ? "ok" : "bad";
    s.textContent = v.ok ? `검증 성공: 기록 ${v.records}건, 체인 무결 (head ${v.head.slice(0, 12)}…)` : `검증 실패: 문제 ${v.problems}건`;
  } catch (err) { s.className = "bad"; s.textContent = "검증 오류: " + err.message; }
});

// --- tokenizers ----------------------------------------------------------------------------------
async function loadTokens() {
  const out = $("#tokens-report");
  try {
    const r = await api("/v1/tokenizers/report");
    const rows = r.presets.filter((p) => p.tokens);
    const max = Math.max(...rows.map((p) => p.tokens));
    out.innerHTML = `<p>문장: “${esc(r.sample)}” (${r.sample_chars}자)</p><table><thead><tr><th>토크나이저</th><th>모델</th><th>어휘</th><th>토큰</th><th>글자/토큰</th><th></th></tr></thead><tbody>` +
      rows.map((p) => `<tr><td>${esc(p.name)}</td><td>${esc(p.models)}</td><td>${p.vocab_size.toLocaleString()}</td><td>${p.tokens}</td><td>${p.chars_per_token}</td>` +
        `<td><span class="bar" style="width:${Math.round((200 * p.tokens) / max)}px"></span></td></tr>`).join("") + "</tbody></table>";
  } catch (err) {
    if (err.status === 501) { $("#tab-tokens").classList.add("hidden"); out.textContent = "이 설치에는 토크나이저 기능이 없습니다."; }
    else showError(out, err);
  }
}

if (KEY) { $("#api-key").value = KEY; connect(); }
