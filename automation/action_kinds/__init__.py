"""Workflow action kinds, one module each (SPEC R-A1..R-A5, B8.3).

A kind module declares `KIND = ActionKind(...)` (`base`): its id, picker rows and questions
(`form`), config check, description, CLI flag and how it runs. `registry` finds the modules and
is what the engine, the settings functions, the app and the CLI ask.
"""
