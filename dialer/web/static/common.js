// Shared by the console's pages: the API call with the CSRF token, and DOM building that
// only ever sets text (never HTML), so names and cells from a sheet cannot inject markup.
"use strict";
const Dialer = (() => {
  const json = (id) => {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  };
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  // `body`: FormData as it is, anything else sent as JSON.
  async function api(method, path, body) {
    const json = body !== undefined && !(body instanceof FormData);
    const response = await fetch(path, {
      method, body: json ? JSON.stringify(body) : body, credentials: "same-origin",
      headers: {
        "X-CSRF-Token": csrf, Accept: "application/json",
        ...(json ? { "Content-Type": "application/json" } : {}),
      },
    });
    if (response.status === 401) {
      location.assign("/login?next=" + encodeURIComponent(location.pathname));
    }
    let data;
    try { data = await response.json(); } catch (e) { data = { error: "Internal", message: response.statusText }; }
    if (!response.ok) {
      const error = new Error(data.message || response.statusText);
      error.data = data; error.status = response.status;
      throw error;
    }
    return data;
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
    }
    return node;
  }
  function rows(tbody, list, cells) {
    tbody.replaceChildren(...list.map((item) => el("tr", {}, ...cells(item))));
  }
  function show(node, text) {
    node.textContent = text || "";
    node.hidden = !text;
  }
  return { api, el, rows, show, words: json("words"), ui: json("ui") };
})();
