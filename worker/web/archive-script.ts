/**
 * The script of /admin/archive, served by the Worker from /admin/archive/upload.js so the page's
 * policy can allow it by origin (`script-src 'self'`) instead of 'unsafe-inline'. It uploads the
 * chosen archive straight to R2 through the JSON routes, in parts, and resumes after a reload from
 * the parts already uploaded (the upload's id is remembered per file in localStorage).
 */
export const ARCHIVE_SCRIPT = `"use strict";
(() => {
  const root = document.getElementById("archive-upload");
  if (!root) return;
  const csrf = root.dataset.csrf;
  const form = root.querySelector("form");
  const input = form.querySelector("input[type=file]");
  const announce = form.querySelector("input[name=announce]");
  const bar = root.querySelector("progress");
  const status = root.querySelector("[role=status]");
  const call = async (method, path, body, type) => {
    const headers = { "x-csrf-token": csrf, accept: "application/json" };
    if (type) headers["content-type"] = type;
    const res = await fetch(path, { method, headers, body, credentials: "same-origin" });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(json.error || "the server answered " + res.status);
    return json;
  };
  const show = (sent, size) => {
    bar.max = size;
    bar.value = sent;
    status.textContent = "Uploaded " + Math.floor((100 * sent) / size) + "% (" + sent + " of " + size + " bytes)";
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = input.files && input.files[0];
    if (!file) return;
    const mark = "perch-upload:" + file.name + ":" + file.size + ":" + file.lastModified;
    form.querySelector("button").disabled = true;
    try {
      let upload = null;
      const known = localStorage.getItem(mark);
      if (known) {
        upload = await call("GET", "/admin/api/archive/uploads/" + known).catch(() => null);
        if (upload && upload.state !== "uploading") upload = null;
      }
      if (!upload) {
        // The first bytes tell the server whether this is a .zip or a .tar.gz (not the file's name).
        const first = new Uint8Array(await file.slice(0, 16).arrayBuffer());
        const head = Array.from(first, (b) => b.toString(16).padStart(2, "0")).join("");
        upload = await call("POST", "/admin/api/archive/uploads",
          JSON.stringify({ filename: file.name, size: file.size, head, announce: announce.checked }), "application/json");
        localStorage.setItem(mark, upload.id);
      }
      const done = new Set(upload.uploaded.map((p) => p.partNumber));
      let sent = upload.uploaded.reduce((n, p) => n + p.size, 0);
      show(sent, file.size);
      for (let n = 1; n <= upload.partCount; n++) {
        if (done.has(n)) continue;
        const part = file.slice((n - 1) * upload.partSize, Math.min(n * upload.partSize, file.size));
        await call("PUT", "/admin/api/archive/uploads/" + upload.id + "/parts/" + n, part, "application/octet-stream");
        sent += part.size;
        show(sent, file.size);
      }
      await call("POST", "/admin/api/archive/uploads/" + upload.id + "/complete");
      localStorage.removeItem(mark);
      status.textContent = "Uploaded. The import runs in the background; its report appears below.";
      setTimeout(() => location.reload(), 1500);
    } catch (err) {
      status.textContent = "The upload stopped: " + err.message + ". Pick the same file again to resume it.";
      form.querySelector("button").disabled = false;
    }
  });
  // While an import runs, the page refreshes its report.
  if (document.querySelector("[data-running]")) setTimeout(() => location.reload(), 10000);
})();
`;
