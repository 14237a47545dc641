// Attachments field (views/partials/attachments.njk), progressive enhancement: files picked or dropped
// anywhere on the form upload at once to /attachments with a progress bar; the rows the server answers
// (name, size, signed token) join the list; "remove" drops a row; the total is kept live against the limit.
// Without this file the same field still works: files go with the form, ticked boxes are removed on save.
(function () {
  'use strict';
  if (window.poselAttachments) return; // loaded again by a page swap: the listeners below are global
  window.poselAttachments = true;

  var lang = document.documentElement.lang || 'en';

  function formatSize(bytes) {
    var nf = function (n, d) {
      return new Intl.NumberFormat(lang, { maximumFractionDigits: d }).format(n);
    };
    if (bytes < 1024) return bytes + ' B';
    if (bytes < 1048576) return nf(bytes / 1024, 0) + ' kB';
    return nf(bytes / 1048576, 1) + ' MB';
  }

  function fill(template, params) {
    return String(template || '').replace(/\{(\w+)\}/g, function (m, name) {
      return Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : m;
    });
  }

  function limitOf(field) {
    return Number(field.getAttribute('data-limit')) || Infinity;
  }

  /** Bytes in the list, plus uploads in flight (so two quick drops cannot both squeeze under the limit). */
  function usedBytes(field) {
    var rows = field.querySelectorAll('[data-attachment]');
    var sum = Number(field.getAttribute('data-pending') || 0);
    for (var i = 0; i < rows.length; i++) sum += Number(rows[i].getAttribute('data-size')) || 0;
    return sum;
  }

  function updateTotal(field) {
    var out = field.querySelector('[data-attachment-total]');
    if (!out) return;
    var used = usedBytes(field);
    out.textContent = fill(field.getAttribute('data-msg-total'), { total: formatSize(used), limit: formatSize(limitOf(field)) });
    out.classList.toggle('over', used > limitOf(field));
  }

  function say(field, text) {
    var box = field.querySelector('[data-attachment-messages]');
    if (!box) return;
    var line = document.createElement('small');
    line.className = 'error';
    line.textContent = text;
    box.appendChild(line);
  }

  function clearMessages(field) {
    var box = field.querySelector('[data-attachment-messages]');
    if (box) box.textContent = '';
  }

  /** Counts bytes in flight; while any are, the form's submit buttons wait (a save now would lose them). */
  function addPending(field, delta) {
    var pending = Math.max(0, Number(field.getAttribute('data-pending') || 0) + delta);
    field.setAttribute('data-pending', String(pending));
    var form = field.closest('form');
    if (!form) return;
    form.setAttribute('aria-busy', pending > 0 ? 'true' : 'false');
    var buttons = form.querySelectorAll('button:not([type]), button[type=submit], input[type=submit]');
    for (var i = 0; i < buttons.length; i++) {
      if (pending > 0 && !buttons[i].disabled) {
        buttons[i].disabled = true;
        buttons[i].setAttribute('data-attachments-disabled', '');
      } else if (pending === 0 && buttons[i].hasAttribute('data-attachments-disabled')) {
        buttons[i].disabled = false;
        buttons[i].removeAttribute('data-attachments-disabled');
      }
    }
  }

  function uploadOne(field, file) {
    var list = field.querySelector('[data-attachment-list]');
    var progressBox = field.querySelector('[data-attachment-progress]');
    var item = document.createElement('div');
    item.className = 'attachment-upload';
    var label = document.createElement('span');
    label.textContent = fill(field.getAttribute('data-msg-uploading'), { name: file.name });
    var bar = document.createElement('progress');
    bar.max = file.size || 1;
    bar.value = 0;
    item.appendChild(label);
    item.appendChild(bar);
    progressBox.appendChild(item);
    // The row's place is kept from the start, so files appear in the order they were dropped or picked,
    // whichever upload finishes first.
    var slot = document.createElement('li');
    slot.hidden = true;
    list.appendChild(slot);
    addPending(field, file.size);
    updateTotal(field);

    var data = new FormData();
    data.append('files', file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open('POST', field.getAttribute('data-upload-url') || '/attachments');
    xhr.setRequestHeader('Accept', 'text/html');
    xhr.upload.addEventListener('progress', function (e) {
      if (e.lengthComputable) {
        bar.max = e.total;
        bar.value = e.loaded;
      }
    });
    var done = function () {
      addPending(field, -file.size);
      if (item.parentNode) item.parentNode.removeChild(item);
      if (slot.parentNode) slot.parentNode.removeChild(slot);
      updateTotal(field);
    };
    xhr.addEventListener('load', function () {
      if (xhr.status === 200) {
        // Our own server's fragment, rendered with autoescape: file names arrive escaped.
        slot.insertAdjacentHTML('beforebegin', xhr.responseText);
      } else {
        var text = '';
        try {
          text = new DOMParser().parseFromString(xhr.responseText, 'text/html').body.textContent.trim();
        } catch (err) {
          text = '';
        }
        say(field, text && text.length < 400 ? text : fill(field.getAttribute('data-msg-failed'), { name: file.name }));
      }
      done();
    });
    xhr.addEventListener('error', function () {
      say(field, fill(field.getAttribute('data-msg-failed'), { name: file.name }));
      done();
    });
    xhr.send(data);
  }

  function uploadAll(field, files) {
    clearMessages(field);
    var limit = limitOf(field);
    for (var i = 0; i < files.length; i++) {
      var file = files[i];
      var used = usedBytes(field);
      if (used + file.size > limit) {
        say(field, fill(field.getAttribute('data-msg-exceed'), {
          name: file.name,
          size: formatSize(file.size),
          total: formatSize(used + file.size),
          limit: formatSize(limit),
        }));
        continue;
      }
      uploadOne(field, file);
    }
  }

  function fieldOf(el) {
    if (!el || !el.closest) return null;
    var field = el.closest('[data-attachments]');
    if (field) return field;
    var form = el.closest('form');
    return form ? form.querySelector('[data-attachments]') : null;
  }

  function hasFiles(e) {
    var types = e.dataTransfer && e.dataTransfer.types;
    if (!types) return false;
    for (var i = 0; i < types.length; i++) if (types[i] === 'Files') return true;
    return false;
  }

  function init(root) {
    var fields = (root && root.querySelectorAll ? root : document).querySelectorAll('[data-attachments]');
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.hasAttribute('data-ready')) continue;
      field.setAttribute('data-ready', '');
      field.setAttribute('data-pending', '0');
      field.classList.add('enhanced');
      updateTotal(field);
    }
  }

  document.addEventListener('change', function (e) {
    var el = e.target;
    if (!el || !el.matches) return;
    var field = el.closest && el.closest('[data-attachments][data-ready]');
    if (!field) return;
    if (el.matches('input[type=file][name=files]') && el.files && el.files.length) {
      uploadAll(field, el.files);
      el.value = ''; // uploaded already: the form must not send the same files again
    } else if (el.matches('input[type=checkbox][name=remove_attachment]') && el.checked) {
      var row = el.closest('[data-attachment]');
      if (row) row.parentNode.removeChild(row);
      updateTotal(field);
    }
  });

  // Drag and drop onto the form holding an attachments field; elsewhere a dropped file must not
  // replace the page (losing what was typed).
  document.addEventListener('dragover', function (e) {
    if (!hasFiles(e) || !document.querySelector('[data-attachments][data-ready]')) return;
    e.preventDefault();
    var field = fieldOf(e.target);
    if (field) {
      e.dataTransfer.dropEffect = 'copy';
      field.closest('form') && field.closest('form').classList.add('attachments-dragging');
    } else {
      e.dataTransfer.dropEffect = 'none';
    }
  });
  document.addEventListener('dragleave', function (e) {
    if (e.relatedTarget) return;
    var forms = document.querySelectorAll('.attachments-dragging');
    for (var i = 0; i < forms.length; i++) forms[i].classList.remove('attachments-dragging');
  });
  document.addEventListener('drop', function (e) {
    if (!hasFiles(e) || !document.querySelector('[data-attachments][data-ready]')) return;
    e.preventDefault();
    var forms = document.querySelectorAll('.attachments-dragging');
    for (var i = 0; i < forms.length; i++) forms[i].classList.remove('attachments-dragging');
    var field = fieldOf(e.target);
    if (field && field.hasAttribute('data-ready')) uploadAll(field, e.dataTransfer.files);
  });

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', function () { init(document); });
  else init(document);
  document.addEventListener('htmx:load', function (e) {
    init(e.detail && e.detail.elt ? e.detail.elt.parentNode || document : document);
  });
})();
