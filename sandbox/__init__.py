"""Local development and test tools: a Business Central emulator, a managed
identity endpoint and a local host for the app's HTTP functions.

Never deployed (see .funcignore) and never imported by ``shared``.
"""
