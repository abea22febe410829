"""``make run``: the app on the local host, against the sandbox or a real tenant.

    python -m scripts.run

Sandbox mode (the default): starts the Business Central emulator and its
managed-identity endpoint on ``127.0.0.1:$SANDBOX_PORT`` (7072), points the
app's settings at it, then serves ``function_app`` on ``127.0.0.1:$PROXY_PORT``
(7071). The app fetches its tokens with the real azure-identity
ManagedIdentityCredential, through the App Service protocol
(``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``).

In both modes the sample browser page (``examples/web``) is served on
``127.0.0.1:$WEB_PORT`` (7073), its own origin, and the local host's CORS
allows that origin unless ``CORS_ALLOWED_ORIGINS`` says otherwise.

Real-tenant mode: when ``BC_TENANT_ID`` is set and ``BC_BASE_URL`` is set to a
non-local URL, only the local host starts and the app uses
DefaultAzureCredential (e.g. your ``az login``).

Every other setting in the environment (allow-lists, limits, CALLER_AUTH...)
reaches the app untouched. All servers run in this process and event loop;
Ctrl-C or SIGTERM stops them (the proxy first, the sandbox last) and exits 0.
Function keys are not checked locally unless LOCAL_FUNCTION_KEY is set (see
funchost.keys).

It is the one place that puts the pieces together: it imports ``funchost``
(the local host and the Durable stand-in), ``sandbox`` (the emulator, by
name, only in sandbox mode) and the app (``function_app`` and
``shared.upstream.runtime``, by name, once the environment is set); only tests import
it.
"""
