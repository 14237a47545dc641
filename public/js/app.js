// Progressive enhancement only: every page works without this file.
document.documentElement.classList.add('js');

// "Select all on this page" for bulk selection: ticks every box of the named group in the same form.
document.addEventListener('change', function (event) {
  var box = event.target;
  if (!box || !box.getAttribute || !box.hasAttribute('data-select-all')) return;
  var name = box.getAttribute('data-select-all');
  var form = box.getAttribute('form');
  var boxes = document.querySelectorAll('input[type=checkbox][name="' + name + '"]' + (form ? '[form="' + form + '"]' : ''));
  for (var i = 0; i < boxes.length; i++) boxes[i].checked = box.checked;
});
