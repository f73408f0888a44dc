// txcausal web view: plain JavaScript, no build step, nothing from elsewhere.
// Everything read from a log is put on the page as text (textContent), never
// as markup.
(function () {
  "use strict";

  var PAGE = 100;
  var ROW = 20;
  var FIRST_NODES = 300;
  var CHILDREN_PAGE = 200;

  function $(id) { return document.getElementById(id); }

  // Control characters, line separators, bidirectional controls and the
  // characters that disguise a value (zero width space, word joiner,
  // byte-order mark): the set txcausal tree escapes (_cli/_text.py
  // _INVISIBLE; a browser test checks they agree), escaped as it escapes
  // them, so that no text read from a log reverses or hides what is around
  // it.  Newlines and tabs are kept.
  var INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff]/g;

  function visible(text) {
    return String(text).replace(INVISIBLE, function (c) {
      var code = c.charCodeAt(0);
      if (c === "\r") { return "\\r"; }
      if (code < 0x100) { return "\\x" + (code < 16 ? "0" : "") + code.toString(16); }
      return "\\u" + ("000" + code.toString(16)).slice(-4);
    });
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = visible(text); }
    return node;
  }

  // An integer past what a number holds exactly (2**53) is kept as the
  // digits the server sent, where the browser gives a reviver each value's
  // source text (and JSON.rawJSON); elsewhere it is the nearest number, as
  // JSON.parse makes it.  The digits are text wherever text is made of
  // them, and JSON.stringify writes them as they are.
  var EXACT = typeof JSON.rawJSON === "function";
  function Digits(text) { this.text = text; }
  Digits.prototype.toString = function () { return this.text; };
  Digits.prototype.toJSON = function () { return JSON.rawJSON(this.text); };
  function keepDigits(key, value, context) {
    if (EXACT && typeof value === "number" && !Number.isSafeInteger(value) &&
        context && /^-?\d+$/.test(context.source)) {
      return new Digits(context.source);
    }
    return value;
  }

  // A request not answered (its body read whole) within this many seconds
  // is given up: aborted, and failed with a message saying so.
  var TIMEOUT = 30;

  // The JSON at url, or null when it is the same text as last time (the
  // page is then left as it is, not redrawn).  Settles within TIMEOUT
  // whatever the connection does; the timeout's message ends with advice,
  // if given.
  function fetchChanged(url, last, advice) {
    var controller = new AbortController(), timer;
    var request = fetch(url, { headers: { "Accept": "application/json" },
                               signal: controller.signal }).then(function (response) {
      return response.text().then(function (text) {
        var body = JSON.parse(text, keepDigits);
        if (!response.ok) { throw new Error(body && body.error ? body.error : response.statusText); }
        if (text === last.text) { return null; }
        last.text = text;
        return body;
      });
    });
    var timeout = new Promise(function (resolve, reject) {
      timer = setTimeout(function () {
        controller.abort();
        reject(new Error("no answer from the server in " + TIMEOUT + " s" + (advice ? " (" + advice + ")" : "")));
      }, TIMEOUT * 1000);
    });
    return Promise.race([request, timeout]).finally(function () { clearTimeout(timer); });
  }

  // Formatting

  function pad(n, width) { var s = String(n); while (s.length < width) { s = "0" + s; } return s; }

  function formatTime(ts) {
    if (ts instanceof Digits) { return ts.text; }  // Past any calendar.
    if (typeof ts !== "number") { return ""; }
    var d = new Date(ts * 1000);
    if (isNaN(d.getTime())) { return String(ts); }  // Past any calendar.
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1, 2) + "-" + pad(d.getUTCDate(), 2) +
      " " + pad(d.getUTCHours(), 2) + ":" + pad(d.getUTCMinutes(), 2) + ":" +
      pad(d.getUTCSeconds(), 2) + "." + pad(d.getUTCMilliseconds(), 3);
  }

  function formatDuration(seconds) {
    if (typeof seconds !== "number" || !isFinite(seconds)) { return ""; }
    if (seconds < 0.001) { return (seconds * 1000).toFixed(2) + " ms"; }
    if (seconds < 1) { return (seconds * 1000).toFixed(1) + " ms"; }
    if (seconds < 60) { return seconds.toFixed(2) + " s"; }
    return Math.floor(seconds / 60) + " min " + (seconds % 60).toFixed(0) + " s";
  }

  function parseUTC(text) {
    text = text.trim();
    if (!text) { return null; }
    if (/^\d+(\.\d+)?$/.test(text)) { return Number(text); }
    var iso = text.replace(" ", "T");
    if (!/(Z|[+-]\d\d:?\d\d)$/.test(iso)) { iso += "Z"; }
    var ms = Date.parse(iso);
    if (isNaN(ms)) { throw new Error("not a time: " + text); }
    return ms / 1000;
  }

  function levelText(level) { return Array.isArray(level) && level.length ? "/" + level.join("/") : ""; }

  // The nodes of a task are those of `txcausal tree --json`: an action has
  // an action_type, a message a message_type.
  function isAction(node) { return "action_type" in node; }
  function nodeType(node) { return isAction(node) ? node.action_type : node.message_type; }
  // An action is shown at its level prefix (its start message's level
  // without the final 1), as the tree's slots are numbered.
  function nodeLevel(node) {
    var level = Array.isArray(node.task_level) ? node.task_level : [];
    return isAction(node) ? level.slice(0, -1) : level;
  }
  function nodeStart(node) { return isAction(node) ? node.start_time : node.timestamp; }

  function statusBadge(status) {
    var shown = status || "message";
    return el("span", "st s-" + shown, shown);
  }

  // Where we are: the list (./) or a task (./task/<uuid>).

  var base = document.baseURI;
  var here = location.href.slice(base.length).split("#")[0];
  var params = new URLSearchParams(location.search);
  // A task whose UUID is "." or "..", which the browser takes as a dot
  // segment even percent-encoded, is at task/?uuid=<uuid> (any task may be).
  var taskMatch = /^task\/([^/?]+)/.exec(here);
  var taskUUID = taskMatch ? decodeURIComponent(taskMatch[1])
    : (/^task\/(\?|$)/.test(here) ? params.get("uuid") : null);

  // Status line and problems

  function showStatus(status) {
    if (!status) { return; }
    var parts = [];
    (status.files || []).forEach(function (file) {
      var text = file.name;
      if (file.error) { text += ": " + file.error; }
      else if (file.size) { text += " " + Math.min(100, Math.floor(file.read * 100 / file.size)) + "%"; }
      if (file.waiting && !file.error) { text += ", " + file.waiting; }
      parts.push(text);
    });
    parts.push(status.tasks + " tasks");
    if (status.evicted) { parts.push(status.evicted + " older tasks forgotten"); }
    var counts = [];
    if (status.errors) { counts.push(status.errors + " lines skipped"); }
    // Reports on the files themselves (not read, truncated, may have been
    // missed) are not lines: counted and listed apart.
    if (status.file_problems) { counts.push(status.file_problems + " file reports"); }
    $("status").textContent = visible(parts.concat(counts).join(" \u00b7 "));
    var files = status.recent_file_problems || [], lines = status.recent_errors || [];
    $("problems").hidden = files.length + lines.length === 0;
    $("problems-summary").textContent = counts.join(", ") + " (latest shown)";
    var list = $("problems-list");
    list.textContent = "";
    files.forEach(function (text) { list.appendChild(el("li", "mono file-problem", text)); });
    lines.forEach(function (text) { list.appendChild(el("li", "mono", text)); });
  }

  // Live updates

  var listeners = [];
  function onChange(callback) { listeners.push(callback); }

  // The stream is open while the page is shown: a browser opens few
  // connections to one host (6 in Chromium), and each stream holds one, so a
  // hidden page (another tab in front) gives its connection back, and asks
  // again once when shown.
  function startEvents() {
    if (!window.EventSource) { return; }
    var source = null;
    var missed = false;
    function open() {
      source = new EventSource("api/events");
      source.onopen = function () {
        $("live").className = "";
        // After a reconnection, what changed meanwhile is not in the stream.
        if (missed) { listeners.forEach(function (callback) { callback({ tasks: null }); }); }
        missed = true;
      };
      source.onerror = function () { $("live").className = "off"; };
      source.addEventListener("changed", function (event) {
        var data = JSON.parse(event.data);
        showStatus(data.status);
        listeners.forEach(function (callback) { callback(data); });
      });
    }
    document.addEventListener("visibilitychange", function () {
      if (document.hidden && source) {
        source.close();
        source = null;
        missed = true;
        $("live").className = "off";
      } else if (!document.hidden && !source) {
        open();
      }
    });
    if (document.hidden) { missed = true; } else { open(); }
  }

  // Runs f at most once at a time, and once more if asked while running.
  function coalesced(f) {
    var running = false, again = false;
    function run() {
      if (running) { again = true; return; }
      running = true;
      Promise.resolve(f()).catch(function () {}).then(function () {
        running = false;
        if (again) { again = false; run(); }
      });
    }
    return run;
  }

  // The task list

  function listQuery() {
    var q = new URLSearchParams();
    ["type", "q", "story", "since", "until", "offset"].forEach(function (name) {
      var value = params.get(name);
      if (value) { q.set(name, value); }
    });
    if (params.get("failed")) { q.set("failed", "1"); }
    q.set("limit", String(PAGE));
    return q;
  }

  function fillFilters() {
    $("f-failed").checked = !!params.get("failed");
    $("f-type").value = params.get("type") || "";
    $("f-q").value = params.get("q") || "";
    $("f-story").value = params.get("story") || "";
    $("f-since").value = params.get("since") ? formatTime(Number(params.get("since"))) : "";
    $("f-until").value = params.get("until") ? formatTime(Number(params.get("until"))) : "";
  }

  function readFilters() {
    var next = new URLSearchParams();
    if ($("f-failed").checked) { next.set("failed", "1"); }
    [["type", "f-type"], ["q", "f-q"], ["story", "f-story"]].forEach(function (pair) {
      var value = $(pair[1]).value.trim();
      if (value) { next.set(pair[0], value); }
    });
    [["since", "f-since"], ["until", "f-until"]].forEach(function (pair) {
      var when = parseUTC($(pair[1]).value);
      if (when !== null) { next.set(pair[0], String(when)); }
    });
    return next;
  }

  function taskLink(uuid) {
    var dots = uuid === "." || uuid === "..";
    var link = dots ? "task/" : "task/" + encodeURIComponent(uuid);
    var keep = new URLSearchParams();
    if (dots) { keep.set("uuid", uuid); }
    if (params.get("story")) { keep.set("story", params.get("story")); }
    else if (params.get("q")) { keep.set("q", params.get("q")); }
    var rest = keep.toString();
    return rest ? link + "?" + rest : link;
  }

  function taskRow(task) {
    var row = el("tr", task.failed ? "failed" : "");
    row.dataset.uuid = task.uuid;
    var status = el("td");
    status.appendChild(statusBadge(task.status));
    row.appendChild(status);
    var name = el("td");
    var link = el("a", "type", task.type || "(no type)");
    link.href = taskLink(task.uuid);
    name.appendChild(link);
    name.appendChild(el("span", "uuid", task.uuid));
    row.appendChild(name);
    row.appendChild(el("td", "mono", formatTime(task.start)));
    row.appendChild(el("td", "num", formatDuration(task.duration) + (task.finished ? "" : "\u2026")));
    row.appendChild(el("td", "num", task.processes));
    row.appendChild(el("td", "num", task.messages + (task.dropped ? " (+" + task.dropped + " not kept)" : "")));
    return row;
  }

  function showList(body) {
    var tbody = $("tasks").tBodies[0];
    tbody.textContent = "";
    body.tasks.forEach(function (task) { tbody.appendChild(taskRow(task)); });
    var first = body.total ? body.offset + 1 : 0;
    var last = body.offset + body.tasks.length;
    $("range").textContent = first + "\u2013" + last + " of " + body.total;
    $("newer").disabled = body.offset === 0;
    $("older").disabled = last >= body.total;
    var types = $("types");
    types.textContent = "";
    body.types.forEach(function (type) {
      var option = el("option");
      option.value = type;
      types.appendChild(option);
    });
    showStatus(body.status);
  }

  function listView() {
    $("list-view").hidden = false;
    fillFilters();
    var last = {};
    // "searching…" while the request is in flight (one at a time).
    var refresh = coalesced(function () {
      $("searching").classList.add("busy");
      var query = listQuery();
      // Only a text or story search goes on on the server after a timeout.
      var advice = query.get("q") || query.get("story") ?
          "a search under way goes on: search again to wait for it" : null;
      return fetchChanged("api/tasks?" + query.toString(), last, advice).then(function (body) {
        $("list-error").hidden = true;
        if (body) { showList(body); }
      }, function (error) {
        $("list-error").hidden = false;
        $("list-error").textContent = visible(error.message);
      }).finally(function () { $("searching").classList.remove("busy"); });
    });
    function go(next) {
      params = next;
      var search = params.toString();
      history.replaceState(null, "", search ? "?" + search : "./");
      refresh();
    }
    $("filters").addEventListener("submit", function (event) {
      event.preventDefault();
      try { go(readFilters()); } catch (error) {
        $("list-error").hidden = false;
        $("list-error").textContent = visible(error.message);
      }
    });
    $("f-failed").addEventListener("change", function () { $("filters").requestSubmit(); });
    $("f-clear").addEventListener("click", function () { go(new URLSearchParams()); fillFilters(); });
    function page(delta) {
      var next = new URLSearchParams(params);
      var offset = Math.max(0, Number(params.get("offset") || 0) + delta);
      if (offset) { next.set("offset", String(offset)); } else { next.delete("offset"); }
      go(next);
    }
    $("newer").addEventListener("click", function () { page(-PAGE); });
    $("older").addEventListener("click", function () { page(PAGE); });
    onChange(function () { refresh(); });
    refresh();
  }

  // One task: the waterfall and the tree

  function processClass(process) { return typeof process === "number" ? "p" + (process % 8) : "p0"; }

  function walk(nodes, visit, depth, parent) {
    nodes.forEach(function (node) {
      visit(node, depth || 0, parent || null);
      if (node.children) { walk(node.children, visit, (depth || 0) + 1, node); }
    });
  }

  function timeSpan(nodes) {
    var low = Infinity, high = -Infinity;
    walk(nodes, function (node) {
      [nodeStart(node), node.end_time].forEach(function (t) {
        if (typeof t === "number") { low = Math.min(low, t); high = Math.max(high, t); }
      });
    });
    return low <= high ? [low, high] : null;
  }

  function Waterfall(task) {
    var rows = [];
    walk(task.children, function (node, depth) {
      if (isAction(node) && typeof node.start_time === "number") { rows.push({ node: node, depth: depth }); }
    });
    var span = timeSpan(task.children);
    this.rows = rows;
    this.span = span;
    this.drawAxis();
    var inner = $("rows-inner");
    inner.textContent = "";
    inner.style.height = rows.length * ROW + "px";
    this.drawn = {};
    var self = this;
    var pending = false;
    $("rows").onscroll = function () {
      if (pending) { return; }
      pending = true;
      requestAnimationFrame(function () { pending = false; self.draw(); });
    };
    this.draw();
  }

  Waterfall.prototype.drawAxis = function () {
    var axis = $("axis");
    axis.textContent = "";
    if (!this.span) { return; }
    var total = this.span[1] - this.span[0];
    for (var i = 0; i < 5; i++) {
      var tick = el("span", "tick", "+" + formatDuration(total * i / 5));
      tick.style.left = (i * 20) + "%";
      axis.appendChild(tick);
    }
  };

  Waterfall.prototype.draw = function () {
    var box = $("rows");
    var first = Math.max(0, Math.floor(box.scrollTop / ROW) - 20);
    var last = Math.min(this.rows.length, first + Math.ceil((box.clientHeight || 480) / ROW) + 40);
    var inner = $("rows-inner");
    var keep = {};
    for (var i = first; i < last; i++) {
      keep[i] = true;
      if (!this.drawn[i]) { this.drawn[i] = inner.appendChild(this.row(i)); }
    }
    for (var key in this.drawn) {
      if (!keep[key]) { inner.removeChild(this.drawn[key]); delete this.drawn[key]; }
    }
  };

  Waterfall.prototype.row = function (i) {
    var entry = this.rows[i], node = entry.node;
    var row = el("div", node.status === "failed" ? "row failed" : "row");
    row.style.top = i * ROW + "px";
    var label = el("span", "label", nodeType(node) || "(no type)");
    label.style.paddingLeft = (entry.depth * 12 + 4) + "px";
    label.title = visible((nodeType(node) || "") + " " + levelText(nodeLevel(node)));
    row.appendChild(label);
    var track = el("span", "track");
    var bar = el("span", "bar s-" + node.status + " " + processClass(node.process));
    var total = this.span[1] - this.span[0];
    var end = typeof node.end_time === "number" ? node.end_time : this.span[1];
    var left = total > 0 ? (node.start_time - this.span[0]) / total : 0;
    var width = total > 0 ? (end - node.start_time) / total : 1;
    bar.style.left = (left * 100) + "%";
    bar.style.width = (width * 100) + "%";
    bar.dataset.level = levelText(nodeLevel(node));
    bar.dataset.duration = String(node.duration);
    bar.title = visible((nodeType(node) || "") + " " + (node.status || "") + " " + formatDuration(node.duration));
    track.appendChild(bar);
    row.appendChild(track);
    row.addEventListener("click", function () { revealNode(node); });
    return row;
  };

  function legend(task) {
    var box = $("legend");
    box.textContent = "";
    [["succeeded", "s-succeeded"], ["failed", "s-failed"], ["unfinished", "s-started"]].forEach(function (pair) {
      var item = el("span");
      var swatch = el("span", "swatch bar " + pair[1]);
      swatch.style.position = "static";
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(pair[0]));
      box.appendChild(item);
    });
    var present = {};
    walk(task.children.concat(task.strays), function (node) {
      if (typeof node.process === "number") { present[node.process] = true; }
    });
    task.processes.forEach(function (name, i) {
      if (!present[i]) { return; }
      var item = el("span");
      item.title = visible(name);
      item.appendChild(el("span", "swatch proc-swatch " + processClass(i)));
      item.appendChild(document.createTextNode(visible(shortName(name))));
      box.appendChild(item);
    });
  }

  // The tree: nodes are built when first expanded.

  var expanded = {};
  var byLevel = {};
  // The nodes on the way to a failure or match: their page of children is built.
  var wanted = {};
  var processNames = [];

  function nodeKey(node) { return levelText(nodeLevel(node)) + (isAction(node) ? "a" : "m"); }

  function valueText(value) {
    if (typeof value === "string") { return value; }
    var text = JSON.stringify(value);
    return text.length > 80 ? JSON.stringify(value, null, 2) : text;
  }

  function shortName(name) { return String(name).split("/").pop(); }

  // As txcausal tree shows it (LEVELS_SHOWN and its field limit in
  // _cli/_tree_text.py): a remote_task_levels of more than 10 levels (one
  // per Dask task) is summed up as their number, the first and the last.
  var LEVELS_SHOWN = 10;
  var LEVEL_LIMIT = 100;

  function levelsSummary(name, value) {
    if (name !== "remote_task_levels" || !Array.isArray(value) || value.length <= LEVELS_SHOWN) {
      return null;
    }
    // As tree's cut: compact JSON (never the pretty form of valueText), cut
    // at its first newline or after LEVEL_LIMIT characters, marked with "…".
    function cut(level) {
      var text = typeof level === "string" ? level : JSON.stringify(level);
      var newline = text.indexOf("\n");
      if (text.length > LEVEL_LIMIT && (newline < 0 || newline > LEVEL_LIMIT)) {
        return text.slice(0, LEVEL_LIMIT) + "\u2026";
      }
      return newline >= 0 ? text.slice(0, newline) + "\u2026" : text;
    }
    return value.length + " levels, first " + cut(value[0]) + ", last " + cut(value[value.length - 1]);
  }

  function fieldList(fields) {
    var list = el("dl", "fields");
    Object.keys(fields).forEach(function (name) {
      if (name === "traceback" || name === "exception" || name === "reason") { return; }
      list.appendChild(el("dt", "mono", name));
      var text = valueText(fields[name]);
      var dd = el("dd", "mono");
      var levels = levelsSummary(name, fields[name]);
      if (levels !== null || text.length > 400 || text.split("\n").length > 8) {
        var fold = el("details", "fold");
        fold.appendChild(el("summary", null, levels !== null ? levels :
          text.slice(0, 80).split("\n")[0] + "\u2026 (" + text.length + " characters)"));
        fold.appendChild(el("pre", null, text));
        dd.appendChild(fold);
      } else {
        dd.textContent = visible(text);
      }
      list.appendChild(dd);
    });
    return list;
  }

  function failureBox(fields) {
    if (!("exception" in fields) && !("reason" in fields) && !("traceback" in fields)) { return null; }
    var box = el("div", "failure");
    if ("exception" in fields) { box.appendChild(el("div", "exc mono", valueText(fields.exception))); }
    if ("reason" in fields) { box.appendChild(el("div", "reason mono", valueText(fields.reason))); }
    if ("traceback" in fields) {
      var fold = el("details", "fold traceback");
      var text = valueText(fields.traceback);
      fold.appendChild(el("summary", null, "traceback (" + text.split("\n").length + " lines)"));
      fold.appendChild(el("pre", null, text));
      box.appendChild(fold);
    }
    return box;
  }

  function nodeHead(node, twisty) {
    var head = el("div", "head");
    head.appendChild(twisty);
    head.appendChild(el("span", "type", nodeType(node) || (isAction(node) ? "(no type)" : "(message)")));
    head.appendChild(el("span", "level", levelText(nodeLevel(node))));
    if (isAction(node)) { head.appendChild(statusBadge(node.status)); }
    if (typeof node.duration === "number") { head.appendChild(el("span", "dur", formatDuration(node.duration))); }
    head.appendChild(el("span", "time", formatTime(nodeStart(node))));
    if (typeof node.process === "number" && processNames.length > 1) {
      var chip = el("span", "proc " + processClass(node.process), shortName(processNames[node.process]));
      chip.title = visible(processNames[node.process]);
      head.appendChild(chip);
    }
    return head;
  }

  function treeNode(node) {
    var failed = node.status === "failed" || node.failed === true;
    var box = el("div", "node" + (failed ? " failed" : "") + (node.match ? " match" : ""));
    box.id = "n" + nodeKey(node);
    box.dataset.level = levelText(nodeLevel(node));
    byLevel[nodeKey(node)] = { node: node, box: box };
    var twisty = el("button", "twisty");
    twisty.type = "button";
    box.appendChild(nodeHead(node, twisty));
    var body = el("div", "body");
    box.appendChild(body);
    function fill() {
      if (body.childNodes.length) { return; }
      body.appendChild(fieldList(node.fields || {}));
      // Without a prototype, a field named __proto__ is a field like any other.
      var both = Object.assign(Object.create(null), node.fields || {}, node.end_fields || {});
      var failure = failureBox(both);
      if (failure) { body.appendChild(failure); }
      if (node.end_fields && Object.keys(node.end_fields).length) {
        body.appendChild(fieldList(node.end_fields));
      }
      (node.missing || []).forEach(function (run) {
        var first = levelText(run[0]), last = levelText(run[1]);
        body.appendChild(el("div", "gap", "missing " + (first === last ? first : first + " \u2013 " + last)));
      });
      var retried = (node.retried || []).map(levelText);
      var unsent = (node.unsent || []).map(levelText);
      (node.handed_off || []).forEach(function (level) {
        var text = levelText(level);
        body.appendChild(el("div", "gap", retried.indexOf(text) >= 0 ?
          "cut off before a response, sent again: " + text :
          unsent.indexOf(text) >= 0 ? "not sent: no connection was made: " + text :
          "handed off to a process not read: " + text));
      });
      if (node.hidden) {
        body.appendChild(el("div", "gap", node.hidden + " not in the story, left out"));
      }
      appendChildren(body, node.children || []);
    }
    // Builds the page of children holding child (and no other).
    box.showChild = function (child) {
      set(true);
      if (byLevel[nodeKey(child)]) { return; }
      var page = Math.floor((node.children || []).indexOf(child) / CHILDREN_PAGE);
      Array.prototype.forEach.call(body.querySelectorAll(":scope > button.more"), function (more) {
        if (page >= 0 && more.firstPage <= page && page < more.endPage) { more.build(page); }
      });
    };
    function set(open) {
      expanded[nodeKey(node)] = open;
      twisty.textContent = open ? "\u25be" : "\u25b8";
      if (open) { fill(); }
      body.hidden = !open;
    }
    twisty.addEventListener("click", function () { set(body.hidden); });
    box.expand = set;
    set(!!expanded[nodeKey(node)]);
    return box;
  }

  // Wide nodes show their children a page at a time: the first page and
  // each page holding a node on the way to a failure or match are built; a
  // button stands for each run of pages not built, and builds its first.
  function appendChildren(body, children) {
    var pages = Math.ceil(children.length / CHILDREN_PAGE);
    var built = { 0: true };
    children.forEach(function (child, i) {
      if (wanted[nodeKey(child)]) { built[Math.floor(i / CHILDREN_PAGE)] = true; }
    });
    var run = null;
    for (var page = 0; page < pages; page++) {
      if (built[page]) {
        if (run !== null) { body.appendChild(moreButton(body, children, run, page)); run = null; }
        buildPage(body, children, page, null);
      } else if (run === null) { run = page; }
    }
    if (run !== null) { body.appendChild(moreButton(body, children, run, pages)); }
  }

  function buildPage(body, children, page, before) {
    var upto = Math.min(children.length, (page + 1) * CHILDREN_PAGE);
    for (var i = page * CHILDREN_PAGE; i < upto; i++) { body.insertBefore(treeNode(children[i]), before); }
  }

  // The button for the pages of children from first up to end (not built).
  function moreButton(body, children, first, end) {
    var from = first * CHILDREN_PAGE, count = Math.min(children.length, end * CHILDREN_PAGE) - from;
    var more = el("button", "more", "show " + Math.min(CHILDREN_PAGE, count) + " more of " + count);
    more.type = "button";
    more.firstPage = first;
    more.endPage = end;
    // Build one of its pages, leaving buttons for those before and after.
    more.build = function (page) {
      var after = more.nextSibling;
      body.removeChild(more);
      if (page > first) { body.insertBefore(moreButton(body, children, first, page), after); }
      buildPage(body, children, page, after);
      if (page + 1 < end) { body.insertBefore(moreButton(body, children, page + 1, end), after); }
    };
    more.addEventListener("click", function () { more.build(first); });
    return more;
  }

  function chooseExpanded(task) {
    // The first few hundred nodes, breadth first, and the way to every
    // failure and match.
    var budget = FIRST_NODES, queue = task.children.slice();
    while (queue.length && budget > 0) {
      var node = queue.shift();
      budget -= 1;
      if (!(nodeKey(node) in expanded)) { expanded[nodeKey(node)] = true; }
      (node.children || []).forEach(function (child) { queue.push(child); });
    }
    var marks = 0;
    wanted = {};
    (function mark(nodes, path) {
      nodes.forEach(function (node) {
        var here = path.concat([node]);
        if ((node.status === "failed" || node.failed === true || node.match) && marks < 200) {
          marks += 1;
          here.forEach(function (n) {
            wanted[nodeKey(n)] = true;
            if (!(nodeKey(n) in expanded)) { expanded[nodeKey(n)] = true; }
          });
        }
        if (node.children) { mark(node.children, here); }
      });
    })(task.children, []);
  }

  function revealNode(target) {
    var path = [];
    (function find(nodes, trail) {
      nodes.forEach(function (node) {
        var here = trail.concat([node]);
        if (node === target) { path = here; }
        else if (node.children && !path.length) { find(node.children, here); }
      });
    })(currentTask.children, []);
    path.forEach(function (node, i) {
      var known = byLevel[nodeKey(node)];
      if (!known) { return; }
      if (i + 1 < path.length) { known.box.showChild(path[i + 1]); } else { known.box.expand(true); }
    });
    var known = byLevel[nodeKey(target)];
    if (known) {
      known.box.scrollIntoView({ block: "center" });
      known.box.classList.add("flash");
      setTimeout(function () { known.box.classList.remove("flash"); }, 1500);
    }
  }

  var currentTask = null;

  // A message that did not fit the tree, shown whole, as a message node.
  function strayNode(message, process) {
    var kind = message.message_type || message.action_type;
    return { message_type: typeof kind === "string" ? kind : null, task_level: message.task_level,
             timestamp: message.timestamp, fields: message, process: process };
  }

  function showTask(task) {
    currentTask = task;
    processNames = task.processes;
    var root = task.children.length ? task.children[0] : null;
    var title = root ? nodeType(root) : null;
    document.title = visible((title || task.task_uuid) + " \u2013 txcausal");
    $("task-title").textContent = visible(title || task.task_uuid);
    var meta = [task.task_uuid, task.complete ? "complete" : "incomplete"];
    if (task.failed) { meta.push("failed"); }
    var span = timeSpan(task.children);
    if (span) { meta.push(formatTime(span[0]) + " UTC", formatDuration(span[1] - span[0])); }
    if (params.get("story")) { meta.push("story of " + params.get("story")); }
    if (task.matches) { meta.push(task.matches + " matching nodes"); }
    if (task.unavailable) { meta.push(task.unavailable + " messages no longer readable"); }
    if (task.dropped) { meta.push(task.dropped + " messages not kept"); }
    $("task-meta").textContent = visible(meta.join(" \u00b7 "));
    legend(task);
    new Waterfall(task);
    chooseExpanded(task);
    byLevel = {};
    var tree = $("tree");
    tree.textContent = "";
    task.children.forEach(function (node) { tree.appendChild(treeNode(node)); });
    if (task.strays.length) {
      tree.appendChild(el("h3", null, "Messages that did not fit the tree"));
      task.strays.forEach(function (node) { tree.appendChild(treeNode(node)); });
    }
    document.body.dataset.loaded = task.task_uuid;
  }

  function taskView(uuid) {
    $("task-view").hidden = false;
    var keep = new URLSearchParams();
    ["q", "story"].forEach(function (name) { if (params.get(name)) { keep.set(name, params.get(name)); } });
    keep.set("uuid", uuid);
    var url = "api/task?" + keep.toString();
    var last = {};
    var load = coalesced(function () {
      return fetchChanged(url, last).then(function (task) {
        $("task-error").hidden = true;
        if (task) {
          task.strays = task.strays.map(function (message, i) { return strayNode(message, task.stray_processes[i]); });
          showTask(task);
        }
      }, function (error) {
        $("task-error").hidden = false;
        $("task-error").textContent = visible(error.message);
      });
    });
    $("expand-all").addEventListener("click", function () {
      walk(currentTask.children, function (node) { expanded[nodeKey(node)] = true; });
      showTask(currentTask);
    });
    $("collapse-all").addEventListener("click", function () {
      walk(currentTask.children, function (node) { expanded[nodeKey(node)] = false; });
      showTask(currentTask);
    });
    onChange(function (data) {
      if (data.tasks === null || data.tasks.indexOf(uuid) >= 0) { load(); }
    });
    load();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (taskUUID !== null) { taskView(taskUUID); } else { listView(); }
    startEvents();
  });
})();
