// Texts of the agent console in Russian and English, shared by the sign-in
// page and the console. The language is the agent's choice, kept in this
// browser (localStorage "parley.lang"); without one it is the project's
// (GET /api/console/lang), Russian for a Russian project.
"use strict";

const I18N = {
  en: {
    fileButton: "File…", fileAttach: "Send a file or a picture to the customer",
    dashboard: "Dashboard", agents: "Agents", status: "Status", online: "online", away: "away", live: "live updates",
    sound: "Sound", desktop: "Notifications", soundHint: "A sound for a new ticket or a customer's reply",
    desktopHint: "A desktop notification for a new ticket or a customer's reply", shortcuts: "Keyboard shortcuts",
    signOut: "Sign out", queue: "Queue", st_open: "open", st_queued: "waiting", st_assigned: "in progress", st_resolved: "resolved",
    searchHint: "Search tickets and messages", noTickets: "No tickets.", pick: "Pick a ticket from the queue.", back: "Back to the queue",
    replyVia: "Reply via", wroteLast: "the customer wrote from here last", customerTyping: "The customer is typing…",
    savedReplies: "Saved replies…", replyHint: "Reply to the customer (Ctrl+Enter sends)", send: "Send", claim: "Claim",
    transfer: "Transfer", reassign: "Reassign", toQueue: "back to the queue", out_bot: "back to the bot", out_csat: "ask for a rating", out_end: "end",
    resolve: "Resolve", customer: "Customer", earlier: "Earlier tickets", noEarlier: "None: the first time.", optedOut: "No promotions", forget: "Erase customer data…",
    whyHuman: "Why a human", reason: "Reason", summary: "Summary", collected: "Collected by the bot", notes: "Internal notes",
    notesHint: "(never sent to the customer)", noteHint: "Note for colleagues", addNote: "Add note", times: "Times",
    close: "Close", addAgent: "Add an agent", loginName: "login name", displayName: "name shown to customers", add: "Add",
    role_agent: "agent", role_lead: "lead", role_admin: "admin", resetPw: "Reset password", remove: "Remove",
    pwTitle: "Choose your password", pwText: "You signed in with a one-time password. Choose your own to continue; the one-time password then stops working.",
    pwOld: "One-time password", pwNew: "New password", pwRepeat: "Repeat the new password", pwSave: "Save and continue",
    pwDiffer: "The two new passwords differ.", loginTitle: "Parley agent console", name: "Name", password: "Password", signIn: "Sign in",
    unreachable: "The server cannot be reached.", signInFailed: "Sign-in failed.",
    allChannels: "all channels", allReasons: "all reasons", allAgents: "all agents", allPriorities: "any priority",
    with: "with {0}", waiting: "waiting {0}", thisTicket: "this ticket", manageReplies: "Saved replies", newReply: "New saved reply", editReply: "Edit saved reply", replyTitle: "title", replyText: "text", anyLang: "any language", save: "Save", cancel: "Cancel", edit: "Edit", fromProject: "from parley.yaml", confirmDeleteReply: "Delete the saved reply “{0}”?", repliesHint: "Variables: {{ contact.name }}, {{ agent.name }}, {{ ticket.id }}, {{ vars.NAME }}.", pf_page: "page", seenByCustomer: "seen by the customer", pf_browser: "browser", noName: "no name given",
    ch_telegram: "Telegram", ch_vk: "VK", ch_web: "Web chat", who_bot: "Bot", who_customer: "Customer", button: "button",
    attachments: "attachments", linked: "linked {0} ({1}, {2})", undoLink: "Undo link",
    t_queued: "queued", t_assigned: "assigned", t_first: "first reply", t_resolved: "resolved", t_reopened: "reopened", t_rating: "rating",
    newTicket: "New ticket: {0}", newReply: "{0} replied", yes: "yes", no: "no", unread: "{0} unread",
    oneTime: "one-time password", tickets: "tickets", confirmRemove: "Remove the account {0}? Their sessions end at once.",
    confirmReset: "Give {0} a new one-time password? They are signed out everywhere.",
    secret: "One-time password for {0}: {1} — hand it over now; it is shown once and opens one sign-in within the set time.",
    apiKeys: "API keys", keyName: "key name (the system using it)", addKey: "Create key", revoke: "Revoke",
    confirmRevoke: "Revoke the API key {0}? Calls with it fail at once.", revokedAt: "revoked {0}",
    keySecret: "API key {0}: {1} — copy it now into the system that calls Parley; it is shown once (Authorization: Bearer <key>).",
    k_next: "next ticket", k_prev: "previous ticket", k_open: "open the selected ticket", k_claim: "claim the ticket", k_reply: "reply box",
    k_send: "send the reply", k_search: "search", k_help: "this help", k_close: "close a panel",
    "prio_normal": "normal", "prio_high": "high", "prio_urgent": "urgent", "prio_low": "low",
  },
  ru: {
    fileButton: "Файл…", fileAttach: "Отправить клиенту файл или картинку",
    dashboard: "Дашборд", agents: "Операторы", status: "Статус", online: "на месте", away: "отошёл", live: "обновления в реальном времени",
    sound: "Звук", desktop: "Уведомления", soundHint: "Звук при новом обращении или ответе клиента",
    desktopHint: "Уведомление на рабочем столе при новом обращении или ответе клиента", shortcuts: "Горячие клавиши",
    signOut: "Выйти", queue: "Очередь", st_open: "открытые", st_queued: "ждут", st_assigned: "в работе", st_resolved: "решённые",
    searchHint: "Поиск по обращениям и сообщениям", noTickets: "Обращений нет.", pick: "Выберите обращение в очереди.", back: "Назад к очереди",
    replyVia: "Ответ через", wroteLast: "клиент писал отсюда последним", customerTyping: "Клиент печатает…",
    savedReplies: "Шаблоны ответов…", replyHint: "Ответ клиенту (Ctrl+Enter — отправить)", send: "Отправить", claim: "Взять",
    transfer: "Передать", reassign: "Переназначить", toQueue: "обратно в очередь", out_bot: "вернуть боту", out_csat: "попросить оценку", out_end: "завершить",
    resolve: "Решено", customer: "Клиент", earlier: "Прошлые обращения", noEarlier: "Нет: обращается впервые.", optedOut: "Отписан от рассылок", forget: "Стереть данные клиента…",
    whyHuman: "Почему оператор", reason: "Причина", summary: "Кратко", collected: "Собрал бот", notes: "Внутренние заметки",
    notesHint: "(клиент их не видит)", noteHint: "Заметка для коллег", addNote: "Добавить заметку", times: "Время",
    close: "Закрыть", addAgent: "Добавить оператора", loginName: "логин", displayName: "имя для клиентов", add: "Добавить",
    role_agent: "оператор", role_lead: "старший", role_admin: "администратор", resetPw: "Сбросить пароль", remove: "Удалить",
    pwTitle: "Придумайте пароль", pwText: "Вы вошли по одноразовому паролю. Задайте свой, чтобы продолжить; одноразовый пароль после этого перестанет действовать.",
    pwOld: "Одноразовый пароль", pwNew: "Новый пароль", pwRepeat: "Новый пароль ещё раз", pwSave: "Сохранить и продолжить",
    pwDiffer: "Новые пароли не совпадают.", loginTitle: "Parley: консоль оператора", name: "Логин", password: "Пароль", signIn: "Войти",
    unreachable: "Сервер недоступен.", signInFailed: "Не удалось войти.",
    allChannels: "все каналы", allReasons: "все причины", allAgents: "все операторы", allPriorities: "любой приоритет",
    with: "у {0}", waiting: "ждёт {0}", thisTicket: "это обращение", manageReplies: "Заготовки", newReply: "Новая заготовка", editReply: "Изменить заготовку", replyTitle: "название", replyText: "текст", anyLang: "любой язык", save: "Сохранить", cancel: "Отмена", edit: "Изменить", fromProject: "из parley.yaml", confirmDeleteReply: "Удалить заготовку «{0}»?", repliesHint: "Переменные: {{ contact.name }}, {{ agent.name }}, {{ ticket.id }}, {{ vars.NAME }}.", pf_page: "страница", seenByCustomer: "клиент просмотрел", pf_browser: "браузер", noName: "имя не указано",
    ch_telegram: "Telegram", ch_vk: "ВКонтакте", ch_web: "Чат на сайте", who_bot: "Бот", who_customer: "Клиент", button: "кнопка",
    attachments: "вложения", linked: "привязан {0} ({1}, {2})", undoLink: "Отменить привязку",
    t_queued: "в очереди", t_assigned: "взято", t_first: "первый ответ", t_resolved: "решено", t_reopened: "открыто снова", t_rating: "оценка",
    newTicket: "Новое обращение: {0}", newReply: "{0} ответил(а)", yes: "да", no: "нет", unread: "{0} непрочитанных",
    oneTime: "одноразовый пароль", tickets: "обращений", confirmRemove: "Удалить учётную запись {0}? Все её сеансы сразу закончатся.",
    confirmReset: "Выдать {0} новый одноразовый пароль? Оператор выйдет на всех устройствах.",
    secret: "Одноразовый пароль для {0}: {1} — передайте его сейчас: он показан один раз и открывает один вход в течение заданного срока.",
    apiKeys: "API-ключи", keyName: "название ключа (система, которая им пользуется)", addKey: "Создать ключ", revoke: "Отозвать",
    confirmRevoke: "Отозвать API-ключ {0}? Запросы с ним сразу перестанут проходить.", revokedAt: "отозван {0}",
    keySecret: "API-ключ {0}: {1} — скопируйте его сейчас в систему, которая обращается к Parley; он показан один раз (Authorization: Bearer <ключ>).",
    k_next: "следующее обращение", k_prev: "предыдущее обращение", k_open: "открыть выбранное", k_claim: "взять обращение", k_reply: "поле ответа",
    k_send: "отправить ответ", k_search: "поиск", k_help: "эта подсказка", k_close: "закрыть панель",
    "prio_normal": "обычный", "prio_high": "высокий", "prio_urgent": "срочный", "prio_low": "низкий",
  },
};

// Human words for the codes tickets carry: reasons, outcomes and the
// variables demo flows collect. An unknown code is shown as words
// ("order_status" -> "Order status").
const LABELS = {
  en: {
    reason: { requested: "Asked for a person", negative: "Unhappy", complaint: "Complaint", order_number: "Order number not recognised",
      timeout: "Did not answer in time", fallback: "The bot did not understand", out_of_scope: "Question the bot cannot answer",
      sentiment: "Unhappy", link_code: "Linking accounts", bad_number: "Wrong order number" },
    outcome: { bot: "back to the bot", csat: "rated", end: "ended" },
    vars: { order: "Order number", order_found: "Order found", order_status: "Order status", order_eta: "Expected delivery",
      complaint: "Complaint", name: "Name", phone: "Phone", email: "E-mail", page: "Web page", browser: "Browser", order_number: "Order number" },
    role: { agent: "agent", lead: "lead", admin: "admin" },
  },
  ru: {
    reason: { requested: "Попросил оператора", negative: "Недоволен", complaint: "Жалоба", order_number: "Не распознан номер заказа",
      timeout: "Не ответил вовремя", fallback: "Бот не понял", out_of_scope: "Вопрос вне компетенции бота",
      sentiment: "Недоволен", link_code: "Привязка аккаунтов", bad_number: "Неверный номер заказа" },
    outcome: { bot: "возвращён боту", csat: "оценён", end: "завершён" },
    vars: { order: "Номер заказа", order_found: "Заказ найден", order_status: "Статус заказа", order_eta: "Ожидаемая доставка",
      complaint: "Жалоба", name: "Имя", phone: "Телефон", email: "Эл. почта", page: "Страница сайта", browser: "Браузер", order_number: "Номер заказа" },
    role: { agent: "оператор", lead: "старший", admin: "администратор" },
  },
};

let LANG = "en";

function setLang(lang) {
  LANG = I18N[lang] ? lang : "en";
  document.documentElement.lang = LANG;
}

// tr returns the text for key with {0}, {1}… filled in.
function tr(key, ...args) {
  const s = (I18N[LANG] && I18N[LANG][key]) || I18N.en[key] || key;
  return s.replace(/\{(\d)\}/g, (_, i) => String(args[Number(i)] ?? ""));
}

function humanize(code) {
  const s = String(code || "").replace(/[_.-]+/g, " ").trim();
  return s ? s[0].toUpperCase() + s.slice(1) : "";
}

// VAR_LABELS are the project's own labels of its variables (parley.yaml
// vars:), by variable then language; the console sets them from /api/me.
let VAR_LABELS = {};

// label turns a code of kind (reason, outcome, vars, role) into words.
function label(kind, code) {
  if (kind === "vars" && VAR_LABELS[code]) return VAR_LABELS[code][LANG] || Object.values(VAR_LABELS[code])[0];
  const m = LABELS[LANG] && LABELS[LANG][kind];
  return (m && m[code]) || (kind === "vars" || kind === "reason" ? humanize(code) : String(code || ""));
}

// varValue shows a variable's value: booleans as yes/no.
function varValue(v) {
  if (v === "true") return tr("yes");
  if (v === "false") return tr("no");
  return v;
}

// applyI18n puts the texts on the static parts of the page.
function applyI18n(root) {
  for (const e of root.querySelectorAll("[data-i18n]")) e.textContent = tr(e.dataset.i18n);
  for (const e of root.querySelectorAll("[data-i18n-placeholder]")) e.placeholder = tr(e.dataset.i18nPlaceholder);
  for (const e of root.querySelectorAll("[data-i18n-title]")) e.title = tr(e.dataset.i18nTitle);
}

// pickLang: the agent's choice in this browser, else the project's.
async function pickLang() {
  let lang = "";
  try { lang = localStorage.getItem("parley.lang") || ""; } catch (e) { /* storage off */ }
  if (!I18N[lang]) {
    try {
      const res = await fetch("/api/console/lang", { credentials: "same-origin" });
      lang = (await res.json()).lang;
    } catch (e) { lang = "en"; }
  }
  setLang(lang);
  return LANG;
}
