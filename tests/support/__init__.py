"""Helpers the tests share, imported as a library: what a test builds or starts
(requests, fake and real stand-ins, environments). Pytest fixtures stay in the
conftests, which import from here."""
