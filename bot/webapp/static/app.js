/* The Mini App page: Board, Agenda and Charts over /app/api (bot/webapp/api.py).
 *
 * Plain JavaScript, no build step, nothing loaded from elsewhere. Telegram's own script is
 * optional: the signed launch data comes from Telegram.WebApp.initData when it loaded, else
 * from the URL fragment Telegram opens the page with (#tgWebAppData=...). Every human text
 * comes from the session's "texts" (translated by the server); user content only ever goes
 * into the page as text (textContent / text nodes), never as HTML.
 */
"use strict";

(() => {
  // The only texts of the page's own: shown before the session (and its language) is known.
  const FALLBACK = {
    loading: "Loading… · Загрузка…",
    error_auth: "Open this from Telegram again. · Откройте это заново из Telegram.",
    error_network: "No connection. Try again. · Нет связи. Попробуйте ещё раз.",
    error_generic: "Something went wrong. · Что-то пошло не так.",
    retry: "↻",
  };
  const THEME_KEYS = [
    "bg_color", "text_color", "hint_color", "link_color", "button_color",
    "button_text_color", "secondary_bg_color",
  ];
  const TABS = ["board", "agenda", "charts"];
  const PRESETS = ["hour", "evening", "tomorrow", "week"];
  const AGEING_COLORS = {
    not_due: "var(--ok-color)", "1_7": "var(--warn-color)",
    "8_30": "var(--late-color)", "30_plus": "var(--danger-color)",
  };
  const SERIES_COLORS = [
    "var(--button-color)", "#e8913a", "#3aa76d", "#9b59b6", "#16a2b8", "#c0587e", "#7f8c8d",
  ];
  const FRESHNESS_COLORS = [
    "var(--ok-color)", "var(--warn-color)", "var(--late-color)", "var(--danger-color)",
    "var(--hint-color)",
  ];
  const SVG_NS = "http://www.w3.org/2000/svg";

  const state = {
    initData: "",
    texts: {},
    locale: "en",
    timezone: undefined,
    presets: [],
    tab: "board",
    clientId: null,
    ticket: 0,
    started: false,
  };

  const $ = (id) => document.getElementById(id);

  // ---- launch data and theme ---------------------------------------------------------------

  function webApp() {
    const telegram = window.Telegram;
    return telegram && telegram.WebApp ? telegram.WebApp : null;
  }

  function fragment() {
    return new URLSearchParams(location.hash.slice(1));
  }

  function readInitData() {
    const app = webApp();
    if (app && app.initData) return app.initData;
    return fragment().get("tgWebAppData") || "";
  }

  function themeParams() {
    const app = webApp();
    if (app && app.themeParams && Object.keys(app.themeParams).length) return app.themeParams;
    const raw = fragment().get("tgWebAppThemeParams");
    if (raw) {
      try {
        const parsed = JSON.parse(raw);
        if (parsed && typeof parsed === "object") return parsed;
      } catch (_error) {
        // A malformed fragment keeps the default colours.
      }
    }
    return {};
  }

  function applyTheme() {
    const params = themeParams();
    const style = document.documentElement.style;
    for (const key of THEME_KEYS) {
      const value = params[key];
      if (typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        style.setProperty("--" + key.replace(/_/g, "-"), value);
      }
    }
    const app = webApp();
    const scheme = app && app.colorScheme;
    if (scheme === "dark" || scheme === "light") document.documentElement.dataset.scheme = scheme;
  }

  let enhanced = false;

  function enhance() {
    const app = webApp();
    if (!app || enhanced) return;
    enhanced = true;
    try {
      app.ready();
      app.expand();
    } catch (_error) {
      // An old client without these: the page works the same.
    }
    applyTheme();
    if (typeof app.onEvent === "function") app.onEvent("themeChanged", applyTheme);
    if (app.BackButton && typeof app.BackButton.onClick === "function") {
      app.BackButton.onClick(goBack);
    }
    showBackButton(state.clientId !== null);
    // Started before Telegram's script with no launch data in the URL: now there is some.
    if (state.started && !state.initData && app.initData) start();
  }

  function showBackButton(visible) {
    const app = webApp();
    // Inside Telegram its own back button (in the header it draws) is the one; elsewhere ours.
    $("back").hidden = !visible || Boolean(app && app.BackButton);
    if (app && app.BackButton) {
      try {
        if (visible) app.BackButton.show();
        else app.BackButton.hide();
      } catch (_error) {
        // Older clients have no back button.
      }
    }
  }

  // ---- texts and DOM -------------------------------------------------------------------------

  function t(key, values) {
    let text = Object.prototype.hasOwnProperty.call(state.texts, key)
      ? String(state.texts[key])
      : FALLBACK[key] || key;
    if (values) {
      for (const [name, value] of Object.entries(values)) {
        text = text.split("{" + name + "}").join(String(value));
      }
    }
    return text;
  }

  function has(key) {
    return Object.prototype.hasOwnProperty.call(state.texts, key);
  }

  // el("div", {class: "x", text: "user text", onclick: fn}, child...): strings become text nodes.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    setAttributes(node, attrs);
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child);
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttributes(node, attrs);
    for (const child of children.flat(Infinity)) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child);
    }
    return node;
  }

  function setAttributes(node, attrs) {
    if (!attrs) return;
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else if (key === "class") node.setAttribute("class", value);
      else if (key === "data") {
        for (const [name, item] of Object.entries(value)) node.dataset[name] = String(item);
      } else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
  }

  function formatMoment(value) {
    if (typeof value !== "string" || !/^\d{4}-\d\d-\d\dT/.test(value)) return value || "";
    const moment = new Date(value);
    if (Number.isNaN(moment.getTime())) return value;
    try {
      return new Intl.DateTimeFormat(state.locale, {
        timeZone: state.timezone, day: "numeric", month: "short", hour: "2-digit",
        minute: "2-digit",
      }).format(moment);
    } catch (_error) {
      return moment.toLocaleString();
    }
  }

  let toastTimer = null;

  function toast(message, kind) {
    const node = $("toast");
    node.textContent = message;
    node.className = "toast" + (kind ? " " + kind : "");
    node.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => {
      node.hidden = true;
    }, 2600);
  }

  function haptic(kind) {
    const app = webApp();
    try {
      if (app && app.HapticFeedback) app.HapticFeedback.notificationOccurred(kind);
    } catch (_error) {
      // No haptics: nothing to do.
    }
  }

  // ---- the API -------------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(path, body) {
    const options = {
      method: body === undefined ? "GET" : "POST",
      headers: { Authorization: "tma " + state.initData },
      cache: "no-store",
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch("api/" + path, options);
    } catch (_error) {
      throw new ApiError(0, t("error_network"));
    }
    let data = null;
    try {
      data = await response.json();
    } catch (_error) {
      data = null;
    }
    if (!response.ok) {
      const message = data && typeof data.error === "string" && data.error
        ? data.error
        : response.status === 401 ? t("error_auth") : t("error_generic");
      throw new ApiError(response.status, message);
    }
    return data;
  }

  // ---- screens -------------------------------------------------------------------------------

  function setTitle(text) {
    $("title").textContent = text;
  }

  function showLoading() {
    $("main").replaceChildren(el("p", { class: "status", text: t("loading") }));
  }

  function showFatal(error) {
    const main = $("main");
    const box = el("div", { class: "fatal", role: "alert", data: { status: error.status } },
      el("p", { class: "fatal-message", text: error.message }));
    if (error.status === 401 || error.status === 403) {
      // Nothing on this page can help: the user reopens it from the chat.
      $("tabs").hidden = true;
      showBackButton(false);
      setTitle("");
    } else if (error.status === 404 && state.clientId !== null) {
      box.append(el("button", { type: "button", class: "button", text: t("back"),
        onclick: goBack }));
    } else {
      box.append(el("button", { type: "button", class: "button", text: t("retry"),
        onclick: () => render() }));
    }
    main.replaceChildren(box);
  }

  function reportActionError(error) {
    if (error.status === 401 || error.status === 403) {
      showFatal(error);
      return;
    }
    haptic("error");
    toast(error.message, "error");
  }

  async function load(path) {
    const ticket = ++state.ticket;
    try {
      const data = await api(path);
      return ticket === state.ticket ? data : null;
    } catch (error) {
      if (ticket === state.ticket) showFatal(error);
      return null;
    }
  }

  function selectTab(tab) {
    for (const button of document.querySelectorAll("#tabs [data-tab]")) {
      button.setAttribute("aria-selected", String(button.dataset.tab === tab));
    }
  }

  async function render() {
    showBackButton(state.clientId !== null);
    selectTab(state.tab);
    if (state.clientId !== null) {
      setTitle("");
      showLoading();
      const data = await load("clients/" + encodeURIComponent(state.clientId));
      if (data) renderClient(data);
      return;
    }
    setTitle(t("tab_" + state.tab));
    showLoading();
    const data = await load(state.tab);
    if (!data) return;
    if (state.tab === "board") renderBoard(data);
    else if (state.tab === "agenda") renderAgenda(data);
    else renderCharts(data);
  }

  function goBack() {
    if (state.clientId === null) return;
    state.clientId = null;
    state.tab = "board";
    render();
  }

  function openClient(id) {
    state.clientId = id;
    render();
    window.scrollTo(0, 0);
  }

  // ---- Board -----------------------------------------------------------------------------------

  function badge(kind, text) {
    return el("span", { class: "badge " + kind, text });
  }

  function clientCard(client) {
    const badges = [];
    if (client.overdue_tasks > 0) {
      badges.push(badge("danger overdue-tasks",
        t("overdue_tasks") + ": " + client.overdue_tasks));
    }
    const unpaid = Array.isArray(client.unpaid) ? client.unpaid : [];
    if (unpaid.length) {
      const amounts = client.unpaid_text || unpaid.map((item) => item.amount).join(", ");
      badges.push(badge((client.unpaid_overdue > 0 ? "danger" : "warn") + " unpaid",
        t("unpaid") + ": " + amounts));
    }
    if (client.last_contact && client.days_silent !== null && client.days_silent !== undefined) {
      badges.push(badge((client.silent_too_long ? "warn" : "muted") + " silent",
        t("days_silent", { count: client.days_silent })));
    } else if (!client.last_contact) {
      badges.push(badge("muted silent", t("never_contacted")));
    }
    if (client.open_tasks > 0) {
      badges.push(badge("muted open-tasks", t("open_tasks") + ": " + client.open_tasks));
    }
    // The reasons the server gives for the card's place, less what a badge already says.
    const said = new Set(badges.map((node) => node.textContent));
    const reasons = (Array.isArray(client.reasons) ? client.reasons : [])
      .filter((reason) => !said.has(reason));
    return el("button", {
      type: "button",
      class: "card client-card" + (client.status === "former" ? " former" : ""),
      data: { clientId: client.id },
      onclick: () => openClient(client.id),
    },
    el("span", { class: "card-title", text: client.name }),
    // A teammate's client this user covers during a handover: whose it is.
    client.owner
      ? el("span", { class: "owner", text: t("covering_owner", { name: client.owner }) })
      : null,
    badges.length ? el("span", { class: "badges" }, badges) : null,
    reasons.length ? el("span", { class: "reasons", text: reasons.join(" · ") }) : null);
  }

  function renderBoard(data) {
    const clients = Array.isArray(data.clients) ? data.clients : [];
    const former = Array.isArray(data.former) ? data.former : [];
    const covering = Array.isArray(data.covering) ? data.covering : [];
    const main = $("main");
    if (!clients.length && !former.length && !covering.length) {
      main.replaceChildren(el("p", { class: "empty", text: t("no_clients") }));
      return;
    }
    main.replaceChildren(
      el("div", { class: "cards", id: "board-clients" }, clients.map(clientCard)),
      covering.length
        ? el("section", { class: "section covering-section", id: "board-covering" },
          el("h2", { text: t("covering") }),
          el("div", { class: "cards" }, covering.map(clientCard)))
        : null,
      former.length
        ? el("section", { class: "section former-section", id: "board-former" },
          el("h2", { text: t("former_clients") }),
          el("div", { class: "cards" }, former.map(clientCard)))
        : null,
    );
  }

  // ---- tasks (Agenda and a client's view) -------------------------------------------------------

  const CHECK_ICON = "M4.5 12.5l5 5L19.5 7";
  const CLOCK_ICON = "M12 3.5a8.5 8.5 0 1 0 0 17a8.5 8.5 0 0 0 0-17zM12 7.5V12l3 2";

  function icon(path) {
    return svg("svg", { viewBox: "0 0 24 24", "aria-hidden": "true", class: "icon" },
      svg("path", { d: path }));
  }

  function presetList() {
    const given = Array.isArray(state.presets) && state.presets.length
      ? state.presets
      : PRESETS.map((key) => ({ key, label: t("preset_" + key) }));
    return given.filter((preset) => preset && preset.key);
  }

  function taskRow(task, withClient, after, readOnly) {
    const meta = [];
    if (withClient && task.client) meta.push(task.client);
    if (task.kind_label) meta.push(task.kind_label);
    const row = el("div", { class: "task" + (task.overdue ? " overdue" : ""),
      data: { taskId: task.id } });
    const whenInput = el("input", { type: "text", class: "when", maxlength: "200",
      enterkeyhint: "done", placeholder: t("when_placeholder"),
      "aria-label": t("when_placeholder") });
    const whenForm = el("form", { class: "when-form" }, whenInput,
      el("button", { type: "submit", class: "button", text: t("save") }));
    whenForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const when = whenInput.value.trim();
      if (when) reschedule({ when });
      else whenInput.focus();
    });
    const presets = el("div", { class: "presets", hidden: true },
      presetList().map((preset) => el("button", {
        type: "button", class: "chip", data: { preset: preset.key },
        onclick: () => reschedule({ preset: preset.key }),
      },
      el("span", { class: "chip-label", text: preset.label }),
      preset.at_text ? el("span", { class: "chip-hint", text: preset.at_text }) : null)),
      whenForm);
    const rescheduleButton = el("button", { type: "button", class: "icon-button reschedule",
      "aria-label": t("reschedule"), title: t("reschedule"), "aria-expanded": "false",
      onclick: () => {
        presets.hidden = !presets.hidden;
        rescheduleButton.setAttribute("aria-expanded", String(!presets.hidden));
      } }, icon(CLOCK_ICON));
    row.append(
      el("div", { class: "task-main" },
        el("span", { class: "task-text" },
          task.number !== null && task.number !== undefined
            ? el("span", { class: "task-number", text: "#" + task.number + " " })
            : null,
          String(task.text || "")),
        el("span", { class: "task-meta" },
          el("span", { class: "due" + (task.overdue ? " late" : ""),
            text: task.due_text || "" }),
          meta.length ? " · " + meta.join(" · ") : null)),
      el("div", { class: "task-actions" },
        el("button", { type: "button", class: "icon-button done", "aria-label": t("done"),
          title: t("done"), onclick: () => done() }, icon(CHECK_ICON)),
        // A covered teammate's task: only done, as on the reminder they would get.
        readOnly ? null : rescheduleButton));
    if (!readOnly) row.append(presets);

    function busy(on) {
      for (const control of row.querySelectorAll("button, input")) control.disabled = on;
      row.classList.toggle("busy", on);
    }

    async function done() {
      busy(true);
      try {
        await api("tasks/" + encodeURIComponent(task.id) + "/done", {});
        haptic("success");
        toast(t("toast_done"));
        row.remove();
        if (after) after();
      } catch (error) {
        busy(false);
        reportActionError(error);
      }
    }

    async function reschedule(body) {
      busy(true);
      try {
        const answer = await api("tasks/" + encodeURIComponent(task.id) + "/reschedule", body);
        haptic("success");
        toast(t("toast_rescheduled", { when: (answer && answer.when) || "" }));
        if (after) after();
        else busy(false);
      } catch (error) {
        busy(false);
        reportActionError(error);
      }
    }

    return row;
  }

  // Refresh the current screen after a change, quietly: no loading screen in between.
  async function refresh() {
    const ticket = ++state.ticket;
    const path = state.clientId !== null
      ? "clients/" + encodeURIComponent(state.clientId)
      : state.tab;
    try {
      const data = await api(path);
      if (ticket !== state.ticket) return;
      const y = window.scrollY;
      if (state.clientId !== null) renderClient(data);
      else if (state.tab === "agenda") renderAgenda(data);
      else if (state.tab === "board") renderBoard(data);
      else renderCharts(data);
      window.scrollTo(0, y);
    } catch (error) {
      if (ticket === state.ticket) reportActionError(error);
    }
  }

  function renderAgenda(data) {
    const groups = Array.isArray(data.groups) ? data.groups : [];
    $("main").replaceChildren(...groups.map((group) => {
      const items = Array.isArray(group.items) ? group.items : [];
      const total = Number(group.total) || items.length;
      return el("section", { class: "section group group-" + group.key, id: "agenda-" + group.key,
        data: { group: group.key } },
      el("h2", { text: total ? group.title + " · " + total : group.title }),
      items.length
        ? el("div", { class: "list" }, items.map((task) => taskRow(task, true, refresh)))
        : el("p", { class: "empty small", text: group.empty || "" }));
    }));
  }

  // ---- a client's view ---------------------------------------------------------------------------

  function invoiceRow(invoice, readOnly) {
    let armed = false;
    let disarm = null;
    const button = el("button", { type: "button", class: "button paid", text: t("mark_paid"),
      onclick: async () => {
        // Two taps: a paid invoice stops its reminders, so a stray tap must not do it.
        if (!armed) {
          armed = true;
          button.textContent = has("confirm_paid") ? t("confirm_paid") : t("mark_paid") + " ?";
          button.classList.add("armed");
          disarm = setTimeout(() => {
            armed = false;
            button.textContent = t("mark_paid");
            button.classList.remove("armed");
          }, 4000);
          return;
        }
        clearTimeout(disarm);
        button.disabled = true;
        try {
          await api("invoices/" + encodeURIComponent(invoice.id) + "/paid", {});
          haptic("success");
          toast(t("toast_paid"));
          row.remove();
          refresh();
        } catch (error) {
          button.disabled = false;
          reportActionError(error);
        }
      } });
    const late = invoice.overdue_days > 0;
    const row = el("div", { class: "invoice" + (late ? " overdue" : ""),
      data: { invoiceId: invoice.id } },
    el("div", { class: "task-main" },
      el("span", { class: "task-text" },
        invoice.number !== null && invoice.number !== undefined
          ? el("span", { class: "task-number", text: "#" + invoice.number + " " })
          : null,
        el("strong", { class: "amount", text: invoice.amount })),
      el("span", { class: "task-meta" },
        el("span", { class: "due" + (late ? " late" : ""), text: invoice.due_text || "" }))),
    el("div", { class: "task-actions" }, readOnly ? null : button));
    return row;
  }

  function noteForm() {
    const input = el("textarea", { id: "note-text", rows: "3",
      placeholder: t("note_placeholder"), "aria-label": t("note_placeholder") });
    const submit = el("button", { type: "submit", class: "button", text: t("add_note") });
    const form = el("form", { class: "note-form", id: "note-form" }, input, submit);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) {
        input.focus();
        return;
      }
      submit.disabled = true;
      try {
        await api("clients/" + encodeURIComponent(state.clientId) + "/notes", { text });
        haptic("success");
        toast(t("toast_saved"));
        input.value = "";
        refresh();
      } catch (error) {
        reportActionError(error);
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  function section(id, title, items, empty) {
    return el("section", { class: "section", id },
      el("h2", { text: title }),
      items.length ? el("div", { class: "list" }, items) : el("p", { class: "empty small",
        text: empty }));
  }

  function renderClient(data) {
    const client = data.client || {};
    setTitle(client.name || "");
    // The card's filled fields (the chat's /client edits the rest).
    const fields = (Array.isArray(client.fields) ? client.fields : [])
      .filter((field) => field && field.value);
    const tasks = Array.isArray(data.tasks) ? data.tasks : [];
    const notes = Array.isArray(data.notes) ? data.notes : [];
    const invoices = Array.isArray(data.invoices) ? data.invoices : [];
    // A client covered for a teammate opens read-only but for ✅ done (the server's rule).
    const readOnly = client.can_edit === false;
    // A note being typed survives the view drawn again (after a tap elsewhere in it).
    const typing = document.getElementById("note-text");
    const sameClient = typing && typing.closest(".client") &&
      typing.closest(".client").dataset.clientId === String(client.id);
    const draft = sameClient ? typing.value : "";
    const focused = sameClient && document.activeElement === typing;
    $("main").replaceChildren(
      el("div", { class: "client", data: { clientId: client.id } },
        fields.length
          ? el("section", { class: "section", id: "client-fields" },
            el("h2", { text: t("card") }),
            el("dl", { class: "fields" }, fields.map((field) => [
              el("dt", { text: field.label }), el("dd", { text: field.value }),
            ])))
          : null,
        section("client-tasks", t("tasks"),
          tasks.map((task) => taskRow(task, false, refresh, readOnly)), t("no_tasks")),
        section("client-invoices", t("invoices"),
          invoices.map((invoice) => invoiceRow(invoice, readOnly)), t("no_invoices")),
        el("section", { class: "section", id: "client-notes" },
          el("h2", { text: t("notes") }),
          readOnly
            ? el("p", { class: "owner", text: t("covering_owner", { name: client.owner || "" }) })
            : noteForm(),
          notes.length
            ? el("div", { class: "list" }, notes.map((note) => el("div", { class: "note",
              data: { noteId: note.id } },
            el("p", { class: "note-text", text: note.text }),
            el("span", { class: "task-meta", text: note.created_text || formatMoment(note.created) }))))
            : el("p", { class: "empty small", text: t("no_notes") }))),
    );
    const input = document.getElementById("note-text");
    if (input && draft) input.value = draft;
    if (input && focused) input.focus();
  }

  // ---- Charts ---------------------------------------------------------------------------------------

  // One labelled bar per item: the label and the figures as text, the bar as SVG.
  function barList(items, color, figure) {
    const max = Math.max(1, ...items.map((item) => item.value));
    return el("div", { class: "bars" }, items.map((item, index) => {
      const width = item.value > 0 ? Math.max(1.5, (item.value / max) * 100) : 0;
      return el("div", { class: "bar-row", data: { key: item.key } },
        el("span", { class: "bar-label", text: item.label }),
        el("span", { class: "bar-figure", text: figure(item) }),
        svg("svg", { class: "bar", viewBox: "0 0 100 8", preserveAspectRatio: "none",
          "aria-hidden": "true" },
        svg("rect", { x: 0, y: 0, width: 100, height: 8, rx: 1.5, class: "bar-track" }),
        width ? svg("rect", { x: 0, y: 0, width: width.toFixed(2), height: 8, rx: 1.5,
          style: "fill:" + color(item, index) }) : null));
    }));
  }

  function chartCard(id, title, ...body) {
    return el("section", { class: "section chart", id }, el("h2", { text: title }), body);
  }

  function ageingChart(ageing) {
    if (!ageing.length) return chartCard("chart-ageing", t("chart_ageing"),
      el("p", { class: "empty small", text: t("no_unpaid") }));
    return chartCard("chart-ageing", t("chart_ageing"), ageing.map((block) => {
      const buckets = Array.isArray(block.buckets) ? block.buckets : [];
      return el("div", { class: "currency", data: { currency: block.currency } },
        el("h3", { text: block.total ? block.currency + " · " + block.total : block.currency }),
        barList(
          buckets.map((bucket) => ({ key: bucket.key, label: bucket.label,
            value: Number(bucket.amount_minor) || 0, amount: bucket.amount,
            count: bucket.count })),
          (item) => AGEING_COLORS[item.key] || "var(--button-color)",
          (item) => item.count ? item.amount + " · " + invoiceCount(item.count) : "—",
        ));
    }));
  }

  function invoiceCount(count) {
    return has("invoice_count") ? t("invoice_count", { count }) : "(" + count + ")";
  }

  function workloadChart(workload) {
    const kinds = Array.isArray(workload.kinds) ? workload.kinds : [];
    const days = Array.isArray(workload.days) ? workload.days : [];
    const colors = {};
    kinds.forEach((kind, index) => {
      colors[kind.key] = SERIES_COLORS[index % SERIES_COLORS.length];
    });
    const count = (day, kind) => Number((day.counts || {})[kind.key]) || 0;
    // The legend and the table name only the kinds that occur in these days.
    const present = kinds.filter((kind) => days.some((day) => count(day, kind) > 0));
    const width = 336;
    const top = 14;
    const plot = 112;
    const slot = width / days.length;
    const barWidth = Math.min(18, slot * 0.68);
    const max = Math.max(1, ...days.map((day) => Number(day.total) || 0));
    const weekday = safeFormatter({ weekday: "narrow", timeZone: "UTC" });
    const columns = days.map((day, index) => {
      const x = index * slot + (slot - barWidth) / 2;
      let y = top + plot;
      const parts = [];
      for (const kind of kinds) {
        const count = Number((day.counts || {})[kind.key]) || 0;
        if (!count) continue;
        const height = (count / max) * plot;
        y -= height;
        parts.push(svg("rect", { x: x.toFixed(1), y: y.toFixed(1), width: barWidth.toFixed(1),
          height: Math.max(height, 0.5).toFixed(1), style: "fill:" + colors[kind.key] },
        svg("title", { text: kind.label + ": " + count })));
      }
      const date = new Date(String(day.date) + "T00:00:00Z");
      const valid = !Number.isNaN(date.getTime());
      const weekend = valid && (date.getUTCDay() === 0 || date.getUTCDay() === 6);
      const cx = (index * slot + slot / 2).toFixed(1);
      return svg("g", { class: "column" + (weekend ? " weekend" : "") },
        parts,
        day.total ? svg("text", { x: cx, y: (y - 3).toFixed(1), class: "column-total",
          "text-anchor": "middle", text: String(day.total) }) : null,
        svg("text", { x: cx, y: top + plot + 13, "text-anchor": "middle", class: "axis",
          text: valid ? String(date.getUTCDate()) : "" }),
        svg("text", { x: cx, y: top + plot + 25, "text-anchor": "middle", class: "axis",
          text: valid && weekday ? weekday.format(date) : "" }));
    });
    const picture = svg("svg", { class: "columns", viewBox: `0 0 ${width} ${top + plot + 30}`,
      role: "img", "aria-label": t("chart_workload") },
    svg("line", { x1: 0, x2: width, y1: top + plot + 0.5, y2: top + plot + 0.5,
      class: "baseline" }),
    columns);
    const legend = el("div", { class: "legend" }, present.map((kind) => el("span", {
      class: "legend-item" },
    el("span", { class: "swatch", style: "background:" + colors[kind.key] }), kind.label)));
    const busyDays = days.filter((day) => Number(day.total) > 0);
    const table = busyDays.length ? el("table", { class: "figures", id: "workload-table" },
      el("thead", null, el("tr", null,
        el("td", { class: "corner" }), el("td", { class: "corner" }),
        el("th", { scope: "col", text: t("total") }))),
      el("tbody", null, busyDays.map((day) => el("tr", { data: { date: day.date } },
        el("th", { scope: "row", text: day.label }),
        el("td", { class: "breakdown" }, present
          .filter((kind) => count(day, kind) > 0)
          .map((kind) => kind.label + " " + count(day, kind)).join(", ")),
        el("td", { class: "total", text: String(day.total) }))))) : null;
    return chartCard("chart-workload", t("chart_workload"), picture,
      present.length ? legend : null, table);
  }

  function safeFormatter(options) {
    try {
      return new Intl.DateTimeFormat(state.locale, options);
    } catch (_error) {
      return null;
    }
  }

  function freshnessChart(freshness) {
    return chartCard("chart-freshness", t("chart_freshness"), barList(
      freshness.map((item) => ({ key: item.key, label: item.label,
        value: Number(item.count) || 0 })),
      (_item, index) => FRESHNESS_COLORS[index % FRESHNESS_COLORS.length],
      (item) => String(item.value),
    ));
  }

  function renderCharts(data) {
    $("main").replaceChildren(
      ageingChart(Array.isArray(data.ageing) ? data.ageing : []),
      workloadChart(data.workload || {}),
      freshnessChart(Array.isArray(data.freshness) ? data.freshness : []),
    );
  }

  // ---- start -------------------------------------------------------------------------------------

  async function start() {
    state.started = true;
    state.initData = readInitData();
    applyTheme();
    const query = new URLSearchParams(location.search);
    const view = query.get("view");
    if (TABS.includes(view)) state.tab = view;
    if (view === "client" && query.get("id")) state.clientId = query.get("id");
    let session;
    try {
      session = await api("session");
    } catch (error) {
      showFatal(error);
      return;
    }
    state.texts = session.texts || {};
    state.locale = session.locale || "en";
    state.timezone = session.timezone || undefined;
    state.presets = Array.isArray(session.presets) ? session.presets : [];
    document.documentElement.lang = state.locale;
    document.title = t("title");
    $("back-label").textContent = t("back");
    for (const button of document.querySelectorAll("#tabs [data-tab]")) {
      button.querySelector(".tab-label").textContent = t("tab_" + button.dataset.tab);
    }
    $("tabs").hidden = false;
    document.body.classList.add("ready");
    render();
  }

  $("back").addEventListener("click", goBack);
  for (const button of document.querySelectorAll("#tabs [data-tab]")) {
    button.addEventListener("click", () => {
      state.clientId = null;
      state.tab = button.dataset.tab;
      render();
      window.scrollTo(0, 0);
    });
  }
  const script = document.getElementById("telegram-web-app");
  if (script) script.addEventListener("load", enhance);
  enhance();
  start();
})();
