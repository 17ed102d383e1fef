// 🖌️ Vary (Region)'s editor: mark where to change a picture (brush, rectangle, eraser, undo, clear),
// say what goes there, submit. The mark is kept at the picture's own size and sent as a mask: a PNG,
// white where to draw anew, black where to keep. Pointer events, so a mouse, a pen and a finger all
// draw; every tool is a button (and a key: B, R, E, [ ], Ctrl+Z).
"use strict";

const UNDO_LIMIT = 30;
const MARK = "rgba(255, 40, 120, 1)"; // shown at half opacity over the picture

function openRegionEditor({ imageUrl, prompt, title, onSubmit, onClose, modal = true }) {
  const make = (tag, className, text) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const root = make(modal ? "dialog" : "section", "editor");
  root.setAttribute("aria-label", title);
  root.append(make("h2", "", title));
  const tools = make("div", "editor-tools");
  tools.setAttribute("role", "toolbar");
  tools.setAttribute("aria-label", "Marking tools");
  const toolButtons = {};
  for (const [tool, label, key] of [["brush", "🖌️ Brush", "b"], ["rect", "▭ Rectangle", "r"], ["eraser", "🧽 Eraser", "e"]]) {
    const button = make("button", "", label);
    button.type = "button";
    button.title = `${label.slice(3)} (${key.toUpperCase()})`;
    button.addEventListener("click", () => choose(tool));
    toolButtons[tool] = button;
    tools.append(button);
  }
  const sizeLabel = make("label", "editor-size", "Size ");
  const size = make("input");
  size.type = "range";
  size.min = "4";
  size.max = "200";
  size.value = "48";
  sizeLabel.append(size);
  const undo = make("button", "", "↶ Undo");
  undo.type = "button";
  undo.title = "Undo (Ctrl+Z)";
  const clear = make("button", "", "Clear");
  clear.type = "button";
  tools.append(sizeLabel, undo, clear);

  const stage = make("div", "editor-stage");
  const picture = make("img");
  picture.alt = prompt || "the picture";
  const overlay = make("canvas", "editor-mask");
  overlay.setAttribute("aria-label", "Mark where to change the picture");
  overlay.setAttribute("role", "img");
  stage.append(picture, overlay);

  const form = make("form", "editor-form");
  const wordsLabel = make("label", "", "What goes there");
  const words = make("input");
  words.id = `editor-words-${Math.random().toString(36).slice(2)}`;
  wordsLabel.htmlFor = words.id;
  words.maxLength = 4000;
  words.placeholder = prompt || "a red umbrella";
  const submit = make("button", "", "Submit");
  submit.type = "submit";
  const cancel = make("button", "", "Cancel");
  cancel.type = "button";
  const note = make("p", "private");
  note.setAttribute("role", "alert");
  note.hidden = true;
  form.append(wordsLabel, words, submit, cancel, note);
  root.append(tools, stage, form);

  const context = overlay.getContext("2d");
  const history = [];
  let tool = "brush";
  let stroke = null; // {x, y, before} while the pointer is down

  function choose(next) {
    tool = next;
    for (const [name, button] of Object.entries(toolButtons)) button.setAttribute("aria-pressed", String(name === tool));
  }
  function remember() {
    history.push(context.getImageData(0, 0, overlay.width, overlay.height));
    if (history.length > UNDO_LIMIT) history.shift();
  }
  function point(event) { // the pointer on the picture's own pixels
    const box = overlay.getBoundingClientRect();
    return {
      x: ((event.clientX - box.left) * overlay.width) / box.width,
      y: ((event.clientY - box.top) * overlay.height) / box.height,
      scale: overlay.width / box.width,
    };
  }
  function line(from, to) {
    context.globalCompositeOperation = tool === "eraser" ? "destination-out" : "source-over";
    context.strokeStyle = MARK;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.lineWidth = Number(size.value) * to.scale;
    context.beginPath();
    context.moveTo(from.x, from.y);
    context.lineTo(to.x, to.y);
    context.stroke();
  }
  function rectangle(from, to) {
    context.putImageData(stroke.before, 0, 0);
    context.globalCompositeOperation = "source-over";
    context.fillStyle = MARK;
    context.fillRect(Math.min(from.x, to.x), Math.min(from.y, to.y), Math.abs(to.x - from.x), Math.abs(to.y - from.y));
  }

  overlay.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    overlay.setPointerCapture(event.pointerId);
    remember();
    say([]); // a note about an empty mark no longer holds
    const at = point(event);
    stroke = { start: at, last: at, before: history[history.length - 1] };
    if (tool !== "rect") line(at, at);
  });
  overlay.addEventListener("pointermove", (event) => {
    if (!stroke) return;
    const at = point(event);
    if (tool === "rect") rectangle(stroke.start, at);
    else line(stroke.last, at);
    stroke.last = at;
  });
  const finish = () => { stroke = null; };
  overlay.addEventListener("pointerup", finish);
  overlay.addEventListener("pointercancel", finish);

  undo.addEventListener("click", () => {
    const before = history.pop();
    if (before) context.putImageData(before, 0, 0);
  });
  clear.addEventListener("click", () => {
    remember();
    context.clearRect(0, 0, overlay.width, overlay.height);
  });
  root.addEventListener("keydown", (event) => {
    if (event.target === words) return; // typing the words
    const key = event.key.toLowerCase();
    if ((event.ctrlKey || event.metaKey) && key === "z") undo.click();
    else if (key === "b") choose("brush");
    else if (key === "r") choose("rect");
    else if (key === "e") choose("eraser");
    else if (key === "[" || key === "]") size.value = String(Number(size.value) + (key === "]" ? 8 : -8));
    else return;
    event.preventDefault();
  });

  function marked() {
    const pixels = context.getImageData(0, 0, overlay.width, overlay.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
    return false;
  }
  function mask() { // white where marked, black elsewhere, at the picture's size
    const out = document.createElement("canvas");
    out.width = overlay.width;
    out.height = overlay.height;
    const paint = out.getContext("2d");
    paint.drawImage(overlay, 0, 0);
    paint.globalCompositeOperation = "source-in";
    paint.fillStyle = "#fff";
    paint.fillRect(0, 0, out.width, out.height);
    paint.globalCompositeOperation = "destination-over";
    paint.fillStyle = "#000";
    paint.fillRect(0, 0, out.width, out.height);
    return new Promise((resolve) => out.toBlob(resolve, "image/png"));
  }
  function say(texts) {
    note.hidden = texts.length === 0;
    note.replaceChildren(...texts.map((text) => make("span", "line", text)));
  }
  function close() {
    if (modal) root.close();
    root.remove();
    if (onClose) onClose();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!marked()) {
      say(["Mark where to change the picture first: paint over it."]);
      return;
    }
    submit.disabled = true;
    let answer = {};
    try {
      answer = await onSubmit(await mask(), words.value);
      say(answer.private || []);
    } finally {
      submit.disabled = Boolean(answer.taken); // the edit is on its way: one submit is one edit
    }
    if (answer.taken && modal) close();
  });
  cancel.addEventListener("click", close);
  if (modal) root.addEventListener("cancel", () => root.remove());

  picture.addEventListener("load", () => {
    overlay.width = picture.naturalWidth;
    overlay.height = picture.naturalHeight;
  }, { once: true });
  picture.src = imageUrl;
  choose("brush");
  return { root, show: () => { document.body.append(root); if (modal) root.showModal(); toolButtons.brush.focus(); }, say };
}
