// The composer, made smoother (every part works without this file): a click on an address-book
// suggestion puts that address into its To/Cc/Bcc field in place of the entry being typed.
(function () {
  if (window.poselComposer) return; // loaded once; listeners are on the document, so swaps keep working
  window.poselComposer = true;

  function quoteName(name) {
    // Plain names stay readable; anything with separators or quotes is quoted (as the server parses it).
    if (!/[,;:"<>()@\[\]\\]/.test(name)) return name;
    return '"' + name.replace(/["\\]/g, '\\$&') + '"';
  }

  document.addEventListener('click', function (event) {
    var button = event.target && event.target.closest ? event.target.closest('[data-append-address]') : null;
    if (!button) return;
    var field = document.getElementById(button.getAttribute('data-field'));
    if (!field) return;
    var address = button.getAttribute('data-append-address');
    var name = button.getAttribute('data-append-name');
    var entry = name ? quoteName(name) + ' <' + address + '>' : address;
    // Keep what comes before the last separator; replace the half-typed entry after it.
    var value = field.value;
    var cut = Math.max(value.lastIndexOf(','), value.lastIndexOf(';'), value.lastIndexOf('\n'));
    var head = cut >= 0 ? value.slice(0, cut + 1).replace(/\s*$/, ' ') : '';
    field.value = head + entry + ', ';
    var list = button.closest('.recipient-suggest');
    if (list) list.innerHTML = '';
    field.focus();
  });

  // Escape closes the suggestions of the field being typed in.
  document.addEventListener('keydown', function (event) {
    if (event.key !== 'Escape' || !event.target || !event.target.id) return;
    var box = document.getElementById('suggest-' + event.target.id.replace(/^f-/, ''));
    if (box) box.innerHTML = '';
  });
})();
