// The page: the member's feed from /api/events, drawn as a channel of threads. Every string from the
// server is set as text (textContent, alt, attributes), never parsed as HTML.
"use strict";

const channel = document.getElementById("channel");
const promptForm = document.getElementById("prompt-form");
const loginForm = document.getElementById("login-form");
const threads = new Map(); // thread id -> {section, log, statuses: Map(job -> element)}
let csrf = null; // the session's token, sent with every action
let events = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function post(path, body) { // a FormData body (pictures) goes as multipart, anything else as JSON
  const form = body instanceof FormData;
  const headers = form ? { "X-Imagine": "1" } : { "Content-Type": "application/json", "X-Imagine": "1" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  return fetch(path, { method: "POST", headers, body: form ? body : JSON.stringify(body) });
}

async function act(path, body) {
  let response;
  try {
    response = await post(path, body);
  } catch {
    return { taken: false, private: ["The page could not reach the bot; try again."] };
  }
  if (response.status === 401) {
    start();
    return { taken: false, private: ["Your session ended: log in again."] };
  }
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) return { taken: false, private: [answer.error || "The bot could not take that; try again."] };
  return answer;
}

function settingsForm(where, fields) { // /settings: one select (or text box) per field, and Save
  const form = el("form", "settings");
  for (const field of fields) {
    const label = el("label", "", field.label);
    const id = `setting-${field.name}`;
    label.htmlFor = id;
    let input;
    if (field.choices.length) {
      input = el("select");
      input.append(new Option("default", ""));
      for (const choice of field.choices) input.append(new Option(choice, choice, false, choice === field.current));
    } else {
      input = el("input");
      input.value = field.current || "";
      input.maxLength = 500;
    }
    input.id = id;
    input.name = field.name;
    form.append(label, input);
  }
  const save = el("button", "", "Save");
  save.type = "submit";
  form.append(save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    const answer = await act("/api/settings", values);
    showPrivate(where, answer.private);
  });
  where.append(form);
}

function showPrivate(where, texts, buttons = [], form = []) {
  where.hidden = texts.length === 0;
  where.replaceChildren(...texts.map((text) => el("span", "line", text)));
  for (const spec of buttons) { // a Cancel per job of /queue, an Imagine per prompt of Describe
    const button = el("button", "", spec.label);
    button.type = "button";
    button.addEventListener("click", async () => {
      const answer = await act("/api/press", { id: spec.id, thread: null });
      showPrivate(where, answer.private, answer.buttons || []);
    });
    where.append(button);
  }
  if (form.length) settingsForm(where, form);
}

function thread(id, subject) {
  let entry = threads.get(id);
  if (entry) return entry;
  const section = el("section", "thread");
  section.setAttribute("aria-label", `Thread: ${subject}`);
  section.append(el("h2", "", subject));
  const log = el("div", "log");
  const form = el("form", "reply");
  const label = el("label", "visually-hidden", "Refine this image");
  const input = el("input");
  input.id = `reply-${id}`;
  label.htmlFor = input.id;
  input.placeholder = "now at night, snowing --ar 16:9";
  input.maxLength = 4000;
  const note = el("p", "private");
  note.setAttribute("role", "alert");
  note.hidden = true;
  form.append(label, input, el("button", "", "Refine"), note);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    const answer = await act("/api/say", { text: input.value, thread: id });
    showPrivate(note, answer.private);
    if (answer.taken) input.value = "";
  });
  section.append(log, form);
  channel.append(section);
  entry = { section, log, input, note, statuses: new Map() };
  threads.set(id, entry);
  return entry;
}

function statusLine(message) {
  return `${message.label} ${message.subject} — ${message.text}`;
}

function render(message) {
  if (!message.thread) return;
  const entry = thread(message.thread, message.subject || "");
  if (message.kind === "status") {
    let line = entry.statuses.get(message.job);
    if (!line) {
      line = el("div", "message status");
      entry.statuses.set(message.job, line);
      entry.log.append(line);
    }
    line.replaceChildren(el("span", "", statusLine(message)));
    if (message.preview) {
      const preview = el("img", "preview");
      preview.src = message.preview;
      preview.alt = `Preview of: ${message.subject}`;
      line.append(preview);
    }
  } else if (message.kind === "result") {
    const line = entry.statuses.get(message.job);
    if (line) line.replaceChildren(el("span", "", `${message.label} ${message.subject} — ✅ done`));
    entry.log.append(result(message, entry));
  } else if (message.kind === "failure") {
    const line = entry.statuses.get(message.job);
    if (line) line.remove();
    entry.log.append(el("div", "message failure", `${message.subject} — ${message.text}`));
  } else if (message.kind === "private") {
    entry.log.append(el("div", "message private", message.text));
  }
}

function result(message, entry) {
  const box = el("div", "message result");
  const images = el("div", "images");
  for (const image of message.images) {
    const img = el("img");
    img.src = image.url;
    img.alt = image.alt;
    img.loading = "lazy";
    if (image.seed !== null) img.title = `seed ${image.seed}`;
    if (image.hidden) { // flagged by the content policy: blurred until the member chooses to see it
      const reveal = el("button", "hidden-image");
      reveal.type = "button";
      reveal.setAttribute("aria-label", `Show the hidden image: ${image.alt}`);
      reveal.append(img);
      reveal.addEventListener("click", () => reveal.replaceWith(img), { once: true });
      images.append(reveal);
      continue;
    }
    images.append(img);
  }
  box.append(images);
  const details = [message.model, `${message.seconds} s`].join(" · ");
  box.append(el("p", "details", details));
  for (const note of message.notes || []) box.append(el("p", "private", note));
  for (const row of message.buttons) {
    const buttons = el("div", "buttons");
    for (const spec of row) {
      const button = el("button", "", spec.label);
      button.type = "button";
      button.addEventListener("click", async () => {
        if (spec.effect === "form") {
          entry.input.focus();
          return;
        }
        const answer = await act("/api/press", { id: spec.id, thread: message.thread });
        showPrivate(entry.note, answer.private);
        if (answer.editor) editRegion(message, answer.editor.index);
      });
      buttons.append(button);
    }
    box.append(buttons);
  }
  return box;
}

function editRegion(message, index) { // 🖌️ Vary (Region) over one image of a result in its thread
  const image = message.images[Math.min(index, message.images.length - 1)];
  const editor = openRegionEditor({
    imageUrl: image.url,
    prompt: message.prompt,
    title: `Vary (Region): ${message.subject}`,
    onSubmit: (mask, words) => {
      const body = new FormData();
      for (const [name, value] of Object.entries({ thread: message.thread, job: message.job, index, text: words })) {
        body.append(name, String(value));
      }
      body.append("picture", mask, "mask.png");
      return act("/api/region", body);
    },
  });
  editor.show();
}

function follow() {
  const connection = document.getElementById("connection");
  if (events) events.close();
  events = new EventSource("/api/events");
  events.onopen = () => { connection.hidden = true; };
  events.onmessage = (event) => render(JSON.parse(event.data));
  events.addEventListener("superseded", () => {
    events.close();  // the member opened this page elsewhere too often: this copy stops following
    connection.hidden = false;
    connection.textContent = "This page stopped following: it is open in too many tabs. Reload it to follow here.";
  });
  events.onerror = () => {
    connection.hidden = false;
    connection.textContent = "Reconnecting to the bot…";
  };
}

function enter(user, login) {
  loginForm.hidden = true;
  promptForm.hidden = false;
  const who = document.getElementById("who");
  who.hidden = !login.required;
  who.querySelector("span").textContent = `Logged in as ${user}.`;
  follow();
  document.getElementById("prompt").focus();
}

function leave() {
  if (events) events.close();
  events = null;
  csrf = null;
  threads.clear();
  channel.replaceChildren();
  promptForm.hidden = true;
  document.getElementById("who").hidden = true;
}

function askLogin(login) {
  leave();
  loginForm.hidden = false;
  document.getElementById("login-name-row").hidden = !login.named;
  (login.named ? document.getElementById("login-name") : document.getElementById("login-password")).focus();
}

async function start() {
  let session;
  try {
    session = await (await fetch("/api/session")).json();
  } catch {
    const connection = document.getElementById("connection");
    connection.hidden = false;
    connection.textContent = "The page could not reach the bot; reload to try again.";
    return;
  }
  csrf = session.csrf;
  if (session.user) enter(session.user, session.login);
  else askLogin(session.login);
}

loginForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const password = document.getElementById("login-password");
  const note = loginForm.querySelector(".private");
  const response = await post("/api/login", {
    name: document.getElementById("login-name").value,
    password: password.value,
  }).catch(() => null);
  const answer = response ? await response.json().catch(() => ({})) : {};
  password.value = "";
  if (!response || !response.ok) {
    showPrivate(note, [answer.error || "The page could not reach the bot; try again."]);
    password.focus();
    return;
  }
  showPrivate(note, []);
  csrf = answer.csrf;
  enter(answer.user, { required: true });
});

document.getElementById("logout").addEventListener("click", async () => {
  await post("/api/logout", {}).catch(() => null);
  start();
});

const pictures = document.getElementById("pictures");
const pictureUse = document.getElementById("picture-use");

function withPictures(text, files) {
  const body = new FormData();
  body.append("text", text);
  for (const file of files) body.append("picture", file, file.name);
  return body;
}

promptForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("prompt");
  const typed = input.value.replace(/^\/imagine\s*/, "");
  const files = [...pictures.files];
  if (!typed.trim() && !files.length) return;
  // the first picture marked as a style, a character or a control: the flag a chat member types
  const text = files.length && pictureUse.value ? `${typed} ${pictureUse.value}`.trim() : typed;
  const answer = await act("/api/say", files.length ? withPictures(text, files) : { text });
  showPrivate(promptForm.querySelector(".private"), answer.private, answer.buttons || [], answer.form || []);
  if (answer.taken || text.trim().startsWith("/")) { // a job taken, or a command answered: clear it
    input.value = "";
    pictures.value = "";
    pictureUse.value = "";
  }
});

document.getElementById("describe").addEventListener("click", async () => {
  const note = promptForm.querySelector(".private");
  const files = [...pictures.files];
  if (files.length !== 1) {
    showPrivate(note, ["Choose one picture to describe."]);
    return;
  }
  const answer = await act("/api/describe", withPictures("", files));
  showPrivate(note, answer.private, answer.buttons || []);
  pictures.value = "";
});

start();
