import { api } from '../api.js';
import { bind, fill, sparkline } from '../dom.js';

const number = new Intl.NumberFormat();
const percent = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 });

function duration(ms) {
  if (ms === null || ms === undefined) return 'no runs finished';
  return ms < 1000 ? `${ms} ms` : ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60000).toFixed(1)} min`;
}

/** Storytelling cards: a figure, a sentence that says what it means, 14 days as a sparkline. */
export function cards(d) {
  const states = d.personas.byState;
  return [
    { title: 'Personas', figure: number.format(d.personas.total),
      story: `${states.ready ?? 0} ready, ${states.paused ?? 0} paused, ${(states.failed ?? 0) + (states.unhealthy ?? 0)} in trouble; ${d.personas.activeToday} active today.`,
      series: d.personas.activeDaily },
    { title: 'Runs today', figure: number.format(d.runs.today),
      story: `${number.format(d.runs.last7Days)} in 7 days, ${d.runs.successRate7Days === null || d.runs.successRate7Days === undefined ? 'none finished' : `${percent.format(d.runs.successRate7Days)} succeeded`}; median ${duration(d.runs.medianDurationMs7Days)}.`,
      series: d.runs.daily },
    { title: 'Tool calls', figure: number.format(d.toolCalls.today),
      story: d.toolCalls.topTools.length ? `Most used this week: ${d.toolCalls.topTools.map((t) => `${t.tool} (${t.calls})`).join(', ')}.` : 'No tool calls this week.',
      series: d.toolCalls.daily },
    { title: 'Waiting for approval', figure: number.format(d.approvals.waiting),
      story: d.approvals.waiting ? `${d.approvals.runsWaiting} run(s) wait for someone to approve a step.` : 'Nothing waits for you.',
      series: d.approvals.requestedDaily },
    { title: 'Memory', figure: number.format(d.memory.chunks),
      story: `${number.format(d.memory.documents)} documents (${d.memory.documentsByStatus.failed ?? 0} failed), ${number.format(d.memory.curatedChunks)} curated chunks.`,
      series: d.memory.chunksDaily },
    { title: 'LLM tokens today', figure: number.format(d.llm.tokensToday),
      story: `${number.format(d.llm.callsToday)} calls today; ${d.llm.byModel7Days.map((m) => m.model).join(', ') || 'no model used'} this week.`,
      series: d.llm.tokensDaily },
    { title: 'Open alerts', figure: number.format(d.alerts.open),
      story: d.alerts.open ? Object.entries(d.alerts.openByKind).filter(([, n]) => n).map(([k, n]) => `${n} ${k.replaceAll('_', ' ')}`).join(', ') : 'All personas healthy.',
      series: d.alerts.openedDaily },
  ];
}

export async function mount() {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const dashboard = await api(`/api/dashboard?tz=${encodeURIComponent(zone)}`);
  const data = dashboard.data ?? dashboard;
  const container = bind('cards');
  container.replaceChildren(...cards(data).map((card) => {
    const element = fill('card-template', card);
    sparkline(element.querySelector('[data-field="sparkline"]'), card.series ?? []);
    return element;
  }));
  container.removeAttribute('aria-busy');
}
