import { api } from '../api.js';
import { $, bind, describe, h, toast } from '../dom.js';

const finished = new Set(['completed', 'failed', 'cancelled']);

function json(value) {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') {
    try { return JSON.stringify(JSON.parse(value), null, 2); } catch { return value; }
  }
  return JSON.stringify(value, null, 2);
}

function details(summary, value) {
  const text = json(value);
  return text ? h('details', {}, h('summary', {}, summary), h('pre', {}, text)) : null;
}

/** One checkpointed step: an LLM call (model, tokens, latency, the calls it asked for) or tool calls with inputs and outputs. */
function stepItem(step) {
  const d = step.detail ?? {};
  const item = h('li', { dataset: { step: String(step.step), state: 'done' } });
  if (d.kind === 'llm') {
    item.append(h('div', { class: 'step-head' }, h('strong', {}, `Step ${step.step} · LLM`),
      h('span', { class: 'step-meta' }, `${d.model ?? ''} · ${d.promptTokens ?? 0}+${d.completionTokens ?? 0} tokens · ${d.latencyMs ?? 0} ms`)));
    const calls = d.toolCalls ?? [];
    const body = h('div', { class: 'step-body' });
    if (calls.length) body.append(h('p', {}, `Asked for: ${calls.map((c) => c.name).join(', ')}`));
    if (d.output) body.append(h('p', {}, d.output));
    body.append(details('Tool selection', d.toolSelection));
    item.append(body);
  } else if (d.kind === 'tools') {
    item.append(h('div', { class: 'step-head' }, h('strong', {}, `Step ${step.step} · Tools`)));
    const body = h('div', { class: 'step-body' });
    for (const call of d.calls ?? []) {
      if (call.status !== 'succeeded' && call.status !== 'ok') item.dataset.state = call.status === 'rejected' ? 'waiting' : 'failed';
      body.append(h('p', {}, h('strong', {}, call.name), ` · ${call.status} · ${call.durationMs ?? 0} ms`),
        details('Input', call.arguments), details('Output', call.result));
    }
    item.append(body);
  } else {
    item.append(h('div', { class: 'step-head' }, h('strong', {}, `Step ${step.step} · ${step.node}`)), details('Detail', d));
  }
  return item;
}

export async function mount({ live, id, user }) {
  let run = (await api(`/api/runs/${id}`)).data;
  const persona = await api(`/api/personas/${run.personaId}`).then((r) => r.data).catch(() => null);
  const canWrite = persona && ['editor', 'owner'].includes(persona.role);
  const timeline = bind('timeline');
  const link = bind('persona-link');
  link.href = `/personas/${run.personaId}`;
  link.textContent = persona?.name ?? 'persona';
  let streaming = null;

  function render() {
    const status = bind('run-status');
    status.dataset.state = run.status;
    status.textContent = run.status.replaceAll('_', ' ');
    const facts = bind('run-facts');
    const rows = [['Input', run.input], ['Output', run.output], ['Error', run.error], ['Steps', String(run.stepCount)],
      ['Tokens', `${run.promptTokens ?? 0} prompt, ${run.completionTokens ?? 0} completion`]];
    facts.replaceChildren(...rows.filter(([, v]) => v).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      h('dt', {}, 'Trace'), h('dd', {}, h('a', { class: 'mono', href: `/audit?traceId=${run.traceId}` }, run.traceId)));
    $('[data-action="cancel-run"]').hidden = !canWrite || finished.has(run.status);
    const waiting = (run.approvals ?? []).filter((a) => a.status === 'pending');
    const panel = bind('approval');
    panel.hidden = waiting.length === 0;
    bind('approval-calls').replaceChildren(...waiting.map((a) => h('li', {}, h('strong', {}, a.tool), h('pre', {}, json(a.arguments)))));
    bind('approval-form').hidden = !canWrite;
    const items = (run.steps ?? []).map(stepItem);
    if (!finished.has(run.status) && run.status !== 'awaiting_approval' && run.status !== 'queued') {
      streaming = h('li', { dataset: { state: 'running', live: '' } }, h('div', { class: 'step-head' }, h('strong', {}, `Step ${run.stepCount} · working`)),
        h('p', { class: 'step-stream' }));
      items.push(streaming);
    } else {
      streaming = null;
    }
    timeline.replaceChildren(...items);
  }
  render();

  // One fetch at a time, started at once: events that come while it runs ask for one more
  // (a burst of events costs two fetches, and the first shows without waiting).
  let loading = false;
  let again = false;
  const reload = async () => {
    if (loading) { again = true; return; }
    loading = true;
    try {
      do {
        again = false;
        run = (await api(`/api/runs/${id}`)).data;
        render();
      } while (again);
    } catch (error) {
      toast(describe(error), 'error');
    } finally {
      loading = false;
    }
  };
  // A finished run has nothing more to say (its topic would only replay what the page shows).
  if (!finished.has(run.status)) live.subscribe(`run:${id}`, (frame) => {
    if (frame.type === 'end') { reload(); return; }
    if (frame.type !== 'event') return;
    if (frame.event === 'token' && streaming) {
      streaming.querySelector('.step-stream').append(frame.data?.text ?? '');
      return;
    }
    if (frame.event === 'step_started' && streaming) {
      streaming.querySelector('strong').textContent = `Step ${frame.data?.step} · ${frame.data?.node}`;
    }
    reload();
  });

  $('[data-action="cancel-run"]').addEventListener('click', async () => {
    try { run = { ...run, ...(await api(`/api/runs/${id}/cancel`, { method: 'POST' })).data }; render(); } catch (error) { toast(describe(error), 'error'); }
  });
  const form = bind('approval-form');
  for (const [action, approved] of [['approve', true], ['reject', false]]) {
    $(`[data-action="${action}"]`).addEventListener('click', async () => {
      const body = { approved };
      if (form.comment.value.trim()) body.comment = form.comment.value.trim();
      try {
        await api(`/api/runs/${id}/approve`, { method: 'POST', body });
        form.reset();
        reload();
      } catch (error) {
        toast(describe(error), 'error');
      }
    });
  }
  void user;
}
