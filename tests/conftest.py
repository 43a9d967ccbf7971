"""Fixtures for every test folder: the real servers of the network tests (tests/servers/)."""

from servers.fixtures import fault_server, llama_server, tiny_gguf, triton_server  # noqa: F401
