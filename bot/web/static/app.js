// The page: the member's feed from /api/events, drawn as a channel of threads. Every string from the
// server is set as text (textContent, alt, attributes), never parsed as HTML.
"use strict";

const channel = document.getElementById("channel");
const threads = new Map(); // thread id -> {section, log, statuses: Map(job -> element)}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

async function act(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Imagine": "1" },
    body: JSON.stringify(body),
  });
  if (!response.ok) return { taken: false, private: ["The page could not reach the bot; try again."] };
  return response.json();
}

function showPrivate(where, texts) {
  where.hidden = texts.length === 0;
  where.textContent = texts.join(" ");
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
      });
      buttons.append(button);
    }
    box.append(buttons);
  }
  return box;
}

function follow() {
  const connection = document.getElementById("connection");
  const events = new EventSource("/api/events");
  events.onopen = () => { connection.hidden = true; };
  events.onmessage = (event) => render(JSON.parse(event.data));
  events.onerror = () => {
    connection.hidden = false;
    connection.textContent = "Reconnecting to the bot…";
  };
}

document.getElementById("prompt-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = event.currentTarget;
  const input = form.querySelector("input");
  const text = input.value.replace(/^\/imagine\s+/, "");
  if (!text.trim()) return;
  const answer = await act("/api/say", { text });
  showPrivate(form.querySelector(".private"), answer.private);
  if (answer.taken) input.value = "";
});

follow();
