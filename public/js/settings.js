// SMTP account form: choosing a preset fills host, port, security and limits at once and shows its hint.
// Without this file the "Use preset" button does the same on the server.
(function () {
  // The server-side "Use preset" button is only needed when this script is not running.
  function hideUseButtons() {
    var buttons = document.querySelectorAll('button.preset-use');
    for (var i = 0; i < buttons.length; i++) buttons[i].hidden = true;
  }
  hideUseButtons();
  document.addEventListener('htmx:afterSettle', hideUseButtons);

  var FIELDS = { host: 'host', port: 'port', security: 'security', perMinute: 'per-minute', perHour: 'per-hour', perDay: 'per-day', maxRecipients: 'max-recipients' };
  document.addEventListener('change', function (event) {
    var select = event.target;
    if (!select || select.id !== 'f-preset') return;
    var option = select.options[select.selectedIndex];
    if (!option) return;
    var custom = option.value === 'custom';
    Object.keys(FIELDS).forEach(function (name) {
      var input = select.form.elements[name];
      if (!input) return;
      var value = option.getAttribute('data-' + FIELDS[name]) || '';
      // "Custom" fills only what is still empty: it must not wipe what was typed.
      if (custom && input.value !== '') return;
      input.value = value;
    });
    var hint = document.getElementById('preset-hint');
    if (hint) hint.textContent = option.getAttribute('data-hint') || '';
  });
})();
