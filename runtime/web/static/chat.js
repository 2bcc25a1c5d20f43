/* Deskline's chat widget. Put it on a page with one tag:
     <script src="https://DESK/static/chat.js" data-channel="CHANNEL" async></script>
   Plain JavaScript, no build step, nothing from another site. Whatever a visitor or a rep wrote
   is shown with textContent, never as HTML. Live connection: a WebSocket; when that cannot be
   had, long polling (data-transport="poll" asks for polling from the start). */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) { return; }
  var base = new URL(script.src, window.location.href).origin;
  var channel = script.getAttribute("data-channel") || "";
  var mode = script.getAttribute("data-mode") || "widget";
  var transport = script.getAttribute("data-transport") || "websocket";
  var api = base + "/chat/" + encodeURIComponent(channel) + "/api/";
  var st = {
    last: 0, ws: null, polling: false, visitor: false, online: false, ended: false,
    emailKnown: false, nonce: 0, rendered: {}, pending: {}, typingSent: 0, started: false
  };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function show(node, visible) {
    if (visible) { node.classList.remove("dlc-hidden"); } else { node.classList.add("dlc-hidden"); }
  }

  function call(path, body) {
    var options = { method: body === undefined ? "GET" : "POST", credentials: "include", headers: {} };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(api + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.error || "HTTP " + response.status);
          error.status = response.status;
          error.retryAfter = response.headers.get("Retry-After");
          throw error;
        }
        return data;
      });
    });
  }

  // --- the panel ---------------------------------------------------------------------------
  if (mode !== "page") {
    var link = el("link");
    link.rel = "stylesheet";
    link.href = base + "/static/chat.css";
    document.head.appendChild(link);
  }
  var root = el("div", "dlc-panel " + (mode === "page" ? "dlc-inline" : "dlc-floating dlc-hidden"));
  root.setAttribute("role", "region");
  root.setAttribute("aria-label", "Chat");
  var head = el("div", "dlc-head");
  var title = el("div", "dlc-title", "Chat with us");
  var status = el("div", "dlc-status", "");
  head.appendChild(title);
  head.appendChild(status);
  var log = el("div", "dlc-log");
  log.setAttribute("aria-live", "polite");
  var typing = el("div", "dlc-typing", "");
  var error = el("div", "dlc-error", "");

  function field(form, tag, name, label, type) {
    var input = el(tag);
    input.name = name;
    input.setAttribute("aria-label", label);
    input.placeholder = label;
    if (type) { input.type = type; }
    form.appendChild(input);
    return input;
  }

  var start = el("form", "dlc-form dlc-start dlc-hidden");
  var startName = field(start, "input", "name", "Your name", "text");
  var startEmail = field(start, "input", "email", "Your email (optional)", "email");
  var startButton = el("button", "", "Start chat");
  startButton.type = "submit";
  start.appendChild(startButton);

  var compose = el("form", "dlc-form dlc-compose dlc-hidden");
  var row = el("div", "dlc-row");
  var text = el("textarea");
  text.name = "text";
  text.setAttribute("aria-label", "Your message");
  text.placeholder = "Write a message";
  var send = el("button", "", "Send");
  send.type = "submit";
  row.appendChild(text);
  row.appendChild(send);
  compose.appendChild(row);
  var transcript = el("button", "dlc-plain dlc-hidden", "Email me this chat");
  transcript.type = "button";
  compose.appendChild(transcript);

  var offline = el("form", "dlc-form dlc-offline dlc-hidden");
  var offlineNote = el("div", "dlc-note", "");
  offline.appendChild(offlineNote);
  var offName = field(offline, "input", "name", "Your name", "text");
  var offEmail = field(offline, "input", "email", "Your email", "email");
  var offText = field(offline, "textarea", "text", "Your message");
  var offButton = el("button", "", "Leave a message");
  offButton.type = "submit";
  offline.appendChild(offButton);

  [head, log, typing, start, compose, offline, error].forEach(function (node) {
    root.appendChild(node);
  });
  var target = mode === "page" && document.getElementById(script.getAttribute("data-target") || "");
  (target || document.body).appendChild(root);
  if (mode !== "page") {
    var launcher = el("button", "dlc-launcher", "Chat");
    launcher.type = "button";
    launcher.setAttribute("aria-expanded", "false");
    launcher.addEventListener("click", function () {
      var open = root.classList.contains("dlc-hidden");
      show(root, open);
      launcher.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.body.appendChild(launcher);
  }

  // --- showing ---------------------------------------------------------------------------
  function note(words) {
    log.appendChild(el("div", "dlc-note", words));
    log.scrollTop = log.scrollHeight;
  }

  function add(message) {
    if (st.rendered[message.id]) { return; }
    if (message.mine) {  // our own message, shown while it was sent: it has its id now
      for (var nonce in st.pending) {
        if (st.pending[nonce].text === message.text) {
          st.rendered[message.id] = st.pending[nonce].node;
          delete st.pending[nonce];
          st.last = Math.max(st.last, message.id);
          return;
        }
      }
    }
    var node = bubble(message.mine, message.author, message.text);
    st.rendered[message.id] = node;
    st.last = Math.max(st.last, message.id);
    if (!message.mine) { typing.textContent = ""; }
  }

  function bubble(mine, author, words) {
    var node = el("div", "dlc-msg" + (mine ? " dlc-mine" : ""));
    node.appendChild(el("span", "dlc-author", author));
    node.appendChild(document.createTextNode(words));
    log.appendChild(node);
    log.scrollTop = log.scrollHeight;
    return node;
  }

  function ended(isEnded) {
    if (isEnded && !st.ended) { note("The chat has ended. Write again to start a new one."); }
    st.ended = isEnded;
  }

  function when(iso) {
    if (!iso) { return "as soon as we can"; }
    return "from " + new Date(iso).toLocaleString();
  }

  function render() {
    status.textContent = st.online ? "We are online." : "We are away right now.";
    var chatting = st.visitor && (st.started || st.online);
    show(start, !st.visitor && st.online);
    show(compose, chatting);
    show(transcript, chatting && st.emailKnown);
    show(offline, !chatting);
    offlineNote.textContent = "Nobody is online. Leave a message and we will answer by email " +
      when(st.nextOpen) + ".";
  }

  function fail(err) {
    var words = err.message || "Something went wrong.";
    if (err.status === 429 && err.retryAfter) {
      words = "Too many messages: try again in " + err.retryAfter + " s.";
    }
    error.textContent = words;
  }

  // --- the live connection -----------------------------------------------------------------
  function frame(data) {
    if (data.type === "messages") { data.messages.forEach(add); }
    else if (data.type === "state") { ended(data.ended); typing.textContent = data.typing ? "Support is typing..." : ""; }
    else if (data.type === "chat") { st.started = true; ended(false); }
    else if (data.type === "sent") { sent(data.nonce, data.id); }
    else if (data.type === "error") {
      var pending = st.pending[data.nonce];
      if (pending) {
        log.removeChild(pending.node);
        delete st.pending[data.nonce];
        if (!text.value) { text.value = pending.text; }
      }
      fail({ message: data.error, status: data.status, retryAfter: data.retry_after });
    }
  }

  function sent(nonce, id) {
    var pending = st.pending[nonce];
    if (!pending) { return; }
    delete st.pending[nonce];
    if (st.rendered[id]) { log.removeChild(pending.node); return; }
    st.rendered[id] = pending.node;
    st.last = Math.max(st.last, id);
    st.started = true;
    ended(false);
  }

  function connect() {
    if (transport === "poll" || !window.WebSocket) { poll(); return; }
    var url = base.replace(/^http/, "ws") + "/chat/" + encodeURIComponent(channel) + "/ws?after=" + st.last;
    var socket;
    try { socket = new WebSocket(url); } catch (e) { poll(); return; }
    var opened = false;
    socket.onopen = function () { opened = true; st.ws = socket; };
    socket.onmessage = function (event) {
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      frame(data);
    };
    socket.onclose = function () {
      st.ws = null;
      if (opened) { setTimeout(connect, 1000); } else { poll(); }
    };
  }

  function poll() {
    if (st.polling) { return; }
    st.polling = true;
    (function loop() {
      call("poll?after=" + st.last).then(function (data) {
        data.messages.forEach(add);
        if (data.ended !== undefined) { ended(data.ended); }
        typing.textContent = data.typing ? "Support is typing..." : "";
        loop();
      }).catch(function (err) { setTimeout(loop, err.status === 401 ? 5000 : 2000); });
    })();
  }

  // --- the visitor's doing ---------------------------------------------------------------------
  start.addEventListener("submit", function (event) {
    event.preventDefault();
    error.textContent = "";
    call("start", { name: startName.value, email: startEmail.value }).then(function () {
      st.visitor = true;
      st.started = true;
      st.emailKnown = startEmail.value.trim() !== "";
      render();
      connect();
      text.focus();
    }).catch(fail);
  });

  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    var words = text.value;
    if (!words.trim()) { return; }
    error.textContent = "";
    text.value = "";
    st.nonce += 1;
    var nonce = "n" + st.nonce;
    st.pending[nonce] = { text: words, node: bubble(true, "You", words) };
    if (st.ws && st.ws.readyState === 1) {
      st.ws.send(JSON.stringify({ type: "message", text: words, nonce: nonce }));
      return;
    }
    call("messages", { text: words }).then(function (data) { sent(nonce, data.id); })
      .catch(function (err) { frame({ type: "error", nonce: nonce, error: err.message, status: err.status, retry_after: err.retryAfter }); });
  });

  text.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      compose.requestSubmit();
    }
  });

  text.addEventListener("input", function () {
    var now = Date.now();
    if (now - st.typingSent < 3000) { return; }
    st.typingSent = now;
    if (st.ws && st.ws.readyState === 1) { st.ws.send(JSON.stringify({ type: "typing" })); }
    else { call("typing", {}).catch(function () {}); }
  });

  transcript.addEventListener("click", function () {
    call("transcript", {}).then(function () {
      note("The transcript is on its way to your email.");
    }).catch(fail);
  });

  offline.addEventListener("submit", function (event) {
    event.preventDefault();
    error.textContent = "";
    call("offline", { name: offName.value, email: offEmail.value, text: offText.value }).then(function () {
      offText.value = "";
      note("Thank you. We will answer by email.");
    }).catch(fail);
  });

  call("state").then(function (data) {
    st.online = data.online;
    st.nextOpen = data.next_open;
    st.visitor = data.visitor;
    st.emailKnown = data.email_known;
    st.started = data.chat !== null && !data.ended;
    title.textContent = "Chat with " + data.channel;
    data.messages.forEach(add);
    if (data.ended) { ended(true); }
    render();
    if (st.visitor) { connect(); }
  }).catch(fail);
})();
