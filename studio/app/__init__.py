"""The operations a user performs, shared by the window and the command line (no Qt here).

Each takes plain values and returns plain results; the CLI parses arguments,
calls one, and prints; the window builds a request from its widgets, calls
one (in a worker when it is long), and shows the result.
"""
