/*
 * Parley web chat widget. A site embeds it with one tag:
 *
 *   <script src="https://chat.example.com/widget.js" async></script>
 *
 * It finds its server from its own src, so the same file works on any site
 * whose origin the server allows. data-open="true" on the tag opens the chat
 * panel at load. Customer, bot and agent text is only ever put into the page
 * with textContent: nothing that comes over the wire is parsed as HTML.
 *
 * The protocol is documented in the Go package bot/webchat.
 */
(function (config) {
  'use strict';

  const script = document.currentScript;
  if (!script || !script.src) {
    console.warn('parley: widget.js must be loaded with a <script src> tag');
    return;
  }
  if (window.__parleyWidget) return; // the tag was included twice
  window.__parleyWidget = true;

  const src = new URL(script.src, document.baseURI);
  const wsURL = (src.protocol === 'https:' ? 'wss:' : 'ws:') + '//' + src.host + '/ws';
  const keyToken = 'parley.token@' + src.host;
  const keyPending = 'parley.pending@' + src.host;
  const keyOpen = 'parley.open@' + src.host;
  // A site that knows its customer signs the id on its server (see the Go
  // package bot/webchat, identity.go); without the three attributes the
  // visitor is anonymous.
  let identity = null;
  if (script.dataset.customerId && script.dataset.customerSig) {
    identity = {
      id: script.dataset.customerId,
      ts: parseInt(script.dataset.customerTs || '0', 10),
      sig: script.dataset.customerSig,
    };
  }
  const maxBytes = config.maxBytes || 4096;
  // Interface texts in the site's language: the tag's data-lang, else the
  // bot's default language, else the page's <html lang>.
  const STRINGS = {
    en: {
      open: 'Open chat', close: 'Close chat', chat: 'Chat', conversation: 'Conversation',
      yourMessage: 'Your message', placeholder: 'Type a message\u2026', send: 'Send message',
      answering: '{name} is answering', online: 'Assistant \u00B7 online', bot: 'Bot',
      sending: 'Sending\u2026', notSent: 'Not sent', choices: 'Choices',
      tooLong: 'Message too long ({size} of {max} bytes)', connecting: 'Connecting\u2026',
      reconnecting: 'Reconnecting\u2026', typing: '{name} is typing\u2026', error: 'Something went wrong',
      busy: 'The chat is busy right now. We\u2019ll reconnect in a minute.',
      queued: 'In the queue: you are #{n}', queuedWait: 'In the queue: you are #{n}, wait ~{m} min',
      agent: 'Agent {name}', agentTyping: 'Agent is typing\u2026',
      received: 'received', joined: 'added to your request', read: 'read by the agent',
      attach: 'Attach a photo or a file', uploading: 'Sending the file\u2026', file: 'File',
    },
    ru: {
      open: 'Открыть чат', close: 'Закрыть чат', chat: 'Чат',
      conversation: 'Переписка', yourMessage: 'Ваше сообщение',
      placeholder: 'Напишите сообщение…', send: 'Отправить',
      answering: 'Отвечает {name}', online: 'Ассистент \u00B7 онлайн', bot: 'Бот',
      sending: 'Отправляется…', notSent: 'Не отправлено', choices: 'Варианты',
      tooLong: 'Слишком длинное сообщение ({size} из {max} байт)',
      connecting: 'Подключение…', reconnecting: 'Переподключение…',
      typing: '{name} печатает…', error: 'Что-то пошло не так',
      busy: 'Чат сейчас перегружен. Подключимся снова через минуту.',
      queued: 'В очереди: вы №{n}', queuedWait: 'В очереди: вы №{n}, ожидание ~{m} мин',
      agent: 'Оператор {name}', agentTyping: 'Оператор печатает…',
      received: 'получено', joined: 'передано оператору', read: 'прочитано оператором',
      attach: 'Прикрепить фото или файл', uploading: 'Отправляем файл\u2026', file: 'Файл',
    },
  };
  const lang = (script.dataset.lang || config.lang || document.documentElement.lang || 'en').slice(0, 2).toLowerCase();
  const T = STRINGS[lang] || STRINGS.en;
  const encoder = new TextEncoder();

  // localStorage can throw (private mode, sandboxed frames): the chat then
  // still works, it just forgets the visitor on reload.
  function load(key, fallback) {
    try {
      const v = localStorage.getItem(key);
      return v === null ? fallback : JSON.parse(v);
    } catch (e) {
      return fallback;
    }
  }
  function store(key, value) {
    try {
      if (value === null) localStorage.removeItem(key);
      else localStorage.setItem(key, JSON.stringify(value));
    } catch (e) { /* see load */ }
  }

  function newID() {
    const b = new Uint8Array(12);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  }

  function el(tag, className, attrs) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (attrs) for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }

  // icon makes a small SVG from a path: no icon font or emoji font needed.
  function icon(d) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    const path = document.createElementNS(ns, 'path');
    path.setAttribute('d', d);
    svg.appendChild(path);
    return svg;
  }

  // ---- the DOM -------------------------------------------------------------

  const css = el('link', '', { rel: 'stylesheet', href: new URL('/widget.css', src).href });
  document.head.appendChild(css);

  const root = el('div', 'parley-root', { id: 'parley-widget' });
  const launcher = el('button', 'parley-launcher', {
    type: 'button', 'aria-label': T.open, 'aria-expanded': 'false', 'aria-controls': 'parley-panel',
  });
  launcher.appendChild(icon('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z'));
  const badge = el('span', 'parley-badge', { 'aria-hidden': 'true' });
  badge.hidden = true;
  launcher.appendChild(badge);

  const panel = el('section', 'parley-panel', { id: 'parley-panel', role: 'dialog', 'aria-label': config.title || T.chat });
  panel.hidden = true;
  const header = el('header', 'parley-header');
  const heading = el('div', 'parley-heading');
  const title = el('h2', 'parley-title');
  title.textContent = config.title || T.chat;
  const status = el('div', 'parley-status', { 'aria-live': 'polite' });
  heading.append(title, status);
  const close = el('button', 'parley-close', { type: 'button', 'aria-label': T.close });
  close.textContent = '\u00D7';
  header.append(heading, close);

  const log = el('div', 'parley-log', { role: 'log', 'aria-live': 'polite', 'aria-label': T.conversation, tabindex: '0' });
  const typing = el('div', 'parley-typing', { 'aria-live': 'polite' });
  typing.hidden = true;
  const dots = el('span', 'parley-dots', { 'aria-hidden': 'true' });
  dots.append(el('i'), el('i'), el('i'));
  const typingText = el('span', 'parley-typing-text');
  typing.append(dots, typingText);

  const form = el('form', 'parley-form');
  const input = el('textarea', 'parley-input', { rows: '1', 'aria-label': T.yourMessage, placeholder: T.placeholder, enterkeyhint: 'send' });
  const send = el('button', 'parley-send', { type: 'submit', 'aria-label': T.send });
  send.appendChild(icon('M3 20.5 21 12 3 3.5 3 10l12 2-12 2z'));
  // Attachments: the picker's file is uploaded (POST /files), then sent as
  // a message that names it (see the Go package bot/webchat, files.go).
  const attach = el('button', 'parley-attach', { type: 'button', 'aria-label': T.attach, title: T.attach });
  attach.appendChild(icon('M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9v9a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z'));
  const picker = el('input', 'parley-picker', { type: 'file', accept: 'image/*,application/pdf,.txt,.doc,.docx,.xls,.xlsx', hidden: '' });
  form.append(attach, picker, input, send);
  panel.append(header, log, typing, form);
  root.append(launcher, panel);

  function mount() { document.body.appendChild(root); }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);

  // ---- state ---------------------------------------------------------------

  const shown = new Map();        // message id -> element: nothing shows twice
  let pending = load(keyPending, []); // unacknowledged messages, oldest first
  let ws = null;
  let ready = false;              // hello and history received on ws
  let attempt = 0;                // reconnect attempt, for the backoff
  let reconnectTimer = 0;
  let busyUntil = 0;              // the server asked us to come back later (1013)
  let pingTimer = 0;
  let typingTimer = 0;
  let flushTimer = 0;
  let unread = 0;
  let answering = '';             // '' bot, or the agent's name
  let waiting = null;             // the last "queue" frame while a person is involved
  let typedAt = 0;                // when our typing was last reported
  let live = new Set();           // ids received on this connection before its history
  let readUntil = 0;              // the agent read our messages up to this time (ms)
  let seenSent = 0;               // the newest agent reply we told the server we saw (ms)

  function savePending() { store(keyPending, pending.length ? pending : null); }

  function setStatus(text) { status.textContent = text; }
  function showAnswering() {
    if (waiting && waiting.state === 'queued') {
      setStatus((waiting.wait ? T.queuedWait : T.queued).replace('{n}', waiting.position || 1).replace('{m}', waiting.wait));
    } else if (waiting && waiting.state === 'agent') {
      setStatus(T.agent.replace('{name}', waiting.agent || ''));
    } else {
      setStatus(answering ? T.answering.replace('{name}', answering) : T.online);
    }
  }

  // ---- rendering -----------------------------------------------------------

  function fmtTime(at) {
    const d = new Date(at);
    return isNaN(d) ? '' : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  // render makes the element of one message. m: {id, dir, text, sender, at, buttons, image, state}
  function render(m) {
    const out = m.dir === 'out';
    const agent = out && m.sender;
    const item = el('div', 'parley-msg ' + (out ? 'parley-out' : 'parley-in') + (agent ? ' parley-agent' : ''));
    item.dataset.id = m.id;
    item.dataset.at = String(Date.parse(m.at) || Date.now());
    if (out) {
      const who = el('div', 'parley-sender');
      who.textContent = agent ? m.sender : T.bot;
      item.appendChild(who);
    }
    const bubble = el('div', 'parley-bubble');
    bubble.textContent = m.text;
    item.appendChild(bubble);
    if (m.image && /^https?:\/\//.test(m.image)) {
      const img = el('img', 'parley-image', { alt: '', loading: 'lazy' });
      img.src = m.image;
      item.appendChild(img);
    }
    if (m.files && m.files.length) item.appendChild(renderFiles(m.files));
    const meta = el('div', 'parley-meta');
    item.appendChild(meta);
    setState(item, m.state || 'sent');
    if (out && m.buttons && m.buttons.length) item.appendChild(renderButtons(m.buttons));
    return item;
  }

  // renderFiles shows attachments: pictures inline, other files as links.
  // Only the server's own /files/ links are followed.
  function renderFiles(files) {
    const box = el('div', 'parley-files');
    for (const f of files) {
      if (typeof f.url !== 'string' || f.url.indexOf('/files/') !== 0) continue;
      const href = new URL(f.url, src).href;
      const a = el('a', f.kind === 'image' ? 'parley-file-image' : 'parley-file', { href: href, target: '_blank', rel: 'noopener' });
      if (f.kind === 'image') {
        const img = el('img', 'parley-image', { alt: f.name || '', loading: 'lazy' });
        img.src = href;
        a.appendChild(img);
      } else {
        a.textContent = (f.name || T.file) + (f.size ? ' (' + fmtSize(f.size) + ')' : '');
      }
      box.appendChild(a);
    }
    return box;
  }

  function fmtSize(n) {
    if (n >= 1048576) return (n / 1048576).toFixed(1) + ' MB';
    if (n >= 1024) return Math.round(n / 1024) + ' KB';
    return n + ' B';
  }

  function setState(item, state, detail) {
    item.classList.toggle('parley-pending', state === 'pending');
    item.classList.toggle('parley-failed', state === 'failed');
    const meta = item.querySelector('.parley-meta');
    const time = fmtTime(Number(item.dataset.at));
    if (state === 'pending') meta.textContent = T.sending;
    else if (state === 'failed') meta.textContent = T.notSent + (detail ? ': ' + detail : '');
    else meta.textContent = time;
    if (state === 'sent' && item.classList.contains('parley-in')) {
      // The server acknowledges only what it recorded: a visible mark that
      // the message arrived (while a person is involved: joined the ticket).
      const mark = el('span', 'parley-mark', { title: waiting ? T.joined : T.received });
      mark.textContent = ' \u2713' + (detail ? ' ' + detail : '');
      meta.appendChild(mark);
      if (Number(item.dataset.at) <= readUntil) markRead(item);
    }
  }

  // markRead shows on one of our messages that the agent has read it.
  function markRead(item) {
    const mark = item.querySelector('.parley-mark');
    if (!mark || mark.classList.contains('parley-read')) return;
    mark.classList.add('parley-read');
    mark.title = T.read;
    mark.textContent = ' \u2713\u2713 ' + T.read;
  }

  // readTo marks our messages up to until (an RFC 3339 time from the
  // server) read: only the web chat has read marks.
  function readTo(until) {
    const at = Date.parse(until);
    if (!(at > readUntil)) return;
    readUntil = at;
    for (const item of log.querySelectorAll('.parley-in')) {
      if (Number(item.dataset.at) <= readUntil && !item.classList.contains('parley-pending') && !item.classList.contains('parley-failed')) markRead(item);
    }
  }

  // reportSeen tells the server once per agent reply that it is on screen
  // (the panel open in a visible tab): the agent's console shows it.
  function reportSeen() {
    if (!ws || ws.readyState !== 1 || !ready || panel.hidden || document.visibilityState !== 'visible') return;
    let newest = 0;
    for (const n of log.querySelectorAll('.parley-agent')) newest = Math.max(newest, Number(n.dataset.at));
    if (newest > seenSent) {
      seenSent = newest;
      ws.send('{"type":"seen"}');
    }
  }

  function renderButtons(buttons) {
    const group = el('div', 'parley-buttons', { role: 'group', 'aria-label': T.choices });
    for (const b of buttons) {
      const btn = el('button', 'parley-button', { type: 'button' });
      btn.textContent = b.text;
      btn.addEventListener('click', () => press(b));
      group.appendChild(btn);
    }
    return group;
  }

  // Only the latest bot message keeps its buttons: once the conversation
  // moves on, old choices would answer a question no longer asked.
  function dropButtons() {
    for (const g of log.querySelectorAll('.parley-buttons')) g.remove();
  }

  // place inserts an element in time order (history can arrive after live
  // messages when the connection is new) and remembers its id.
  function place(item) {
    shown.set(item.dataset.id, item);
    const at = Number(item.dataset.at);
    let before = null;
    for (let n = log.lastElementChild; n; n = n.previousElementSibling) {
      if (Number(n.dataset.at) <= at) break;
      before = n;
    }
    log.insertBefore(item, before);
    if (item.querySelector('.parley-buttons')) {
      for (const g of log.querySelectorAll('.parley-buttons')) {
        if (!item.contains(g)) g.remove();
      }
    }
    log.scrollTop = log.scrollHeight;
  }

  function showMessage(m) {
    if (shown.has(m.id)) return false;
    if (m.dir === 'in' || (m.buttons && m.buttons.length)) dropButtons();
    place(render(m));
    return true;
  }

  // rebuild shows the history the server sent, replacing what was shown
  // before (after a reconnect the server's view is the truth, whatever ids it
  // uses), but keeps messages not yet acknowledged and those that arrived on
  // this connection before the history did.
  function rebuild(items) {
    for (const [id, item] of shown) {
      const keep = live.has(id) || item.classList.contains('parley-pending') || item.classList.contains('parley-failed');
      if (!keep) {
        item.remove();
        shown.delete(id);
      }
    }
    for (const it of items) showMessage(it);
  }

  function hideTyping() {
    clearTimeout(typingTimer);
    typing.hidden = true;
  }

  // ---- sending -------------------------------------------------------------

  function queue(p) {
    pending.push(p);
    savePending();
    dropButtons();
    place(render({ id: p.id, dir: 'in', text: p.text, files: p.files, at: p.at, state: 'pending' }));
    flush();
  }

  // upload sends a picked file to the server and then a message naming it.
  function upload(file) {
    const token = load(keyToken, '');
    if (!ready || !token) {
      setStatus(T.connecting);
      connect();
      return;
    }
    setStatus(T.uploading);
    fetch(new URL('/files?name=' + encodeURIComponent(file.name || ''), src).href, {
      method: 'POST', headers: { 'X-Parley-Token': token }, body: file,
    }).then((r) => r.json().then((body) => {
      if (!r.ok) throw new Error(body.error || T.error);
      showAnswering();
      const text = input.value.trim();
      input.value = '';
      autosize();
      queue({ type: 'message', id: newID(), text: text, files: [body], at: new Date().toISOString() });
    })).catch((e) => {
      setStatus(e.message || T.error);
      setTimeout(showAnswering, 6000);
    });
  }

  function submit() {
    const text = input.value.trim();
    if (!text) return;
    const size = encoder.encode(text).length;
    if (size > maxBytes) {
      setStatus(T.tooLong.replace('{size}', size).replace('{max}', maxBytes));
      return;
    }
    input.value = '';
    typedAt = 0; // what they type next is a new message: tell it at once
    autosize();
    queue({ type: 'message', id: newID(), text: text, at: new Date().toISOString() });
  }

  function press(b) {
    queue({ type: 'button', id: newID(), value: b.value, text: b.text, at: new Date().toISOString() });
  }

  // flush sends every unacknowledged message, in order, with its original id:
  // the server drops duplicates by id, so a re-send never doubles a message.
  function flush() {
    clearTimeout(flushTimer);
    if (!ready) {
      if (!ws) connect();
      return;
    }
    for (const p of pending) {
      if (p.wait && p.wait > Date.now()) continue;
      const f = { type: p.type, id: p.id, text: p.text };
      if (p.type === 'button') f.value = p.value;
      if (p.files) f.files = p.files.map((x) => x.id);
      ws.send(JSON.stringify(f));
      p.wait = Date.now() + 10000; // re-send if no ack comes
    }
    const next = Math.min.apply(null, pending.map((p) => p.wait || Infinity));
    if (isFinite(next)) flushTimer = setTimeout(flush, Math.max(100, next - Date.now()));
  }

  function settle(id, state, detail) {
    pending = pending.filter((p) => p.id !== id);
    savePending();
    const item = shown.get(id);
    if (item) setState(item, state, detail);
  }

  // ---- the connection ------------------------------------------------------

  function connect() {
    if (ws) return;
    // While the server is busy, sending a message waits for the scheduled
    // reconnect instead of trying again at once.
    if (Date.now() < busyUntil) return;
    clearTimeout(reconnectTimer);
    setStatus(T.connecting);
    let sock;
    try {
      sock = new WebSocket(wsURL);
    } catch (e) {
      schedule();
      return;
    }
    ws = sock;
    sock.onopen = () => {
      // The browser's language: the greeting of a new conversation comes
      // in it when the bot speaks it.
      const hello = { type: 'hello', batch: true, lang: navigator.language || '',
        // For the agent's card: the page without its query (it may hold
        // tokens) and the browser.
        page: location.protocol.startsWith('http') ? location.origin + location.pathname : '',
        browser: navigator.userAgent || '' };
      const token = load(keyToken, '');
      if (token) hello.token = token;
      if (identity) hello.identity = identity;
      sock.send(JSON.stringify(hello));
    };
    sock.onmessage = (ev) => {
      // One frame may carry several objects, one per line (an ack with
      // the replies of its turn).
      for (const line of String(ev.data).split('\n')) {
        let f;
        try {
          f = JSON.parse(line);
        } catch (e) {
          continue;
        }
        receive(f);
      }
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      ws = null;
      ready = false;
      clearInterval(pingTimer);
      hideTyping();
      if (ev.code === 1008 && /token/.test(ev.reason)) {
        // The server does not know our token (forged, or its key changed):
        // start over as a new visitor rather than retrying forever.
        store(keyToken, null);
      }
      if (ev.code === 1008 && /^identity/.test(ev.reason)) {
        // The site's signature is refused (wrong secret, or too old): chat
        // on as an anonymous visitor instead of retrying forever.
        console.warn('parley: customer identity refused: ' + ev.reason);
        identity = null;
      }
      if (ev.code === 1013) {
        // A flood limit of the server (too many new chats or open chats
        // from this network, or the server is full): say so in one line
        // and come back in about a minute, not in a burst of retries.
        setStatus(T.busy);
        busyUntil = Date.now() + schedule(60000);
        return;
      }
      setStatus(T.reconnecting);
      schedule();
    };
  }

  // schedule reconnects after an exponential backoff (at least floor ms,
  // with jitter) and returns the delay.
  function schedule(floor) {
    clearTimeout(reconnectTimer);
    const delay = Math.max(floor || 0, Math.min(15000, 500 * Math.pow(2, attempt))) * (0.5 + Math.random() / 2);
    attempt++;
    reconnectTimer = setTimeout(() => { busyUntil = 0; connect(); }, delay);
    return delay;
  }

  function receive(f) {
    switch (f.type) {
      case 'hello':
        live = new Set();
        waiting = null; // the server sends the queue state after the history
        store(keyToken, f.token);
        attempt = 0;
        showAnswering();
        pingTimer = setInterval(() => { if (ws) ws.send('{"type":"ping"}'); }, 25000);
        break;
      case 'history':
        rebuild(f.items || []);
        // Pick up who answered last.
        for (const it of f.items || []) if (it.dir === 'out') answering = it.sender || '';
        showAnswering();
        ready = true;
        for (const p of pending) delete p.wait;
        flush();
        reportSeen();
        break;
      case 'message':
        if (!ready) live.add(f.id);
        hideTyping();
        answering = f.sender || '';
        showAnswering();
        if (showMessage({ id: f.id, dir: 'out', text: f.text, buttons: f.buttons, image: f.image, files: f.files, sender: f.sender, at: f.at }) && panel.hidden) {
          unread++;
          badge.textContent = String(unread);
          badge.hidden = false;
        }
        if (f.sender) reportSeen();
        break;
      case 'echo': // our own message, sent from another tab
        if (!ready) live.add(f.id);
        showMessage({ id: f.id, dir: 'in', text: f.text, files: f.files, at: f.at });
        break;
      case 'queue':
        waiting = f.state === 'queued' || f.state === 'agent' ? f : null;
        if (f.state === 'agent') answering = f.agent || '';
        if (f.state === 'bot') answering = '';
        if (f.read_until) readTo(f.read_until);
        showAnswering();
        break;
      case 'typing':
        typingText.textContent = f.sender ? T.agentTyping : T.typing.replace('{name}', answering || T.bot);
        typing.hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(hideTyping, 6000);
        break;
      case 'ack':
        settle(f.id, 'sent', waiting ? T.joined : '');
        break;
      case 'error':
        failure(f);
        break;
    }
  }

  function failure(f) {
    const p = pending.find((x) => x.id === f.id);
    if (p && (f.code === 'rate_limited' || f.code === 'retry')) {
      p.wait = Date.now() + (f.code === 'rate_limited' ? 2000 : 3000);
      const item = shown.get(p.id);
      if (item) item.querySelector('.parley-meta').textContent = f.code === 'rate_limited' ? 'Waiting\u2026' : 'Retrying\u2026';
      flush();
      return;
    }
    if (p) {
      settle(f.id, 'failed', f.error);
      return;
    }
    setStatus(f.error || T.error);
    setTimeout(showAnswering, 4000);
  }

  // ---- the panel -----------------------------------------------------------

  function open() {
    panel.hidden = false;
    root.classList.add('parley-open');
    launcher.setAttribute('aria-expanded', 'true');
    launcher.setAttribute('aria-label', T.close);
    unread = 0;
    badge.hidden = true;
    store(keyOpen, true);
    connect();
    log.scrollTop = log.scrollHeight;
    if (window.matchMedia('(min-width: 481px)').matches) input.focus();
    reportSeen();
  }

  function shut() {
    panel.hidden = true;
    root.classList.remove('parley-open');
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-label', T.open);
    store(keyOpen, null);
    launcher.focus();
  }

  // autosize grows the input with its text, up to about five lines.
  function autosize() {
    input.style.height = '';
    if (input.scrollHeight > input.clientHeight) {
      input.style.height = Math.min(input.scrollHeight + 2, 120) + 'px';
    }
  }

  launcher.addEventListener('click', () => (panel.hidden ? open() : shut()));
  document.addEventListener('visibilitychange', reportSeen);
  close.addEventListener('click', shut);
  panel.addEventListener('keydown', (e) => { if (e.key === 'Escape') shut(); });
  attach.addEventListener('click', () => picker.click());
  picker.addEventListener('change', () => {
    for (const file of picker.files) upload(file);
    picker.value = '';
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    submit();
  });
  let shiftHeld = false;
  input.addEventListener('keydown', (e) => {
    shiftHeld = e.shiftKey;
    // Enter sends; Shift+Enter is a new line; never while an IME composes.
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  // Virtual keyboards often send no usable keydown for Enter (key code 229)
  // and go straight to inserting a line break: treat that as send too.
  input.addEventListener('beforeinput', (e) => {
    if ((e.inputType === 'insertLineBreak' || (e.inputType === 'insertText' && e.data === '\n')) && !shiftHeld && !e.isComposing) {
      e.preventDefault();
      submit();
    }
  });
  input.addEventListener('keyup', () => { shiftHeld = false; });
  input.addEventListener('input', autosize);
  // While a person is involved, tell them we are typing, at most every 3 s.
  input.addEventListener('input', () => {
    if (!waiting || !ready || !input.value.trim() || Date.now() - typedAt < 3000) return;
    typedAt = Date.now();
    ws.send('{"type":"typing"}');
  });

  // Messages not acknowledged before the last reload are shown as pending and
  // sent again once connected.
  for (const p of pending) {
    delete p.wait;
    place(render({ id: p.id, dir: 'in', text: p.text, files: p.files, at: p.at, state: 'pending' }));
  }

  if (script.dataset.open === 'true' || load(keyOpen, false)) open();
  else if (load(keyToken, '') || pending.length) connect(); // a returning visitor gets replies live
})(/*PARLEY_CONFIG*/{});
