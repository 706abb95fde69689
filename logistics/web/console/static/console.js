/* certpost console: confirmations, selection counts, PDF generation and uploads with progress. No libraries. */
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  // Forms and buttons that ask first.
  document.addEventListener("submit", function (e) {
    var form = e.target, ask = form.getAttribute("data-confirm");
    var btn = e.submitter;
    if (btn && btn.getAttribute("data-confirm")) ask = btn.getAttribute("data-confirm");
    if (ask && !window.confirm(ask)) { e.preventDefault(); return; }
    if (btn && !form.hasAttribute("data-busy-ok")) { btn.classList.add("busy"); }
  });

  // Selection: "select all" and the count of selected rows.
  function picks() { return $$("input.pick"); }
  function updateCount() {
    var n = picks().filter(function (c) { return c.checked; }).length, out = $("#picked");
    if (out) out.textContent = "已选 " + n + " 件";
  }
  var all = $("#pick-all");
  if (all) all.addEventListener("change", function () {
    picks().forEach(function (c) { c.checked = all.checked; }); updateCount();
  });
  document.addEventListener("change", function (e) { if (e.target.classList.contains("pick")) updateCount(); });
  updateCount();

  function status(el, text, kind) {
    if (!el) return;
    el.className = "progress" + (kind ? " " + kind : "");
    el.innerHTML = "";
    if (kind === "working") { var s = document.createElement("span"); s.className = "spinner"; el.appendChild(s); }
    el.appendChild(document.createTextNode(text));
  }

  function selectedIds() {
    return picks().filter(function (c) { return c.checked; }).map(function (c) { return c.value; });
  }

  // Fetch a PDF for the selected rows; offer it as a download and open it.
  function pdfAction(button, out, extra, done) {
    var ids = selectedIds();
    if (!ids.length) { status(out, "请先勾选邮件", "err"); return; }
    var body = new FormData();
    body.append("csrf", csrf);
    ids.forEach(function (id) { body.append("ids", id); });
    Object.keys(extra).forEach(function (k) { body.append(k, extra[k]); });
    button.disabled = true;
    status(out, "正在生成 " + ids.length + " 件的 PDF，请稍候…", "working");
    var started = Date.now();
    var timer = setInterval(function () {
      status(out, "正在生成 " + ids.length + " 件的 PDF… 已用 " + Math.round((Date.now() - started) / 1000) + " 秒", "working");
    }, 1000);
    fetch(button.getAttribute("data-action"), {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "X-Requested-With": "fetch" }
    }).then(function (r) {
      if (!r.ok) return r.json().then(function (j) { throw new Error(j.error || ("HTTP " + r.status)); });
      return r.blob().then(function (blob) { return { blob: blob, headers: r.headers }; });
    }).then(function (res) {
      var href = URL.createObjectURL(res.blob);
      var name = (res.headers.get("Content-Disposition") || "").replace(/.*filename="?([^";]+)"?.*/, "$1") || "certpost.pdf";
      var a = document.createElement("a");
      a.href = href; a.download = name; a.textContent = "打开 " + name; a.className = "btn small";
      document.body.appendChild(a); a.click(); a.remove();
      var link = a.cloneNode(true); link.removeAttribute("download"); link.target = "_blank";
      done(res, ids);
      out.appendChild(document.createTextNode(" ")); out.appendChild(link);
    }).catch(function (err) {
      status(out, "失败：" + err.message, "err");
    }).finally(function () { clearInterval(timer); button.disabled = false; });
  }

  var printBtn = $("#print-selected");
  if (printBtn) printBtn.addEventListener("click", function () {
    var out = $("#print-progress");
    pdfAction(printBtn, out, { size: ($("#label-size") || {}).value || "100x150" }, function (res, ids) {
      status(out, "已生成 " + ids.length + " 张面单（已记入留痕）。刷新页面可查看最新状态。", "ok");
    });
  });

  var manifestBtn = $("#print-manifest");
  if (manifestBtn) manifestBtn.addEventListener("click", function () {
    var out = $("#manifest-progress"), courier = ($("#courier") || {}).value || "";
    pdfAction(manifestBtn, out, { courier: courier }, function (res, ids) {
      var id = res.headers.get("X-Manifest-Id") || "";
      var field = $("#manifest-id"); if (field) field.value = id;
      status(out, "交接清单 " + id + " 已生成（" + ids.length + " 件）。清点签字后请点“确认已交接”。", "ok");
    });
  });

  // Statement upload with a progress bar, then the reconciliation's own spinner.
  var upload = $("#upload");
  if (upload) upload.addEventListener("submit", function (e) {
    e.preventDefault();
    var box = $("#upload-progress"), bar = $("#upload-bar"), text = $("#upload-text"), btn = $("#upload-btn");
    box.classList.remove("hidden"); btn.disabled = true;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", upload.action);
    xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.setRequestHeader("X-Requested-With", "fetch");
    xhr.upload.onprogress = function (ev) {
      if (!ev.lengthComputable) return;
      var pct = Math.round(ev.loaded * 100 / ev.total);
      bar.style.width = pct + "%";
      status(text, "正在上传 " + pct + "%", "working");
    };
    xhr.upload.onload = function () { bar.style.width = "100%"; status(text, "上传完成，正在逐行核对账单…", "working"); };
    xhr.onload = function () {
      var data = {};
      try { data = JSON.parse(xhr.responseText); } catch (err) { data = { error: "服务器返回了无法识别的内容" }; }
      if (xhr.status >= 200 && xhr.status < 300 && data.location) {
        status(text, "对账完成，正在打开结果…", "ok"); window.location.href = data.location; return;
      }
      status(text, "失败：" + (data.error || ("HTTP " + xhr.status)), "err"); btn.disabled = false;
    };
    xhr.onerror = function () { status(text, "网络错误，请重试", "err"); btn.disabled = false; };
    xhr.send(new FormData(upload));
  });

  var printPage = $("#print-page");
  if (printPage) printPage.addEventListener("click", function () { window.print(); });
})();
