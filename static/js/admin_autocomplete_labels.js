// The admin's autocomplete boxes (select2) are named only by their current choice, so an empty one has no name.
// Name each by its field's <label> followed by the choice. Registered after the admin's own autocomplete.js, so
// jQuery runs this ready handler once the boxes exist; rows added to an inline later are named as they come.
"use strict";
{
  const $ = django.jQuery;

  function nameBoxes(root) {
    root.querySelectorAll("select.admin-autocomplete").forEach(function (select) {
      const label = document.querySelector('label[for="' + select.id + '"]');
      const wrapper = select.nextElementSibling;
      if (!label || !wrapper || !wrapper.classList.contains("select2")) {
        return;
      }
      label.id = label.id || select.id + "-label";
      const box = wrapper.querySelector(".select2-selection");
      const shown = wrapper.querySelector(".select2-selection__rendered");
      if (box && shown) {
        box.setAttribute("aria-labelledby", label.id + " " + shown.id);
        shown.setAttribute("aria-labelledby", label.id + " " + shown.id);
      }
    });
  }

  $(function () {
    nameBoxes(document);
  });
  document.addEventListener("formset:added", function (event) {
    nameBoxes(event.target);
  });
}
