"""Helpers the tests share (no tests here): processes, raw HTTP, a labcloud server, hosting models."""
