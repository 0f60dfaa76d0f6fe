// The heap stepper: plays a recorded trace, one heap state per operation.
//
// Every state comes from the book's real allocators: `code/figures/src/stepper.rs`
// runs the trace and writes what it finds into imgs/stepper-*.json. This
// script only draws those states; it computes nothing about the heap.
//
// Markup: <div class="heap-stepper" data-traces="imgs/a.json imgs/b.json">
// holding a fallback <img>, which stays when scripts are off or in print.
//
// A recording opens at its "start" frame: the operations before it only set
// the heap up, and stay a step back away. Its "marks" are the frames where
// something happens (a reuse, split, coalesce, or two heaps part ways); the
// operations list and the slider show them.
(function () {
  "use strict";

  var SVG = "http://www.w3.org/2000/svg";
  var PARTS = ["header", "footer", "payload", "padding", "free", "lost"];
  var PART_NAMES = {
    header: "header", footer: "footer (boundary tag)", payload: "payload",
    padding: "padding", free: "free", lost: "freed, not reusable",
  };

  // Words drawn inside blocks: [part and word, the word, what it means].
  var WORDS = [
    ["free next", "next", "a free block's link to the next block in its list"],
    ["free prev", "prev", "its link to the previous one"],
    ["header end", "end", "the epilogue, the header that closes the heap"],
  ];

  // Whether all runs draw the same heap at frame i.
  function same(t, i) {
    var first = t.runs[0].frames[i];
    return t.runs.every(function (run) {
      var f = run.frames[i];
      return JSON.stringify(f.segments) === JSON.stringify(first.segments) &&
        JSON.stringify(f.links) === JSON.stringify(first.links);
    });
  }

  // Whether frame i is where the runs start to differ.
  function differFrom(t, i) {
    return t.runs.length > 1 && i > 0 && same(t, i - 1) && !same(t, i);
  }

  // What changed at frame i, in the runs' own sentences.
  function changes(t, i) {
    var lines = t.runs.map(function (run) {
      return (t.runs.length > 1 ? run.allocator + ": " : "") + run.frames[i].say;
    });
    return (differFrom(t, i) ? "The two allocators differ from here: " : "") + lines.join(" ");
  }

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function svgEl(tag, attrs, text) {
    var e = document.createElementNS(SVG, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function percent(live, heap) {
    return heap > 0 ? Math.round((100 * live) / heap) + "%" : "n/a";
  }

  // Roughly 6.5 px per character at the 12 px the drawing uses.
  function fits(text, width) {
    return text.length * 6.5 + 4 <= width;
  }

  function Stepper(root) {
    this.root = root;
    this.files = (root.getAttribute("data-traces") || "").split(/\s+/).filter(Boolean);
    this.traces = [];
    this.trace = 0;
    this.step = 0;
    this.timer = null;
    this.index = Stepper.count;
  }

  Stepper.prototype.start = function () {
    var self = this;
    Promise.all(this.files.map(function (f) {
      return fetch(f).then(function (r) {
        if (!r.ok) throw new Error(f + ": HTTP " + r.status);
        return r.json();
      });
    })).then(function (traces) {
      self.traces = traces;
      self.step = self.opening();
      self.build();
    }, function () {
      // No recordings (a page opened from disk): the static figure stays.
    });
  };

  Stepper.prototype.build = function () {
    var self = this;
    var root = this.root;
    var ui = el("div", { class: "hs-ui" });

    var top = el("div", { class: "hs-top" });
    if (this.traces.length > 1) {
      var id = "hs-trace-" + Stepper.count;
      var label = el("label", { for: id }, "Trace ");
      this.select = el("select", { id: id, class: "hs-select" });
      this.traces.forEach(function (t, i) {
        self.select.appendChild(el("option", { value: String(i) }, t.title));
      });
      this.select.addEventListener("change", function () {
        self.pause();
        self.trace = Number(self.select.value);
        self.step = self.opening();
        self.show();
      });
      label.appendChild(this.select);
      top.appendChild(label);
    } else {
      top.appendChild(el("strong", { class: "hs-title" }, this.traces[0].title));
    }
    ui.appendChild(top);
    this.about = el("p", { class: "hs-about" });
    ui.appendChild(this.about);

    var controls = el("div", { class: "hs-controls", role: "group", "aria-label": "Stepper controls" });
    function button(text, name, action) {
      var b = el("button", { type: "button", class: "hs-button", "aria-label": name, title: name }, text);
      b.addEventListener("click", action);
      controls.appendChild(b);
      return b;
    }
    this.first = button("|\u25C0", "First step", function () { self.pause(); self.go(0); });
    this.back = button("\u25C0", "Step back", function () { self.pause(); self.go(self.step - 1); });
    this.play = button("\u25B6", "Play", function () { self.toggle(); });
    this.forward = button("\u25B6|", "Step forward", function () { self.pause(); self.go(self.step + 1); });
    this.ticks = el("datalist", { id: "hs-marks-" + this.index });
    controls.appendChild(this.ticks);
    this.slider = el("input", {
      type: "range", min: "0", value: "0", class: "hs-slider", "aria-label": "Operation",
      list: this.ticks.id,
    });
    this.slider.addEventListener("input", function () { self.pause(); self.go(Number(self.slider.value)); });
    controls.appendChild(this.slider);
    this.position = el("span", { class: "hs-position" });
    controls.appendChild(this.position);
    ui.appendChild(controls);

    this.opLine = el("p", { class: "hs-op" });
    ui.appendChild(this.opLine);
    this.panels = el("div", { class: "hs-panels" });
    ui.appendChild(this.panels);
    this.say = el("div", { class: "hs-say", "aria-live": "polite" });
    ui.appendChild(this.say);
    this.legend = el("p", { class: "hs-legend" });
    ui.appendChild(this.legend);

    root.setAttribute("tabindex", "0");
    root.setAttribute("role", "group");
    root.setAttribute("aria-roledescription", "heap stepper");
    root.setAttribute("aria-label", "Heap stepper: arrow keys step, space plays or pauses");
    root.addEventListener("keydown", function (e) { self.key(e); });
    root.appendChild(ui);
    root.classList.add("hs-ready");

    if (window.ResizeObserver) {
      var width = 0;
      new ResizeObserver(function () {
        if (root.clientWidth !== width) {
          width = root.clientWidth;
          self.draw();
        }
      }).observe(root);
    }
    this.show();
  };

  Stepper.prototype.key = function (e) {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    var t = e.target;
    if (t.tagName === "SELECT") return;
    var onSlider = t === this.slider;
    var onButton = t.tagName === "BUTTON";
    var last = this.frames() - 1;
    switch (e.key) {
      case "ArrowRight": case "ArrowUp":
        if (!onSlider) { this.pause(); this.go(this.step + 1); e.preventDefault(); }
        break;
      case "ArrowLeft": case "ArrowDown":
        if (!onSlider) { this.pause(); this.go(this.step - 1); e.preventDefault(); }
        break;
      case "Home":
        this.pause(); this.go(0); e.preventDefault();
        break;
      case "End":
        this.pause(); this.go(last); e.preventDefault();
        break;
      case " ": case "Spacebar":
        if (onButton) return;
        this.toggle(); e.preventDefault();
        break;
      default:
        return;
    }
    // Keep mdBook from turning the page on arrow keys.
    e.stopPropagation();
  };

  // The frame a trace opens at: after its setup.
  Stepper.prototype.opening = function () {
    var t = this.traces[this.trace];
    return Math.max(0, Math.min(t.runs[0].frames.length - 1, t.start || 0));
  };

  Stepper.prototype.frames = function () {
    return this.traces[this.trace].runs[0].frames.length;
  };

  Stepper.prototype.go = function (step) {
    var n = Math.max(0, Math.min(this.frames() - 1, step));
    if (n === this.step) return false;
    this.step = n;
    this.show();
    return true;
  };

  Stepper.prototype.toggle = function () {
    if (this.timer) { this.pause(); return; }
    var self = this;
    if (this.step >= this.frames() - 1) this.go(this.opening());
    this.play.textContent = "II";
    this.play.setAttribute("aria-label", "Pause");
    this.play.title = "Pause";
    this.timer = setInterval(function () {
      if (!self.go(self.step + 1)) self.pause();
    }, 1200);
  };

  Stepper.prototype.pause = function () {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = null;
    this.play.textContent = "\u25B6";
    this.play.setAttribute("aria-label", "Play");
    this.play.title = "Play";
  };

  // Updates everything for the current trace and step.
  Stepper.prototype.show = function () {
    var t = this.traces[this.trace];
    var last = this.frames() - 1;
    this.about.textContent = t.about;
    this.slider.max = String(last);
    this.slider.value = String(this.step);
    this.slider.setAttribute("aria-valuetext", "step " + this.step + " of " + last);
    this.position.textContent = "step " + this.step + " / " + last;
    this.first.disabled = this.back.disabled = this.step === 0;
    this.forward.disabled = this.step === last;

    var start = t.start || 0;
    var marks = t.marks || [];
    var op = t.runs[0].frames[this.step].op;
    this.opLine.textContent = "";
    var ops = el("ol", { class: "hs-ops", "aria-label": "Operations" });
    t.ops.forEach(function (text, i) {
      // Operation i leads to frame i + 1.
      var li = el("li", {}, text);
      var classes = [];
      if (i + 1 <= start) classes.push("hs-setup");
      if (marks.indexOf(i + 1) >= 0) {
        classes.push("hs-mark");
        li.title = changes(t, i + 1);
      }
      if (i === op) { classes.push("hs-current"); li.setAttribute("aria-current", "step"); }
      li.className = classes.join(" ");
      ops.appendChild(li);
    });
    this.opLine.appendChild(ops);
    var ticks = this.ticks;
    ticks.textContent = "";
    marks.forEach(function (m) { ticks.appendChild(el("option", { value: String(m) })); });

    // The live line: what step this is, then one line per heap, each
    // starting with the allocator's name.
    var step = this.step;
    var head = op === null ? "Start: an empty heap." : "Step " + step + ", " + t.ops[op] + ".";
    if (step === start && start > 0) {
      head += " The setup is done: step forward to go on, or back to see it.";
    } else if (step < start) {
      head += " (setup)";
    } else if (marks.indexOf(step) >= 0 && differFrom(t, step)) {
      head += " The two allocators differ from here:";
    }
    this.say.textContent = "";
    this.say.appendChild(el("p", { class: "hs-say-head" }, head));
    if (op !== null) {
      t.runs.forEach(function (run) {
        var line = el("p", { class: "hs-say-line" });
        line.appendChild(el("strong", {}, run.allocator + ":"));
        line.appendChild(document.createTextNode(" " + run.frames[step].say));
        this.say.appendChild(line);
      }, this);
    }

    // The legend names only the parts this trace draws.
    var used = {};
    t.runs.forEach(function (run) {
      run.frames.forEach(function (f) { f.segments.forEach(function (s) { used[s[2]] = true; }); });
    });
    var legend = this.legend;
    legend.textContent = "";
    PARTS.filter(function (p) { return used[p]; }).forEach(function (p) {
      var item = el("span", { class: "hs-key" });
      var sw = svgEl("svg", { width: "12", height: "12", "aria-hidden": "true" });
      sw.appendChild(svgEl("rect", { width: "12", height: "12", class: "hs-" + p }));
      item.appendChild(sw);
      item.appendChild(document.createTextNode(" " + PART_NAMES[p]));
      legend.appendChild(item);
    });
    // The words drawn inside blocks, where this trace draws them.
    var words = {};
    t.runs.forEach(function (run) {
      run.frames.forEach(function (f) {
        f.segments.forEach(function (s) { words[s[2] + " " + s[3]] = true; });
      });
    });
    WORDS.filter(function (w) { return words[w[0]]; }).forEach(function (w) {
      var item = el("span", { class: "hs-key" });
      item.appendChild(el("span", { class: "hs-word" }, w[1]));
      item.appendChild(document.createTextNode(": " + w[2]));
      legend.appendChild(item);
    });
    if (marks.length) {
      var item = el("span", { class: "hs-key" });
      item.appendChild(el("span", { class: "hs-underlined" }, "underlined"));
      item.appendChild(document.createTextNode(": a step where something changes"));
      legend.appendChild(item);
    }
    this.draw();
  };

  // Draws each run's heap at the current step, side by side (stacked on
  // a narrow screen).
  Stepper.prototype.draw = function () {
    if (!this.traces.length) return;
    var t = this.traces[this.trace];
    // Room for link arcs above the heap only if the trace has links.
    t.linked = t.runs.some(function (r) {
      return r.frames.some(function (f) { return f.links.length > 0; });
    });
    var step = this.step;
    var panels = this.panels;
    panels.textContent = "";
    var runs = t.runs.length;
    var wide = this.root.clientWidth >= 1000 && runs > 1;
    panels.className = "hs-panels" + (wide ? " hs-side" : "");
    var width = Math.max(280, Math.floor((this.root.clientWidth - 24) / (wide ? runs : 1)) - 8);
    var index = this.index;
    // A list head's label sits over the arc from the left edge: leave it
    // room there, the same on every step so the heap does not shift.
    var longest = 0;
    t.runs.forEach(function (run) {
      run.frames.forEach(function (f) {
        f.links.forEach(function (l) {
          if (l[0] === null && l[2]) longest = Math.max(longest, l[2].length);
        });
      });
    });
    var left = Math.max(10, Math.ceil(longest * 7 / 2) + 6);
    t.runs.forEach(function (run, r) {
      var f = run.frames[step];
      var prev = step > 0 ? run.frames[step - 1] : null;
      var panel = el("figure", { class: "hs-panel" });
      panel.appendChild(el("figcaption", { class: "hs-run" }, run.allocator));
      panel.appendChild(drawHeap(f, prev, t.scale, t.linked, width, "hs-arrow-" + index + "-" + r, left));
      var counters = el("p", { class: "hs-counters" });
      counters.appendChild(el("span", { class: "hs-live" }, "live payload " + f.live + " B"));
      counters.appendChild(el("span", { class: "hs-heap" }, "heap " + f.heap + " B"));
      counters.appendChild(el("span", { class: "hs-util" }, "utilization now " + percent(f.live, f.heap)));
      panel.appendChild(counters);
      panels.appendChild(panel);
    });
  };

  function key(s) { return s[0] + "," + s[1] + "," + s[2] + "," + s[3]; }

  // One heap as SVG: the bar of segments, free-list links arcing above
  // (forward) or below (back), and the break or bump pointer as an arrow.
  function drawHeap(f, prev, scale, linked, width, arrowId, left) {
    var right = 34, barY = linked ? 64 : 14, barH = 34;
    var usable = width - left - right;
    var height = barY + barH + 78;
    var x = function (off) { return left + (off / scale) * usable; };
    var svg = svgEl("svg", {
      class: "hs-heap-svg", width: String(width), height: String(height),
      viewBox: "0 0 " + width + " " + height, role: "img",
    });
    var blocks = f.segments.map(function (s) {
      return s[2] === "payload" && s[3] ? s[3] + " " + s[1] + " B" : "";
    }).filter(Boolean);
    svg.setAttribute("aria-label", "Heap of " + f.heap + " bytes" +
      (blocks.length ? ", live blocks: " + blocks.join(", ") : ", no live blocks"));
    var defs = svgEl("defs");
    var marker = svgEl("marker", {
      id: arrowId, viewBox: "0 0 10 10", refX: "9", refY: "5",
      markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse",
    });
    marker.appendChild(svgEl("path", { d: "M0,0 L10,5 L0,10 z", class: "hs-arrowhead" }));
    defs.appendChild(marker);
    svg.appendChild(defs);
    var arrow = "url(#" + marker.id + ")";

    // What is beyond the heap's end is not heap: a faint track.
    svg.appendChild(svgEl("rect", { x: left, y: barY, width: usable, height: barH, class: "hs-track" }));
    var before = {};
    (prev ? prev.segments : []).forEach(function (s) { before[key(s)] = true; });
    f.segments.forEach(function (s) {
      var x0 = x(s[0]), w = Math.max(1, x(s[0] + s[1]) - x0);
      var changed = prev && !before[key(s)];
      var r = svgEl("rect", {
        x: x0.toFixed(1), y: barY, width: w.toFixed(1), height: barH,
        class: "hs-seg hs-" + s[2] + (changed ? " hs-changed" : ""),
        "data-part": s[2],
      });
      r.appendChild(svgEl("title", {}, PART_NAMES[s[2]] + (s[3] ? " " + s[3] : "") +
        ": " + s[1] + " bytes at offset " + s[0]));
      svg.appendChild(r);
      var label = s[2] === "payload" && s[3] && fits(s[3] + " " + s[1], w) ? s[3] + " " + s[1] : s[3];
      if (label && fits(label, w)) {
        svg.appendChild(svgEl("text", {
          x: (x0 + w / 2).toFixed(1), y: barY + barH / 2 + 4,
          class: "hs-label hs-on-" + s[2], "text-anchor": "middle",
        }, label));
      }
    });

    f.links.forEach(function (l) {
      var to = x(l[1]);
      var from = l[0] === null ? left - 6 : x(l[0]);
      var forward = to >= from;
      var y0 = forward ? barY : barY + barH;
      var lift = Math.min(46, 16 + Math.abs(to - from) / 6);
      var cy = forward ? y0 - lift : y0 + lift;
      svg.appendChild(svgEl("path", {
        d: "M" + from.toFixed(1) + "," + y0 + " C" + from.toFixed(1) + "," + cy + " " +
          to.toFixed(1) + "," + cy + " " + to.toFixed(1) + "," + y0,
        class: "hs-link", "marker-end": arrow,
      }));
      if (l[2] && l[2] !== "next") {
        svg.appendChild(svgEl("text", {
          x: ((from + to) / 2).toFixed(1), y: (forward ? cy + 8 : cy - 2).toFixed(1),
          class: "hs-link-label", "text-anchor": "middle",
        }, l[2]));
      }
    });

    f.markers.forEach(function (m) {
      var mx = x(m[0]);
      var y1 = barY + barH + 66;
      svg.appendChild(svgEl("line", {
        x1: mx.toFixed(1), y1: y1 - 12, x2: mx.toFixed(1), y2: barY + barH + 2,
        class: "hs-marker", "marker-end": arrow,
      }));
      svg.appendChild(svgEl("text", {
        x: mx.toFixed(1), y: y1 + 2, class: "hs-marker-label", "text-anchor": "middle",
      }, m[1] + " = " + m[0]));
    });
    return svg;
  }

  Stepper.count = 0;
  function init() {
    var roots = document.querySelectorAll(".heap-stepper");
    for (var i = 0; i < roots.length; i++) {
      Stepper.count += 1;
      new Stepper(roots[i]).start();
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
