"""The proxy's core: everything ``function_app.py`` wires, in packages named for
what they do. Imports point one way, from the top of this list to the bottom:

* ``functions``: the Azure Functions bindings, one Blueprint per capability;
* ``api``: the route table, OpenAPI, the problems page, the API's own routes;
* ``lines`` and ``bulk``: the capabilities (one payment line, lists, bulk jobs);
* ``http`` and ``upstream``, side by side: the HTTP edge callers reach (request and
  response values, admission, parsing) and Business Central behind (client,
  ``$batch``, identity, attempts, errors); neither imports the other;
* ``payment``: the payment line (field rules, models, settlement rule, addresses);
* ``process``: settings, the URL space, exact JSON, problems, telemetry, log safety.

Each package's docstring says what it owns and what it may import;
``tests/unit/test_layers.py`` holds them to it.
"""
