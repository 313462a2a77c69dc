#include "assist_page.h"

namespace callstreamd {

const char kAssistPage[] = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>callstream agent assist</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<style>
body{font-family:sans-serif;margin:1.5em;color:#222}
h1{margin:.2em 0}h2{margin:1em 0 .4em}
#status{font-size:.9em;color:#666}#status.live{color:#070}#status.down{color:#b00}
.call{border:1px solid #ccc;border-radius:6px;padding:.6em .8em;margin:.6em 0}
.call h3{margin:0 0 .3em;font-size:1em}
.meta{color:#666;font-size:.85em}
.columns{display:flex;gap:1.5em;flex-wrap:wrap}
.transcript{flex:2 1 24em;max-height:22em;overflow-y:auto;background:#fafafa;padding:.4em}
.side{flex:1 1 16em}
.final{display:block}
.partial{display:block;color:#999;font-style:italic}
.intent{display:inline-block;background:#eef;border-radius:3px;padding:.1em .4em;margin:.1em}
.article{margin:.3em 0}.article p{margin:.1em 0;font-size:.9em;color:#444}
.none{color:#999}
</style></head><body>
<h1>Agent assist</h1>
<p><span id="status" data-testid="connection-status">connecting</span>
<span id="auth" hidden><label>API token <input id="token" type="password" size="24"></label>
<button id="use-token">Use</button></span></p>
<h2>Calls in progress</h2>
<div id="live" data-testid="calls-in-progress"><p class="none" id="no-live">No call in progress.</p></div>
<h2>Past calls</h2>
<div id="past" data-testid="past-calls"><p class="none" id="no-past">No recent call.</p></div>
<script>
'use strict';
const params = new URLSearchParams(location.search);
let token = params.get('token') || localStorage.getItem('callstream-token') || '';
const calls = new Map();  // interaction_id -> {data, element}
let source = null;

const el = (tag, attrs, text) => {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
};
const status = (text, cls) => {
  const s = document.getElementById('status');
  s.textContent = text; s.className = cls || '';
};
const when = (ms) => ms ? new Date(ms).toLocaleString() : '';
const withToken = (path) => token ? path + (path.includes('?') ? '&' : '?') + 'token=' + encodeURIComponent(token) : path;

function title(call) {
  const who = [call.from, call.to].filter(Boolean).join(' \u2192 ');
  return (who || call.interaction_id) + (call.provider ? ' (' + call.provider + ')' : '');
}

function renderTranscript(box, call) {
  box.textContent = '';
  for (const s of call.transcript) box.appendChild(el('span', { class: 'final', 'data-testid': 'transcript-final', 'data-seq': s.seq }, s.text));
  if (call.partial) box.appendChild(el('span', { class: 'partial', 'data-testid': 'transcript-partial', 'data-seq': call.partial.seq }, call.partial.text));
  box.scrollTop = box.scrollHeight;
}

function intentNode(i) {
  return el('span', { class: 'intent', 'data-testid': 'intent', 'data-intent-id': i.intent_id, title: i.text + ' (' + Math.round(i.score * 100) + '%)' }, i.intent_name);
}

function articleNode(a) {
  const item = el('div', { class: 'article', 'data-testid': 'article', 'data-article-id': a.article_id });
  const link = el('a', { 'data-testid': 'article-link', target: '_blank', rel: 'noopener noreferrer' }, a.title);
  if (/^https?:\/\//.test(a.url)) link.href = a.url;
  item.appendChild(link);
  item.appendChild(el('p', { 'data-testid': 'article-summary' }, a.summary));
  return item;
}

function render(call) {
  const ended = call.status === 'ended';
  const node = el('div', { class: 'call', 'data-testid': ended ? 'past-call' : 'live-call', 'data-interaction-id': call.interaction_id });
  node.appendChild(el('h3', { 'data-testid': 'call-title' }, title(call)));
  node.appendChild(el('div', { class: 'meta' }, call.interaction_id + ' \u00b7 started ' + when(call.started_at)
      + (ended ? ' \u00b7 ended ' + when(call.ended_at) + (call.reason ? ' (' + call.reason + ')' : '') : '')));
  if (ended) {
    if (call.recording_url) {
      const audio = el('audio', { controls: '', preload: 'none', 'data-testid': 'recording-audio' });
      audio.src = withToken(call.recording_url);
      node.appendChild(audio);
    } else {
      node.appendChild(el('p', { class: 'none', 'data-testid': 'no-recording' }, 'no recording'));
    }
  }
  const columns = el('div', { class: 'columns' });
  const transcript = el('div', { class: 'transcript', 'data-testid': 'transcript' });
  renderTranscript(transcript, call);
  const side = el('div', { class: 'side' });
  const intents = el('div', { 'data-testid': 'intents' });
  for (const i of call.intents) intents.appendChild(intentNode(i));
  const articles = el('div', { 'data-testid': 'articles' });
  for (const a of call.articles) articles.appendChild(articleNode(a));
  side.appendChild(el('strong', {}, 'Intents')); side.appendChild(intents);
  side.appendChild(el('strong', {}, 'Articles')); side.appendChild(articles);
  columns.appendChild(transcript); columns.appendChild(side);
  node.appendChild(columns);
  return node;
}

function place(call) {
  const old = calls.get(call.interaction_id);
  const node = render(call);
  const ended = call.status === 'ended';
  const list = document.getElementById(ended ? 'past' : 'live');
  if (old && old.element.parentNode === list) list.replaceChild(node, old.element);
  else {
    if (old) old.element.remove();
    if (ended) list.insertBefore(node, list.querySelector('.call')); else list.appendChild(node);
  }
  calls.set(call.interaction_id, { data: call, element: node });
  refreshEmpty();
}

function refreshEmpty() {
  document.getElementById('no-live').hidden = !!document.querySelector('#live .call');
  document.getElementById('no-past').hidden = !!document.querySelector('#past .call');
}

function remove(id) {
  const old = calls.get(id);
  if (old) { old.element.remove(); calls.delete(id); }
  refreshEmpty();
}

const handlers = {
  snapshot(d) {
    for (const id of [...calls.keys()]) remove(id);
    for (const c of d.in_progress) place(c);
    for (const c of [...d.recent].reverse()) place(c);
  },
  call_start(d) {
    const old = calls.get(d.call.interaction_id);
    place(old ? Object.assign(d.call, { transcript: old.data.transcript, partial: old.data.partial, intents: old.data.intents, articles: old.data.articles }) : d.call);
  },
  transcript(d) {
    const c = calls.get(d.interaction_id);
    if (!c) return;
    const s = { seq: d.seq, text: d.text, is_final: d.is_final, start_ms: d.start_ms, end_ms: d.end_ms, confidence: d.confidence };
    if (d.is_final) { c.data.transcript.push(s); c.data.partial = null; } else c.data.partial = s;
    renderTranscript(c.element.querySelector('[data-testid=transcript]'), c.data);
  },
  intent(d) {
    const c = calls.get(d.interaction_id);
    if (!c) return;
    c.data.intents.push(d);
    c.element.querySelector('[data-testid=intents]').appendChild(intentNode(d));
  },
  article(d) {
    const c = calls.get(d.interaction_id);
    if (!c) return;
    c.data.articles.push(d);
    c.element.querySelector('[data-testid=articles]').appendChild(articleNode(d));
  },
  call_end(d) { place(d.call); },
  call_removed(d) { remove(d.interaction_id); },
};

async function explainFailure() {
  try {
    const reply = await fetch(withToken('/assist/calls'));
    if (reply.status === 401) {
      status('unauthorized: this server needs its API token', 'down');
      document.getElementById('auth').hidden = false;
      if (source) { source.close(); source = null; }
      return;
    }
  } catch (e) { /* the server is away: EventSource retries */ }
  status('disconnected, reconnecting\u2026', 'down');
}

function connect() {
  if (source) source.close();
  source = new EventSource(withToken('/assist/events'));
  source.onopen = () => status('live', 'live');
  source.onerror = () => explainFailure();
  for (const name of Object.keys(handlers)) {
    source.addEventListener(name, (event) => {
      try { handlers[name](JSON.parse(event.data)); } catch (e) { console.error(name, e); }
    });
  }
}

document.getElementById('token').value = token;
document.getElementById('use-token').onclick = () => {
  token = document.getElementById('token').value;
  localStorage.setItem('callstream-token', token);
  document.getElementById('auth').hidden = true;
  connect();
};
connect();
</script></body></html>
)";

}  // namespace callstreamd
