// The persona's desktop: noVNC (Debian's 1.3.0, served under /console/static/<version>/novnc/)
// over /api/personas/{id}/desktop/vnc. The control plane authenticates to the persona's VNC
// server itself, so this page never holds the VNC password; only editors and owners may open it.
import { accessToken, api, session } from '../api.js';
import { $, bind, describe } from '../dom.js';

const writeRoles = new Set(['editor', 'owner']);

// Why the server closed the socket (DesktopSocketController's codes).
const closeReasons = {
  4401: 'Your session ended: sign in again.',
  4403: 'The desktop needs the editor role on this persona.',
  4404: 'This persona does not exist or is not visible to you.',
  4409: 'The desktop is not available',
  4502: 'The persona’s VNC server did not answer',
  4408: 'The desktop did not answer in time',
};

function setState(state, text) {
  const badge = bind('desktop-state');
  badge.dataset.state = state;
  badge.textContent = state;
  bind('desktop-status').textContent = text;
  document.documentElement.dataset.desktop = state;
}

export async function mount({ id }) {
  const persona = (await api(`/api/personas/${id}`)).data;
  document.title = `${persona.name} desktop · Persona Platform`;
  bind('persona-link').textContent = persona.name;
  const note = bind('desktop-note');
  if (!writeRoles.has(persona.role)) {
    setState('failed', 'Not available to viewers');
    note.hidden = false;
    note.textContent = 'The desktop is full control of the persona’s screen: it needs the editor or owner role.';
    return;
  }
  let RFB;
  try {
    ({ default: RFB } = await import('../../novnc/core/rfb.js'));
  } catch {
    setState('failed', 'The viewer is missing');
    note.hidden = false;
    note.textContent = 'noVNC is not installed on this control plane: run scripts/fetch-novnc and set CONSOLE_NOVNC_DIR.';
    return;
  }
  const screen = bind('screen');
  const reconnect = $('[data-action="desktop-reconnect"]');
  const disconnect = $('[data-action="desktop-disconnect"]');
  let rfb = null;

  const connect = async () => {
    await session();
    reconnect.hidden = true;
    setState('starting', 'Connecting… (a stopped or paused persona is woken first)');
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const socket = new WebSocket(`${scheme}//${location.host}/api/personas/${id}/desktop/vnc`, ['binary', `bearer.${accessToken()}`]);
    socket.binaryType = 'arraybuffer';
    let closed = null;
    socket.addEventListener('close', (event) => { closed = event; });
    rfb = new RFB(screen, socket, { shared: true });
    rfb.scaleViewport = true;
    rfb.resizeSession = false;
    rfb.addEventListener('connect', () => {
      setState('ready', 'Connected: keyboard and mouse go to the persona’s screen');
      disconnect.hidden = false;
      rfb.focus();
    });
    rfb.addEventListener('disconnect', () => {
      disconnect.hidden = true;
      reconnect.hidden = false;
      const reason = closed && closeReasons[closed.code];
      if (reason) setState('failed', closed.reason && closed.code !== 4401 && closed.code !== 4403 ? `${reason}: ${closed.reason}` : reason);
      else setState('stopped', 'Disconnected');
      rfb = null;
    });
    rfb.addEventListener('securityfailure', (event) => setState('failed', `Refused: ${event.detail?.reason ?? 'security failure'}`));
  };
  reconnect.addEventListener('click', () => connect().catch((error) => setState('failed', describe(error))));
  disconnect.addEventListener('click', () => rfb?.disconnect());
  window.addEventListener('pagehide', () => rfb?.disconnect());
  await connect();
}
