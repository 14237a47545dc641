// Template editor (views/templates/form.njk), progressive enhancement: the variables panel's "Insert"
// buttons put a tag at the cursor of the field last used (the subject or the body editor; the body by
// default). Without this file the panel is a reference list and everything else works the same.
(function () {
  'use strict';
  if (window.poselTemplates) return;
  window.poselTemplates = true;

  var lastTarget = null;

  document.addEventListener('focusin', function (event) {
    var el = event.target;
    if (!el || !el.closest) return;
    if (el.matches('[data-insert-target]')) lastTarget = el;
    else if (el.closest('[data-rich-editor]')) lastTarget = el.closest('[data-rich-editor]');
  });

  // Enter in the preview's record search looks records up instead of submitting (saving) the form.
  document.addEventListener('keydown', function (event) {
    var el = event.target;
    if (event.key !== 'Enter' || !el || !el.matches || !el.matches('[data-no-submit]')) return;
    event.preventDefault();
    el.dispatchEvent(new Event('search', { bubbles: true }));
  });

  document.addEventListener('click', function (event) {
    var button = event.target.closest && event.target.closest('[data-insert]');
    if (!button) return;
    event.preventDefault();
    var text = button.getAttribute('data-insert');
    var form = button.closest('form') || document;
    var target = lastTarget && form.contains(lastTarget) ? lastTarget : form.querySelector('[data-rich-editor]');
    if (!target || !window.poselRichEditor) return;
    // A ready HTML block or a list section makes no sense in the subject: those go to the body.
    if (target.matches('[data-insert-target]') && button.hasAttribute('data-body-only')) target = form.querySelector('[data-rich-editor]');
    if (target.matches('[data-rich-editor]')) window.poselRichEditor.insert(target, text);
    else window.poselRichEditor.insertIntoField(target, text);
  });
})();
