// The shell every signed-in page shares: the session, the rail, the live column, then the
// page's own module (pages/<name>.js).
import { Live, logout, session } from './api.js';
import { $, $$, ago, bind, describe, h, toast } from './dom.js';

const page = document.body.dataset.page;
const user = await session();
bind('user-name').textContent = user.name || user.email;
bind('user-role').textContent = user.role;
if (user.role === 'admin') for (const item of $$('[data-admin-only]')) item.hidden = false;

$('[data-action="logout"]').addEventListener('click', () => logout());
const rail = $('nav.rail');
$('.rail-toggle').addEventListener('click', (event) => {
  const open = rail.toggleAttribute('data-open');
  event.currentTarget.setAttribute('aria-expanded', String(open));
});

const status = bind('live-status');
const live = new Live((state) => {
  status.dataset.state = state;
  status.textContent = state === 'live' ? 'Live' : 'Reconnecting…';
});
const activity = bind('activity');
live.subscribe('alerts', (frame) => {
  if (frame.type !== 'event') return;
  const alert = frame.data ?? {};
  activity.prepend(h('li', {}, `${frame.event === 'alert.opened' ? 'Alert' : 'Resolved'}: ${alert.message ?? alert.kind ?? ''}`,
    h('time', { datetime: frame.at }, ago(frame.at))));
});

export const context = { user, live, activity, id: document.body.dataset.id };
try {
  const module = await import(`./pages/${page}.js`);
  await module.mount(context);
  // When the page became usable (tests and scripts/bench-console read it).
  document.documentElement.dataset.ready = String(Math.round(performance.now()));
} catch (error) {
  toast(describe(error), 'error');
  throw error;
}
