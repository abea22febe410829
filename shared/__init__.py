"""The proxy core: validation, identity, the Business Central client and the
use cases. It does not know it runs inside Azure Functions; ``function_app``
adapts it, and the local host and the tests call it the same way."""
