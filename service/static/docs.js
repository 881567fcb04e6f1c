// A small offline reader for the OpenAPI document: operations, parameters, responses, and "try it".
(function () {
  var root = document.getElementById("docs");
  var out = document.getElementById("operations");
  var info = document.getElementById("docs-info");

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function typeOf(schema, spec) {
    if (!schema) return "";
    if (schema.$ref) return schema.$ref.split("/").pop();
    if (schema.type === "array") return typeOf(schema.items, spec) + "[]";
    return schema.type + (schema.enum ? " (" + schema.enum.join(" | ") + ")" : "");
  }

  function operation(path, method, op, spec) {
    var box = el("section", { "class": "op", "id": (op.operationId || method + path) });
    var head = el("h3");
    head.appendChild(el("span", { "class": "method" }, method));
    head.appendChild(el("code", {}, path));
    box.appendChild(head);
    box.appendChild(el("p", {}, op.summary || ""));
    if (op.description) box.appendChild(el("p", { "class": "meta" }, op.description));
    var params = op.parameters || [];
    var form = el("form");
    if (params.length) {
      var table = el("table", { "class": "grid" });
      var hr = el("tr");
      ["参数", "位置", "类型", "说明", "试一试"].forEach(function (h) { hr.appendChild(el("th", {}, h)); });
      table.appendChild(hr);
      params.forEach(function (p) {
        var tr = el("tr");
        tr.appendChild(el("td", {}, p.name + (p.required ? " *" : "")));
        tr.appendChild(el("td", {}, p.in));
        tr.appendChild(el("td", {}, typeOf(p.schema, spec)));
        tr.appendChild(el("td", {}, p.description || ""));
        var td = el("td");
        td.appendChild(el("input", { "name": p.name, "data-in": p.in }));
        tr.appendChild(td);
        table.appendChild(tr);
      });
      form.appendChild(table);
    }
    var codes = Object.keys(op.responses || {}).join(", ");
    form.appendChild(el("p", { "class": "meta" }, "响应：" + codes));
    if (method === "get") {
      var pre = el("pre");
      var btn = el("button", { "type": "submit" }, "发送请求");
      form.appendChild(btn);
      form.appendChild(pre);
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var url = (spec.servers && spec.servers[0] ? "" : "") + "/api/v1" + path;
        var query = [];
        form.querySelectorAll("input").forEach(function (input) {
          if (!input.value) return;
          if (input.dataset.in === "path") url = url.replace("{" + input.name + "}", encodeURIComponent(input.value));
          else input.value.split("\n").forEach(function (v) {
            query.push(encodeURIComponent(input.name) + "=" + encodeURIComponent(v));
          });
        });
        if (query.length) url += "?" + query.join("&");
        pre.textContent = "GET " + url + "\n…";
        fetch(url).then(function (r) {
          return r.text().then(function (t) {
            var body = t;
            try { body = JSON.stringify(JSON.parse(t), null, 2); } catch (e) { /* CSV, XML */ }
            pre.textContent = "GET " + url + "\n" + r.status + "\n\n" + body;
          });
        });
      });
    }
    box.appendChild(form);
    return box;
  }

  fetch(root.dataset.specUrl).then(function (r) { return r.json(); }).then(function (spec) {
    info.textContent = spec.info.title + " " + spec.info.version + " — " + (spec.info.description || "");
    Object.keys(spec.paths).sort().forEach(function (path) {
      var item = spec.paths[path];
      ["get", "post", "put", "delete"].forEach(function (m) {
        if (item[m]) out.appendChild(operation(path.replace(/^\/api\/v1/, ""), m, item[m], spec));
      });
    });
  }).catch(function (e) { info.textContent = "无法读取 OpenAPI 文档：" + e; });
})();
