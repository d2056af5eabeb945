"""The web chat page a business puts on its site: plain HTML and a little JavaScript, no
outside resources. Messages go to ingress; replies come back from notifier's reply stream
(server-sent events), so they appear without a reload.

The page asks ingress for a session token before its first message and keeps it in
localStorage; when it has expired (or a message is refused with 401) it asks for a new one,
which starts a new conversation. The token goes in each message's body and in the reply
stream's path (an EventSource cannot send headers)."""

from __future__ import annotations

import html
import json

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Chat with {name}</title>
<style>
  body {{ margin: 0; font: 16px/1.4 system-ui, sans-serif; background: #f4f1ec;
          display: flex; flex-direction: column; height: 100vh; }}
  header {{ background: #2d3a3a; color: #fff; padding: .8rem 1rem; }}
  header h1 {{ margin: 0; font-size: 1.1rem; }}
  header p {{ margin: .2rem 0 0; font-size: .85rem; opacity: .8; }}
  #log {{ flex: 1; overflow-y: auto; padding: 1rem; display: flex; flex-direction: column;
          gap: .5rem; }}
  .msg {{ max-width: 80%; padding: .5rem .75rem; border-radius: 1rem;
          white-space: pre-wrap; overflow-wrap: anywhere; }}
  .me {{ align-self: flex-end; background: #2d6a4f; color: #fff; }}
  .bot {{ align-self: flex-start; background: #fff; }}
  .bot a {{ color: #1d4ed8; }}
  form {{ display: flex; gap: .5rem; padding: .75rem; background: #fff;
          border-top: 1px solid #ddd; }}
  input {{ flex: 1; font: inherit; padding: .6rem; border: 1px solid #bbb;
           border-radius: .5rem; }}
  button {{ font: inherit; padding: .6rem 1rem; border: 0; border-radius: .5rem;
            background: #2d6a4f; color: #fff; }}
</style>
</head>
<body>
<header><h1>{name}</h1><p>{address}</p></header>
<main id="log" aria-live="polite"></main>
<form id="say">
  <label for="text" hidden>Message</label>
  <input id="text" name="text" autocomplete="off" maxlength="2000"
         placeholder="e.g. a haircut tomorrow at 3pm" required>
  <button id="send" type="submit">Send</button>
</form>
<script>
const business = {business};
const repliesBase = {replies_base};
const chatPath = "/webchat/" + encodeURIComponent(business);
const key = "receptionist-webchat-" + business;  // the session the server issued us
const seenKey = key + "-seen";                    // the last reply shown
const log = document.getElementById("log");
let session = null;
let replies = null;
function show(text, who) {{
  const div = document.createElement("div");
  div.className = "msg " + who;
  for (const part of text.split(/(https?:\\/\\/\\S+)/)) {{
    if (/^https?:\\/\\//.test(part)) {{
      const a = document.createElement("a");
      a.href = part; a.textContent = part; a.target = "_blank"; a.rel = "noopener";
      div.appendChild(a);
    }} else {{
      div.appendChild(document.createTextNode(part));
    }}
  }}
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
}}
function fresh(s) {{  // still valid for another minute
  return s && s.session && Date.parse(s.expires_at) - Date.now() > 60000;
}}
function stored() {{
  try {{ const s = JSON.parse(localStorage.getItem(key)); return fresh(s) ? s : null; }}
  catch (e) {{ return null; }}
}}
function forget() {{
  session = null;
  localStorage.removeItem(key);
  localStorage.removeItem(seenKey);
  if (replies) {{ replies.close(); replies = null; }}
}}
function listen() {{
  if (replies) replies.close();
  const s = session;
  replies = new EventSource(repliesBase + chatPath + "/sessions/" + s.session +
                            "/events?after=" + (localStorage.getItem(seenKey) || 0));
  replies.onmessage = e => {{
    show(JSON.parse(e.data).text, "bot");
    localStorage.setItem(seenKey, e.lastEventId);
  }};
  replies.onerror = () => {{  // refused (expired, or notifier restarted): try again later
    if (replies && replies.readyState === EventSource.CLOSED) {{
      replies = null;
      setTimeout(() => {{ if (session === s && fresh(s) && !replies) listen(); }}, 5000);
    }}
  }};
}}
async function current() {{  // the session to write with: kept, or a new one from the server
  if (fresh(session)) return session;
  forget();
  const answer = await fetch(chatPath + "/sessions", {{method: "POST"}});
  if (!answer.ok) throw answer;
  session = await answer.json();
  localStorage.setItem(key, JSON.stringify(session));
  listen();
  return session;
}}
async function post(text, messageId) {{
  const s = await current();
  return fetch(chatPath + "/messages", {{
    method: "POST", headers: {{"Content-Type": "application/json"}},
    body: JSON.stringify({{session: s.session, text: text, message_id: messageId}})}});
}}
function failed(answer) {{
  const wait = answer.headers && answer.headers.get("Retry-After");
  show(answer.status === 429 && wait
       ? "You're sending messages faster than I can read them. Try again in " + wait + " s."
       : "Sorry, that didn't go through (" + answer.status + "). Try again.", "bot");
}}
session = stored();
if (session) listen();
document.getElementById("say").addEventListener("submit", async e => {{
  e.preventDefault();
  const input = document.getElementById("text");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  show(text, "me");
  const messageId = crypto.randomUUID().replaceAll("-", "");
  try {{
    let answer = await post(text, messageId);
    if (answer.status === 401) {{  // expired or no longer valid: a new session, once
      forget();
      answer = await post(text, messageId);
    }}
    if (!answer.ok) failed(answer);
  }} catch (answer) {{
    failed(answer instanceof Response ? answer : {{status: "offline"}});
  }}
}});
</script>
</body>
</html>
"""


def render(business_id: str, name: str, address: str, replies_base: str = "") -> str:
    """The page for one business; `replies_base` is where notifier's reply stream is served
    (empty: the same origin, as in the demo or behind one reverse proxy)."""
    return PAGE.format(name=html.escape(name), address=html.escape(address),
                       business=json.dumps(business_id), replies_base=json.dumps(replies_base))
