// Rich-text editor (views/partials/rich-editor.njk), progressive enhancement: puts Trix over the body's
// <textarea>, keeps the textarea (the real form field) in sync, and toggles to the HTML source. Trix has
// no tables (and handles images its own way), so a body with a table or an image stays in the source view. Without this file the textarea just works.
// Public helper for other scripts: window.poselRichEditor.insert(container, text) inserts at the cursor.
(function () {
  'use strict';
  if (window.poselRichEditor) return; // loaded again by a page swap: the listeners below are global

  var counter = 0;

  // Trix cannot edit tables, and would fetch (and restyle) images itself: such bodies stay in the source view.
  function hasTable(html) {
    return /<(table|img)[\s>]/i.test(html || '');
  }

  function parts(container) {
    return {
      source: container.querySelector('[data-rich-source]'),
      modeInput: container.querySelector('[data-rich-mode-input]'),
      note: container.querySelector('[data-rich-note]'),
      trix: container.querySelector('trix-editor'),
    };
  }

  function showNote(container, text) {
    var note = parts(container).note;
    if (!note) return;
    note.textContent = text || '';
    note.hidden = !text;
  }

  function setPressed(container, mode) {
    var buttons = container.querySelectorAll('[data-rich-mode]');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute('aria-pressed', buttons[i].getAttribute('data-rich-mode') === mode ? 'true' : 'false');
    }
    container.setAttribute('data-mode', mode);
    var p = parts(container);
    if (p.modeInput) p.modeInput.value = mode;
  }

  // Creates the Trix editor (once) next to the textarea; Trix reads its start content from the hidden input.
  function ensureTrix(container) {
    var p = parts(container);
    if (p.trix) return p.trix;
    var id = (p.source.id || 'rich') + '-trix-' + ++counter;
    var input = document.createElement('input');
    input.type = 'hidden';
    input.id = id;
    input.value = p.source.value;
    var editor = document.createElement('trix-editor');
    editor.id = id + '-editor';
    editor.setAttribute('input', id);
    editor.className = 'trix-content';
    var label = p.source.id ? document.querySelector('label[for="' + p.source.id + '"]') : null;
    if (label) editor.setAttribute('aria-label', label.textContent.trim());
    if (p.source.getAttribute('aria-describedby')) editor.setAttribute('aria-describedby', p.source.getAttribute('aria-describedby'));
    p.source.parentNode.insertBefore(input, p.source);
    p.source.parentNode.insertBefore(editor, p.source);
    return editor;
  }

  function showTrix(container, visible) {
    var p = parts(container);
    if (!p.trix) return;
    p.trix.hidden = !visible;
    if (p.trix.toolbarElement) p.trix.toolbarElement.hidden = !visible;
    // The field's label follows the visible editor, so clicking it focuses the right one.
    var label = p.source && p.source.id ? document.querySelector('label[for="' + p.source.id + '"], label[for="' + p.trix.id + '"]') : null;
    if (label) label.htmlFor = visible ? p.trix.id : p.source.id;
  }

  function toRich(container) {
    var p = parts(container);
    if (!window.Trix || !p.source) return false;
    if (hasTable(p.source.value)) {
      showNote(container, container.getAttribute('data-msg-tables'));
      return false;
    }
    var existed = !!p.trix;
    var editor = ensureTrix(container);
    if (existed && editor.editor) editor.editor.loadHTML(p.source.value);
    p.source.hidden = true;
    showTrix(container, true);
    showNote(container, '');
    setPressed(container, 'rich');
    return true;
  }

  function toHtml(container) {
    var p = parts(container);
    if (!p.source) return;
    p.source.hidden = false;
    showTrix(container, false);
    setPressed(container, 'html');
  }

  function init(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var list = scope.querySelectorAll('[data-rich-editor]');
    for (var i = 0; i < list.length; i++) {
      var container = list[i];
      if (container.hasAttribute('data-rich-ready')) continue;
      container.setAttribute('data-rich-ready', '');
      if (container.getAttribute('data-mode') === 'html' || !toRich(container)) {
        if (hasTable(parts(container).source && parts(container).source.value)) showNote(container, container.getAttribute('data-msg-tables'));
        toHtml(container);
      }
    }
  }

  // Trix → the textarea, on every change.
  document.addEventListener('trix-change', function (event) {
    var container = event.target.closest && event.target.closest('[data-rich-editor]');
    if (!container) return;
    var p = parts(container);
    var input = document.getElementById(event.target.getAttribute('input'));
    if (p.source && input) p.source.value = input.value;
  });

  // Trix's own file attachments are not used: attachments have their own field.
  document.addEventListener('trix-file-accept', function (event) {
    if (event.target.closest && event.target.closest('[data-rich-editor]')) event.preventDefault();
  });

  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('[data-rich-mode]');
    if (!button) return;
    var container = button.closest('[data-rich-editor]');
    if (!container) return;
    if (button.getAttribute('data-rich-mode') === 'html') toHtml(container);
    else toRich(container);
  });

  window.poselRichEditor = {
    /** Inserts `text` at the cursor of the editor in `container` (Trix or the HTML source). */
    insert: function (container, text) {
      var p = parts(container);
      if (container.getAttribute('data-mode') === 'rich' && p.trix && p.trix.editor) {
        p.trix.focus();
        p.trix.editor.insertString(text);
        return;
      }
      if (p.source) insertIntoField(p.source, text);
    },
    insertIntoField: insertIntoField,
  };

  /** Inserts `text` at the cursor of an <input> or <textarea> (replacing the selection). */
  function insertIntoField(field, text) {
    var start = typeof field.selectionStart === 'number' ? field.selectionStart : field.value.length;
    var end = typeof field.selectionEnd === 'number' ? field.selectionEnd : start;
    field.focus();
    field.setRangeText(text, start, end, 'end');
    field.dispatchEvent(new Event('input', { bubbles: true }));
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', function () { init(document); });
  else init(document);
  document.addEventListener('htmx:load', function (event) { init(event.target); });
})();
