// playground.js: a chat with one model of the catalogue, streamed as it comes
// (POST /v1/chat/completions with stream:true, read with fetch + ReadableStream by api.js
// stream()), then the tokens and cost of the usage chunk. The key is the cookie session or a
// pasted API key, which stays in this page's memory only (never stored).
import { api, stream } from '../api.js';
import { h, usd, field } from '../ui.js';

// "12 tokens in, 12 out, cost $0.000036": the gateway's own cost string (gateway_usage.cost,
// exact) when present, else usage.cost (a JSON number, as OpenRouter sends it).
function costLine(u, g) {
  const parts = [`${u.prompt_tokens} tokens in`, `${u.completion_tokens} out`];
  const c = g && g.cost != null ? g.cost : u.cost != null ? String(u.cost) : null;
  if (c != null) parts.push(`cost ${usd(c)}`);
  if (g && g.balance_after != null) parts.push(`balance ${usd(g.balance_after)}`);
  return parts.join(', ');
}

export default {
  id: 'playground',
  title: 'Playground',
  admin: false,
  async render(root) {
    root.append(h('h1', { text: 'Playground' }));
    const model = h('select', { required: true });
    const keySel = h('select', null, h('option', { value: 'session', text: 'This session' }), h('option', { value: 'paste', text: 'Paste a key' }));
    const keyIn = h('input', { type: 'password', attrs: { autocomplete: 'off', spellcheck: 'false' } });
    const keyField = field('API key', keyIn, 'Kept in this page only, never stored.');
    keyField.hidden = true;
    const system = h('textarea', { rows: 2 });
    const msg = h('textarea', { rows: 4, required: true });
    const send = h('button', { type: 'submit', class: 'btn primary', text: 'Send' });
    const stop = h('button', { type: 'button', class: 'btn', text: 'Stop', disabled: true });
    const form = h(
      'form',
      { class: 'card playground', attrs: { 'aria-label': 'Chat' } },
      field('Model', model),
      field('Key', keySel),
      keyField,
      field('System prompt (optional)', system),
      field('Message', msg),
      h('div', { class: 'actions' }, send, stop),
    );
    const answer = h('div', { class: 'answer', attrs: { 'aria-live': 'polite', 'aria-busy': 'false' } });
    const cost = h('p', { class: 'cost', attrs: { 'aria-live': 'polite' } });
    const error = h('p', { class: 'error', attrs: { role: 'alert' } });
    root.append(form, h('section', { attrs: { 'aria-labelledby': 'pg-answer' } }, h('h2', { id: 'pg-answer', text: 'Answer' }), answer, cost, error));

    keySel.addEventListener('change', () => {
      keyField.hidden = keySel.value !== 'paste';
      if (keyField.hidden) keyIn.value = '';
    });
    try {
      const ms = (await api('GET', '/models')).data || [];
      for (const m of ms) model.append(h('option', { value: m.id, text: m.name && m.name !== m.id ? `${m.id} (${m.name})` : m.id }));
    } catch (e) {
      error.textContent = `The catalogue could not be loaded: ${e.message}`;
    }

    let ctl = null;
    stop.addEventListener('click', () => ctl && ctl.abort());
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      if (ctl) return;
      const key = keySel.value === 'paste' ? keyIn.value.trim() : null;
      if (keySel.value === 'paste' && !key) {
        error.textContent = 'Paste an API key, or choose "This session".';
        keyIn.focus();
        return;
      }
      const messages = [];
      if (system.value.trim()) messages.push({ role: 'system', content: system.value });
      messages.push({ role: 'user', content: msg.value });
      answer.replaceChildren();
      cost.textContent = '';
      delete cost.dataset.cost;
      error.textContent = '';
      ctl = new AbortController();
      send.disabled = true;
      stop.disabled = false;
      answer.setAttribute('aria-busy', 'true');
      try {
        const body = { model: model.value, messages, stream: true, stream_options: { include_usage: true } };
        await stream('/v1/chat/completions', body, (ev) => {
          const d = ev.choices && ev.choices[0] && ev.choices[0].delta;
          // Each delta is appended as it arrives: the answer grows while the model writes.
          if (d && d.content) answer.append(d.content);
          if (ev.usage) {
            cost.textContent = costLine(ev.usage, ev.gateway_usage);
            // The exact figures, for whoever reads the page programmatically (the tests).
            cost.dataset.promptTokens = ev.usage.prompt_tokens;
            cost.dataset.completionTokens = ev.usage.completion_tokens;
            if (ev.gateway_usage) {
              cost.dataset.cost = ev.gateway_usage.cost;
              cost.dataset.requestId = ev.gateway_usage.request_id || '';
            }
          }
        }, { key, signal: ctl.signal });
      } catch (err) {
        error.textContent = err && err.name === 'AbortError' ? 'Stopped.' : (err && err.message) || String(err);
      } finally {
        ctl = null;
        send.disabled = false;
        stop.disabled = true;
        answer.setAttribute('aria-busy', 'false');
      }
    });
  },
};
