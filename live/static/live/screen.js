/* The big screen (现场开奖): one websocket, the event's log applied in order.
 *
 * The server sends a snapshot first, then every message of the event's log once, each with its
 * number (seq). On a reconnect the screen asks for what follows the last number it applied
 * (?after=seq) and the server replays it from the log, so the screen always ends where the
 * proofs are. Nothing here invents a name: the drawing animation shows placeholders only, and
 * the cards turn to the winners the server sent. Names arrive masked; all text goes in through
 * textContent.
 */
(function () {
  "use strict";
  var body = document.body.dataset;
  var eventId = body.event;
  var token = body.token;
  var hostToken = (location.hash.match(/host=([^&]+)/) || [])[1] || "";
  var PHASES = { open: "报名中", locked: "已锁定报名", paused: "暂停中", ended: "已结束", canceled: "已取消" };
  var state = { seq: 0, phase: "open", count: 0, wall: [], rounds: {}, current: 0 };
  var socket = null;
  var retry = 0;
  var stopped = false;
  var countdown = null;

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function avatar(person, cls) {
    if (person && person.avatar) {
      var img = el("img", cls);
      img.src = person.avatar;
      img.alt = "";
      img.referrerPolicy = "no-referrer";
      img.onerror = function () {  // unreachable (offline party): the initial instead
        img.replaceWith(el("div", "avatar " + (cls || ""), (person.name || "?").charAt(0)));
      };
      return img;
    }
    return el("div", "avatar " + (cls || ""), person ? (person.name || "?").charAt(0) : "?");
  }

  function wsUrl() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var host = body.wsPort ? location.hostname + ":" + body.wsPort : location.host;
    var url = scheme + host + "/ws/live/" + eventId + "/?screen=" + encodeURIComponent(token);
    return state.seq > 0 ? url + "&after=" + state.seq : url;
  }

  function connect() {
    if (stopped) return;
    socket = new WebSocket(wsUrl());
    socket.onopen = function () { retry = 0; $("link").classList.remove("down"); };
    socket.onmessage = function (event) { receive(JSON.parse(event.data)); };
    socket.onclose = function (event) {
      $("link").classList.add("down");
      if (event.code === 4403) return stop("此大屏链接已被撤销");
      if (event.code === 4404) return stop("活动不存在或不是现场开奖");
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 300 * retry);
    };
  }

  function stop(text) {
    stopped = true;
    $("overlay-text").textContent = text;
    $("overlay").hidden = false;
  }

  // --- the log -----------------------------------------------------------------------------

  function receive(frame) {
    if (frame.type === "snapshot") {
      applySnapshot(frame.data);
    } else if (frame.seq > state.seq) {
      apply(frame);
      state.seq = frame.seq;
    }
    render();
  }

  function applySnapshot(data) {
    state.seq = data.seq;
    state.phase = data.phase;
    state.count = data.count;
    state.wall = data.wall;
    state.rounds = {};
    state.current = 0;
    data.rounds.forEach(function (r) {
      state.rounds[r.round] = r;
      if (r.status !== "planned") state.current = r.round;
    });
  }

  function apply(frame) {
    var data = frame.data;
    switch (frame.type) {
      case "joins":
        state.count = data.count;
        state.wall = data.entrants.concat(state.wall).slice(0, 60);
        break;
      case "locked":
        state.phase = "locked";
        state.count = data.count;
        break;
      case "round_locked":
        state.rounds[data.round] = Object.assign({}, state.rounds[data.round], data, { status: "locked" });
        state.current = data.round;
        break;
      case "round_drawn":
        state.rounds[data.round] = Object.assign({}, state.rounds[data.round], data, { status: "drawn", fresh: true });
        state.current = data.round;
        break;
      case "paused": state.phase = "paused"; break;
      case "resumed": state.phase = "locked"; break;
      case "ended": state.phase = "ended"; break;
    }
  }

  // --- drawing -----------------------------------------------------------------------------

  function render() {
    $("phase").textContent = PHASES[state.phase] || state.phase;
    $("count").textContent = String(state.count);
    var round = state.rounds[state.current];
    $("wall-view").hidden = !!round || state.phase === "ended";
    $("round-view").hidden = !round;
    $("end-view").hidden = !(state.phase === "ended" && !round);
    if (!round) renderWall();
    else renderRound(round);
    renderHistory();
  }

  function renderWall() {
    var wall = $("wall");
    wall.textContent = "";
    state.wall.slice(0, 50).forEach(function (person) {
      var item = el("li", "entrant");
      item.appendChild(avatar(person));
      item.appendChild(el("span", "", person.name));
      wall.appendChild(item);
    });
  }

  function prizeText(round) {
    return (round.prizes || []).map(function (p) { return p.name + " ×" + p.quantity; }).join("、");
  }

  function renderRound(round) {
    $("round-title").textContent = "第 " + round.round + " 轮 · " + prizeText(round);
    var cards = $("round-cards");
    var digest = $("round-digest");
    clearInterval(countdown);
    if (round.status === "drawn") {
      $("round-note").textContent = round.winners.length ? "恭喜以下中奖者！" : "本轮无人中奖";
      if (cards.dataset.round !== String(round.round) || cards.dataset.status !== "drawn") {
        cards.textContent = "";
        round.winners.forEach(function (w) { cards.appendChild(winnerCard(w, round.fresh)); });
        round.fresh = false;
      }
      digest.textContent = "结果摘要 " + round.result_digest;
    } else {
      var units = (round.prizes || []).reduce(function (n, p) { return n + p.quantity; }, 0);
      if (cards.dataset.round !== String(round.round) || cards.dataset.status !== "locked") {
        cards.textContent = "";
        for (var i = 0; i < Math.min(units, Math.max(1, round.entrant_count || 0), 12); i++) {
          cards.appendChild(placeholderCard());
        }
      }
      tick(round);
      countdown = setInterval(function () { tick(round); }, 250);
      digest.textContent = "本轮参与 " + (round.entrant_count || 0) + " 人 · 名单摘要 " + (round.entrants_digest || "");
    }
    cards.dataset.round = String(round.round);
    cards.dataset.status = round.status;
  }

  function tick(round) {
    var left = Math.ceil((Date.parse(round.reveal_at) - Date.now()) / 1000);
    var beacon = round.beacon_round ? "，公共随机数第 " + round.beacon_round + " 轮" : "";
    $("round-note").textContent = left > 0
      ? "抽奖中… 名单已锁定，" + left + " 秒后揭晓" + beacon
      : "抽奖中… 等待公共随机数" + beacon;
  }

  function placeholderCard() {
    var card = el("li", "card drawing");
    card.appendChild(el("div", "avatar", "?"));
    card.appendChild(el("div", "name", "*  *  *"));
    card.appendChild(el("div", "prize", "揭晓中"));
    return card;
  }

  function winnerCard(winner, fresh) {
    var card = el("li", "card winner" + (fresh ? " won" : ""));
    card.dataset.id = winner.id;
    card.appendChild(avatar(winner));
    card.appendChild(el("div", "name", winner.name));
    card.appendChild(el("div", "prize", winner.prize.name));
    return card;
  }

  function renderHistory() {
    var history = $("history");
    history.textContent = "";
    Object.keys(state.rounds).map(Number).sort(function (a, b) { return a - b; }).forEach(function (n) {
      var round = state.rounds[n];
      if (round.status !== "drawn") return;
      var box = el("div", "past");
      box.dataset.round = String(n);
      box.appendChild(el("h3", "", "第 " + n + " 轮 · " + prizeText(round)));
      var list = el("ul");
      round.winners.forEach(function (w) {
        var item = el("li", "past-winner", w.name + "  " + w.prize.name);
        item.dataset.id = w.id;
        list.appendChild(item);
      });
      box.appendChild(list);
      history.appendChild(box);
    });
  }

  // --- the host's buttons (only with the creator's access token in the fragment) -----------

  function command(path) {
    $("host-note").textContent = "…";
    fetch("/api/v1/events/" + eventId + "/live/" + path, {
      method: "POST",
      headers: { Authorization: "Bearer " + hostToken, "Content-Type": "application/json" },
    }).then(function (response) { return response.json(); }).then(function (reply) {
      $("host-note").textContent = reply.code === 0 ? "" : reply.msg;
    }).catch(function () { $("host-note").textContent = "网络错误"; });
  }

  if (hostToken) {
    $("host").hidden = false;
    Array.prototype.forEach.call(document.querySelectorAll("#host button"), function (button) {
      button.addEventListener("click", function () { command(button.dataset.command); });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === " " || event.key === "Enter") command("rounds/next");
    });
  }

  setInterval(function () { if (socket && socket.readyState === 1) socket.send("ping"); }, 25000);
  window.liveScreen = { state: state, socket: function () { return socket; } };
  connect();
})();
