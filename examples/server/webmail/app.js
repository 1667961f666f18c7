// The webmail: one page speaking JMAP (RFC 8620, RFC 8621) to the server
// that serves it. Nothing from a message is ever put into this page as
// HTML: text goes in through textContent, message bodies through a
// sandboxed frame the server renders.
"use strict";

const USING = [
  "urn:ietf:params:jmap:core",
  "urn:ietf:params:jmap:mail",
  "urn:ietf:params:jmap:submission",
];
const PAGE = 50;
const LIST_PROPERTIES = ["threadId", "mailboxIds", "keywords", "from", "subject", "receivedAt", "preview"];
const READ_PROPERTIES = [
  "threadId", "mailboxIds", "keywords", "from", "to", "cc", "replyTo", "subject",
  "receivedAt", "messageId", "references", "attachments", "textBody", "bodyValues",
];

const S = {
  csrf: null, user: null, accountId: null,
  mailboxes: [], current: null, search: "",
  threadCounts: {}, openThread: null, threadSignature: null, shown: 50, events: null, compose: null, uploads: [],
  // Numbers each redraw; an answer that arrives after a newer redraw began is dropped, so a slow
  // refresh started for an old search or folder never paints over the current one.
  turn: 0,
};

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function status(text) { $("status").textContent = text || ""; }

async function jmap(calls) {
  const response = await fetch("/jmap/api", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": S.csrf },
    body: JSON.stringify({ using: USING, methodCalls: calls }),
  });
  if (response.status === 401) { showLogin(); throw new Error("logged out"); }
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.detail || "request failed");
  for (const [name, args] of answer.methodResponses) {
    if (name === "error") throw new Error(args.description || args.type);
  }
  return answer.methodResponses.map(([, args]) => args);
}

function mailbox(role) { return S.mailboxes.find((m) => m.role === role); }

function addresses(list) {
  return (list || []).map((a) => (a.name ? `${a.name} <${a.email}>` : a.email)).join(", ");
}

function parseAddresses(text) {
  return text.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = s.match(/^(.*)<([^>]+)>$/);
    return m ? { name: m[1].trim().replace(/^"|"$/g, "") || null, email: m[2].trim() } : { email: s };
  });
}

function shortDate(iso) {
  const d = new Date(iso);
  const today = new Date();
  return d.toDateString() === today.toDateString()
    ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : d.toLocaleDateString();
}

// ---- login ----

function showLogin() {
  if (S.events) { S.events.close(); S.events = null; }
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-user").focus();
}

async function login(event) {
  event.preventDefault();
  $("login-error").textContent = "";
  const response = await fetch("/webmail/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ user: $("login-user").value, password: $("login-password").value }),
  });
  const answer = await response.json();
  if (!response.ok) { $("login-error").textContent = answer.error || "login failed"; return; }
  $("login-password").value = "";
  start(answer);
}

async function logout() {
  await fetch("/webmail/logout", { method: "POST", headers: { "X-CSRF-Token": S.csrf } });
  S.csrf = null;
  showLogin();
}

function start(me) {
  Object.assign(S, { csrf: me.csrf, user: me.user, accountId: me.accountId });
  $("me").textContent = me.user;
  $("login").hidden = true;
  $("app").hidden = false;
  refresh();
  listen();
}

// ---- push: new mail and changes appear without a reload ----

function listen() {
  if (S.events) S.events.close();
  S.events = new EventSource("/jmap/eventsource?types=*&closeafter=no&ping=60");
  let pending = null;
  S.events.addEventListener("state", () => {
    clearTimeout(pending);
    pending = setTimeout(refresh, 150);
  });
}

// ---- folders and the message list ----

async function refresh() {
  const turn = ++S.turn;
  try {
    const [got] = await jmap([["Mailbox/get", { accountId: S.accountId }, "m"]]);
    if (turn !== S.turn) return;
    S.mailboxes = got.list.sort((a, b) => a.sortOrder - b.sortOrder || a.name.localeCompare(b.name));
    if (!S.current || !S.mailboxes.some((m) => m.id === S.current)) {
      S.current = (mailbox("inbox") || S.mailboxes[0]).id;
    }
    drawFolders();
    await drawList(turn);
    if (turn !== S.turn) return;
    if (S.openThread) await openThread(S.openThread, false);
  } catch (e) { status(e.message); }
}

function drawFolders() {
  const nav = $("folders");
  nav.replaceChildren();
  for (const m of S.mailboxes) {
    const count = m.unreadEmails ? el("span", { class: "unread-count" }, String(m.unreadEmails)) : null;
    nav.append(el("div", {
      class: "folder" + (m.id === S.current && !S.search ? " current" : ""),
      "data-id": m.id, "data-role": m.role || "", "data-name": m.name,
      onclick: () => { S.current = m.id; S.search = ""; $("search").value = ""; S.openThread = null; S.shown = PAGE; refresh(); },
    }, el("span", { class: "folder-name" }, m.name), count));
  }
}

async function drawList(turn = ++S.turn) {
  const filter = S.search ? { text: S.search } : { inMailbox: S.current };
  const [query, got, threads] = await jmap([
    ["Email/query", { accountId: S.accountId, filter, sort: [{ property: "receivedAt", isAscending: false }],
      collapseThreads: true, limit: S.shown, calculateTotal: true }, "q"],
    ["Email/get", { accountId: S.accountId, "#ids": { resultOf: "q", name: "Email/query", path: "/ids" },
      properties: LIST_PROPERTIES }, "g"],
    ["Thread/get", { accountId: S.accountId, "#ids": { resultOf: "g", name: "Email/get", path: "/list/*/threadId" } }, "t"],
  ]);
  if (turn !== S.turn) return;
  S.threadCounts = Object.fromEntries(threads.list.map((t) => [t.id, t.emailIds.length]));
  const byId = Object.fromEntries(got.list.map((e) => [e.id, e]));
  const list = $("list");
  list.replaceChildren();
  if (!query.ids.length) { list.append(el("p", { class: "empty" }, S.search ? "Nothing found." : "No messages.")); return; }
  for (const id of query.ids) {
    const e = byId[id];
    if (!e) continue;
    const count = S.threadCounts[e.threadId] || 1;
    const unread = !e.keywords.$seen;
    list.append(el("div", {
      class: "row" + (unread ? " unread" : "") + (S.openThread === e.threadId ? " current" : ""),
      "data-id": e.id, "data-thread": e.threadId,
      onclick: () => openThread(e.threadId, true),
    },
    el("span", { class: "row-from" }, addresses(e.from) || "(no sender)", count > 1 ? ` (${count})` : ""),
    el("span", { class: "row-date" }, e.keywords.$flagged ? el("span", { class: "row-flag", title: "flagged" }, "★ ") : null, shortDate(e.receivedAt)),
    el("span", { class: "row-subject" }, e.subject || "(no subject)")));
  }
  const more = query.total - query.ids.length;
  if (more > 0) {
    list.append(el("button", { id: "older", type: "button", class: "older",
      onclick: () => { S.shown += PAGE; drawList(); } }, `Older messages (${more} more)`));
  }
}

// ---- reading ----

async function openThread(threadId, markRead) {
  S.openThread = threadId;
  for (const row of document.querySelectorAll(".row")) row.classList.toggle("current", row.dataset.thread === threadId);
  const [, got] = await jmap([
    ["Thread/get", { accountId: S.accountId, ids: [threadId] }, "t"],
    ["Email/get", { accountId: S.accountId, "#ids": { resultOf: "t", name: "Thread/get", path: "/list/*/emailIds" },
      properties: READ_PROPERTIES, fetchTextBodyValues: true }, "g"],
  ]);
  const emails = got.list;
  if (!emails.length) { $("reader").replaceChildren(); S.openThread = null; return; }
  const unread = emails.filter((e) => !e.keywords.$seen);
  if (markRead && unread.length) {
    await jmap([["Email/set", { accountId: S.accountId,
      update: Object.fromEntries(unread.map((e) => [e.id, { "keywords/$seen": true }])) }, "s"]]);
    unread.forEach((e) => { e.keywords.$seen = true; });
    setTimeout(refresh, 0);
  }
  // A refresh redraws the thread (reloading its frames) only when it changed.
  const signature = JSON.stringify(emails.map((e) => [e.id, e.keywords, e.mailboxIds]));
  if (!markRead && signature === S.threadSignature) return;
  S.threadSignature = signature;
  drawThread(emails);
}

function drawThread(emails) {
  const last = emails[emails.length - 1];
  const reader = $("reader");
  const move = el("select", { id: "move", "aria-label": "Move to" }, el("option", { value: "" }, "Move to…"));
  for (const m of S.mailboxes) move.append(el("option", { value: m.id }, m.name));
  move.addEventListener("change", () => move.value && moveThread(emails, move.value));
  reader.replaceChildren(el("div", { class: "toolbar" },
    el("button", { id: "reply", type: "button", onclick: () => compose("reply", last) }, "Reply"),
    el("button", { id: "reply-all", type: "button", onclick: () => compose("replyAll", last) }, "Reply all"),
    el("button", { id: "forward", type: "button", onclick: () => compose("forward", last) }, "Forward"),
    el("button", { id: "flag", type: "button", onclick: () => toggleFlag(last) }, last.keywords.$flagged ? "Unflag" : "Flag"),
    el("button", { id: "unread", type: "button", onclick: () => markUnread(last) }, "Mark unread"),
    el("button", { id: "delete", type: "button", onclick: () => deleteThread(emails) }, "Delete"),
    move));
  for (const e of emails) reader.append(drawMessage(e));
}

function drawMessage(e) {
  const frame = el("iframe", {
    class: "message-body", title: "message",
    sandbox: "allow-popups allow-popups-to-escape-sandbox",
    referrerpolicy: "no-referrer",
  });
  const banner = el("div", { class: "images-banner", hidden: "" });
  const url = `/webmail/render/${encodeURIComponent(e.id)}`;
  fetch(url, { method: "HEAD" }).then((r) => {
    const blocked = Number(r.headers.get("X-Blocked-Images") || 0);
    if (blocked) {
      banner.replaceChildren(`${blocked} remote image${blocked > 1 ? "s" : ""} blocked. `,
        el("button", { class: "show-images", type: "button", onclick: () => { frame.src = url + "?images=1"; banner.hidden = true; } }, "Show images"));
      banner.hidden = false;
    }
  });
  frame.src = url;
  const attachments = el("div", { class: "attachments" });
  for (const a of e.attachments || []) {
    const name = a.name || "attachment";
    const href = `/jmap/download/${encodeURIComponent(S.accountId)}/${encodeURIComponent(a.blobId)}/${encodeURIComponent(name)}?type=${encodeURIComponent(a.type || "application/octet-stream")}`;
    attachments.append(el("a", { class: "attachment", href, download: name }, `📎 ${name}`));
  }
  return el("section", { class: "message", "data-id": e.id },
    el("div", { class: "message-head" },
      el("h2", {}, e.subject || "(no subject)"),
      el("div", { class: "message-meta" }, `From ${addresses(e.from)}`),
      el("div", { class: "message-meta" }, `To ${addresses(e.to)}${e.cc && e.cc.length ? `, Cc ${addresses(e.cc)}` : ""}`),
      el("div", { class: "message-meta" }, new Date(e.receivedAt).toLocaleString())),
    attachments.childElementCount ? attachments : null, banner, frame);
}

async function setEmails(update) {
  await jmap([["Email/set", { accountId: S.accountId, update }, "s"]]);
}

async function toggleFlag(e) {
  await setEmails({ [e.id]: { "keywords/$flagged": e.keywords.$flagged ? null : true } });
  await refresh();
}

async function markUnread(e) {
  await setEmails({ [e.id]: { "keywords/$seen": null } });
  S.openThread = null;
  $("reader").replaceChildren();
  await refresh();
}

async function moveThread(emails, target) {
  const here = emails.filter((e) => S.search || e.mailboxIds[S.current]);
  await setEmails(Object.fromEntries(here.map((e) => [e.id, { mailboxIds: { [target]: true } }])));
  S.openThread = null;
  $("reader").replaceChildren();
  status(`Moved to ${S.mailboxes.find((m) => m.id === target).name}.`);
  await refresh();
}

async function deleteThread(emails) {
  const trash = mailbox("trash");
  const here = emails.filter((e) => S.search || e.mailboxIds[S.current]);
  if (trash && S.current !== trash.id) return moveThread(here, trash.id);
  await jmap([["Email/set", { accountId: S.accountId, destroy: here.map((e) => e.id) }, "d"]]);
  S.openThread = null;
  $("reader").replaceChildren();
  await refresh();
}

// ---- compose, reply, forward ----

function quote(e) {
  const part = (e.textBody || [])[0];
  const text = part && e.bodyValues && e.bodyValues[part.partId] ? e.bodyValues[part.partId].value : "";
  return text.replace(/\s+$/, "").split("\n").map((l) => "> " + l).join("\n");
}

function compose(mode, e) {
  S.compose = { mode, original: e || null };
  S.uploads = [];
  const prefixed = (p, s) => (s || "").toLowerCase().startsWith(p.toLowerCase()) ? s : `${p} ${s || ""}`;
  let to = "", cc = "", subject = "", body = "";
  if (e && (mode === "reply" || mode === "replyAll")) {
    const replyTo = e.replyTo && e.replyTo.length ? e.replyTo : e.from;
    to = addresses(replyTo);
    if (mode === "replyAll") {
      const skip = new Set([S.user.toLowerCase(), ...(replyTo || []).map((a) => a.email.toLowerCase())]);
      cc = addresses([...(e.to || []), ...(e.cc || [])].filter((a) => !skip.has(a.email.toLowerCase()) && !a.email.toLowerCase().startsWith(S.user.toLowerCase() + "@")));
    }
    subject = prefixed("Re:", e.subject);
    body = `\n\nOn ${new Date(e.receivedAt).toLocaleString()}, ${addresses(e.from)} wrote:\n${quote(e)}`;
  } else if (e && mode === "forward") {
    subject = prefixed("Fwd:", e.subject);
    body = `\n\n---------- Forwarded message ----------\nFrom: ${addresses(e.from)}\nSubject: ${e.subject || ""}\n\n${quote(e).replace(/^> ?/gm, "")}`;
    S.uploads = (e.attachments || []).map((a) => ({ blobId: a.blobId, type: a.type, name: a.name || "attachment" }));
  }
  $("compose-title").textContent = { reply: "Reply", replyAll: "Reply all", forward: "Forward" }[mode] || "New message";
  $("compose-to").value = to;
  $("compose-cc").value = cc;
  $("compose-subject").value = subject;
  $("compose-body").value = body;
  $("compose-files").value = "";
  $("compose-status").textContent = "";
  drawUploads();
  $("composer").hidden = false;
  (to ? $("compose-body") : $("compose-to")).focus();
  if (to) $("compose-body").setSelectionRange(0, 0);
}

function drawUploads() {
  $("compose-attachments").replaceChildren(...S.uploads.map((u, i) => el("li", { class: "compose-attachment" }, u.name, " ",
    el("button", { type: "button", onclick: () => { S.uploads.splice(i, 1); drawUploads(); } }, "Remove"))));
}

async function upload(event) {
  for (const file of event.target.files) {
    $("compose-status").textContent = `Uploading ${file.name}…`;
    const response = await fetch(`/jmap/upload/${encodeURIComponent(S.accountId)}`, {
      method: "POST",
      headers: { "Content-Type": file.type || "application/octet-stream", "X-CSRF-Token": S.csrf },
      body: file,
    });
    const answer = await response.json();
    if (!response.ok) { $("compose-status").textContent = answer.detail || "upload failed"; return; }
    S.uploads.push({ blobId: answer.blobId, type: answer.type, name: file.name });
  }
  event.target.value = "";
  $("compose-status").textContent = "";
  drawUploads();
}

async function send(event) {
  event.preventDefault();
  const to = parseAddresses($("compose-to").value);
  const cc = parseAddresses($("compose-cc").value);
  if (!to.length && !cc.length) { $("compose-status").textContent = "Who is it for?"; return; }
  $("compose-status").textContent = "Sending…";
  $("compose-send").disabled = true;
  try {
    const [identities] = await jmap([["Identity/get", { accountId: S.accountId }, "i"]]);
    const identity = identities.list.find((i) => i.email.toLowerCase().startsWith(S.user.toLowerCase() + "@")) || identities.list[0];
    const drafts = mailbox("drafts"), sent = mailbox("sent");
    const email = {
      mailboxIds: { [drafts.id]: true },
      keywords: { $draft: true, $seen: true },
      from: [{ name: identity.name || null, email: identity.email }],
      to, cc, subject: $("compose-subject").value,
      textBody: [{ partId: "text", type: "text/plain" }],
      bodyValues: { text: { value: $("compose-body").value } },
      attachments: S.uploads.map((u) => ({ blobId: u.blobId, type: u.type, name: u.name, disposition: "attachment" })),
    };
    const original = S.compose.original;
    if (original && S.compose.mode !== "forward" && original.messageId) {
      email.inReplyTo = original.messageId;
      email.references = [...(original.references || []), ...original.messageId];
    }
    const [created, submitted] = await jmap([
      ["Email/set", { accountId: S.accountId, create: { draft: email } }, "e"],
      ["EmailSubmission/set", { accountId: S.accountId,
        create: { send: { identityId: identity.id, emailId: "#draft" } },
        onSuccessUpdateEmail: { "#send": { [`mailboxIds/${drafts.id}`]: null, [`mailboxIds/${sent.id}`]: true, "keywords/$draft": null } },
      }, "s"],
    ]);
    const failed = (created.notCreated || {}).draft || (submitted.notCreated || {}).send;
    if (failed) throw new Error(failed.description || failed.type);
    $("composer").hidden = true;
    status("Sent.");
    await refresh();
  } catch (e) {
    $("compose-status").textContent = `Not sent: ${e.message}`;
  } finally {
    $("compose-send").disabled = false;
  }
}

// ---- start ----

document.addEventListener("DOMContentLoaded", async () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("compose-button").addEventListener("click", () => compose("new"));
  $("compose-cancel").addEventListener("click", () => { $("composer").hidden = true; });
  $("compose-files").addEventListener("change", upload);
  $("composer").addEventListener("submit", send);
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    S.search = $("search").value.trim();
    S.openThread = null;
    S.shown = PAGE;
    $("reader").replaceChildren();
    refresh();
  });
  const response = await fetch("/webmail/me");
  if (response.ok) start(await response.json());
  else showLogin();
});
