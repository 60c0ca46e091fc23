// Small DOM helpers: text goes in as text (never as HTML).

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

/** h('li', {class: 'x', dataset: {state: 'ready'}}, 'text', child) */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'dataset') Object.assign(element.dataset, value);
    else if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** A clone of <template id=name> with its [data-field] elements filled with text. */
export function fill(templateId, fields = {}) {
  const fragment = document.getElementById(templateId).content.firstElementChild.cloneNode(true);
  for (const [field, value] of Object.entries(fields)) {
    const target = fragment.querySelector(`[data-field="${field}"]`);
    if (target) target.textContent = value ?? '';
  }
  return fragment;
}

export function bind(name, root = document) { return root.querySelector(`[data-bind="${name}"]`); }

export function toast(message, kind = 'info') {
  const region = bind('toasts');
  if (!region) return;
  const item = h('div', { class: 'toast', dataset: { kind } }, message);
  region.append(item);
  setTimeout(() => item.remove(), 6000);
}

/** An APIError as one line: the message and the trace id to look up in the audit log. */
export function describe(error) {
  return error.traceId ? `${error.message} (trace ${error.traceId})` : error.message;
}

const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
export function ago(iso) {
  if (!iso) return '';
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  const units = [['day', 86400], ['hour', 3600], ['minute', 60], ['second', 1]];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size || unit === 'second') return relative.format(Math.round(seconds / size), unit);
  }
  return '';
}

export function sparkline(svg, values) {
  const polyline = svg.querySelector('polyline');
  const max = Math.max(1, ...values);
  const step = values.length > 1 ? 140 / (values.length - 1) : 140;
  polyline.setAttribute('points', values.map((v, i) => `${(i * step).toFixed(1)},${(34 - (v / max) * 32).toFixed(1)}`).join(' '));
  svg.setAttribute('aria-label', `Last ${values.length} days: ${values.join(', ')}`);
}
