// Stripe checkout: the card is typed into Stripe's own Payment Element (an iframe from STRIPE_JS_URL).
// On submit we ask Stripe for a payment-method id (pm_...) and post only that id with the form:
// card data never reaches our server. A payment needing 3-D Secure comes back on the
// "complete authentication" page, which calls handleNextAction (see orders/authenticate.html).
(function () {
  "use strict";
  var mount = document.getElementById("payment-element");
  if (!mount || typeof Stripe === "undefined") return;
  var form = mount.closest("form");
  var input = form.querySelector("input[name=payment_method]");
  var stripe = Stripe(mount.dataset.stripeKey);
  var elements = stripe.elements({
    mode: "payment",
    amount: parseInt(mount.dataset.amount, 10),
    currency: mount.dataset.currency,
    paymentMethodCreation: "manual",
  });
  elements.create("payment").mount(mount);
  var ready = false;
  form.addEventListener("submit", function (event) {
    if (ready) return;
    event.preventDefault();
    elements.submit().then(function (result) {
      if (result.error) throw result.error;
      return stripe.createPaymentMethod({ elements: elements });
    }).then(function (result) {
      if (result.error) throw result.error;
      input.value = result.paymentMethod.id;
      ready = true;
      form.submit();
    }).catch(function (error) {
      var note = document.getElementById("payment-error") || document.createElement("p");
      note.id = "payment-error";
      note.className = "field-error";
      note.setAttribute("role", "alert");
      note.textContent = error.message || "Your card could not be used. Check it and try again.";
      mount.after(note);
    });
  });
})();

// The "complete authentication" page: Stripe.js runs the bank's 3-D Secure challenge, then we go back
// to the same page with ?payment_intent=..., which settles the checkout and shows the order.
(function () {
  "use strict";
  var box = document.getElementById("payment-authentication");
  if (!box || typeof Stripe === "undefined") return;
  var stripe = Stripe(box.dataset.stripeKey);
  stripe.handleNextAction({ clientSecret: box.dataset.clientSecret }).then(function (result) {
    var id = result.paymentIntent ? result.paymentIntent.id : "failed";
    window.location.assign(box.dataset.returnUrl + "?payment_intent=" + encodeURIComponent(id));
  });
})();
