// The editor opened by a link from a chat: the link (in the address) is the member's proof, for one
// image and one edit. The answer (the queue's place, or why not) shows under the form.
"use strict";

const token = decodeURIComponent(location.pathname.split("/").pop());
const state = document.getElementById("editor-state");

async function open() {
  let response;
  try {
    response = await fetch(`/api/edit/${encodeURIComponent(token)}`);
  } catch {
    state.textContent = "The page could not reach the bot; reload to try again.";
    return;
  }
  const details = await response.json().catch(() => ({}));
  if (!response.ok) {
    state.setAttribute("role", "alert");
    state.textContent = details.error || "This editor link does not work; press 🖌️ Vary (Region) again.";
    return;
  }
  state.textContent = `${details.platform} · ${details.who}`;
  const editor = openRegionEditor({
    imageUrl: details.image,
    prompt: details.prompt,
    title: "Vary (Region)",
    modal: false,
    onSubmit: async (mask, words) => {
      const body = new FormData();
      body.append("text", words);
      body.append("picture", mask, "mask.png");
      try {
        const answer = await fetch(`/api/edit/${encodeURIComponent(token)}`, {
          method: "POST", headers: { "X-Imagine": "1" }, body,
        });
        const data = await answer.json().catch(() => ({}));
        return answer.ok ? data : { taken: false, private: [data.error || "The bot could not take that; try again."] };
      } catch {
        return { taken: false, private: ["The page could not reach the bot; try again."] };
      }
    },
  });
  document.getElementById("editor-page").append(editor.root);
  editor.show();
}

open();
